package api

import (
	"github.com/kessel-city/kessel"
	"strconv"
)

// GeoJSON answers carry values as flat properties, one typed column each
// for GIS tools: "pm10": 23.1, "pm10_unit": "µg/m³", with the time of the
// reading as "observed_at" (devices) or "time" (history). A field named
// like one of the fixed properties is served as "value_<field>"; a unit
// column is left out where a field of that name exists.

// deviceFixed are the fixed properties of a device feature.
var deviceFixed = map[string]bool{
	"id": true, "kind": true, "name": true, "location": true, "district": true, "department": true, "visibility": true,
	"measurement_class": true, "labels": true, "units": true, "created_at": true, "updated_at": true, "last_seen": true, "distance_m": true, "observed_at": true,
}

// flatName is the property of field f beside the fixed properties.
func flatName(f string, fixed map[string]bool) string {
	if fixed[f] {
		return "value_" + f
	}
	return f
}

// flatUnit reports whether field f of values has a unit column.
func flatUnit[V any](values map[string]V, f string, symbol string) bool {
	_, taken := values[f+"_unit"]
	return symbol != "" && !taken
}

// appendFlatValues appends reading r's values of device d, sorted, each
// followed by its unit where it has one.
func appendFlatValues(props ordered, d *kessel.Device, r *kessel.Reading, fixed map[string]bool) ordered {
	for _, f := range sortedKeys(r.Values) {
		if !kessel.Measured(f) {
			continue // its flag and corrected value follow the value
		}
		p := flatName(f, fixed)
		props = append(props, kv{p, r.Values[f]})
		if u, _ := kessel.UnitOf(d, r, f); flatUnit(r.Values, f, u.Symbol) {
			props = append(props, kv{p + "_unit", u.Symbol})
		}
		if q, ok := r.Values[kessel.FlagPrefix+f]; ok {
			props = append(props, kv{p + "_qc", int(q)})
		}
		if c, ok := r.Values[kessel.CorrectedPrefix+f]; ok {
			props = append(props, kv{p + "_cor", c})
		}
	}
	return props
}

// appendFlatDevice appends d as the properties of a GeoJSON feature: the
// device's properties, then its latest reading's time and values flat.
func appendFlatDevice(b []byte, d *deviceJSON) []byte {
	b = appendDeviceHead(b, d)
	if l := d.Latest; l != nil {
		b = append(b, `,"observed_at":`...)
		b = appendJSONTime(b, l.Time)
		for _, f := range sortedKeys(l.Values) {
			p := flatName(f, deviceFixed)
			b = append(b, ',')
			b = appendJSONString(b, p)
			b = append(b, ':')
			b = appendJSONFloat(b, l.Values[f])
			if u := l.Units[f]; flatUnit(l.Values, f, u.Symbol) {
				b = append(b, ',')
				b = appendJSONString(b, p+"_unit")
				b = append(b, ':')
				b = appendJSONString(b, u.Symbol)
			}
			if q, ok := l.QC[f]; ok {
				b = append(b, ',')
				b = appendJSONString(b, p+"_qc")
				b = append(b, ':')
				b = strconv.AppendInt(b, int64(q), 10)
			}
		}
	}
	return append(b, '}')
}

// nextLinks are a page's links in a GeoJSON body: rel=next where there is
// a next page.
func nextLinks(next string) []linkJSON {
	if next == "" {
		return nil
	}
	return []linkJSON{{Href: next, Rel: "next", Type: mediaGeoJSON}}
}
