package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/kessel-city/kessel"
)

// Journal stores device changes durably (InfluxDB), so that a restart or a
// second instance rebuilds the same registry.
type Journal interface {
	SaveDevices(ctx context.Context, recs []kessel.DeviceRecord) error
}

// Load applies journal records (from a previous run) without writing them
// back: the last record of each device wins; deleted devices stay away.
func (r *Registry) Load(recs []kessel.DeviceRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.gen.Add(1)
	for _, rec := range recs {
		if rec.Deleted {
			if _, ok := r.devs[rec.Device.ID]; ok {
				delete(r.devs, rec.Device.ID)
				r.index.Remove(rec.Device.ID)
			}
			continue
		}
		d := rec.Device
		if d.Visibility == "" {
			d.Visibility = kessel.Internal
		}
		e, ok := r.devs[d.ID]
		if !ok {
			e = &entry{}
			r.devs[d.ID] = e
		}
		d.District = r.district(d.Location)
		d.LastSeen = e.dev.LastSeen
		e.dev = d
		e.byOperator = rec.ByOperator
		r.reindex(&e.dev)
	}
}

// Flush writes pending changes to the journal. On failure they stay
// pending and the error (EUNAVAILABLE from the store) is returned.
func (r *Registry) Flush(ctx context.Context) error {
	if r.opts.Journal == nil {
		return nil
	}
	r.flush.Lock()
	defer r.flush.Unlock()
	r.mu.Lock()
	if len(r.dirty) == 0 {
		r.mu.Unlock()
		return nil
	}
	recs := make([]kessel.DeviceRecord, 0, len(r.dirty))
	for _, rec := range r.dirty {
		recs = append(recs, rec)
	}
	r.dirty = map[string]kessel.DeviceRecord{}
	r.mu.Unlock()
	if err := r.opts.Journal.SaveDevices(ctx, recs); err != nil {
		r.mu.Lock()
		for _, rec := range recs {
			if _, newer := r.dirty[rec.Device.ID]; !newer {
				r.dirty[rec.Device.ID] = rec
			}
		}
		r.mu.Unlock()
		return fmt.Errorf("registry: journal: %w", err)
	}
	return nil
}

// Run flushes the journal every second until ctx ends, then once more.
func (r *Registry) Run(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := r.Flush(ctx); err != nil {
				r.opts.Logger.Warn("device journal write failed; will retry", "err", err)
			}
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return r.Flush(fctx)
		}
	}
}
