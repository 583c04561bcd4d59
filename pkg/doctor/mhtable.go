package doctor

import (
	"context"
	"fmt"
	"strings"
)

// NameMHTable is the check of the mh services of several directors
// (director.announce): each director must build the same lookup table,
// so that a flow the routers move to another director keeps its real
// server. The kernel puts a real server added again at the head of the
// service's list, and mh fills its table walking that list: with
// on_failure: remove, a real server that failed and recovered is deleted
// and added again, and the directors that saw that failure keep another
// table than those that did not.
const NameMHTable = "mh-table"

func checkMHTable(_ context.Context, _ Host, t Target) []Result {
	if len(t.MHRemove) == 0 {
		return []Result{ok(NameMHTable)}
	}
	return []Result{problem(NameMHTable,
		fmt.Sprintf("mh service(s) %s with a check and on_failure: remove behind several directors (director.announce): a real server that fails and recovers is deleted and added again at the head of the kernel's list, which changes this director's mh table, so flows moved between directors that saw different failures change real server",
			strings.Join(t.MHRemove, ", ")),
		"add mh-fallback to scheduler_flags and drop on_failure: remove (quiesce keeps a failed real server in the table at weight 0, the same on every director)")}
}
