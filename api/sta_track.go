package api

import (
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/kessel-city/kessel"
)

// A mobile device (one whose readings carry their place) has, besides its
// current Location, a track: under Things(id)/HistoricalLocations one
// HistoricalLocation per stored reading with a place, each with a Location
// of its own, both with @iot.id "device:unix-nanoseconds". The window is
// what "time" comparisons joined by "and" in $filter give, by default the
// last 24 hours. The FeatureOfInterest of a mobile device's Observation
// is the place of its reading, with the same kind of @iot.id.

func staMobile(st *kessel.DeviceState) bool { return st.Latest != nil && st.Latest.Location != nil }

// window is the time range of stored readings a request asks for through
// comparisons of prop in its $filter; by default the 24 hours before now.
func (m *staModel) window(q *staQuery, prop string) (from, to time.Time) {
	from, to = staTimeBounds(q.filter, prop)
	if to.IsZero() {
		to = m.s.opts.Now().Add(time.Second)
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	// bounds beyond what the store can be asked for mean its first or
	// last instant (see minTime: the store fails a query outside it, or
	// answers every reading)
	if from.Before(minTime) {
		from = minTime
	}
	if to.After(kessel.MaxTime) {
		to = kessel.MaxTime
	}
	return from, to
}

// trackPoint is a mobile device's HistoricalLocation or Location at t.
func (m *staModel) trackPoint(set string, st *kessel.DeviceState, t time.Time, p orb.Point) *staEntity {
	id := st.Device.ID + ":" + strconv.FormatInt(t.UnixNano(), 10)
	e := &staEntity{set: set, id: id, st: st, track: true, at: t, loc: p}
	switch set {
	case "HistoricalLocations":
		e.props = map[string]any{"time": t.UTC()}
		return e
	case "FeaturesOfInterest":
		e.props = map[string]any{"name": "place of " + st.Device.ID + " at " + t.UTC().Format(time.RFC3339Nano), "description": "where mobile device " + st.Device.ID + " measured",
			"encodingType": "application/geo+json", "feature": geojson.NewGeometry(p)}
		return e
	}
	e.props = map[string]any{"name": "place of " + st.Device.ID + " at " + t.UTC().Format(time.RFC3339Nano), "description": "where mobile device " + st.Device.ID + " was",
		"encodingType": "application/geo+json", "location": geojson.NewGeometry(p)}
	return e
}

// track reads a mobile device's places in [from, to) from the store.
func (m *staModel) track(st *kessel.DeviceState, from, to time.Time) ([]*staEntity, error) {
	if m.s.readings == nil {
		return nil, kessel.Errorf(kessel.EUNAVAILABLE, "stored readings are not available on this instance")
	}
	if !from.Before(to) {
		return nil, nil
	}
	if m.reads++; m.reads > staMaxReads {
		return nil, invalid("this request reads more than %d tracks or datastreams from the store; lower $top", staMaxReads)
	}
	max := m.s.opts.MaxPoints
	rs, err := m.s.readings.History(m.r.Context(), kessel.HistoryQuery{Device: st.Device.ID, From: from, To: to, Fields: []string{"lat", "lon"}, Limit: max + 1})
	if err != nil {
		return nil, err
	}
	if len(rs) > max {
		return nil, invalid("more than %d places of %s in this window; narrow time in $filter", max, st.Device.ID)
	}
	var out []*staEntity
	for _, rd := range rs {
		if rd.Location != nil {
			out = append(out, m.trackPoint("HistoricalLocations", st, rd.Time, *rd.Location))
		}
	}
	return out, nil
}

// trackByID finds a past place "device:unix-nanoseconds"; nil, nil when
// id is not of that form or names no stored place.
func (m *staModel) trackByID(set, id string) (*staEntity, error) {
	dev, ns, ok := staCutLast(id, ":")
	n, err := strconv.ParseInt(ns, 10, 64)
	st := m.device(dev)
	if !ok || err != nil || st == nil || !staMobile(st) {
		return nil, nil
	}
	t := time.Unix(0, n)
	hl, err := m.track(st, t, t.Add(time.Nanosecond))
	if err != nil || len(hl) == 0 || !hl[0].at.Equal(t) || strconv.FormatInt(n, 10) != ns {
		return nil, err // the id names its instant exactly, as observationByID's
	}
	return m.trackPoint(set, st, hl[0].at, hl[0].loc), nil
}
