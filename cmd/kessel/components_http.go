package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/registry"
	"github.com/kessel-city/kessel/web"
)

// startUsage counts API use per endpoint and dataset (role api), restored
// from InfluxDB and saved there every minute and on stop.
func (a *app) startUsage(ctx context.Context) (func(context.Context), error) {
	if !a.cfg.has("api") {
		return nil, nil
	}
	u := api.NewUsage(a.store, a.cfg.ClientID, a.log)
	timeout(ctx, 10*time.Second, func(ctx context.Context) {
		if err := u.Load(ctx); err != nil {
			a.log.Warn("usage statistics not restored; counting from zero", "err", err)
		}
	})
	a.usage = u
	runCtx, stop := detach(ctx)
	wait := background(func() { u.Run(runCtx, time.Minute) })
	return func(context.Context) { stop(); wait() }, nil // Run saves the counts once more
}

// startHTTP serves the REST API, the citizens' page and the operational
// endpoints (role api).
func (a *app) startHTTP(context.Context) (func(context.Context), error) {
	if !a.cfg.has("api") {
		return nil, nil
	}
	c := a.cfg
	opts := api.Options{Logger: a.log, MaxBody: 2 * c.MaxPayload, Registerer: a.prom, Gatherer: a.prom, Ready: a.ready,
		Keys: c.File.APIKeys, DeadLetters: a.store, Writer: a.reg, Version: registry.Version, RateLimits: c.RateLimits,
		Catalog: c.File.Catalog, TrustedProxies: c.Proxies, Pusher: a.pusher(), Usage: a.usage, AirQuality: a.store}
	if a.engine != nil {
		opts.Alerts = a.engine
		opts.Rules = a.engine
	}
	if a.evidence != nil {
		opts.Evidence = a.evidence
	}
	page, err := web.New(web.Options{TileURL: c.MapTiles, TileAttribution: c.MapAttribution})
	if err != nil {
		return nil, fmt.Errorf("--map-tiles: %w", err)
	}
	opts.Page = page
	if a.archive != nil {
		opts.Archive = a.archive
	}
	handler, err := api.NewServer(a.reg, a.districtsOrNil(), a.store, opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", c.HTTP)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	wait := background(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.fail(fmt.Errorf("http: %w", err))
		}
	})
	a.announce(ln.Addr().String())
	return func(ctx context.Context) {
		if err := srv.Shutdown(ctx); err != nil {
			a.log.Warn("http shutdown", "err", err)
		}
		wait()
	}, nil
}
