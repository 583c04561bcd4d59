package vmtest

import "testing"

// TestKernel checks LVSRS_VM_KERNEL's accepted values, the default and the
// cache dir each gets.
func TestKernel(t *testing.T) {
	for _, tc := range []struct{ env, want, cache string }{
		{"", "6.1", "/var/cache/lvs-rs/vm-6.1"},
		{"6.1", "6.1", "/var/cache/lvs-rs/vm-6.1"},
		{"6.12", "6.12", "/var/cache/lvs-rs/vm-6.12"},
		{"sid", "sid", "/var/cache/lvs-rs/vm-sid"},
	} {
		t.Setenv(EnvKernel, tc.env)
		got, err := Kernel()
		if err != nil || got != tc.want {
			t.Errorf("%s=%q: Kernel() = %q, %v; want %q", EnvKernel, tc.env, got, err, tc.want)
		}
		if c := defaultCache(got); c != tc.cache {
			t.Errorf("defaultCache(%q) = %q, want %q", got, c, tc.cache)
		}
	}
	for _, bad := range []string{"6.2", "trixie", "7"} {
		t.Setenv(EnvKernel, bad)
		if k, err := Kernel(); err == nil {
			t.Errorf("%s=%q: Kernel() = %q, want an error", EnvKernel, bad, k)
		}
	}
}
