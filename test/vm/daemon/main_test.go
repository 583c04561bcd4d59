package daemon

import (
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/vmtest"
)

func TestMain(m *testing.M) { vmtest.Main(m) }
