package registry

import (
	"github.com/kessel-city/kessel"
)

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
// wins; one with link data only keeps the values before it) and moves
// mobile devices to where they reported from. The registry
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
		heard := rd.Time
		if len(rd.Values) == 0 && rd.Location == nil && e.latest != nil && len(e.latest.Values) > 0 {
			// Link data only (a LoRaWAN uplink without payload): the
			// device was heard, its latest values stay, with the new link.
			l := *e.latest
			l.Link = rd.Link
			rd = l
		}
		e.latest = &rd
		r.gen.Add(1)
		if heard.After(e.dev.LastSeen) {
			e.dev.LastSeen = heard
		}
		if rd.Location != nil {
			p := *rd.Location
			e.dev.Location = &p
			e.dev.District = rd.District
			r.reindex(&e.dev)
		}
	}
}
