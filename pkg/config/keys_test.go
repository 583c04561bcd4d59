package config

import "testing"

// TestKeyListsIndexed checks that every key list of the file is found by
// its hash (no two names of a list share one, or it falls back to a
// scan), and that index finds each name and nothing else.
func TestKeyListsIndexed(t *testing.T) {
	lists := map[string]*keyList{
		"top": topKeys(), "director": directorKeys(), "timeouts": timeoutKeys(), "sync": syncKeys(),
		"announce": announceKeys(), "check": checkKeys(), "mark": markKeys(), "tunnel": tunnelKeys(),
		"realserver": realserverKeys(), "service": serviceKeys(), "real server": realServerKeys(),
		"ipvs_sysctls": ipvsSysctlKeys(),
	}
	for what, l := range lists {
		if l.scan && what != "ipvs_sysctls" {
			t.Errorf("%s: two keys share a hash; the list is scanned", what)
		}
		for i, name := range l.names {
			if got := l.index(name); got != i {
				t.Errorf("%s: index(%q) = %d, want %d", what, name, got, i)
			}
			for _, other := range []string{name + "x", "x" + name[1:], name[:len(name)-1]} {
				if got := l.index(other); got >= 0 && l.names[got] != other {
					t.Errorf("%s: index(%q) = %d (%q)", what, other, got, l.names[got])
				}
			}
		}
		if got := l.index(""); got != -1 {
			t.Errorf("%s: index(\"\") = %d", what, got)
		}
	}
}

// TestTaggedKeysGoTheGeneralWay checks that a known key with an explicit
// tag is not taken as a plain key: !!merge makes it a merge key, whatever
// its text.
func TestTaggedKeysGoTheGeneralWay(t *testing.T) {
	_, err := Parse("f.yaml", []byte("virtual_servers: [{vip: 10.0.0.1, !!merge port: 80}]\n"))
	want := []string{
		"f.yaml:1:19: virtual_servers[0].port: missing (required unless fwmark is set; 0 together with persistence means every port)",
		"f.yaml:1:49: virtual_servers[0].<<: can only merge a mapping or a list of mappings, got 80",
	}
	if diff := cmpDiff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
