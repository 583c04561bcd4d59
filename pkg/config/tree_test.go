package config

import (
	"runtime"
	"testing"
	"time"
)

// detachedDoc sets every kind of text a Config keeps, in the subset the
// fast path reads.
const detachedDoc = `director:
  interface: eth0
  ipvs_sysctls:
    sloppy_tcp: 1
  sync:
    interface: eth1
    state: master
virtual_servers:
  - vip: 10.0.0.1
    port: 80
    protocol: udp
    scheduler: wrr
    mode: nat
    scheduler_flags: [ops]
    check:
      type: http
      path: /healthz
      host: example.org
      expect_body: ok
    real_servers:
      - address: 10.0.0.2
        mode: nat
        check:
          type: exec
          command: [/bin/check, '{address}']
  - vip: 10.0.0.1
    port: 53
    protocol: tcp
    check:
      type: dns
      query: example.org
`

// TestParseDetached checks that neither a Config nor Errors share memory
// with the data Parse read (its fast path reads values in place): the
// caller may reuse data, and the file's text is freed after Parse.
func TestParseDetached(t *testing.T) {
	if _, ok := fastParse([]byte(detachedDoc)); !ok {
		t.Fatal("the fast path declines the document")
	}
	for _, doc := range []string{detachedDoc, detachedDoc + "colr: 1\n"} {
		want, wantErr := Parse("f.yaml", []byte(doc))
		data := []byte(doc)
		got, gotErr := Parse("f.yaml", data)
		for i := range data {
			data[i] = 'X'
		}
		if diff := cmpDiff(want, got); diff != "" {
			t.Errorf("the Config changed with data (-want +got):\n%s", diff)
		}
		if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
			t.Errorf("the error changed with data: %v, want %v", gotErr, wantErr)
		}
	}
}

// TestParseFreesData checks that the data Parse read can be freed while
// the Config it returned lives on.
func TestParseFreesData(t *testing.T) {
	for _, doc := range []string{detachedDoc, "x-a: &a wrr\n" + detachedDoc} {
		data := []byte(doc)
		freed := make(chan struct{})
		runtime.AddCleanup(&data[0], func(ch chan struct{}) { close(ch) }, freed)
		cfg, err := Parse("f.yaml", data)
		if err != nil {
			t.Fatal(err)
		}
		data = nil
		deadline := time.After(10 * time.Second)
	wait:
		for {
			runtime.GC()
			select {
			case <-freed:
				break wait
			case <-deadline:
				t.Fatalf("the data of %q is still reachable from its Config", doc[:10])
			case <-time.After(10 * time.Millisecond):
			}
		}
		runtime.KeepAlive(cfg)
	}
}
