package registry

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/geo"
)

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
