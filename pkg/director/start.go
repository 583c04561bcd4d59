package director

import (
	"context"
	"errors"

	"github.com/lvs-rs/lvs-rs/internal/phase"
	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// Start converges the director to cfg: VIPs on cfg.Director.Interface,
// ip_forward, and the virtual services with their real servers, edited in
// place where they differ. IPVS availability is checked before any change
// (an error wrapping ErrNoIPVS); a service the config names that exists
// but is not lvs-rs's stops it before any change (ErrForeignService). On a
// failure midway the error names the object and errno, and the state
// records everything lvs-rs owns: a rerun converges, stop removes it. It
// is Converge(DesiredFrom(cfg)) after checking cfg and, with CheckKernel,
// that the running kernel supports what it asks for.
func Start(ctx context.Context, cfg *config.Config, o Options) (Result, error) {
	if cfg == nil {
		return Result{}, errors.New("director: start: no configuration")
	}
	if cfg.Director.Interface == "" && len(cfg.VirtualServers) > 0 {
		return Result{}, errors.New("director: start: director.interface is not set")
	}
	d := DesiredFrom(cfg)
	if err := CheckKernel(d); err != nil {
		return Result{}, err
	}
	phase.Mark("desired")
	o.Services = nil      // start converges everything
	o.SkipForeign = false // and refuses another tool's service before any change
	return Converge(ctx, d, o)
}
