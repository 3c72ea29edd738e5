package main

import (
	"context"
	"fmt"

	"github.com/kessel-city/kessel/rollup"
)

// startRollup keeps the hourly and daily rollups current (role ingest,
// unless --rollups=false): an API-only instance reads them, never
// computes them.
func (a *app) startRollup(ctx context.Context) (func(context.Context), error) {
	if !a.cfg.has("ingest") || !a.cfg.Rollups {
		return nil, nil
	}
	r, err := rollup.New(a.store, rollup.Options{Logger: a.log, Registerer: a.prom, Grace: a.cfg.RollupGrace, RawRetention: a.cfg.RawRetention,
		Busy: a.ingestBehind()})
	if err != nil {
		return nil, fmt.Errorf("rollup: %w", err)
	}
	runCtx, stop := detach(ctx)
	wait := background(func() {
		if err := r.Run(runCtx); err != nil {
			a.fail(fmt.Errorf("rollup: %w", err))
		}
	})
	return func(context.Context) { stop(); wait() }, nil
}
