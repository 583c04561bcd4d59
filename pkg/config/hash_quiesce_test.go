package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHashSchedulerQuiesceRefused: with dh, sh without sh-fallback or mh
// without mh-fallback, the kernel keeps hashing new connections to a
// weight-0 real server and drops them, so a check whose failed real
// servers are quiesced (on_failure: quiesce, the default) takes nothing
// out of rotation: refused at on_failure when written, else at the check.
func TestHashSchedulerQuiesceRefused(t *testing.T) {
	const head = "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n"
	const rss = "    real_servers:\n      - address: 10.0.0.11\n      - address: 10.0.0.12\n"
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"mh, default quiesce", head + "    scheduler: mh\n    check: {type: tcp}\n" + rss, []string{
			`f.yaml:5:12: virtual_servers[0].check: a failed real server would be quiesced (on_failure: quiesce, the default), which does not take it out of rotation with scheduler mh: the kernel's mh scheduler keeps hashing new connections to a real server of weight 0 and drops them; add mh-fallback to scheduler_flags, or set on_failure: remove`}},
		{"mh-port is not the fallback", head + "    scheduler: mh\n    scheduler_flags: [mh-port]\n    check: {type: tcp}\n" + rss, []string{
			`f.yaml:6:12: virtual_servers[0].check: a failed real server would be quiesced (on_failure: quiesce, the default), which does not take it out of rotation with scheduler mh: the kernel's mh scheduler keeps hashing new connections to a real server of weight 0 and drops them; add mh-fallback to scheduler_flags, or set on_failure: remove`}},
		{"sh, quiesce written", head + "    scheduler: sh\n    scheduler_flags: [sh-port]\n    check: {type: tcp}\n    on_failure: quiesce\n" + rss, []string{
			`f.yaml:7:17: virtual_servers[0].on_failure: quiesce (weight 0) does not take a failed real server out of rotation with scheduler sh: the kernel's sh scheduler keeps hashing new connections to a real server of weight 0 and drops them; add sh-fallback to scheduler_flags, or set on_failure: remove`}},
		{"dh", head + "    scheduler: dh\n    check: {type: http, path: /}\n" + rss, []string{
			`f.yaml:5:12: virtual_servers[0].check: a failed real server would be quiesced (on_failure: quiesce, the default), which does not take it out of rotation with scheduler dh: the kernel's dh scheduler keeps hashing new connections to a real server of weight 0 and drops them; set on_failure: remove (dh has no fallback flag)`}},
		{"a real server's own check", head + "    scheduler: sh\n    real_servers:\n      - address: 10.0.0.11\n      - address: 10.0.0.12\n        check: {type: tcp}\n", []string{
			`f.yaml:8:16: virtual_servers[0].real_servers[1].check: a failed real server would be quiesced (on_failure: quiesce, the default), which does not take it out of rotation with scheduler sh: the kernel's sh scheduler keeps hashing new connections to a real server of weight 0 and drops them; add sh-fallback to scheduler_flags, or set on_failure: remove`}},
		{"a misspelt flag is one problem", head + "    scheduler: mh\n    scheduler_flags: [mh-fallbak]\n    check: {type: tcp}\n" + rss, []string{
			`f.yaml:5:23: virtual_servers[0].scheduler_flags[0]: unknown scheduler flag "mh-fallbak"; valid scheduler flags are mh-port, mh-fallback, sh-port, sh-fallback, ops`}},
		{"a misspelt action is one problem", head + "    scheduler: mh\n    check: {type: tcp}\n    on_failure: remov\n" + rss, []string{
			`f.yaml:6:17: virtual_servers[0].on_failure: unknown failure action "remov"; valid failure actions are quiesce, remove`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("f.yaml", []byte(tc.doc))
			if c != nil {
				t.Errorf("accepted: on_failure %s, scheduler %s %v", c.VirtualServers[0].OnFailure, c.VirtualServers[0].Scheduler, c.VirtualServers[0].SchedulerFlags)
			}
			if diff := cmp.Diff(tc.want, problemLines(t, err)); diff != "" {
				t.Errorf("doc:\n%s\n(-want +got):\n%s", tc.doc, diff)
			}
		})
	}
}

// TestHashSchedulerQuiesceAccepted: the fallback flag, on_failure:
// remove, or no check at all make the same services valid.
func TestHashSchedulerQuiesceAccepted(t *testing.T) {
	const head = "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n"
	const rss = "    real_servers:\n      - address: 10.0.0.11\n      - address: 10.0.0.12\n"
	for name, doc := range map[string]string{
		"mh-fallback":          head + "    scheduler: mh\n    scheduler_flags: [mh-port, mh-fallback]\n    check: {type: tcp}\n" + rss,
		"sh-fallback":          head + "    scheduler: sh\n    scheduler_flags: [sh-fallback]\n    check: {type: tcp}\n    on_failure: quiesce\n" + rss,
		"dh, remove":           head + "    scheduler: dh\n    check: {type: tcp}\n    on_failure: remove\n" + rss,
		"mh, remove":           head + "    scheduler: mh\n    check: {type: tcp}\n    on_failure: remove\n" + rss,
		"sh without checks":    head + "    scheduler: sh\n" + rss,
		"rr quiesces":          head + "    scheduler: rr\n    check: {type: tcp}\n" + rss,
		"mh, nothing to check": head + "    scheduler: mh\n    on_failure: quiesce\n" + rss,
	} {
		c, err := Parse("f.yaml", []byte(doc))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := checkConfig(c); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
