package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
	_ "time/tzdata" // evidence days are days in Europe/Berlin, on any host

	"github.com/kessel-city/kessel/evidence"
)

// startEvidence keeps the winter service's evidence (roles alerts and
// api): a chain of daily records per road-surface sensor and route, in
// InfluxDB apart from the readings' retention and, with --evidence-dir,
// as files. The alerts role builds each night's records.
func (a *app) startEvidence(ctx context.Context) (func(context.Context), error) {
	if !a.cfg.has("alerts") && !a.cfg.has("api") {
		return nil, nil
	}
	store := a.store.EvidenceStore(a.cfg.EvidenceBucket)
	var err error
	timeout(ctx, 30*time.Second, func(ctx context.Context) { err = store.Prepare(ctx) })
	if err != nil {
		return nil, fmt.Errorf("evidence store %s: %w", store.Bucket(), err)
	}
	buildAt, err := evidenceBuildAt(a.cfg.EvidenceBuild)
	if err != nil {
		return nil, err
	}
	opts := evidence.ServiceOptions{Logger: a.log, BuildAfter: buildAt}
	if dir := a.evidenceDir(); dir != "" {
		opts.Archive = evidence.Dir(dir)
	}
	svc, err := evidence.NewService(a.store, store, a.reg, a.cfg.File.Routes, opts)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a.evidence = svc
	if !a.cfg.has("alerts") || a.cfg.EvidenceBuild == "off" {
		return nil, nil
	}
	runCtx, stop := detach(ctx)
	wait := background(func() {
		if err := svc.Run(runCtx); err != nil {
			a.fail(fmt.Errorf("evidence: %w", err))
		}
	})
	a.log.Info("evidence records kept", "bucket", store.Bucket(), "dir", a.evidenceDir(), "routes", len(a.cfg.File.Routes))
	return func(context.Context) { stop(); wait() }, nil
}

// evidenceBuildAt reads --evidence-build-at, HH:MM or off.
func evidenceBuildAt(v string) (time.Duration, error) {
	if v == "off" {
		return 0, nil
	}
	t, err := time.Parse("15:04", v)
	if err != nil {
		return 0, fmt.Errorf("--evidence-build-at %q: want HH:MM (local time) or off", v)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Second, nil
}

// evidenceDir is where record files go: --evidence-dir, or else the
// hidden folder .evidence of the bulk archive (--archive), which the
// archive's server never serves (records name people and internal
// alerts; the archive is open data); empty: InfluxDB only.
func (a *app) evidenceDir() string {
	switch {
	case a.cfg.EvidenceDir != "":
		return a.cfg.EvidenceDir
	case a.cfg.Archive != "":
		return filepath.Join(a.cfg.Archive, ".evidence")
	}
	return ""
}
