package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/geo"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/registry"
)

// startProfile sets the GC target and starts the --cpuprofile, if any.
func (a *app) startProfile(context.Context) (func(context.Context), error) {
	if a.getenv("GOGC") == "" && a.cfg.GCPercent > 0 {
		debug.SetGCPercent(a.cfg.GCPercent)
	}
	if a.cfg.CPUProfile == "" {
		return nil, nil
	}
	f, err := os.Create(a.cfg.CPUProfile)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func(context.Context) {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// loadDistricts reads the district polygons, if configured.
func (a *app) loadDistricts(context.Context) (func(context.Context), error) {
	if a.cfg.Districts == "" {
		return nil, nil
	}
	d, err := geo.LoadDistrictsFile(a.cfg.Districts, a.cfg.DistrictProp, a.log)
	if err != nil {
		return nil, err
	}
	a.districts = d
	a.log.Info("districts loaded", "file", a.cfg.Districts, "count", len(d.All()))
	return nil, nil
}

// districtsOrNil keeps a nil *geo.Districts from becoming a non-nil interface.
func (a *app) districtsOrNil() api.Districts {
	if a.districts == nil {
		return nil
	}
	return a.districts
}

// startStore connects to InfluxDB and prepares the database.
func (a *app) startStore(ctx context.Context) (func(context.Context), error) {
	c := a.cfg
	store, err := influx.New(influx.Options{URL: c.InfluxURL, Org: c.InfluxOrg, Bucket: c.InfluxBucket, Token: c.InfluxToken, Logger: a.log,
		RawRetention: c.RawRetention, RollupRetention: c.RollupRetention})
	if err != nil {
		return nil, err
	}
	if err := store.Prepare(ctx); err != nil {
		store.Close()
		return nil, err
	}
	a.store = store
	a.ready = append(a.ready, api.Check{Name: "influxdb", Check: func(ctx context.Context) error { _, err := store.Ping(ctx); return err }})
	return func(context.Context) { store.Close() }, nil
}

// startRegistry loads the device registry from InfluxDB, adds the config
// file's devices and runs its journal.
func (a *app) startRegistry(ctx context.Context) (func(context.Context), error) {
	opts := registry.Options{Unknown: registry.UnknownPolicy(a.cfg.UnknownDevices), Logger: a.log, Journal: a.store}
	if a.districts != nil {
		opts.Locator = a.districts
	}
	reg, err := registry.New(opts)
	if err != nil {
		return nil, err
	}
	if a.cfg.DeviceMetrics {
		a.registerLastSeen(reg)
	}
	loadCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	recs, err := a.store.LoadDevices(loadCtx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("loading the device registry: %w", err)
	}
	reg.Load(recs)
	a.log.Info("device registry loaded", "devices", reg.Len())
	for _, d := range a.cfg.Devices {
		if err := reg.Put(d); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	a.reg = reg
	runCtx, stop := detach(ctx)
	var runErr error
	wait := background(func() { runErr = reg.Run(runCtx) })
	return func(context.Context) {
		stop()
		wait()
		if runErr != nil {
			a.log.Warn("final device journal write failed", "err", runErr)
		}
	}, nil
}

// startRestore refills the live state from InfluxDB while ingest already
// runs: the registry keeps the newest reading per device, so an older
// restored one never replaces a live one.
func (a *app) startRestore(ctx context.Context) (func(context.Context), error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	wait := background(func() {
		defer cancel()
		now := time.Now()
		latest, err := a.store.Latest(ctx, now.Add(-a.cfg.RestoreWindow), now.Add(time.Hour))
		if err != nil {
			a.log.Warn("could not restore latest readings; the live state fills as readings arrive", "err", err)
			return
		}
		a.reg.Observe(latest)
		a.log.Info("live state restored", "devices", len(latest))
	})
	return func(context.Context) { cancel(); wait() }, nil
}
