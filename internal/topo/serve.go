package topo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// ioTimeout bounds Dial, Get and GetUDP.
const ioTimeout = 10 * time.Second

// Listen opens a stream listener (tcp, tcp4, tcp6) inside the namespace.
func (n *NS) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("topo: %s: listen %s %s: %w", n.name, network, addr, err)
	}
	return l, nil
}

// ListenPacket opens a packet listener (udp, udp4, udp6) inside the namespace.
func (n *NS) ListenPacket(network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.Do(func() error {
		var err error
		c, err = net.ListenPacket(network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("topo: %s: listen %s %s: %w", n.name, network, addr, err)
	}
	return c, nil
}

// DialContext connects from inside the namespace; it fits
// http.Transport.DialContext.
func (n *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() error {
		var err error
		c, err = (&net.Dialer{Timeout: ioTimeout}).DialContext(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("topo: %s: dial %s %s: %w", n.name, network, addr, err)
	}
	return c, nil
}

// ServeEcho starts an HTTP server on addr ("10.0.0.100:80") inside the
// namespace that answers every request with the namespace's name as the
// body. It stops at the end of the test; it returns the bound address.
func (n *NS) ServeEcho(addr string) (string, error) {
	l, err := n.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, n.name)
		}),
		ReadHeaderTimeout: ioTimeout,
	}
	go srv.Serve(l)
	n.tp.tb.Cleanup(func() { srv.Close() })
	return l.Addr().String(), nil
}

// Get makes one HTTP GET request to http://addr/ from inside the namespace,
// on a new connection, and returns the body.
func (n *NS) Get(addr string) (string, error) {
	c := &http.Client{
		Transport: &http.Transport{DialContext: n.DialContext, DisableKeepAlives: true},
		Timeout:   ioTimeout,
	}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", fmt.Errorf("topo: %s: GET %s: %w", n.name, addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("topo: %s: GET %s: reading body: %w", n.name, addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("topo: %s: GET %s: %s", n.name, addr, resp.Status)
	}
	return string(body), nil
}

// ServeUDPEcho answers every datagram to addr inside the namespace with
// the namespace's name, until the end of the test; it returns the bound
// address.
func (n *NS) ServeUDPEcho(addr string) (string, error) {
	c, err := n.ListenPacket("udp", addr)
	if err != nil {
		return "", err
	}
	n.tp.tb.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			_, from, err := c.ReadFrom(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				c.WriteTo([]byte(n.name), from)
			}
		}
	}()
	return c.LocalAddr().String(), nil
}

// GetUDP sends one datagram to addr from inside the namespace and returns
// the reply.
func (n *NS) GetUDP(addr string) (string, error) {
	c, err := n.DialContext(context.Background(), "udp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write([]byte("ping")); err != nil {
		return "", fmt.Errorf("topo: %s: udp %s: %w", n.name, addr, err)
	}
	buf := make([]byte, 2048)
	m, err := c.Read(buf)
	if err != nil {
		return "", fmt.Errorf("topo: %s: udp %s: %w", n.name, addr, err)
	}
	return string(buf[:m]), nil
}

// Tally makes n requests to addr with Get, each on a new TCP connection
// (so each is scheduled afresh), and counts the answers by body. It stops
// at the first failure and returns the counts so far with the error.
func (n *NS) Tally(addr string, count int) (map[string]int, error) {
	seen := map[string]int{}
	for i := range count {
		body, err := n.Get(addr)
		if err != nil {
			return seen, fmt.Errorf("request %d to %s: %w (answers so far: %v)", i+1, addr, err, seen)
		}
		seen[body]++
	}
	return seen, nil
}
