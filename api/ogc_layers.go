package api

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// ogcProp is one property of a collection's features, as its JSON Schema
// declares it: type "string", "number" or "integer", format "date-time".
type ogcProp struct {
	name, typ, format, title string
}

// ogcItem is one feature of a collection. Its properties come from values,
// written in the order of the collection's schema; a value that is absent
// is left out of the feature.
type ogcItem struct {
	id   string
	geom orb.Geometry // nil: a null geometry
	// from and to are the feature's time (an instant when equal); zero
	// from means it has none, ongoing that it lasts until now.
	from, to time.Time
	ongoing  bool
	values   func() map[string]any
}

// ogcLayer is one collection as one request sees it: the features in a
// stable order (by id) and the schema they share.
type ogcLayer struct {
	id, title, description string
	schema                 []ogcProp
	required               []string
	geometries             []string // GeoJSON types of its geometries, "null" if absent
	// temporal collections filter on datetime; the others ignore it.
	temporal bool
	items    []ogcItem
}

// bbox is the extent of the features' geometries, or the whole world.
func (l *ogcLayer) bbox() [4]float64 {
	var b orb.Bound
	found := false
	for _, it := range l.items {
		if it.geom == nil {
			continue
		}
		if !found {
			b, found = it.geom.Bound(), true
			continue
		}
		b = b.Union(it.geom.Bound())
	}
	if !found {
		return [4]float64{-180, -90, 180, 90}
	}
	return [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
}

// interval is the temporal extent of the features; ok is false when the
// collection has none. A zero to means the extent is open (still going on).
func (l *ogcLayer) interval() (from, to time.Time, ok bool) {
	open := false
	for _, it := range l.items {
		if it.from.IsZero() {
			continue
		}
		if !ok || it.from.Before(from) {
			from = it.from
		}
		if it.to.After(to) {
			to = it.to
		}
		open, ok = open || it.ongoing, true
	}
	if open {
		to = time.Time{}
	}
	return from, to, ok && l.temporal
}

// Collection ids of the two collections that are not device kinds. A
// device kind of the same name is served as "devices_<kind>".
const (
	ogcDistricts = "districts"
	ogcAlerts    = "alerts"
)

func collectionOfKind(kind string) string {
	if kind == ogcDistricts || kind == ogcAlerts {
		return "devices_" + kind
	}
	return kind
}

func kindOfCollection(id string) string {
	if k, ok := strings.CutPrefix(id, "devices_"); ok && (k == ogcDistricts || k == ogcAlerts) {
		return k
	}
	return id
}

// ogcLayers builds every collection the request may see: the device kinds
// (sorted), then districts and alerts where this instance has them.
func (s *server) ogcLayers(r *http.Request) []*ogcLayer {
	byKind := map[string][]kessel.DeviceState{}
	for _, st := range s.devices.Query(kessel.DeviceQuery{IncludeInternal: s.canSeeInternal(r)}) {
		if kessel.ValidFieldName(st.Device.Kind) { // a device without a kind is in no collection
			byKind[st.Device.Kind] = append(byKind[st.Device.Kind], st)
		}
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b string) int { return strings.Compare(collectionOfKind(a), collectionOfKind(b)) })
	var out []*ogcLayer
	for _, k := range kinds {
		out = append(out, deviceLayer(k, byKind[k]))
	}
	if s.districts != nil {
		out = append(out, s.districtLayer())
	}
	if s.opts.Alerts != nil {
		out = append(out, s.alertLayer(r))
	}
	return out
}

// ogcLayer builds one collection, or returns nil when the request may not
// see it (a kind whose devices are all internal is unknown to the public).
func (s *server) ogcLayer(r *http.Request, id string) *ogcLayer {
	switch {
	case id == ogcDistricts && s.districts != nil:
		return s.districtLayer()
	case id == ogcAlerts && s.opts.Alerts != nil:
		return s.alertLayer(r)
	case id == ogcDistricts || id == ogcAlerts:
		return nil
	}
	kind := kindOfCollection(id)
	if !kessel.ValidFieldName(kind) {
		return nil
	}
	states := s.devices.Query(kessel.DeviceQuery{Kind: kind, IncludeInternal: s.canSeeInternal(r)})
	if len(states) == 0 {
		return nil
	}
	return deviceLayer(kind, states)
}

