package api

import (
	"bytes"
	"encoding/csv"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// The shapes of devices and readings in answers: JSON, GeoJSON and CSV.

type lonLat struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

func toLonLat(p *orb.Point) *lonLat {
	if p == nil {
		return nil
	}
	return &lonLat{Lon: p[0], Lat: p[1]}
}

// readingJSON is a reading: its measured values, and beside them their
// quality flags (qc: 1 pass, 2 not evaluated, 3 suspect, 4 fail, 9
// missing), the tests behind a suspect or failed flag (qc_tests) and
// corrected values (corrected, by the correction named in correction).
type readingJSON struct {
	Time       time.Time           `json:"time"`
	Values     map[string]float64  `json:"values"`
	QC         map[string]int      `json:"qc,omitempty"`
	QCTests    map[string][]string `json:"qc_tests,omitempty"`
	Corrected  map[string]float64  `json:"corrected,omitempty"`
	Correction string              `json:"correction,omitempty"`
	// Units are the values' units where known (kessel.UnitOf).
	Units map[string]unitJSON `json:"units,omitempty"`
	// Link is the reading's radio and transport data, apart from Values.
	Link     map[string]float64 `json:"link,omitempty"`
	Location *lonLat            `json:"location,omitempty"`
}

// unitJSON is a value's unit: its symbol and UCUM code.
type unitJSON struct {
	Symbol string `json:"symbol"`
	UCUM   string `json:"ucum,omitempty"`
}

// toReadingJSON is r as answers show it; d (may be nil) is the device that
// sent it, whose units override its kind's.
func toReadingJSON(d *kessel.Device, r *kessel.Reading) *readingJSON {
	if r == nil {
		return nil
	}
	values, a := kessel.SplitValues(r.Values)
	out := &readingJSON{Time: r.Time.UTC(), Values: values, QC: a.Flags, QCTests: a.Tests, Corrected: a.Corrected,
		Units: unitsOf(d, r, values), Link: r.Link, Location: toLonLat(r.Location)}
	if a.Corrected != nil {
		out.Correction = r.Correction
	}
	return out
}

// unitsOf is the unit of each field of values that has one, or nil.
func unitsOf(d *kessel.Device, r *kessel.Reading, values map[string]float64) map[string]unitJSON {
	var out map[string]unitJSON
	for f := range values {
		u, ok := kessel.UnitOf(d, r, f)
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string]unitJSON, len(values))
		}
		out[f] = unitJSON{u.Symbol, u.UCUM}
	}
	return out
}

type deviceJSON struct {
	ID         string            `json:"id"`
	Kind       string            `json:"kind"`
	Name       string            `json:"name,omitempty"`
	Location   *lonLat           `json:"location,omitempty"`
	District   string            `json:"district,omitempty"`
	Department string            `json:"department,omitempty"`
	Visibility kessel.Visibility `json:"visibility"`
	// Class is the measurement class as set (empty: indicative, not shown).
	Class  kessel.MeasurementClass `json:"measurement_class,omitempty"`
	Labels map[string]string       `json:"labels,omitempty"`
	// Units are the device's own units (kessel.Device.Units), as set.
	Units map[string]string `json:"units,omitempty"`
	// Levels are the device's declared warning levels per field.
	Levels    map[string][]kessel.Level `json:"levels,omitempty"`
	CreatedAt time.Time                 `json:"created_at"`
	UpdatedAt time.Time                 `json:"updated_at"`
	LastSeen  *time.Time                `json:"last_seen,omitempty"`
	Distance  *float64                  `json:"distance_m,omitempty"`
	Latest    *readingJSON              `json:"latest,omitempty"`
}

func toDeviceJSON(st kessel.DeviceState, withLatest bool) deviceJSON {
	d := st.Device
	out := deviceJSON{ID: d.ID, Kind: d.Kind, Name: d.Name, Location: toLonLat(d.Location), District: d.District, Department: d.Department,
		Visibility: d.Visibility, Labels: d.Labels, Units: d.Units, Class: d.MeasurementClass, Levels: d.Levels, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	if !d.LastSeen.IsZero() {
		ls := d.LastSeen.UTC()
		out.LastSeen = &ls
	}
	if st.Distance != nil {
		dist := math.Round(*st.Distance*10) / 10
		out.Distance = &dist
	}
	if withLatest {
		out.Latest = toReadingJSON(&st.Device, st.Latest)
	}
	return out
}

type listJSON struct {
	Items      any    `json:"items"`
	Count      int    `json:"count"`
	Total      int    `json:"total"`
	NextCursor string `json:"next_cursor,omitempty"`
	// Next is the URL of the next page (as in the Link header), absent on
	// the last page.
	Next string `json:"next,omitempty"`
}

// linkJSON is a web link in a body (GeoJSON and OGC API "links").
type linkJSON struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
	Type string `json:"type,omitempty"`
}

