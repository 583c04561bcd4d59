package config

// The raw types hold a configuration as written, before validation: each
// value keeps its position so that every problem can point at it. The YAML
// decoder and the flag constructors both produce a rawConfig, and one
// validator (validate.go) turns it into a Config.
//
// A nil pointer means the value is absent (its default applies). A value
// whose type was wrong is already reported and has ok == false; the
// validator then skips every check that depends on it, so one mistake
// gives one message.

// rawString is a scalar read as text (addresses, names).
type rawString struct {
	pos
	s  string
	ok bool
}

// rawInt is an integer as written. text is its spelling, for messages.
type rawInt struct {
	pos
	n        int64
	text     string
	overflow bool // does not fit an int64: out of every range
	ok       bool
}

// rawBool is a boolean.
type rawBool struct {
	pos
	b  bool
	ok bool
}

// rawNetmask is a persistence_netmask: a prefix length or a dotted mask.
type rawNetmask struct {
	prefix *rawInt    // set when written as an integer
	dotted *rawString // set when written as text
}

// typed reports whether the netmask was of a usable type.
func (m *rawNetmask) typed() bool { return m.dotted != nil || m.prefix.ok }

// at returns where the netmask was written.
func (m *rawNetmask) at() pos {
	if m.prefix != nil {
		return m.prefix.pos
	}
	return m.dotted.pos
}

// rawConfig is a whole configuration as written.
type rawConfig struct {
	iface     *rawString
	ipForward *rawBool
	gateway   *rawList // one address is a list of one
	services  []rawService
	flags     bool // from the command line: field names are flags
	rawDirector2
	// checked, when set, has checked the services already (services is
	// then empty): see decoder.document.
	checked *validator
}

// rawService is one virtual server as written.
type rawService struct {
	at          pos // the service's mapping, for missing values
	vip         *rawString
	port        *rawInt
	protocol    *rawString
	fwmark      *rawInt
	scheduler   *rawString
	persistence *rawInt
	netmask     *rawNetmask
	mode        *rawString
	realServers []rawRealServer
	rawService2
}

// rawRealServer is one real server as written.
type rawRealServer struct {
	at              pos
	address         *rawString
	port            *rawInt
	weight          *rawInt
	mode            *rawString
	*rawRealServer2 // never nil; noRealServer2 when it holds nothing
}

// rawList is a list of scalars as written.
type rawList struct {
	pos
	items []*rawString
	ok    bool
}

// rawDirector2 holds the director settings of the long-running director
// and of the kernel features beyond the first release.
type rawDirector2 struct {
	reconcile     *rawString
	metrics       *rawString
	sendRedirects *rawBool
	ipvsSysctls   []rawNamedInt // sorted by name
	timeouts      *rawTimeouts
	sync          *rawSync
	announce      *rawAnnounce
}

// rawNamedInt is one entry of a mapping of integers (ipvs_sysctls).
type rawNamedInt struct {
	name string
	v    *rawInt
}

// rawTimeouts is director.timeouts as written.
type rawTimeouts struct {
	tcp, tcpFin, udp *rawString
}

// rawSync is director.sync as written.
type rawSync struct {
	at                        pos
	iface, state, group       *rawString
	syncid, maxlen, port, ttl *rawInt
}

// rawAnnounce is director.announce as written.
type rawAnnounce struct {
	at              pos
	table, protocol *rawInt
}

// rawCheck is a check block (of a service or a real server) as written.
type rawCheck struct {
	at                                   pos
	typ, via, interval, timeout          *rawString
	path, host, expectStatus, expectBody *rawString
	query                                *rawString
	port, rise, fall                     *rawInt
	command                              *rawList
}

// rawService2 holds a virtual server's settings beyond the first release.
type rawService2 struct {
	check        *rawCheck
	onFailure    *rawString
	drainTimeout *rawString
	slowStart    *rawString
	sorry        *rawString
	marks        *rawMarks
	schedFlags   *rawList
}

// rawMarks is a fwmark service's mark list as written.
type rawMarks struct {
	pos
	items []rawMark
}

// rawMark is one item of mark.
type rawMark struct {
	at       pos
	protocol *rawString
	port     *rawInt
}

// noRealServer2 is the rawRealServer2 of every real server without those
// settings (nearly all of them): it must not be changed.
var noRealServer2 = &rawRealServer2{}

// rawRealServer2 holds a real server's settings beyond the first release.
type rawRealServer2 struct {
	check        *rawCheck
	upper, lower *rawInt
	tunnel       *rawTunnel
}

// rawTunnel is a real server's tunnel block as written.
type rawTunnel struct {
	at    pos
	typ   *rawString
	port  *rawInt
	flags *rawList
}
