package registry

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/kessel-city/kessel"
)

// Put registers or replaces a device on an operator's word (config or API).
// It returns an EINVALID error for a bad device.
func (r *Registry) Put(d kessel.Device) error {
	if d.Visibility == "" {
		d.Visibility = kessel.Public
	}
	if err := d.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upsert(d, true)
	return nil
}

// Describe applies a device's self-description. Fields an operator set are
// kept: an operator's word beats a device's.
func (r *Registry) Describe(d kessel.Device) error {
	if d.Visibility == "" {
		d.Visibility = kessel.Public
	}
	if err := d.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.devs[d.ID]; ok && (e.byOperator || sameDescription(&e.dev, &d)) {
		return nil // an operator's word stands; a repeated description changes nothing
	}
	r.upsert(d, false)
	return nil
}

func (r *Registry) upsert(d kessel.Device, byOperator bool) {
	now := r.opts.Now()
	e, ok := r.devs[d.ID]
	if !ok {
		e = &entry{}
		r.devs[d.ID] = e
		d.CreatedAt = now
	} else {
		d.CreatedAt = e.dev.CreatedAt
		d.LastSeen = e.dev.LastSeen
	}
	d.UpdatedAt = now
	if !now.After(e.dev.UpdatedAt) { // the version must change on every update
		d.UpdatedAt = e.dev.UpdatedAt.Add(time.Nanosecond)
	}
	d.District = r.district(d.Location)
	e.dev = d
	e.byOperator = e.byOperator || byOperator
	r.reindex(&e.dev)
	r.dirty[d.ID] = kessel.DeviceRecord{Device: d, ByOperator: e.byOperator, Time: d.UpdatedAt}
	r.gen.Add(1)
}

// Version is a device's version for optimistic concurrency (If-Match): it
// changes with every update of the device itself, not with its readings.
func Version(d kessel.Device) string { return strconv.FormatInt(d.UpdatedAt.UnixNano(), 36) }

// Create registers a new device on an operator's word and writes it to the
// journal before returning. ECONFLICT if the id exists, EINVALID if bad.
func (r *Registry) Create(ctx context.Context, d kessel.Device) (kessel.Device, error) {
	if d.Visibility == "" {
		d.Visibility = kessel.Public
	}
	if err := d.Validate(); err != nil {
		return d, err
	}
	r.mu.Lock()
	if _, ok := r.devs[d.ID]; ok {
		r.mu.Unlock()
		return d, kessel.Errorf(kessel.ECONFLICT, "device %q already exists; change it with PUT", d.ID)
	}
	r.upsert(d, true)
	d = r.devs[d.ID].dev
	r.mu.Unlock()
	return d, r.Flush(ctx)
}

// Replace changes a device on an operator's word if its current version is
// version. ENOTFOUND, EPRECONDITION (the version moved on: reload and retry),
// EINVALID.
func (r *Registry) Replace(ctx context.Context, d kessel.Device, version string) (kessel.Device, error) {
	if d.Visibility == "" {
		d.Visibility = kessel.Public
	}
	if err := d.Validate(); err != nil {
		return d, err
	}
	r.mu.Lock()
	e, ok := r.devs[d.ID]
	switch {
	case !ok:
		r.mu.Unlock()
		return d, kessel.Errorf(kessel.ENOTFOUND, "device %q not found", d.ID)
	case Version(e.dev) != version:
		r.mu.Unlock()
		return d, kessel.Errorf(kessel.EPRECONDITION, "device %q changed since version %s (now %s); fetch it again", d.ID, version, Version(e.dev))
	}
	r.upsert(d, true)
	d = r.devs[d.ID].dev
	r.mu.Unlock()
	return d, r.Flush(ctx)
}

// Delete removes a device if its version is version ("" skips the check).
func (r *Registry) Delete(ctx context.Context, id, version string) error {
	r.mu.Lock()
	e, ok := r.devs[id]
	switch {
	case !ok:
		r.mu.Unlock()
		return kessel.Errorf(kessel.ENOTFOUND, "device %q not found", id)
	case version != "" && Version(e.dev) != version:
		r.mu.Unlock()
		return kessel.Errorf(kessel.EPRECONDITION, "device %q changed since version %s; fetch it again", id, version)
	}
	delete(r.devs, id)
	r.index.Remove(id)
	r.gen.Add(1)
	now := r.opts.Now()
	r.dirty[id] = kessel.DeviceRecord{Device: kessel.Device{ID: id}, Deleted: true, Time: now}
	r.mu.Unlock()
	return r.Flush(ctx)
}

func sameDescription(a, b *kessel.Device) bool {
	return a.Kind == b.Kind && a.Name == b.Name && a.Department == b.Department && a.Visibility == b.Visibility && a.MeasurementClass == b.MeasurementClass &&
		((a.Location == nil) == (b.Location == nil)) && (a.Location == nil || *a.Location == *b.Location) && maps.Equal(a.Labels, b.Labels) && maps.Equal(a.Units, b.Units) && maps.EqualFunc(a.Levels, b.Levels, slices.Equal)
}
