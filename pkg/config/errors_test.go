package config

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrorRendering(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f.yaml", Line: 3, Column: 5, Field: "virtual_servers[0].port", Problem: "p"}, "f.yaml:3:5: virtual_servers[0].port: p"},
		{Error{File: "f.yaml", Line: 3, Field: "a", Problem: "p"}, "f.yaml:3:1: a: p"},
		{Error{File: "f.yaml", Line: 2, Column: 1, Problem: "invalid YAML: x"}, "f.yaml:2:1: invalid YAML: x"},
		{Error{File: "f.yaml", Field: "director.interface", Problem: "p"}, "f.yaml: director.interface: p"},
		{Error{Field: "--vip", Problem: `"x" is not an IP address`}, `--vip: "x" is not an IP address`},
		{Error{Line: 1, Column: 2, Field: "a", Problem: "p"}, "1:2: a: p"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%#v.Error() = %q; want %q", tc.e, got, tc.want)
		}
	}
}

func TestErrorsUnwrap(t *testing.T) {
	_, err := Parse("f.yaml", []byte("virtual_servers:\n  - port: 80\n    vip: x\n"))
	var e Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *Error) = false", err)
	}
	if want := (Error{File: "f.yaml", Line: 3, Column: 10, Field: "virtual_servers[0].vip", Problem: `"x" is not an IP address`}); e != want {
		t.Errorf("got %#v; want %#v", e, want)
	}
}

// TestParseMultipleErrors checks that every problem is reported, in file
// order, whatever order the checks find them in.
func TestParseMultipleErrors(t *testing.T) {
	const doc = `director:
  interface: eth0:1
  ip_forward: maybe
virtual_servers:
  - vip: 10.0.0.1
    port: 80
    scheduler: fast
    real_servers:
      - address: 10.0.0.2
        port: 8080
      - address: 2001:db8::3
        weight: 100000
  - vip: 10.0.0.1
    port: 80
    colour: blue
  - port: 0
`
	_, err := Parse("f.yaml", []byte(doc))
	want := []string{
		`f.yaml:2:14: director.interface: "eth0:1" is an address label, not an interface; write "eth0" (lvs-rs adds the eth0:N labels itself)`,
		`f.yaml:3:15: director.ip_forward: must be true or false, got "maybe"`,
		`f.yaml:7:16: virtual_servers[0].scheduler: unknown scheduler "fast"; valid schedulers are rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf`,
		`f.yaml:10:15: virtual_servers[0].real_servers[0].port: 8080 differs from the service's port 80; dr forwards to the VIP's own port, only mode nat can map ports`,
		`f.yaml:11:18: virtual_servers[0].real_servers[1].address: 2001:db8::3 is IPv6 but the vip 10.0.0.1 is IPv4; a service's real servers must be of its family`,
		`f.yaml:12:17: virtual_servers[0].real_servers[1].weight: 100000 is outside 0..65535`,
		`f.yaml:13:5: virtual_servers[1]: tcp 10.0.0.1:80 is already defined by virtual_servers[0] at line 5`,
		`f.yaml:15:5: virtual_servers[1].colour: unknown key; valid keys are vip, port, protocol, fwmark, scheduler, scheduler_flags, persistence, persistence_netmask, mode, check, on_failure, drain_timeout, slow_start, sorry_server, mark, real_servers`,
		`f.yaml:16:5: virtual_servers[2].vip: missing (every virtual server needs one)`,
		`f.yaml:16:11: virtual_servers[2].port: 0 (every port) needs persistence; set persistence or give the service's port`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
