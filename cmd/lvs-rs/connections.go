package main

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/lvs-rs/lvs-rs/pkg/conntable"
	"github.com/lvs-rs/lvs-rs/pkg/director"
)

// procRoot is where the connection table is read.
const procRoot = "/proc"

// runConnections is status --connections: the IPVS connection table,
// restricted to the services in the director's status report (those
// lvs-rs created; with --config, those the file names that lvs-rs owns or
// would create).
func runConnections(ctx context.Context, g *globalFlags, f *roleFlags, output string, stdout, stderr io.Writer) error {
	if f.role == roleRealServer {
		return usageErr("--connections: the connection table is the director's (--role director)")
	}
	cfg, err := f.namedConfig()
	if err != nil {
		return err
	}
	s, err := openReadSession(g, stderr)
	if err != nil {
		return withCode(exitUnknown, err)
	}
	defer s.close()
	_, do := s.opts(false)
	rep, err := director.Status(ctx, cfg, do)
	if err != nil {
		return withCode(exitUnknown, fmt.Errorf("director: %w", err))
	}
	if !rep.IsApplied() {
		if output == "table" {
			fmt.Fprintln(stdout, "nothing applied on this host")
		}
		return withCode(exitNotApplied, errSilent)
	}
	// Printed as the table is read: a busy director's table of millions
	// of entries is never held in memory.
	w := bufio.NewWriterSize(stdout, 64<<10)
	var out interface {
		Write(conntable.Conn) error
		Close() error
	} = conntable.NewTable(w)
	if output == "json" {
		out = conntable.NewJSON(w)
	}
	err = conntable.Each(procRoot, conntable.NewSelector(connServices(rep)), out.Write)
	if err == nil {
		err = out.Close()
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return withCode(exitUnknown, err)
}

// connServices turns the report's services into connection selectors.
func connServices(rep *director.Report) []conntable.Service {
	var out []conntable.Service
	for _, sr := range rep.Services {
		if sr.FWMark == 0 {
			out = append(out, conntable.Service{Protocol: sr.Protocol.String(), VIP: sr.Address, Port: sr.Port})
			continue
		}
		s := conntable.Service{FWMark: sr.FWMark}
		for _, v := range rep.VIPs {
			if v.Address.Is6() == sr.Address.Is6() {
				s.VIPs = append(s.VIPs, v.Address)
			}
		}
		for _, d := range sr.Destinations {
			s.Reals = append(s.Reals, d.Address)
		}
		out = append(out, s)
	}
	return out
}
