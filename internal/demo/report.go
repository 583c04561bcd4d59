package demo

import (
	"fmt"
	"io"
	"strings"
)

// report writes the demo's text; it keeps the first write error.
type report struct {
	w   io.Writer
	err error
}

func (r *report) line(s string) {
	if r.err == nil {
		_, r.err = fmt.Fprintln(r.w, s)
	}
}

// section starts a titled part of the report.
func (r *report) section(title string) {
	r.line("")
	r.line(title)
}

// block prints text indented by two spaces.
func (r *report) block(text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		r.line(strings.TrimRight("  "+l, " "))
	}
}

// command prints "  NODE$ CMD" and what it printed, indented; only the
// last line of it unless full.
func (r *report) command(n *node, cmd, out string, full bool) {
	r.line(fmt.Sprintf("  %-8s $ %s", n.ns.Name(), cmd))
	out = strings.TrimRight(out, "\n")
	if out == "" {
		return
	}
	if !full {
		out = lastLine(out)
	}
	for _, l := range strings.Split(out, "\n") {
		r.line("             " + l)
	}
}

// header describes the cluster and prints cluster.yaml.
func (r *report) header(c *cluster) {
	p := c.p
	r.line("lvs-rs demo: a direct-routing (DR) LVS cluster in network namespaces on one L2 segment")
	r.line("")
	r.line(fmt.Sprintf("  %-8s %-10s %s", "client", p.ClientIP, "sends the requests"))
	r.line(fmt.Sprintf("  %-8s %-10s %s", "director", p.DirectorIP, fmt.Sprintf("holds the VIP %s on %s, balances with IPVS (wrr)", p.VIP, p.DirectorIface)))
	for _, n := range c.realServers() {
		r.line(fmt.Sprintf("  %-8s %-10s %s", n.ns.Name(), n.addr, fmt.Sprintf("web server answering with its name, weight %d", n.weight)))
	}
	r.section("cluster.yaml, the one config file of the whole cluster:")
	r.block(c.yaml())
}
