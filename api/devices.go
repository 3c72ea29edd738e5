package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// Cache lifetimes per kind of resource.
const (
	cacheLive    = "public, max-age=10"
	cacheHistory = "public, max-age=60"
	cacheStatic  = "public, max-age=300"
)

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

// handleDevices serves GET /devices and, with latest, GET /latest.
func (s *server) handleDevices() http.Handler { return s.deviceCollection(false) }

func (s *server) handleLatest() http.Handler { return s.deviceCollection(true) }

func (s *server) deviceCollection(latest bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		format, err := negotiate(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		q, err := s.deviceQuery(v)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		offset, limit, err := page(v)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		q.IncludeInternal = s.canSeeInternal(r)
		states := s.devices.Query(q)
		if latest {
			states = slices.DeleteFunc(states, func(st kessel.DeviceState) bool { return st.Latest == nil })
		}
		s.respondDevices(w, r, format, states, offset, limit, latest)
	})
}

func (s *server) respondDevices(w http.ResponseWriter, r *http.Request, format string, states []kessel.DeviceState, offset, limit int, withLatest bool) {
	total := len(states)
	states = states[min(offset, total):min(offset+limit, total)]
	next := ""
	if offset+limit < total {
		next = cursorFor(offset + limit)
		u := *r.URL
		qv := u.Query()
		qv.Set("cursor", next)
		u.RawQuery = qv.Encode()
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", u.String()))
	}
	switch format {
	case formatGeoJSON:
		items := make([]deviceJSON, len(states))
		for i, st := range states {
			items[i] = toDeviceJSON(st, withLatest)
		}
		respond(w, r, contentTypeOf(formatGeoJSON), appendFeatureCollection(make([]byte, 0, 400*len(items)+64), items, next), cacheLive)
	case formatCSV:
		respond(w, r, contentTypeOf(formatCSV), devicesCSV(states, withLatest), cacheLive)
	default:
		items := make([]deviceJSON, len(states))
		for i, st := range states {
			items[i] = toDeviceJSON(st, withLatest)
		}
		respond(w, r, "application/json", appendDeviceList(make([]byte, 0, 400*len(items)+64), items, total, next), cacheLive)
	}
}

func (s *server) respondBody(w http.ResponseWriter, r *http.Request, format string, v any, cacheControl string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.errorResponse(w, r, fmt.Errorf("api: encode: %w", err))
		return
	}
	respond(w, r, contentTypeOf(format), buf.Bytes(), cacheControl)
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

// lookup returns a device the request may see, or ENOTFOUND (internal
// devices are not found without the scope, so their existence is not told).
func (s *server) lookup(r *http.Request) (kessel.Device, *kessel.Reading, error) {
	id := mux.Vars(r)["id"]
	if !kessel.ValidDeviceID(id) {
		return kessel.Device{}, nil, invalid("device id %q: use 1-128 letters, digits, '.', '_', ':' or '-'", id)
	}
	d, latest, ok := s.devices.Get(id)
	if !ok || (d.Visibility == kessel.Internal && !s.canSeeInternal(r)) {
		return kessel.Device{}, nil, kessel.Errorf(kessel.ENOTFOUND, "device %q not found", id)
	}
	return d, latest, nil
}

func (s *server) handleDevice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, latest, err := s.lookup(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		s.respondDevice(w, r, kessel.DeviceState{Device: d, Latest: latest}, http.StatusOK)
	})
}

func (s *server) handleNearest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		format, err := negotiate(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		lon, lat := v.Get("lon"), v.Get("lat")
		if lon == "" || lat == "" {
			s.errorResponse(w, r, invalid("lon and lat are required"))
			return
		}
		p, err := parsePoint("lon,lat", lon+","+lat)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		k := 10
		if ks := v.Get("k"); ks != "" {
			k, err = strconv.Atoi(ks)
			if err != nil || k < 1 || k > MaxK {
				s.errorResponse(w, r, invalid("k must be a whole number from 1 to %d, got %q", MaxK, ks))
				return
			}
		}
		q := kessel.DeviceQuery{Kind: v.Get("kind"), Near: &p, K: k, IncludeInternal: s.canSeeInternal(r)}
		if q.Kind != "" && !kessel.ValidFieldName(q.Kind) {
			s.errorResponse(w, r, invalid("kind %q: use lower-case letters, digits and '_'", q.Kind))
			return
		}
		if md := v.Get("max_distance"); md != "" {
			if q.Radius, err = parseRadius(md); err != nil {
				s.errorResponse(w, r, invalid("max_distance must be a number of metres in (0, %g], got %q", MaxRadius, md))
				return
			}
		}
		s.respondDevices(w, r, format, s.devices.Query(q), 0, MaxK, true)
	})
}

// handleReadings serves a device's history from the store.
func (s *server) handleReadings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _, err := s.lookup(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		format, err := negotiate(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		q, err := s.historyQuery(r, d.ID, format == formatCSV)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		if format == formatCSV {
			s.streamCSV(w, r, d, q)
			return
		}
		rs, err := s.readings.History(r.Context(), q)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		if len(rs) > s.opts.MaxPoints {
			s.errorResponse(w, r, invalid("more than %d readings in this range; narrow from/to or aggregate with every (e.g. every=%s&fn=mean)", s.opts.MaxPoints, suggestEvery(q.To.Sub(q.From), s.opts.MaxPoints)))
			return
		}
		s.respondReadings(w, r, format, d, rs)
	})
}

