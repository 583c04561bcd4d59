package nftmark

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// exprs is the rule r as nf_tables expressions, in the shape nft writes for
// "ip daddr VIP meta l4proto P th dport PORT meta mark set MARK" (ip6 daddr
// for an IPv6 VIP).
func exprs(r Rule) []expr.Any {
	nfproto, off, addr := byte(unix.NFPROTO_IPV4), uint32(16), r.VIP.AsSlice()
	if r.VIP.Is6() {
		nfproto, off = unix.NFPROTO_IPV6, 24
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{nfproto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: uint32(len(addr))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{r.Protocol}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, r.Port)},
		&expr.Immediate{Register: 1, Data: binary.NativeEndian.AppendUint32(nil, r.Mark)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

// ruleOf decodes expressions of exactly the shape exprs writes; false for
// anything else.
func ruleOf(es []expr.Any) (Rule, bool) {
	if len(es) != 10 {
		return Rule{}, false
	}
	nfp, ok1 := cmpEq(es[0], es[1], expr.MetaKeyNFPROTO, 1)
	ap, ok2 := es[2].(*expr.Payload)
	addr, ok3 := eqData(es[3], 0)
	l4, ok4 := cmpEq(es[4], es[5], expr.MetaKeyL4PROTO, 1)
	pp, ok5 := es[6].(*expr.Payload)
	port, ok6 := eqData(es[7], 2)
	im, ok7 := es[8].(*expr.Immediate)
	set, ok8 := es[9].(*expr.Meta)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) {
		return Rule{}, false
	}
	vip, ok := netip.AddrFromSlice(addr)
	switch {
	case !ok,
		ap.OperationType != expr.PayloadLoad || ap.Base != expr.PayloadBaseNetworkHeader || ap.DestRegister != 1,
		nfp[0] == unix.NFPROTO_IPV4 && (len(addr) != 4 || ap.Offset != 16 || ap.Len != 4),
		nfp[0] == unix.NFPROTO_IPV6 && (len(addr) != 16 || ap.Offset != 24 || ap.Len != 16),
		nfp[0] != unix.NFPROTO_IPV4 && nfp[0] != unix.NFPROTO_IPV6,
		pp.OperationType != expr.PayloadLoad || pp.Base != expr.PayloadBaseTransportHeader || pp.Offset != 2 || pp.Len != 2 || pp.DestRegister != 1,
		im.Register != 1 || len(im.Data) != 4,
		set.Key != expr.MetaKeyMARK || !set.SourceRegister || set.Register != 1:
		return Rule{}, false
	}
	return Rule{VIP: vip, Protocol: l4[0], Port: binary.BigEndian.Uint16(port), Mark: binary.NativeEndian.Uint32(im.Data)}, true
}

// cmpEq decodes "meta KEY" into register 1 and an equality test on one
// byte.
func cmpEq(load, test expr.Any, key expr.MetaKey, n int) ([]byte, bool) {
	m, ok := load.(*expr.Meta)
	if !ok || m.Key != key || m.SourceRegister || m.Register != 1 {
		return nil, false
	}
	return eqData(test, n)
}

// eqData returns the data of an equality test on register 1 (of n bytes,
// or any length when n is 0).
func eqData(e expr.Any, n int) ([]byte, bool) {
	c, ok := e.(*expr.Cmp)
	if !ok || c.Op != expr.CmpOpEq || c.Register != 1 || (n != 0 && len(c.Data) != n) || len(c.Data) == 0 {
		return nil, false
	}
	return c.Data, true
}
