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

type readingJSON struct {
	Time     time.Time          `json:"time"`
	Values   map[string]float64 `json:"values"`
	Location *lonLat            `json:"location,omitempty"`
}

func toReadingJSON(r *kessel.Reading) *readingJSON {
	if r == nil {
		return nil
	}
	return &readingJSON{Time: r.Time.UTC(), Values: r.Values, Location: toLonLat(r.Location)}
}

type deviceJSON struct {
	ID         string            `json:"id"`
	Kind       string            `json:"kind"`
	Name       string            `json:"name,omitempty"`
	Location   *lonLat           `json:"location,omitempty"`
	District   string            `json:"district,omitempty"`
	Department string            `json:"department,omitempty"`
	Visibility kessel.Visibility `json:"visibility"`
	Labels     map[string]string `json:"labels,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
	LastSeen   *time.Time        `json:"last_seen,omitempty"`
	Distance   *float64          `json:"distance_m,omitempty"`
	Latest     *readingJSON      `json:"latest,omitempty"`
}

func toDeviceJSON(st kessel.DeviceState, withLatest bool) deviceJSON {
	d := st.Device
	out := deviceJSON{ID: d.ID, Kind: d.Kind, Name: d.Name, Location: toLonLat(d.Location), District: d.District, Department: d.Department,
		Visibility: d.Visibility, Labels: d.Labels, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	if !d.LastSeen.IsZero() {
		ls := d.LastSeen.UTC()
		out.LastSeen = &ls
	}
	if st.Distance != nil {
		dist := math.Round(*st.Distance*10) / 10
		out.Distance = &dist
	}
	if withLatest {
		out.Latest = toReadingJSON(st.Latest)
	}
	return out
}

type listJSON struct {
	Items      any    `json:"items"`
	Count      int    `json:"count"`
	Total      int    `json:"total"`
	NextCursor string `json:"next_cursor,omitempty"`
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
	Type       string    `json:"type"`
	Features   []feature `json:"features"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// devicesCSV writes one row per device; with latest, one column per field
// seen in any latest reading (sorted), empty where a device lacks it.
func devicesCSV(states []kessel.DeviceState, withLatest bool) []byte {
	var fields []string
	if withLatest {
		var vs []map[string]float64
		for _, st := range states {
			if st.Latest != nil {
				vs = append(vs, st.Latest.Values)
			}
		}
		fields = fieldNames(vs...)
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	header := []string{"id", "kind", "name", "lon", "lat", "district", "department", "visibility", "last_seen"}
	if withLatest {
		header = append(header, "time")
		header = append(header, fields...)
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
			row = appendValues(row, fields, st.Latest.Values)
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	return buf.Bytes()
}

func readingsCSV(rs []kessel.Reading) []byte {
	loc := false
	vs := make([]map[string]float64, len(rs))
	for i, r := range rs {
		loc = loc || r.Location != nil
		vs[i] = r.Values
	}
	fields := fieldNames(vs...)
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	header := append([]string{"time"}, fields...)
	if loc {
		header = append(header, "lon", "lat")
	}
	_ = cw.Write(header)
	for _, r := range rs {
		row := appendValues([]string{r.Time.UTC().Format(time.RFC3339Nano)}, fields, r.Values)
		if loc {
			if r.Location != nil {
				row = append(row, fmtFloat(r.Location[0]), fmtFloat(r.Location[1]))
			} else {
				row = append(row, "", "")
			}
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	return buf.Bytes()
}

// fieldNames is the sorted union of the maps' keys: the value columns of a CSV.
func fieldNames(vs ...map[string]float64) []string {
	seen := map[string]bool{}
	var fields []string
	for _, v := range vs {
		for k := range v {
			if !seen[k] {
				seen[k] = true
				fields = append(fields, k)
			}
		}
	}
	slices.Sort(fields)
	return fields
}

// appendValues appends one CSV cell per field: the value, or empty.
func appendValues(row, fields []string, values map[string]float64) []string {
	for _, f := range fields {
		if v, ok := values[f]; ok {
			row = append(row, fmtFloat(v))
		} else {
			row = append(row, "")
		}
	}
	return row
}
