package vmtest

import (
	"fmt"
	"strings"
	"time"
)

// hostPathFlags name test flags whose value is a path on the host: the VM
// cannot write there, so they are not passed in.
var hostPathFlags = map[string]bool{
	"testlogfile": true, "gocoverdir": true, "coverprofile": true,
	"cpuprofile": true, "memprofile": true, "blockprofile": true,
	"mutexprofile": true, "trace": true, "outputdir": true,
	"fuzzcachedir": true,
}

// encodeArgs writes one argument per line, the format /init reads with
// `while IFS= read -r a; do set -- "$@" "$a"; done`.
func encodeArgs(args []string) ([]byte, error) {
	var b strings.Builder
	for _, a := range args {
		if strings.ContainsAny(a, "\n\x00") {
			return nil, fmt.Errorf("argument %q contains a newline or NUL and cannot be passed into the VM", a)
		}
		b.WriteString(a)
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// decodeArgs is the inverse of encodeArgs (what /init does in shell).
func decodeArgs(data []byte) []string {
	s := string(data)
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// testFlag splits "-test.name=value" (or "--test.name=value") into name and
// value; ok is false for anything that is not a -test. flag. hasValue tells
// whether "=value" was present.
func testFlag(arg string) (name, value string, hasValue, ok bool) {
	a := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	if a == arg || !strings.HasPrefix(a, "test.") {
		return "", "", false, false
	}
	a = strings.TrimPrefix(a, "test.")
	name, value, hasValue = strings.Cut(a, "=")
	return name, value, hasValue, true
}

// isBoolTestFlag reports the -test. flags that take no separate value.
func isBoolTestFlag(name string) bool {
	switch name {
	case "v", "short", "failfast", "paniconexit0", "fullpath", "benchmem", "json":
		return true
	}
	return false
}

// hostArgs holds what the host side needs from the test binary's arguments.
type hostArgs struct {
	verbose bool          // -test.v given (true or test2json)
	timeout time.Duration // -test.timeout, 0 when absent or 0
	vmArgs  []string      // what the VM's test binary gets, before timeout rewriting
	dropped []string      // host-path flags left out
}

// parseHostArgs reads os.Args[1:] of the host-side test binary.
func parseHostArgs(args []string) (hostArgs, error) {
	var h hostArgs
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue, ok := testFlag(arg)
		if !ok {
			h.vmArgs = append(h.vmArgs, arg)
			continue
		}
		whole := []string{arg}
		if !hasValue && !isBoolTestFlag(name) && i+1 < len(args) {
			i++
			value = args[i]
			whole = append(whole, value)
		}
		switch {
		case name == "v":
			h.verbose = !hasValue || value != "false"
		case name == "timeout":
			d, err := time.ParseDuration(value)
			if err != nil {
				return h, fmt.Errorf("bad -test.timeout %q: %w", value, err)
			}
			h.timeout = d
			continue // re-added by withTimeout
		case hostPathFlags[name]:
			h.dropped = append(h.dropped, strings.Join(whole, " "))
			continue
		}
		h.vmArgs = append(h.vmArgs, whole...)
	}
	return h, nil
}

// withTimeout returns the VM's arguments with -test.timeout set to d (none
// when d is 0).
func (h hostArgs) withTimeout(d time.Duration) []string {
	out := append([]string(nil), h.vmArgs...)
	if d > 0 {
		out = append(out, "-test.timeout="+d.String())
	}
	return out
}
