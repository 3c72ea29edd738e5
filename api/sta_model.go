package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/kessel-city/kessel"
)

// How Kessel maps onto the SensorThings data model (OGC 18-088 §8.2):
//
//	Thing, Location, HistoricalLocation, FeatureOfInterest  a device; @iot.id is the device id
//	Datastream         a device × one of its fields; @iot.id "device:field"
//	Sensor             a device kind; @iot.id the kind
//	ObservedProperty   a field name; @iot.id the field
//	Observation        one field of one stored reading; @iot.id "device:field:unix-nanoseconds"
//
// Datastreams are the fields of a device's latest reading. Observations
// come from InfluxDB: under a Datastream or FeatureOfInterest, the window
// that phenomenonTime comparisons joined by "and" at the top of $filter
// give, by default the 24 hours before now; the top-level /Observations
// lists the latest observation of every Datastream.

// staNavs lists each entity set's navigation properties and their target
// sets; a singular name navigates to one entity.
var staNavs = map[string]map[string]string{
	"Things":              {"Locations": "Locations", "HistoricalLocations": "HistoricalLocations", "Datastreams": "Datastreams"},
	"Locations":           {"Things": "Things", "HistoricalLocations": "HistoricalLocations"},
	"HistoricalLocations": {"Thing": "Things", "Locations": "Locations"},
	"Datastreams":         {"Thing": "Things", "Sensor": "Sensors", "ObservedProperty": "ObservedProperties", "Observations": "Observations"},
	"Sensors":             {"Datastreams": "Datastreams"},
	"ObservedProperties":  {"Datastreams": "Datastreams"},
	"Observations":        {"Datastream": "Datastreams", "FeatureOfInterest": "FeaturesOfInterest"},
	"FeaturesOfInterest":  {"Observations": "Observations"},
}

// staSets is the order of the entity sets in the service root.
var staSets = []string{"Things", "Locations", "HistoricalLocations", "Datastreams", "Sensors", "ObservedProperties", "Observations", "FeaturesOfInterest"}

func staSingular(nav string) bool { return !strings.HasSuffix(nav, "s") }

// staEntity is one entity: its set, id, properties and the device it
// comes from.
type staEntity struct {
	set   string
	id    string
	props map[string]any
	st    *kessel.DeviceState
	field string
	// track marks a past place of a mobile device (a HistoricalLocation
	// or Location with @iot.id "device:unix-nanoseconds"): at, loc.
	track bool
	at    time.Time
	loc   orb.Point
}

// staModel is the entities one request may see.
type staModel struct {
	s      *server
	r      *http.Request
	base   string // absolute URL of the service root
	states []kessel.DeviceState
	lists  map[string][]*staEntity
	reads  int // store queries so far
}

// staMaxReads bounds the store queries one request may make ($expand of
// Observations over many Datastreams).
const staMaxReads = 100

func (s *server) staModel(r *http.Request) *staModel {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	states := s.devices.Query(kessel.DeviceQuery{IncludeInternal: s.canSeeInternal(r)})
	slices.SortFunc(states, func(a, b kessel.DeviceState) int { return strings.Compare(a.Device.ID, b.Device.ID) })
	return &staModel{s: s, r: r, base: scheme + "://" + r.Host + staRoot, states: states, lists: map[string][]*staEntity{}}
}

func (m *staModel) self(e *staEntity) string { return staSelf(m.base, e.set, e.id) }

// staSelf is the selfLink of entity id of set under base.
func staSelf(base, set, id string) string {
	return base + "/" + set + "('" + strings.ReplaceAll(id, "'", "''") + "')"
}

// staObservationID is the @iot.id of the Observation of device's field at t.
func staObservationID(device, field string, t time.Time) string {
	return device + ":" + field + ":" + strconv.FormatInt(t.UnixNano(), 10)
}

func staFields(st *kessel.DeviceState) []string {
	if st.Latest == nil {
		return nil
	}
	return fieldNames(st.Latest.Values)
}

func staGeoJSON(st *kessel.DeviceState) any {
	if st.Device.Location == nil {
		return nil
	}
	return geojson.NewGeometry(*st.Device.Location)
}

func (m *staModel) thing(st *kessel.DeviceState) *staEntity {
	d := st.Device
	name := d.Name
	if name == "" {
		name = d.ID
	}
	props := map[string]any{"kind": d.Kind, "district": d.District, "department": d.Department, "visibility": string(d.Visibility)}
	return &staEntity{set: "Things", id: d.ID, st: st, props: map[string]any{"name": name, "description": d.Kind + " device " + d.ID, "properties": props}}
}

// place is a device's Location, HistoricalLocation or FeatureOfInterest.
func (m *staModel) place(set string, st *kessel.DeviceState) *staEntity {
	d := st.Device
	e := &staEntity{set: set, id: d.ID, st: st}
	switch set {
	case "HistoricalLocations":
		t := d.LastSeen
		if t.IsZero() {
			t = d.UpdatedAt
		}
		e.props = map[string]any{"time": t.UTC()}
	case "Locations":
		e.props = map[string]any{"name": "location of " + d.ID, "description": "where device " + d.ID + " is", "encodingType": "application/geo+json", "location": staGeoJSON(st)}
	default:
		e.props = map[string]any{"name": "area of " + d.ID, "description": "the place device " + d.ID + " observes", "encodingType": "application/geo+json", "feature": staGeoJSON(st)}
	}
	return e
}

