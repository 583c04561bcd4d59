package conntable

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints conns the way "ipvsadm -Lnc" does: protocol, expiry
// as mm:ss, state, client, virtual and real server.
func WriteTable(w io.Writer, conns []Conn) error {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	fmt.Fprintln(tw, "pro\texpire\tstate\tsource\tvirtual\tdestination")
	for _, c := range conns {
		fmt.Fprintf(tw, "%s\t%02d:%02d\t%s\t%s\t%s\t%s\n", c.Protocol, c.Expires/60, c.Expires%60, c.State, c.Client, c.Virtual, c.Real)
	}
	return tw.Flush()
}
