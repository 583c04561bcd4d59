package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBody is how much of a response body an http check reads (and
// searches for ExpectBody); the rest is not read.
const maxBody = 1 << 20

// probeHTTP sends one GET (over TLS for https) and passes when the status
// is in ExpectStatus and, when set, the body contains ExpectBody. Connect,
// TLS handshake, request and body read all share the check's one
// deadline, so a server that trickles its body past the timeout fails.
//
// TLS certificates are not verified: the check asks whether this real
// server answers, not whether its certificate is trusted; real servers
// commonly carry the VIP's public name, an internal CA or a self-signed
// certificate, and an expired certificate should not take a whole pool
// out of service. The Host field is sent as the Host header and as SNI,
// so the server picks the same virtual host and certificate as for a
// client.
func probeHTTP(ctx context.Context, t Target) Result {
	s := t.Spec
	ranges, _ := parseStatusRanges(s.ExpectStatus) // validated by Set
	conn, stop, err := dial(ctx, "tcp", t)
	if err != nil {
		return failure("connect", err, s.Timeout)
	}
	defer stop()
	c := io.ReadWriteCloser(conn)
	defer func() { c.Close() }()
	if s.Type == HTTPS {
		tc := tls.Client(conn, &tls.Config{ServerName: s.Host, InsecureSkipVerify: true})
		if err := tc.HandshakeContext(ctx); err != nil {
			return failure("tls handshake", err, s.Timeout)
		}
		c = tc
	}
	host := s.Host
	if host == "" {
		host = checkAddr(t).String()
	}
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lvs-rs-health\r\nAccept: */*\r\nConnection: close\r\n\r\n", s.Path, host)
	if _, err := io.WriteString(c, req); err != nil {
		return failure("send request", err, s.Timeout)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return failure("read response", err, s.Timeout)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return failure("read body", err, s.Timeout)
	}
	if !statusIn(resp.StatusCode, ranges) {
		return Result{Reason: fmt.Sprintf("HTTP %d not in %s", resp.StatusCode, s.ExpectStatus)}
	}
	if s.ExpectBody != "" && !strings.Contains(string(body), s.ExpectBody) {
		return Result{Reason: fmt.Sprintf("HTTP %d: body does not contain %q", resp.StatusCode, s.ExpectBody)}
	}
	return Result{Up: true, Reason: fmt.Sprintf("HTTP %d", resp.StatusCode)}
}
