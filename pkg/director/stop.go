package director

import (
	"context"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// Stop removes what the state record says lvs-rs created (or was about to
// create when a run was interrupted): its real servers and services (a
// service that holds real servers someone else added stays, with a
// warning), its VIPs, and restores the sysctls it changed unless they
// were changed since (a warning). It needs no config. Nothing applied is
// success with no changes. It continues past a failure and returns every
// error joined; what could not be removed stays recorded.
func Stop(ctx context.Context, o Options) (Result, error) { return converge(ctx, nil, o) }

var _ IPVS = (*ipvs.Client)(nil)
