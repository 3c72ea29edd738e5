// Package registry keeps the devices Kessel knows and the latest reading of
// each, in memory. It is fed by configuration, device self-descriptions and
// the readings stream, and answers the API's device questions without a
// database query.
package registry

import (
	"log/slog"
	"sync"
	"sync/atomic"
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
	gen   atomic.Uint64                  // bumped by every change Query could show
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

// reindex puts d into the spatial index, or takes it out when it has no
// usable location. The caller holds the write lock.
func (r *Registry) reindex(d *kessel.Device) {
	if d.Location == nil || r.index.Upsert(geo.Entry{ID: d.ID, Location: *d.Location, Kind: d.Kind, Department: d.Department, Visibility: d.Visibility}) != nil {
		r.index.Remove(d.ID)
	}
}

// Len returns the number of devices.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.devs)
}

// Generation counts the changes to devices and latest readings: it moves
// on whenever anything Query could return may have changed (a reading
// observed, a device put, described, loaded or deleted). Callers compare
// it to know whether a copy of a Query's answer is still current. Safe for
// concurrent use; it never goes back.
func (r *Registry) Generation() uint64 { return r.gen.Load() }
