// Package registry keeps the devices Kessel knows and the latest reading of
// each, in memory. It is fed by configuration, device self-descriptions and
// the readings stream, and answers the API's device questions without a
// database query.
package registry

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/geo"
)

// UnknownPolicy says what happens to a reading from a device nobody registered.
type UnknownPolicy string

const (
	// AutoRegister registers the device as internal, with the reading's kind and location.
	AutoRegister UnknownPolicy = "auto-register"
	// Reject refuses the reading (it becomes a dead letter).
	Reject UnknownPolicy = "reject"
)

// Locator names the district a point lies in, or "" when it lies in none.
type Locator interface {
	District(p orb.Point) string
}

// Journal stores device changes durably (InfluxDB), so that a restart or a
// second instance rebuilds the same registry.
type Journal interface {
	SaveDevices(ctx context.Context, recs []kessel.DeviceRecord) error
}

// Options configures a Registry.
type Options struct {
	Unknown UnknownPolicy // default AutoRegister
	Locator Locator       // nil: no districts
	Journal Journal       // nil: changes are not persisted
	Logger  *slog.Logger
	Now     func() time.Time
}

// Registry is safe for concurrent use. It keeps a geo.Index of every
// device with a location for spatial queries.
type Registry struct {
	opts  Options
	mu    sync.RWMutex
	devs  map[string]*entry
	index *geo.Index
	dirty map[string]kessel.DeviceRecord // changes not yet in the journal
	flush sync.Mutex                     // one journal write at a time
}

type entry struct {
	dev        kessel.Device
	latest     *kessel.Reading
	byOperator bool // set by config or API: a self-description must not override it
}

// New returns an empty Registry.
func New(opts Options) (*Registry, error) {
	switch opts.Unknown {
	case "":
		opts.Unknown = AutoRegister
	case AutoRegister, Reject:
	default:
		return nil, kessel.Errorf(kessel.EINVALID, "unknown-device policy %q: use auto-register or reject", opts.Unknown)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Registry{opts: opts, devs: map[string]*entry{}, index: geo.NewIndex(), dirty: map[string]kessel.DeviceRecord{}}, nil
}

func (r *Registry) district(p *orb.Point) string {
	if p == nil || r.opts.Locator == nil {
		return ""
	}
	return r.opts.Locator.District(*p)
}

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
}

// Load applies journal records (from a previous run) without writing them
// back: the last record of each device wins; deleted devices stay away.
func (r *Registry) Load(recs []kessel.DeviceRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
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
// version. ENOTFOUND, ECONFLICT (the version moved on: reload and retry),
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
		return d, kessel.Errorf(kessel.ECONFLICT, "device %q changed since version %s (now %s); fetch it again", d.ID, version, Version(e.dev))
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
		return kessel.Errorf(kessel.ECONFLICT, "device %q changed since version %s; fetch it again", id, version)
	}
	delete(r.devs, id)
	r.index.Remove(id)
	now := r.opts.Now()
	r.dirty[id] = kessel.DeviceRecord{Device: kessel.Device{ID: id}, Deleted: true, Time: now}
	r.mu.Unlock()
	return r.Flush(ctx)
}

// reindex puts d into the spatial index, or takes it out when it has no
// usable location. The caller holds the write lock.
func (r *Registry) reindex(d *kessel.Device) {
	if d.Location == nil || r.index.Upsert(geo.Entry{ID: d.ID, Location: *d.Location, Kind: d.Kind, Department: d.Department, Visibility: d.Visibility}) != nil {
		r.index.Remove(d.ID)
	}
}

// Enrich fills the reading's kind, district and department from its device.
// A reading from an unknown device registers it (AutoRegister) or returns an
// ENOTFOUND error (Reject).
func (r *Registry) Enrich(rd *kessel.Reading) error {
	r.mu.RLock()
	e, ok := r.devs[rd.Device]
	var d kessel.Device
	if ok {
		d = e.dev
	}
	r.mu.RUnlock()
	if !ok {
		if r.opts.Unknown == Reject {
			return kessel.Errorf(kessel.ENOTFOUND, "device %q is not registered and the policy is to reject unknown devices", rd.Device)
		}
		kind := rd.Kind
		if kind == "" {
			kind = "unknown"
		}
		d = kessel.Device{ID: rd.Device, Kind: kind, Visibility: kessel.Internal, Location: rd.Location}
		r.mu.Lock()
		if _, exists := r.devs[rd.Device]; !exists {
			r.upsert(d, false)
			r.opts.Logger.Info("auto-registered unknown device as internal", "device", rd.Device, "kind", kind)
		}
		d = r.devs[rd.Device].dev
		r.mu.Unlock()
	}
	if d.Kind != "" && d.Kind != "unknown" {
		rd.Kind = d.Kind
	}
	if rd.Kind == "" {
		rd.Kind = "unknown"
	}
	rd.Department = d.Department
	rd.Internal = d.Visibility == kessel.Internal
	if rd.Location != nil {
		rd.District = r.district(rd.Location)
	} else {
		rd.District = d.District
	}
	return nil
}

