package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
)

// Probing times of the flux checks (arp-flux, ndp-flux): queries per
// address, the gap between rounds, and how long to listen after the last
// one.
const (
	probeRounds = 3
	probeGap    = 100 * time.Millisecond
	probeListen = time.Second
)

// asker asks, on one interface, who holds an address: ARP requests
// (arp-flux) or neighbour solicitations (ndp-flux).
type asker interface {
	// own names the interface's own link-layer address, as answerers are
	// named.
	own() string
	// ask sends one query for target.
	ask(target netip.Addr) error
	// answer returns the next answer: the address claimed and who claims
	// it (a MAC address), or an error once deadline passed.
	answer(deadline time.Time) (target netip.Addr, who string, err error)
}

// probe asks for each target a few times and returns, per target, the
// sorted answerers other than the interface itself.
func probe(ctx context.Context, a asker, targets []netip.Addr) (map[netip.Addr][]string, error) {
	for i := range probeRounds {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(probeGap):
			}
		}
		for _, v := range targets {
			if err := a.ask(v); err != nil {
				return nil, fmt.Errorf("query for %s: %w", v, err)
			}
		}
	}
	deadline := time.Now().Add(probeListen)
	if d, has := ctx.Deadline(); has && d.Before(deadline) {
		deadline = d
	}
	own := a.own()
	out := map[netip.Addr][]string{}
	for {
		ip, who, err := a.answer(deadline)
		if errors.Is(err, os.ErrDeadlineExceeded) || (err != nil && !time.Now().Before(deadline)) {
			break
		}
		if err != nil {
			return nil, err
		}
		if !slices.Contains(targets, ip) || who == own || slices.Contains(out[ip], who) {
			continue
		}
		out[ip] = append(out[ip], who)
	}
	for _, w := range out {
		slices.Sort(w)
	}
	return out, nil
}

// fluxWords is what one family's flux check says.
type fluxWords struct {
	name     string // the check's name
	proto    string // "ARP", "NDP": in errors
	answered string // "answered ARP": a host did
	notVia   string // routers reach a peer director's VIP "not through ARP"
	fixRS    string // the fix when a real server answers
	fixOther string // the fix when an unknown host answers
}

// fluxCheck probes vips through a and judges the answers: the
// interface's own is fine; a MAC that also answers for one of rss (the
// real servers) is that real server, always a problem; any other is a
// problem unless announce is set (a peer director: a note).
func fluxCheck(ctx context.Context, a asker, w fluxWords, iface string, vips, rss []netip.Addr, announce bool) []Result {
	answers, err := probe(ctx, a, vips)
	if err != nil {
		return []Result{problem(w.name, fmt.Sprintf("%s on %s: %v", w.proto, iface, err), "run doctor as root on the director")}
	}
	// A real server's MAC is the one that answers for its own address:
	// ask for the real servers only when some VIP had a foreign answer.
	owners := map[string][]netip.Addr{} // MAC -> the real servers it answers for
	if len(answers) > 0 && len(rss) > 0 {
		byRS, err := probe(ctx, a, rss)
		if err != nil {
			return []Result{problem(w.name, fmt.Sprintf("%s on %s: %v", w.proto, iface, err), "run doctor as root on the director")}
		}
		for _, r := range rss {
			for _, m := range byRS[r] {
				owners[m] = append(owners[m], r)
			}
		}
	}
	var out, notes []Result
	for _, v := range vips {
		var rsMACs, others []string
		for _, m := range answers[v] {
			if rs := owners[m]; len(rs) > 0 {
				rsMACs = append(rsMACs, fmt.Sprintf("%s (real server %s)", m, joinAddrs(rs)))
			} else {
				others = append(others, m)
			}
		}
		stolen := func(who []string) string {
			return fmt.Sprintf("VIP %s: %s %s on %s besides the director (%s): clients may send the VIP's traffic there",
				v, strings.Join(who, ", "), w.answered, iface, a.own())
		}
		switch {
		case len(rsMACs) > 0:
			what := stolen(rsMACs)
			if len(others) > 0 && announce {
				what += fmt.Sprintf(" (%s, not a real server, answered too: a peer director)", strings.Join(others, ", "))
			}
			out = append(out, problem(w.name, what, w.fixRS))
		case len(others) > 0 && announce:
			r := ok(w.name)
			r.Note = fmt.Sprintf("VIP %s: also answered by %s on %s, not a real server: a peer director, which binds the VIP too; with director.announce routers reach the VIP through BGP next hops, %s",
				v, strings.Join(others, ", "), iface, w.notVia)
			notes = append(notes, r)
		case len(others) > 0:
			out = append(out, problem(w.name, stolen(others), w.fixOther))
		}
	}
	if len(out) == 0 {
		out = notes
	}
	if len(out) == 0 {
		out = append(out, ok(w.name))
	}
	return out
}

// joinAddrs lists addresses, comma separated.
func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