// deviceProps are the properties every device feature may have; the
// measured values follow, one number per field, with a "<field>_unit"
// string where the field has a unit (kessel.UnitOf).
var deviceProps = []ogcProp{
	{"name", "string", "", "Device name"},
	{"kind", "string", "", "Device kind"},
	{"district", "string", "", "District the device is in"},
	{"department", "string", "", "Department that runs the device"},
	{"visibility", "string", "", "public, or internal (only with the data:internal scope)"},
	{"observed_at", "string", "date-time", "Time of the latest reading (RFC 3339)"},
	{"last_seen", "string", "date-time", "When the device last sent a reading (RFC 3339)"},
}

// deviceLayer is the collection of one kind's devices. Its schema is the
// union of the fields their latest readings carry, sorted; a field whose
// name is taken by a fixed property is served as "value_<field>".
func deviceLayer(kind string, states []kessel.DeviceState) *ogcLayer {
	fields, units := map[string]bool{}, map[string]bool{}
	for _, st := range states {
		if st.Latest == nil {
			continue
		}
		for f := range st.Latest.Values {
			fields[f] = true
			units[f] = units[f] || unitSymbol(&st.Device, st.Latest, f) != ""
		}
	}
	names := make([]string, 0, len(fields))
	for f := range fields {
		if kessel.Measured(f) {
			names = append(names, f)
		}
	}
	slices.Sort(names)
	title := strings.ReplaceAll(kind, "_", " ")
	l := &ogcLayer{id: collectionOfKind(kind), title: strings.ToUpper(title[:1]) + title[1:] + " devices",
		description: "Devices of kind " + kind + " with their latest values as flat properties (one number per measured field).",
		schema:      slices.Clone(deviceProps), required: []string{"kind", "visibility"}, temporal: true, geometries: []string{"Point", "null"}}
	prop := map[string]string{}
	for _, f := range names {
		p := f
		if slices.ContainsFunc(deviceProps, func(d ogcProp) bool { return d.name == f }) {
			p = "value_" + f
		}
		prop[f] = p
		l.schema = append(l.schema, ogcProp{p, "number", "", "Latest " + f})
		if units[f] && !fields[f+"_unit"] {
			l.schema = append(l.schema, ogcProp{p + "_unit", "string", "", "Unit of " + p})
		}
		if fields[kessel.FlagPrefix+f] && !fields[f+"_qc"] {
			prop[kessel.FlagPrefix+f] = p + "_qc"
			l.schema = append(l.schema, ogcProp{p + "_qc", "integer", "", "Quality flag of " + p + " (1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing)"})
		}
		if fields[kessel.CorrectedPrefix+f] && !fields[f+"_cor"] {
			prop[kessel.CorrectedPrefix+f] = p + "_cor"
			l.schema = append(l.schema, ogcProp{p + "_cor", "number", "", "Corrected " + p + " (the raw value stays in " + p + ")"})
		}
	}
	for _, st := range states {
		it := ogcItem{id: st.Device.ID, values: func() map[string]any { return deviceValues(st, prop) }}
		if st.Device.Location != nil {
			it.geom = *st.Device.Location
		}
		if st.Latest != nil {
			it.from, it.to = st.Latest.Time, st.Latest.Time
		}
		l.items = append(l.items, it)
	}
	return l
}

func deviceValues(st kessel.DeviceState, prop map[string]string) map[string]any {
	d := st.Device
	v := map[string]any{"kind": d.Kind, "visibility": string(d.Visibility)}
	for k, s := range map[string]string{"name": d.Name, "district": d.District, "department": d.Department} {
		if s != "" {
			v[k] = s
		}
	}
	if !d.LastSeen.IsZero() {
		v["last_seen"] = d.LastSeen
	}
	if st.Latest != nil {
		v["observed_at"] = st.Latest.Time
		for f, x := range st.Latest.Values {
			p, ok := prop[f]
			if !ok {
				continue // an annotation without a property (qct.)
			}
			v[p] = x
			if u := unitSymbol(&st.Device, st.Latest, f); kessel.Measured(f) && flatUnit(st.Latest.Values, f, u) {
				v[prop[f]+"_unit"] = u
			}
		}
	}
	return v
}