type pointGeometry struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"`
}

type feature struct {
	Type       string `json:"type"`
	ID         string `json:"id,omitempty"`
	Geometry   any    `json:"geometry"`
	Properties any    `json:"properties"`
}

type featureCollection struct {
	Type       string     `json:"type"`
	Features   []feature  `json:"features"`
	Links      []linkJSON `json:"links,omitempty"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// devicesCSV writes one row per device; with latest, one column per field
// seen in any latest reading (sorted), empty where a device lacks it, each
// followed by its unit's column (csvCols).
func devicesCSV(states []kessel.DeviceState, withLatest bool) []byte {
	var cols []csvCol
	if withLatest {
		var vs []map[string]float64
		for _, st := range states {
			if st.Latest != nil {
				vs = append(vs, st.Latest.Values)
			}
		}
		cols = csvCols(fieldNames(vs...), func(f string) bool {
			return slices.ContainsFunc(states, func(st kessel.DeviceState) bool { return unitSymbol(&st.Device, st.Latest, f) != "" })
		})
		withQC(cols, vs...)
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	header := []string{"id", "kind", "name", "lon", "lat", "district", "department", "visibility", "last_seen"}
	if withLatest {
		header = append(header, "time")
		header = appendCSVHeader(header, cols)
	}
	_ = cw.Write(header)
	for _, st := range states {
		d := st.Device
		lon, lat, lastSeen := "", "", ""
		if d.Location != nil {
			lon, lat = fmtFloat(d.Location[0]), fmtFloat(d.Location[1])
		}
		if !d.LastSeen.IsZero() {
			lastSeen = d.LastSeen.UTC().Format(time.RFC3339Nano)
		}
		row := []string{d.ID, d.Kind, d.Name, lon, lat, d.District, d.Department, string(d.Visibility), lastSeen}
		if withLatest {
			row = append(row, st.Latest.Time.UTC().Format(time.RFC3339Nano))
			row = appendCSVValues(row, cols, &d, st.Latest)
		}
		_ = cw.Write(csvCells(row))
	}
	cw.Flush()
	return buf.Bytes()
}

// fieldNames is the sorted union of the maps' measured fields (not the
// annotations, see kessel.Measured).
func fieldNames(vs ...map[string]float64) []string {
	seen := map[string]bool{}
	var fields []string
	for _, v := range vs {
		for k := range v {
			if !seen[k] && kessel.Measured(k) {
				seen[k] = true
				fields = append(fields, k)
			}
		}
	}
	slices.Sort(fields)
	return fields
}

// csvCol is a value column of a CSV and whether a "<field>_unit" column
// follows it.
type csvCol struct {
	field   string
	unit    bool
	qc, cor bool // a flag column, a corrected value column (withQC)
}

// csvCols are the value columns of fields: each followed by its unit's
// column where hasUnit says some row has one and no field is named so.
func csvCols(fields []string, hasUnit func(field string) bool) []csvCol {
	cols := make([]csvCol, len(fields))
	for i, f := range fields {
		cols[i] = csvCol{field: f, unit: !slices.Contains(fields, f+"_unit") && hasUnit(f)}
	}
	return cols
}

func appendCSVHeader(header []string, cols []csvCol) []string {
	for _, c := range cols {
		header = append(header, c.field)
		if c.unit {
			header = append(header, c.field+"_unit")
		}
		if c.qc {
			header = append(header, c.field+"_qc")
		}
		if c.cor {
			header = append(header, c.field+"_cor")
		}
	}
	return header
}

// appendCSVValues appends a row's value cells (the value, or empty) and
// unit cells (the symbol, empty without a value) of reading r of device d.
func appendCSVValues(row []string, cols []csvCol, d *kessel.Device, r *kessel.Reading) []string {
	for _, c := range cols {
		v, ok := r.Values[c.field]
		cell, unit := "", ""
		if ok {
			cell, unit = fmtFloat(v), unitSymbol(d, r, c.field)
		}
		row = append(row, cell)
		if c.unit {
			row = append(row, unit)
		}
		for _, a := range [...]struct {
			on     bool
			prefix string
		}{{c.qc, kessel.FlagPrefix}, {c.cor, kessel.CorrectedPrefix}} {
			if a.on {
				x, ok := r.Values[a.prefix+c.field]
				row = append(row, map[bool]string{true: fmtFloat(x)}[ok])
			}
		}
	}
	return row
}

// unitSymbol is the symbol of a field's unit, "" when it has none (or a
// count or fraction, whose symbol is empty).
func unitSymbol(d *kessel.Device, r *kessel.Reading, field string) string {
	u, _ := kessel.UnitOf(d, r, field)
	return u.Symbol
}
