package crash

import (
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/vmtest"
)

// The lvs-rs binary in the VM is built with -tags faultinject, so a test
// can kill it after any kernel write or fail any write with an errno.
func TestMain(m *testing.M) { vmtest.MainTags(m, "faultinject") }
