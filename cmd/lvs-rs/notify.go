package main

import "github.com/coreos/go-systemd/v22/daemon"

// notifyStatus tells systemd, when lvs-rs runs under a unit with
// NotifyAccess=main, the outcome of the command, so that
// `systemctl status lvs-rs-director` shows it. Outside systemd
// (no NOTIFY_SOCKET) it does nothing.
func notifyStatus(msg string) {
	_, _ = daemon.SdNotify(false, "STATUS="+msg)
}
