package director

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
)

// marksFrom builds the nftables mark rules of cfg's fwmark services: one
// per service and mark entry, packets to the VIP on that protocol and
// port get the service's fwmark.
func marksFrom(cfg *config.Config) []nftmark.Rule {
	var out []nftmark.Rule
	for _, vs := range cfg.VirtualServers {
		if vs.FWMark == 0 {
			continue
		}
		for _, m := range vs.Marks {
			out = append(out, nftmark.Rule{VIP: vs.VIP.Unmap(), Protocol: ipProto(m.Protocol), Port: m.Port, Mark: vs.FWMark})
		}
	}
	return out
}

// ipProto is the IP protocol number of p; tcp when absent.
func ipProto(p config.Protocol) uint8 {
	switch p {
	case config.UDP:
		return unix.IPPROTO_UDP
	case config.SCTP:
		return unix.IPPROTO_SCTP
	}
	return unix.IPPROTO_TCP
}

// planMarks builds lvs-rs's nftables table (table inet lvs_rs, its own:
// the name is the ownership) with the additions when d.Marks differs from
// the kernel's, and removes it with the deletions when no rule is wanted
// and lvs-rs recorded it.
func planMarks(out *[phases][]Change, d Desired, obs Observed, owned Owned) {
	if len(d.Marks) == 0 {
		if owned.Marks && obs.Marks.Present {
			out[phaseDeleteService] = append(out[phaseDeleteService], Change{Kind: RemoveMarks})
		}
		return
	}
	c := nftmark.Plan(d.Marks, obs.Marks)
	if c.Action == nftmark.Build {
		out[phaseAdd] = append(out[phaseAdd], Change{Kind: BuildMarks, x: &changeDetail{Marks: c.Rules, Replace: c.Replace}})
	}
}

// marksString renders a marks change as one line.
func (c Change) marksString() string {
	if c.Kind == RemoveMarks {
		return "delete nftables table inet " + nftmark.TableName
	}
	verb := "create"
	if c.Replace() {
		verb = "rebuild"
	}
	return fmt.Sprintf("%s nftables table inet %s: %s", verb, nftmark.TableName, rulesString(c.Marks()))
}

// marksDrift renders the difference a marks change would repair.
func (c Change) marksDrift() string {
	switch {
	case c.Kind == RemoveMarks:
		return fmt.Sprintf("nftables table inet %s is lvs-rs's and no mark is configured", nftmark.TableName)
	case c.Replace():
		return fmt.Sprintf("nftables table inet %s differs, want %s", nftmark.TableName, rulesString(c.Marks()))
	}
	return fmt.Sprintf("nftables table inet %s is missing (want %s)", nftmark.TableName, rulesString(c.Marks()))
}

func rulesString(rules []nftmark.Rule) string {
	s := ""
	for i, r := range rules {
		if i > 0 {
			s += ", "
		}
		s += r.String()
	}
	return s
}