func (m *staModel) datastream(st *kessel.DeviceState, field string) *staEntity {
	d := st.Device
	return &staEntity{set: "Datastreams", id: d.ID + ":" + field, st: st, field: field, props: map[string]any{
		"name": d.ID + " " + field, "description": field + " measured by " + d.Kind + " device " + d.ID,
		"observationType":   "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
		"unitOfMeasurement": staUnitOf(&st.Device, st.Latest, field), "observedArea": staGeoJSON(st),
		"properties": map[string]any{"device": d.ID, "field": field, "kind": d.Kind},
	}}
}

func (m *staModel) sensor(kind string) *staEntity {
	return &staEntity{set: "Sensors", id: kind, props: map[string]any{"name": kind, "description": "Kessel " + kind + " device model",
		"encodingType": "text/plain", "metadata": "devices of kind " + kind}}
}

func (m *staModel) observedProperty(field string) *staEntity {
	return &staEntity{set: "ObservedProperties", id: field, field: field, props: map[string]any{"name": field,
		"definition": "urn:kessel:quantity:" + field, "description": "the quantity Kessel stores as field " + field}}
}

// observation is one value; where is set for a mobile device's reading,
// whose FeatureOfInterest is then the place of that reading.
func (m *staModel) observation(st *kessel.DeviceState, field string, t time.Time, values map[string]float64, where *orb.Point) *staEntity {
	e := &staEntity{set: "Observations", id: staObservationID(st.Device.ID, field, t), st: st, field: field,
		props: map[string]any{"phenomenonTime": t.UTC(), "resultTime": nil, "result": values[field]}, at: t}
	if q := staResultQuality(values, field); q != nil {
		e.props["resultQuality"] = q
	}
	if where != nil {
		e.track, e.loc = true, *where
	}
	return e
}

// list returns every entity of a set the request may see (for
// Observations, the latest of each Datastream).
func (m *staModel) list(set string) []*staEntity {
	if l, ok := m.lists[set]; ok {
		return l
	}
	var out []*staEntity
	seen := map[string]bool{}
	for i := range m.states {
		st := &m.states[i]
		switch set {
		case "Things":
			out = append(out, m.thing(st))
		case "Locations", "HistoricalLocations", "FeaturesOfInterest":
			if st.Device.Location != nil {
				out = append(out, m.place(set, st))
			}
		case "Datastreams":
			for _, f := range staFields(st) {
				out = append(out, m.datastream(st, f))
			}
		case "Sensors":
			if !seen[st.Device.Kind] {
				seen[st.Device.Kind] = true
				out = append(out, m.sensor(st.Device.Kind))
			}
		case "ObservedProperties":
			for _, f := range staFields(st) {
				if !seen[f] {
					seen[f] = true
					out = append(out, m.observedProperty(f))
				}
			}
		case "Observations":
			for _, f := range staFields(st) {
				out = append(out, m.observation(st, f, st.Latest.Time, st.Latest.Values, st.Latest.Location))
			}
		}
	}
	if set == "ObservedProperties" {
		slices.SortFunc(out, func(a, b *staEntity) int { return strings.Compare(a.id, b.id) })
	}
	m.lists[set] = out
	return out
}

// get returns one entity by id, or ENOTFOUND.
func (m *staModel) get(set, id string) (*staEntity, error) {
	if set == "Observations" {
		return m.observationByID(id)
	}
	for _, e := range m.list(set) {
		if e.id == id {
			return e, nil
		}
	}
	if set == "Locations" || set == "HistoricalLocations" || set == "FeaturesOfInterest" {
		if e, err := m.trackByID(set, id); e != nil || err != nil {
			return e, err
		}
	}
	return nil, kessel.Errorf(kessel.ENOTFOUND, "no %s with @iot.id '%s'", set, id)
}

func (m *staModel) device(id string) *kessel.DeviceState {
	i, ok := slices.BinarySearchFunc(m.states, id, func(st kessel.DeviceState, id string) int { return strings.Compare(st.Device.ID, id) })
	if !ok {
		return nil
	}
	return &m.states[i]
}

func (m *staModel) observationByID(id string) (*staEntity, error) {
	notFound := kessel.Errorf(kessel.ENOTFOUND, "no Observations with @iot.id '%s'", id)
	rest, ns, ok1 := staCutLast(id, ":")
	dev, field, ok2 := staCutLast(rest, ":")
	n, err := strconv.ParseInt(ns, 10, 64)
	st := m.device(dev)
	if !ok1 || !ok2 || err != nil || st == nil || !kessel.ValidFieldName(field) {
		return nil, notFound
	}
	t := time.Unix(0, n)
	obs, err := m.observations(st, []string{field}, t, t.Add(time.Nanosecond))
	if err != nil {
		return nil, err
	}
	for _, o := range obs {
		if o.id == id { // the id names its instant exactly: not -1 (InfluxDB reads a stop of 0 as none), +n or 0n
			return o, nil
		}
	}
	return nil, notFound
}

func staCutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// observations reads a device's stored readings in [from, to) as
// Observations, ordered by time, then field.
func (m *staModel) observations(st *kessel.DeviceState, fields []string, from, to time.Time) ([]*staEntity, error) {
	if m.s.readings == nil {
		return nil, kessel.Errorf(kessel.EUNAVAILABLE, "stored readings are not available on this instance")
	}
	if !from.Before(to) {
		return nil, nil
	}
	if m.reads++; m.reads > staMaxReads {
		return nil, invalid("this request reads the observations of more than %d datastreams; lower $top or expand Observations on fewer", staMaxReads)
	}
	max := m.s.opts.MaxPoints
	if len(fields) > 0 && staMobile(st) {
		fields = append(fields, "lat", "lon")
	}
	rs, err := m.s.readings.History(m.r.Context(), kessel.HistoryQuery{Device: st.Device.ID, From: from, To: to, Fields: fields, Limit: max + 1})
	if err != nil {
		return nil, err
	}
	if len(rs) > max {
		return nil, invalid("more than %d readings of %s between %s and %s; narrow phenomenonTime in $filter (e.g. phenomenonTime ge %s)",
			max, st.Device.ID, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), to.Add(-time.Hour).UTC().Format(time.RFC3339))
	}
	var out []*staEntity
	for _, rd := range rs {
		for _, f := range fieldNames(rd.Values) {
			out = append(out, m.observation(st, f, rd.Time, rd.Values, rd.Location))
		}
	}
	return out, nil
}

// related follows a navigation property; q's phenomenonTime bounds narrow
// Observations.
func (m *staModel) related(e *staEntity, nav string, q *staQuery) ([]*staEntity, error) {
	target, ok := staNavs[e.set][nav]
	if !ok {
		return nil, kessel.Errorf(kessel.ENOTFOUND, "%s have no navigation property %s", e.set, nav)
	}
	if o := m.latestObservation(e, target, q); o != nil {
		return []*staEntity{o}, nil
	}
	switch {
	case target == "Observations" && e.track: // the observations made at a mobile device's past place
		return m.observations(e.st, nil, e.at, e.at.Add(time.Nanosecond))
	case target == "Observations":
		var fields []string
		if e.set == "Datastreams" {
			fields = []string{e.field}
		}
		from, to := m.window(q, "phenomenonTime")
		return m.observations(e.st, fields, from, to)
	case e.track && (target == "Locations" || target == "HistoricalLocations" || target == "FeaturesOfInterest"):
		return []*staEntity{m.trackPoint(target, e.st, e.at, e.loc)}, nil
	case target == "HistoricalLocations" && e.set == "Things" && staMobile(e.st):
		from, to := m.window(q, "time")
		return m.track(e.st, from, to)
	case target == "Sensors":
		return []*staEntity{m.sensor(e.st.Device.Kind)}, nil
	case target == "ObservedProperties":
		return []*staEntity{m.observedProperty(e.field)}, nil
	case target == "Datastreams" && e.field != "" && e.set == "Observations":
		return []*staEntity{m.datastream(e.st, e.field)}, nil
	case e.st == nil || e.set == "ObservedProperties": // Sensors, ObservedProperties: datastreams of the kind or field
		var out []*staEntity
		for _, ds := range m.list("Datastreams") {
			if e.set == "Sensors" && ds.st.Device.Kind == e.id || e.set == "ObservedProperties" && ds.field == e.id {
				out = append(out, ds)
			}
		}
		return out, nil
	}
	var out []*staEntity
	for _, x := range m.list(target) { // the same device
		if x.st == e.st {
			out = append(out, x)
		}
	}
	return out, nil
}

// value resolves a property path of e for $filter and $orderby: a
// property, a key inside one (properties/kind, unitOfMeasurement/symbol)
// or a property of a singular navigation (Thing/name, Datastream/@iot.id).
func (m *staModel) value(e *staEntity, path []string) (any, error) {
	if len(path) == 1 && (path[0] == "id" || path[0] == "@iot.id") {
		return e.id, nil
	}
	if len(path) == 1 && path[0] == "$now" { // now()
		return m.s.opts.Now(), nil
	}
	if v, ok := e.props[path[0]]; ok {
		for _, k := range path[1:] {
			mv, ok := v.(map[string]any)
			if !ok {
				return nil, nil
			}
			v = mv[k]
		}
		return v, nil
	}
	if _, ok := staNavs[e.set][path[0]]; ok && staSingular(path[0]) && len(path) > 1 {
		rel, err := m.related(e, path[0], &staQuery{})
		if err != nil || len(rel) == 0 {
			return nil, err
		}
		return m.value(rel[0], path[1:])
	}
	return nil, invalid("%s have no property %s", e.set, strings.Join(path, "/"))
}
