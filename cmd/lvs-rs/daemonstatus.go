package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// roleDaemon is status's key for the running director's health report.
const roleDaemon = "daemon"

// daemonAsk bounds asking the running director for its status.
const daemonAsk = 5 * time.Second

// daemonReport is the running director's status as a status report.
type daemonReport struct{ control.Status }

func (daemonReport) IsApplied() bool { return true }

// Drifted is false: the kernel's drift is the director report's to tell.
func (daemonReport) Drifted() bool { return false }

func (d daemonReport) WriteTable(w io.Writer) error { return d.Status.WriteTable(w, time.Now()) }

// daemonStatus asks a running `lvs-rs run` for its status; ok is false
// when none answers. An error means that one may be running but its
// status could not be read (it did not answer in time, say).
func daemonStatus(ctx context.Context, g *globalFlags) (rep daemonReport, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, daemonAsk)
	defer cancel()
	c, err := control.Dial(ctx, state.Dir(g.stateDir))
	if errors.Is(err, control.ErrNotRunning) {
		return daemonReport{}, false, nil
	}
	if err != nil {
		return daemonReport{}, false, fmt.Errorf("cannot read the status of lvs-rs run: %w", err)
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return daemonReport{}, false, fmt.Errorf("cannot read the status of lvs-rs run: %w", err)
	}
	return daemonReport{st}, true, nil
}

// daemonActive reports whether an `lvs-rs run` answers on the control
// socket.
func daemonActive(ctx context.Context, g *globalFlags) bool {
	ctx, cancel := context.WithTimeout(ctx, daemonAsk)
	defer cancel()
	c, err := control.Dial(ctx, state.Dir(g.stateDir))
	if err != nil {
		return false
	}
	c.Close()
	return true
}
