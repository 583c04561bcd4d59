package daemon

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSystemdNotify: under a notify socket the daemon sends READY=1 only
// once the kernel has every real server at the weight its first check
// gave, a STATUS= summary, and WATCHDOG=1 when WATCHDOG_USEC is set.
func TestSystemdNotify(t *testing.T) {
	c := newCluster(t, patient("5s", 2, 3))
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	must(t, err)
	defer conn.Close()
	c.runEnv("NOTIFY_SOCKET="+path, "WATCHDOG_USEC=400000")
	var ready, status, watchdog bool
	deadline := time.Now().Add(20 * time.Second)
	buf := make([]byte, 4096)
	for !(ready && status && watchdog) {
		must(t, conn.SetReadDeadline(deadline))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("notify socket: %v (ready %v, status %v, watchdog %v)", err, ready, status, watchdog)
		}
		msg := string(buf[:n])
		if strings.Contains(msg, "READY=1") && !ready {
			ready = true
			if got := fmt.Sprint(c.weights(vip80)); got != fmt.Sprint(map[string]int{"10.0.0.11": 2, "10.0.0.12": 3}) {
				t.Fatalf("READY=1 with the kernel at %v, before the first checks were applied", got)
			}
		}
		if strings.Contains(msg, "STATUS=2 real server(s): 2 up") {
			status = true
		}
		if strings.Contains(msg, "WATCHDOG=1") {
			watchdog = true
		}
	}
}
