// Package control owns the running director's control socket and the
// record of real servers drained by hand.
//
// The daemon (`lvs-rs run --role director`) listens on the unix stream
// socket control.sock in the state directory, mode 0600 (Listen). Each
// connection carries exactly one request and one response, each a single
// line of JSON with a protocol version (a request of at most 1 MiB, a
// response of at most 64 MiB: a status carries about 220 bytes per real
// server); every call has a deadline on both sides:
//
//	→ {"version":1,"op":"status"}
//	← {"version":1,"status":{"pid":4242,...}}
//	→ {"version":1,"op":"drain","drain":{"address":"10.0.0.11","service":"tcp:10.0.0.100:80"}}
//	← {"version":1,"drain":{"targets":[{"service":"tcp:10.0.0.100:80","address":"10.0.0.11","changed":true}]}}
//	← {"version":1,"error":"10.0.0.99 is not a real server of any service: no such real server","code":"not_found"}
//
// Serve answers requests by calling a Handler, which the daemon's
// reconcile loop implements; Dial and Client are the command-line side
// (`lvs-rs status`, `drain`, `enable`). When no daemon is running, Dial
// and the Client's calls return an error that matches ErrNotRunning.
// Status.WriteTable renders a status for people.
//
// Service is the service selector used on the command line and in the
// protocol: tcp:VIP:PORT, udp:VIP:PORT, sctp:VIP:PORT or fwmark:N
// (ParseService). LoadDrains and SaveDrains keep the set of hand-made
// drains in drains.json in the state directory, so they survive a
// restart of the daemon (LoadDrainsSince and SaveDrainsSince with the
// time of each drain, from which its drain_timeout counts); ApplyDrain works out what a drain or enable
// request does to that set, and DrainSet tells which real servers it
// takes out of rotation. A drain without a service is one drain of
// every service, present or added later, with exceptions for the
// services enabled one by one since (see Drain).
//
// The types that cross the socket (Status, RealServer, DrainRequest,
// DrainResult) are plain JSON-tagged data: this package knows nothing of
// health checks, IPVS or the reconcile loop.
package control
