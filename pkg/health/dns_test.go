package health

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// dnsServer answers every question on a UDP socket of 127.0.0.1 with
// rcode and n records of type typ (A records hold 192.0.2.1).
func dnsServer(t *testing.T, rcode uint16, n int, typ uint16) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			m, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			end, err := dnsSkipName(buf[:m], dnsHeader)
			if err != nil {
				continue
			}
			q := buf[:end+4]
			resp := append([]byte(nil), q...)
			binary.BigEndian.PutUint16(resp[2:], dnsFlagQR|dnsFlagRD|0x80|rcode)
			binary.BigEndian.PutUint16(resp[6:], uint16(n))
			for range n {
				resp = append(resp, 0xC0, dnsHeader) // pointer to the question's name
				resp = binary.BigEndian.AppendUint16(resp, typ)
				resp = binary.BigEndian.AppendUint16(resp, dnsClassIN)
				resp = binary.BigEndian.AppendUint32(resp, 60)
				resp = binary.BigEndian.AppendUint16(resp, 4)
				resp = append(resp, 192, 0, 2, 1)
			}
			pc.WriteTo(resp, from)
		}
	}()
	return pc.LocalAddr().String()
}

func TestDNS(t *testing.T) {
	const cname = 5
	cases := []struct {
		name   string
		rcode  uint16
		n      int
		typ    uint16
		up     bool
		reason string
	}{
		{"answered", 0, 2, dnsTypeA, true, "NOERROR, 2 A"},
		{"nxdomain", 3, 0, dnsTypeA, false, "answer: NXDOMAIN"},
		{"servfail", 2, 0, dnsTypeA, false, "answer: SERVFAIL"},
		{"no records", 0, 0, dnsTypeA, false, "NOERROR without A records"},
		{"only other types", 0, 1, cname, false, "NOERROR without A records"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := dnsServer(t, c.rcode, c.n, c.typ)
			r := runProbe(target(t, DNS, addr, func(s *Spec) { s.Query = "www.example.com." }))
			wantResult(t, r, c.up, c.reason)
		})
	}
}

func TestDNSNoServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close() // bound, never answers
	r := runProbe(target(t, DNS, pc.LocalAddr().String(), func(s *Spec) {
		s.Query = "www.example.com"
		s.Timeout = 200 * time.Millisecond
	}))
	wantResult(t, r, false, "read answer: timeout after 200ms")
}

func TestDNSQueryEncoding(t *testing.T) {
	q, err := dnsQuery(0x1234, "www.example.com.", dnsTypeAAAA)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 28, 0, 1}
	if string(q) != string(want) {
		t.Errorf("query = % x\nwant    % x", q, want)
	}
	for _, bad := range []string{"", "a..b", string(make([]byte, 64)) + ".com"} {
		if _, err := dnsQuery(1, bad, dnsTypeA); err == nil {
			t.Errorf("dnsQuery(%q) accepted", bad)
		}
	}
}

func TestDNSAnswerDecodingRejectsTruncated(t *testing.T) {
	q, _ := dnsQuery(7, "a.example", dnsTypeA)
	q[2] |= 0x80 // a response
	binary.BigEndian.PutUint16(q[6:], 1)
	if _, _, err := dnsAnswers(q, dnsTypeA); err == nil {
		t.Error("an answer count without a record was accepted")
	}
}