// districtLayer is the districts with the current aggregates (mean, min,
// max per kind and field, "<kind>_<field>_mean") of their public devices'
// latest readings, and device counts per kind ("<kind>_devices").
func (s *server) districtLayer() *ogcLayer {
	l := &ogcLayer{id: ogcDistricts, title: "Districts",
		description: "District polygons with the number of public devices per kind and the mean, min and max of their latest values per kind and field.",
		schema:      []ogcProp{{"name", "string", "", "District name"}, {"devices", "integer", "", "Public devices in the district"}}, required: []string{"name", "devices"},
		geometries: []string{"Polygon", "MultiPolygon"}}
	cols := map[string]string{} // property -> type
	for _, d := range s.districts.List() {
		p := s.districtSummary(d, true)
		v := map[string]any{"name": p.Name}
		total := 0
		for kind, n := range p.Devices {
			total += n
			v[kind+"_devices"], cols[kind+"_devices"] = n, "integer"
		}
		v["devices"] = total
		for kind, fs := range p.Current {
			for f, st := range fs {
				pre := kind + "_" + f + "_"
				v[pre+"mean"], v[pre+"min"], v[pre+"max"] = st.Mean, st.Min, st.Max
				cols[pre+"mean"], cols[pre+"min"], cols[pre+"max"] = "number", "number", "number"
			}
		}
		l.items = append(l.items, ogcItem{id: d.ID, geom: d.Geometry, values: func() map[string]any { return v }})
	}
	names := make([]string, 0, len(cols))
	for c := range cols {
		names = append(names, c)
	}
	slices.Sort(names)
	for _, c := range names {
		l.schema = append(l.schema, ogcProp{c, cols[c], "", ""})
	}
	slices.SortFunc(l.items, func(a, b ogcItem) int { return strings.Compare(a.id, b.id) })
	return l
}

var alertProps = []ogcProp{
	{"rule_id", "string", "", "Rule that fired"}, {"subject", "string", "", "Device id, or district:<name> for an area rule"},
	{"state", "string", "", "firing or pending"}, {"severity", "string", "", "info, warning or critical"},
	{"kind", "string", "", "Device kind"}, {"district", "string", "", "District"}, {"visibility", "string", "", "public, or internal (only with the alerts:manage scope)"},
	{"value", "number", "", "Value that fired the rule"}, {"summary", "string", "", "What the rule says"},
	{"active_at", "string", "date-time", "When the condition began to hold"}, {"fired_at", "string", "date-time", "When the alert fired"},
	{"acked_by", "string", "", "Who acknowledged it (only with the alerts:manage scope)"}, {"acked_at", "string", "date-time", "When it was acknowledged"},
	{"ack_note", "string", "", "The acknowledger's note (only with the alerts:manage scope)"},
}

// alertLayer is the active (firing or pending) alerts the request may see,
// placed at their device, or on their district for an area rule.
func (s *server) alertLayer(r *http.Request) *ogcLayer {
	l := &ogcLayer{id: ogcAlerts, title: "Active alerts", description: "Alerts that are firing or pending, at their device's place (or their district's polygon for an area rule).",
		schema: alertProps, required: []string{"rule_id", "subject", "state", "severity"}, temporal: true,
		geometries: []string{"Point", "Polygon", "MultiPolygon", "null"}}
	manager := s.canSeeInternalAlerts(r)
	for _, a := range s.opts.Alerts.List(kessel.AlertQuery{IncludeInternal: manager}) {
		a = alertAs(a, manager)
		if a.State != kessel.Firing && a.State != kessel.Pending {
			continue
		}
		v := map[string]any{"rule_id": a.RuleID, "subject": a.Subject, "state": a.State.String(), "severity": a.Severity, "visibility": string(a.Visibility)}
		for k, str := range map[string]string{"kind": a.Kind, "district": a.District, "summary": a.Summary, "acked_by": a.AckedBy, "ack_note": a.AckNote} {
			if str != "" {
				v[k] = str
			}
		}
		for k, t := range map[string]time.Time{"active_at": a.ActiveAt, "fired_at": a.FiredAt, "acked_at": a.AckedAt} {
			if !t.IsZero() {
				v[k] = t
			}
		}
		if !math.IsNaN(a.Value) && !math.IsInf(a.Value, 0) {
			v["value"] = a.Value
		}
		it := ogcItem{id: a.ID, geom: s.alertPlace(r, a), from: a.ActiveAt, ongoing: true, values: func() map[string]any { return v }}
		l.items = append(l.items, it)
	}
	slices.SortFunc(l.items, func(a, b ogcItem) int { return strings.Compare(a.id, b.id) })
	return l
}

// alertPlace is where an alert is: its district's polygon for an area rule,
// its device's place if the request may see the device, else nil.
func (s *server) alertPlace(r *http.Request, a kessel.Alert) orb.Geometry {
	if name, ok := strings.CutPrefix(a.Subject, "district:"); ok {
		if s.districts != nil {
			if d, ok := s.districts.Get(name); ok {
				return d.Geometry
			}
		}
		return nil
	}
	d, _, ok := s.devices.Get(a.Subject)
	if !ok || d.Location == nil || (d.Visibility == kessel.Internal && !s.canSeeInternal(r)) {
		return nil
	}
	return *d.Location
}
