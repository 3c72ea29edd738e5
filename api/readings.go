package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

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

// historyQuery reads a device history request: the last 24 hours raw by
// default; a stream (CSV) is not bound to MaxPoints.
func (s *server) historyQuery(r *http.Request, device string, stream bool) (kessel.HistoryQuery, error) {
	v := r.URL.Query()
	maxPoints := s.opts.MaxPoints
	if stream {
		maxPoints = maxStreamWindows
	}
	sp, err := parseSpan(v, s.opts.Now(), spanDefaults{span: 24 * time.Hour, fn: "mean", maxPoints: maxPoints})
	if err != nil {
		return kessel.HistoryQuery{}, err
	}
	q := kessel.HistoryQuery{Device: device, From: sp.from, To: sp.to, Every: sp.every, Fn: sp.fn, Limit: s.opts.MaxPoints + 1}
	if fs := v.Get("fields"); fs != "" {
		for _, f := range strings.Split(fs, ",") {
			if !kessel.ValidFieldName(f) {
				return q, invalid("fields: %q is not a field name", f)
			}
			q.Fields = append(q.Fields, f)
		}
	}
	return q, nil
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
			w.Header().Set("Content-Type", mediaCSV)
			w.Header().Set("Cache-Control", cacheHistory)
			w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", d.ID+".csv"))
			w.WriteHeader(http.StatusOK)
			cw = csv.NewWriter(w)
			_ = cw.Write(append([]string{"time"}, fields...))
			cw.Flush() // the client sees the columns at once (and HEAD ends here)
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
		s.encode(w, r, csvBytes([][]string{append([]string{"time"}, q.Fields...)}), reply{media: mediaCSV, cache: cacheHistory})
		return
	}
	cw.Flush()
	if err != nil && r.Context().Err() == nil { // not when the client left (or asked HEAD)
		s.log.Warn("CSV export ended early", "device", d.ID, "rows", rows, "err", err)
	}
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
		s.encode(w, r, readingsCSV(rs), reply{media: mediaCSV, cache: cacheHistory})
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
		s.encode(w, r, fc, reply{media: mediaGeoJSON, cache: cacheHistory})
	default:
		items := make([]readingJSON, len(rs))
		for i := range rs {
			items[i] = *toReadingJSON(&rs[i])
		}
		s.encode(w, r, struct {
			Device string        `json:"device"`
			Kind   string        `json:"kind"`
			Items  []readingJSON `json:"items"`
			Count  int           `json:"count"`
		}{d.ID, d.Kind, items, len(items)}, reply{cache: cacheHistory})
	}
}
