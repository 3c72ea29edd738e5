package main

import (
	"context"
	"fmt"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/archive"
)

// startArchive opens the bulk archive (--archive): the api role serves it,
// the ingest role writes each past day that is missing, then every night.
func (a *app) startArchive(ctx context.Context) (func(context.Context), error) {
	if a.cfg.Archive == "" || a.store == nil {
		return nil, nil
	}
	arch, err := archive.New(a.cfg.Archive, a.store, a.reg, archive.Options{Logger: a.log.With("component", "archive"), Registerer: a.prom,
		UnitOf: func(kind, field string) string { u, _ := kessel.DefaultUnit(kind, field); return u.Symbol }, // the one unit table
		Busy:   a.ingestBehind()})

	if err != nil {
		return nil, fmt.Errorf("--archive: %w", err)
	}
	a.archive = arch
	if !a.cfg.has("ingest") {
		return nil, nil
	}
	runCtx, stop := detach(ctx)
	wait := background(func() {
		if err := arch.Run(runCtx); err != nil {
			a.fail(fmt.Errorf("archive: %w", err))
		}
	})
	a.log.Info("bulk archive", "dir", a.cfg.Archive)
	return func(context.Context) { stop(); wait() }, nil
}

// ingestBehind is the ingester's Behind where this process ingests
// (started before the archive), else nil.
func (a *app) ingestBehind() func() bool {
	if a.ingester == nil {
		return nil
	}
	return a.ingester.Behind
}