// Observe records readings as their devices' latest (the newest by time
// wins) and moves mobile devices to where they reported from. The registry
// keeps the readings' Values maps: callers must not change them afterwards.
func (r *Registry) Observe(rs []kessel.Reading) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range rs {
		rd := rs[i]
		e, ok := r.devs[rd.Device]
		if !ok {
			e = &entry{dev: kessel.Device{ID: rd.Device, Kind: rd.Kind, Visibility: kessel.Internal, CreatedAt: rd.Time, UpdatedAt: rd.Time}}
			r.devs[rd.Device] = e
		}
		if e.latest != nil && e.latest.Time.After(rd.Time) {
			continue
		}
		e.latest = &rd
		if rd.Time.After(e.dev.LastSeen) {
			e.dev.LastSeen = rd.Time
		}
		if rd.Location != nil {
			p := *rd.Location
			e.dev.Location = &p
			e.dev.District = rd.District
			r.reindex(&e.dev)
		}
	}
}

func match(q *kessel.DeviceQuery, d *kessel.Device) bool {
	return (q.Kind == "" || q.Kind == d.Kind) &&
		(q.District == "" || q.District == d.District) &&
		(q.Department == "" || q.Department == d.Department) &&
		(q.IncludeInternal || d.Visibility != kessel.Internal)
}

// Query returns the devices matching q with their latest readings: sorted
// by distance for queries around a point, by id otherwise.
func (r *Registry) Query(q kessel.DeviceQuery) []kessel.DeviceState {
	m := geo.Match{Kind: q.Kind, Department: q.Department, IncludeInternal: q.IncludeInternal}
	var hits []geo.Hit
	spatial := true
	switch {
	case q.Near != nil && q.K > 0:
		hits = r.index.Nearest(*q.Near, q.K, q.Radius, m)
	case q.Near != nil:
		hits = r.index.Radius(*q.Near, q.Radius, m)
	case q.BBox != nil:
		hits = r.index.Bound(*q.BBox, m)
	case q.Within != nil:
		hits = r.index.Polygon(q.Within, m)
	default:
		spatial = false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []kessel.DeviceState
	if spatial {
		out = make([]kessel.DeviceState, 0, len(hits))
		for _, h := range hits {
			e, ok := r.devs[h.ID]
			if !ok || !match(&q, &e.dev) {
				continue
			}
			st := e.state()
			if q.Near != nil {
				d := h.Distance
				st.Distance = &d
			}
			out = append(out, st)
		}
		return out
	}
	out = make([]kessel.DeviceState, 0, len(r.devs))
	for _, e := range r.devs {
		if match(&q, &e.dev) {
			out = append(out, e.state())
		}
	}
	slices.SortFunc(out, func(a, b kessel.DeviceState) int { return strings.Compare(a.Device.ID, b.Device.ID) })
	return out
}

// state returns a copy that callers may keep. Latest values are shared
// read-only: Observe replaces the map instead of changing it.
func (e *entry) state() kessel.DeviceState {
	return kessel.DeviceState{Device: e.dev, Latest: e.latest}
}

// Get returns a device and its latest reading (nil if none yet).
func (r *Registry) Get(id string) (kessel.Device, *kessel.Reading, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.devs[id]
	if !ok {
		return kessel.Device{}, nil, false
	}
	var latest *kessel.Reading
	if e.latest != nil {
		l := *e.latest
		l.Values = maps.Clone(l.Values)
		latest = &l
	}
	return e.dev, latest, true
}

// Visibility returns a device's visibility, and false if the device is
// unknown.
func (r *Registry) Visibility(id string) (kessel.Visibility, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.devs[id]
	if !ok {
		return "", false
	}
	return e.dev.Visibility, true
}

// EachSeen calls f with every device that has sent a reading, in no
// particular order, under the registry's read lock: f must not call back
// into the registry.
func (r *Registry) EachSeen(f func(id, kind string, lastSeen time.Time)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for id, e := range r.devs {
		if !e.dev.LastSeen.IsZero() {
			f(id, e.dev.Kind, e.dev.LastSeen)
		}
	}
}

// Len returns the number of devices.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.devs)
}

func sameDescription(a, b *kessel.Device) bool {
	return a.Kind == b.Kind && a.Name == b.Name && a.Department == b.Department && a.Visibility == b.Visibility &&
		((a.Location == nil) == (b.Location == nil)) && (a.Location == nil || *a.Location == *b.Location) && maps.Equal(a.Labels, b.Labels)
}
