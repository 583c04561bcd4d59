package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints one line per result, the check's name first:
// "NAME  ok" (with its note in parentheses, if any) or
// "NAME  PROBLEM: what — how to fix".
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, r := range rs {
		switch {
		case !r.OK:
			fmt.Fprintf(tw, "%s\tPROBLEM: %s — %s\n", r.Check, r.Problem, r.Fix)
		case r.Note != "":
			fmt.Fprintf(tw, "%s\tok (%s)\n", r.Check, r.Note)
		default:
			fmt.Fprintf(tw, "%s\tok\n", r.Check)
		}
	}
	return tw.Flush()
}

// Report is the doctor's JSON output.
type Report struct {
	Role    string   `json:"role"`
	OK      bool     `json:"ok"`
	Results []Result `json:"results"`
}

// WriteJSON prints the Report of role's results, indented.
func WriteJSON(w io.Writer, role string, rs []Result) error {
	if rs == nil {
		rs = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Report{Role: role, OK: AllOK(rs), Results: rs})
}
