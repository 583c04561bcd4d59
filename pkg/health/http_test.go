package health

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostRecorder is an HTTP handler that answers code and body and records
// the Host header of the last request.
type hostRecorder struct {
	mu   sync.Mutex
	host string
	code int
	body string
}

func (h *hostRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.host = r.Host
	code, body := h.code, h.body
	h.mu.Unlock()
	w.WriteHeader(code)
	fmt.Fprint(w, body)
}

func (h *hostRecorder) lastHost() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.host
}

func addrOf(url string) string {
	return strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
}

func TestHTTPStatusAndBody(t *testing.T) {
	h := &hostRecorder{code: 200, body: "all ok here"}
	srv := httptest.NewServer(h)
	defer srv.Close()
	cases := []struct {
		name   string
		code   int
		spec   func(*Spec)
		up     bool
		reason string
	}{
		{"default range", 200, nil, true, "HTTP 200"},
		{"redirect in default range", 302, nil, true, "HTTP 302"},
		{"server error", 500, nil, false, "HTTP 500 not in 200-399"},
		{"list of statuses", 204, func(s *Spec) { s.ExpectStatus = "200,204-205" }, true, "HTTP 204"},
		{"outside list", 302, func(s *Spec) { s.ExpectStatus = "200,204-205" }, false, "HTTP 302 not in 200,204-205"},
		{"body found", 200, func(s *Spec) { s.ExpectBody = "ok" }, true, "HTTP 200"},
		{"body missing", 200, func(s *Spec) { s.ExpectBody = "healthy" }, false, `body does not contain "healthy"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.mu.Lock()
			h.code = c.code
			h.mu.Unlock()
			wantResult(t, runProbe(target(t, HTTP, addrOf(srv.URL), c.spec)), c.up, c.reason)
		})
	}
}

func TestHTTPHostHeader(t *testing.T) {
	h := &hostRecorder{code: 200}
	srv := httptest.NewServer(h)
	defer srv.Close()
	runProbe(target(t, HTTP, addrOf(srv.URL), nil))
	if got := h.lastHost(); got != addrOf(srv.URL) {
		t.Errorf("default Host header = %q, want %q", got, addrOf(srv.URL))
	}
	runProbe(target(t, HTTP, addrOf(srv.URL), func(s *Spec) { s.Host = "www.example.com" }))
	if got := h.lastHost(); got != "www.example.com" {
		t.Errorf("Host header = %q, want www.example.com", got)
	}
}

func TestHTTPRefused(t *testing.T) {
	wantResult(t, runProbe(target(t, HTTP, closedPort(t), nil)), false, "connect: connection refused")
}

func TestHTTPSSendsSNIAndHost(t *testing.T) {
	h := &hostRecorder{code: 200, body: "ok"}
	srv := httptest.NewUnstartedServer(h)
	var mu sync.Mutex
	var sni []string
	srv.TLS = &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		sni = append(sni, hello.ServerName)
		mu.Unlock()
		return nil, nil
	}}
	srv.StartTLS()
	defer srv.Close()
	r := runProbe(target(t, HTTPS, addrOf(srv.URL), func(s *Spec) { s.Host = "www.example.com"; s.ExpectBody = "ok" }))
	wantResult(t, r, true, "HTTP 200") // also proves the self-signed certificate is accepted
	mu.Lock()
	defer mu.Unlock()
	if len(sni) != 1 || sni[0] != "www.example.com" {
		t.Errorf("SNI seen by the server = %q, want [www.example.com]", sni)
	}
	if got := h.lastHost(); got != "www.example.com" {
		t.Errorf("Host header = %q, want www.example.com", got)
	}
}

func TestHTTPSAgainstPlainServerFails(t *testing.T) {
	srv := httptest.NewServer(&hostRecorder{code: 200})
	defer srv.Close()
	wantResult(t, runProbe(target(t, HTTPS, addrOf(srv.URL), nil)), false, "tls handshake")
}

// trickle answers 200 after headerDelay, then writes one body byte every
// step, n times.
func trickle(headerDelay, step time.Duration, n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(headerDelay)
		w.Header().Set("Content-Length", fmt.Sprint(n))
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for range n {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(step):
			}
			w.Write([]byte("x"))
			w.(http.Flusher).Flush()
		}
	}
}

// TestHTTPTimeoutIsOneDeadline: each read of a trickled body arrives well
// within the timeout, but the whole answer does not; the check fails
// (keepalived #1822 lets such a server pass).
func TestHTTPTimeoutIsOneDeadline(t *testing.T) {
	slow := httptest.NewServer(trickle(0, 50*time.Millisecond, 40)) // 2 s of body
	defer slow.Close()
	start := time.Now()
	r := runProbe(target(t, HTTP, addrOf(slow.URL), func(s *Spec) { s.Timeout = 500 * time.Millisecond }))
	wantResult(t, r, false, "read body: timeout after 500ms")
	if took := time.Since(start); took >= 2*time.Second {
		t.Errorf("the check took %s: the body was read to its end", took)
	}
	// Headers late and body trickled: neither alone exceeds the timeout.
	split := httptest.NewServer(trickle(300*time.Millisecond, 50*time.Millisecond, 6))
	defer split.Close()
	r = runProbe(target(t, HTTP, addrOf(split.URL), func(s *Spec) { s.Timeout = 500 * time.Millisecond }))
	wantResult(t, r, false, "timeout after 500ms")
	// The same answer within a generous timeout passes.
	r = runProbe(target(t, HTTP, addrOf(split.URL), func(s *Spec) { s.Timeout = 5 * time.Second }))
	wantResult(t, r, true, "HTTP 200")
}
