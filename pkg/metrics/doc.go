// Package metrics owns the running director's Prometheus metrics and the
// HTTP endpoint that serves them.
//
// A Registry holds the metrics and writes them in the Prometheus text
// exposition format itself (see text.go: client_golang's package
// initialisation would cost every lvs-rs command, not only the daemon,
// several milliseconds at startup). The daemon reports events to it
// (ObserveCheck, CheckSkipped, Transition, Reconciled, DriftRepaired,
// Reloaded; after each reconcile pass NetlinkErrors with the pass's error,
// which counts every IPVS request in it) and replaces the per-real-server
// snapshot after each pass (SetRealServers) and, after each pass that
// succeeded, the VIPs it announces (SetAnnounced); series missing from the
// latest snapshot disappear. Serve exposes /metrics over HTTP.
//
// Per-real-server series use node_exporter's IPVS label names and values
// (local_address, local_port, proto, local_mark, remote_address,
// remote_port; proto "TCP", "UDP", "SCTP" or "FWM"; local_mark the mark in
// eight upper-case hex digits for a firewall-mark service, as
// /proc/net/ip_vs shows it), so they join node_ipvs_backend_* series. IPVS
// traffic counters are node_exporter's job and are not exported here.
//
// Metrics:
//
//	lvsrs_real_server_up{<ipvs labels>}                        1 up, 0 otherwise
//	lvsrs_real_server_weight{<ipvs labels>,kind}               kind configured|effective
//	lvsrs_real_server_state{<ipvs labels>,state}               1 for the current state, 0 for the others
//	lvsrs_health_check_duration_seconds{type,result}           histogram
//	lvsrs_health_check_skipped_total{type,reason}              reason late|overlap|local
//	lvsrs_health_check_transitions_total{from,to}              counter
//	lvsrs_reconcile_duration_seconds                           histogram
//	lvsrs_reconcile_total{result}                              result success|error
//	lvsrs_drift_repairs_total{object}                          counter
//	lvsrs_netlink_errors_total{op,errno}                       IPVS requests of reconcile passes that failed:
//	                                                           op add_service, edit_destination, ...;
//	                                                           errno ENOENT, EINVAL, ... or "other"
//	lvsrs_vip_announced{vip}                                   with announce set: 1 announced, 0 withdrawn
//	lvsrs_config_reload_total{result}                          result success|failure
//	lvsrs_config_last_reload_success                           1 when the last (re)load was accepted
//	lvsrs_config_last_reload_success_timestamp_seconds         when a load was last accepted
//
// plus the Go runtime's go_* metrics (go_gc_duration_seconds, go_goroutines,
// go_threads, go_info, go_memstats_*, go_sched_gomaxprocs_threads,
// go_gc_gogc_percent, go_gc_gomemlimit_bytes) and the process's process_*
// metrics (cpu_seconds_total, open_fds, max_fds, resident_memory_bytes,
// virtual_memory_bytes, virtual_memory_max_bytes, start_time_seconds).
package metrics