// streamCSV writes a device's history as CSV while InfluxDB sends it, so
// an export of any length (a year of hourly values, or every raw reading)
// never sits in memory. Columns: time, then the requested fields, or the
// fields of the first reading and of the latest one, sorted.
func (s *server) streamCSV(w http.ResponseWriter, r *http.Request, d kessel.Device, q kessel.HistoryQuery) {
	var cw *csv.Writer
	var fields []string
	rows := 0
	rc := http.NewResponseController(w)
	err := s.readings.StreamHistory(r.Context(), q, func(rd kessel.Reading) error {
		if cw == nil {
			fields = q.Fields
			if len(fields) == 0 {
				fields = fieldNames(rd.Values)
				if _, latest, ok := s.devices.Get(d.ID); ok && latest != nil {
					fields = fieldNames(rd.Values, latest.Values)
				}
			}
			w.Header().Set("Content-Type", contentTypeOf(formatCSV))
			w.Header().Set("Cache-Control", cacheHistory)
			w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", d.ID+".csv"))
			w.WriteHeader(http.StatusOK)
			cw = csv.NewWriter(w)
			_ = cw.Write(append([]string{"time"}, fields...))
		}
		row := make([]string, 0, len(fields)+1)
		row = appendValues(append(row, rd.Time.UTC().Format(time.RFC3339Nano)), fields, rd.Values)
		rows++
		if rows%1000 == 0 {
			cw.Flush()
			_ = rc.SetWriteDeadline(time.Now().Add(60 * time.Second))
		}
		return cw.Write(row)
	})
	if cw == nil { // nothing streamed yet: a normal answer is still possible
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		h := []string{"time"}
		respond(w, r, contentTypeOf(formatCSV), csvBytes([][]string{append(h, q.Fields...)}), cacheHistory)
		return
	}
	cw.Flush()
	if err != nil {
		s.log.Warn("CSV export ended early", "device", d.ID, "rows", rows, "err", err)
	}
}

func (s *server) historyQuery(r *http.Request, device string, stream bool) (kessel.HistoryQuery, error) {
	v := r.URL.Query()
	now := s.opts.Now()
	q := kessel.HistoryQuery{Device: device, To: now, From: now.Add(-24 * time.Hour), Limit: s.opts.MaxPoints + 1}
	var err error
	if f := v.Get("from"); f != "" {
		if q.From, err = parseTime("from", f, now); err != nil {
			return q, err
		}
	}
	if t := v.Get("to"); t != "" {
		if q.To, err = parseTime("to", t, now); err != nil {
			return q, err
		}
	}
	if !q.From.Before(q.To) {
		return q, invalid("from (%s) must be before to (%s)", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	if fs := v.Get("fields"); fs != "" {
		for _, f := range strings.Split(fs, ",") {
			if !kessel.ValidFieldName(f) {
				return q, invalid("fields: %q is not a field name", f)
			}
			q.Fields = append(q.Fields, f)
		}
	}
	fn := v.Get("fn")
	if fn != "" && !kessel.ValidAggregate(fn) {
		return q, invalid("fn %q is unknown; use one of %s", fn, strings.Join(kessel.Aggregates, ", "))
	}
	if e := v.Get("every"); e != "" {
		d, err := parseDuration(e)
		if err != nil || d < time.Minute || d > 31*24*time.Hour {
			return q, invalid("every must be a duration from 1m to 31d (e.g. 15m, 1h, 1d), got %q", e)
		}
		windows := int(q.To.Sub(q.From) / d)
		if windows > s.opts.MaxPoints && !stream {
			return q, invalid("every=%s gives %d points per field, more than the maximum of %d; use every=%s or larger", e, windows, s.opts.MaxPoints, suggestEvery(q.To.Sub(q.From), s.opts.MaxPoints))
		}
		q.Every, q.Fn = d, fn
		if q.Fn == "" {
			q.Fn = "mean"
		}
	} else if fn != "" {
		return q, invalid("fn needs every (the window length, e.g. every=1h)")
	}
	return q, nil
}

// suggestEvery returns the smallest round window that keeps span within max points.
func suggestEvery(span time.Duration, max int) string {
	for _, c := range []struct {
		d time.Duration
		s string
	}{{time.Minute, "1m"}, {5 * time.Minute, "5m"}, {15 * time.Minute, "15m"}, {time.Hour, "1h"}, {6 * time.Hour, "6h"}, {24 * time.Hour, "1d"}, {7 * 24 * time.Hour, "7d"}} {
		if int(span/c.d) <= max {
			return c.s
		}
	}
	return "31d"
}

func (s *server) respondReadings(w http.ResponseWriter, r *http.Request, format string, d kessel.Device, rs []kessel.Reading) {
	switch format {
	case formatCSV:
		respond(w, r, contentTypeOf(formatCSV), readingsCSV(rs), cacheHistory)
	case formatGeoJSON:
		fc := featureCollection{Type: "FeatureCollection", Features: make([]feature, 0, len(rs))}
		for i := range rs {
			loc := rs[i].Location
			if loc == nil {
				loc = d.Location
			}
			var geom any
			if loc != nil {
				geom = pointGeometry{Type: "Point", Coordinates: [2]float64{loc[0], loc[1]}}
			}
			fc.Features = append(fc.Features, feature{Type: "Feature", Geometry: geom, Properties: map[string]any{"device": d.ID, "time": rs[i].Time.UTC(), "values": rs[i].Values}})
		}
		s.respondBody(w, r, formatGeoJSON, fc, cacheHistory)
	default:
		items := make([]readingJSON, len(rs))
		for i := range rs {
			items[i] = *toReadingJSON(&rs[i])
		}
		s.respondJSON(w, r, struct {
			Device string        `json:"device"`
			Kind   string        `json:"kind"`
			Items  []readingJSON `json:"items"`
			Count  int           `json:"count"`
		}{d.ID, d.Kind, items, len(items)}, cacheHistory)
	}
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
