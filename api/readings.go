package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// ResolutionHeader names, on a history answer, the stored resolution that
// served it: raw, 1h, 1d, or 1h+raw (1d+raw) when the newest windows
// were not rolled up yet.
const ResolutionHeader = "Kessel-Resolution"

// handleReadings serves a device's history from the store: from the
// hourly or daily rollups where they can serve it (see
// ReadingQuerier.Resolve), with the resolution in ResolutionHeader.
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
		qcf, err := qcFilter(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		served, err := s.readings.Resolve(r.Context(), q)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		w.Header().Set(ResolutionHeader, served)
		if format == formatCSV {
			s.streamCSV(w, r, d, q, qcf)
			return
		}
		rs, err := s.readings.History(r.Context(), q)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		filterReadings(qcf, rs)
		if len(rs) > s.opts.MaxPoints {
			s.errorResponse(w, r, invalid("more than %d readings in this range; narrow from/to or aggregate with every (e.g. every=%s&fn=mean)", s.opts.MaxPoints, suggestEvery(q.To.Sub(q.From), s.opts.MaxPoints)))
			return
		}
		s.respondReadings(w, r, format, d, rs, served)
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
	q := kessel.HistoryQuery{Device: device, From: sp.from, To: sp.to, Every: sp.every, Fn: sp.fn, Limit: s.opts.MaxPoints + 1, Resolution: sp.resolution}
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
// fields of the first reading and of the latest one, sorted, each followed
// by its unit's column (csvCols); lon and lat last for a mobile sensor
// (one whose first or latest reading has a location).
func (s *server) streamCSV(w http.ResponseWriter, r *http.Request, d kessel.Device, q kessel.HistoryQuery, qcf kessel.QCFilter) {
	var cw *csv.Writer
	var cols []csvCol
	var loc bool
	rows := 0
	rc := http.NewResponseController(w)
	err := s.readings.StreamHistory(r.Context(), q, func(rd kessel.Reading) error {
		if cw == nil {
			cols, loc = s.historyCols(d, q, &rd)
			w.Header().Set("Content-Type", mediaCSV)
			w.Header().Set("Cache-Control", cacheHistory)
			w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", d.ID+".csv"))
			w.WriteHeader(http.StatusOK)
			cw = csv.NewWriter(w)
			header := appendCSVHeader([]string{"time"}, cols)
			if loc {
				header = append(header, "lon", "lat")
			}
			_ = cw.Write(header)
			cw.Flush() // the client sees the columns at once (and HEAD ends here)
		}
		rd.Values = qcf.Filter(rd.Values)
		row := make([]string, 0, 2*len(cols)+3)
		row = appendCSVValues(append(row, rd.Time.UTC().Format(time.RFC3339Nano)), cols, &d, &rd)
		if loc && rd.Location != nil {
			row = append(row, fmtFloat(rd.Location[0]), fmtFloat(rd.Location[1]))
		} else if loc {
			row = append(row, "", "")
		}
		rows++
		if rows%1000 == 0 {
			cw.Flush()
			_ = rc.SetWriteDeadline(time.Now().Add(60 * time.Second))
		}
		return cw.Write(csvCells(row)) // a unit is the device's own text
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

// historyCols are the value columns of a history CSV whose first reading
// is first, and whether it has lon and lat columns.
func (s *server) historyCols(d kessel.Device, q kessel.HistoryQuery, first *kessel.Reading) ([]csvCol, bool) {
	fields := q.Fields
	_, latest, ok := s.devices.Get(d.ID)
	if !ok {
		latest = nil
	}
	if len(fields) == 0 {
		fields = fieldNames(first.Values)
		if latest != nil {
			fields = fieldNames(first.Values, latest.Values)
		}
	}
	cols := csvCols(fields, func(f string) bool {
		return unitSymbol(&d, first, f) != "" || latest != nil && unitSymbol(&d, latest, f) != ""
	})
	if latest != nil {
		withQC(cols, first.Values, latest.Values)
	} else {
		withQC(cols, first.Values)
	}
	return cols, first.Location != nil || latest != nil && latest.Location != nil
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

func (s *server) respondReadings(w http.ResponseWriter, r *http.Request, format string, d kessel.Device, rs []kessel.Reading, served string) {
	switch format {
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
			props := ordered{{"device", d.ID}, {"time", rs[i].Time.UTC()}}
			fc.Features = append(fc.Features, feature{Type: "Feature", Geometry: geom, Properties: appendFlatValues(props, &d, &rs[i], nil)})
		}
		s.encode(w, r, fc, reply{media: mediaGeoJSON, cache: cacheHistory})
	default:
		items := make([]readingJSON, len(rs))
		for i := range rs {
			items[i] = *toReadingJSON(&d, &rs[i])
		}
		s.encode(w, r, appendHistory(nil, historyJSON{d.ID, d.Kind, served, items, len(items)}), reply{cache: cacheHistory})
	}
}

// historyJSON is a device history answer (JSON).
type historyJSON struct {
	Device     string        `json:"device"`
	Kind       string        `json:"kind"`
	Resolution string        `json:"resolution"`
	Items      []readingJSON `json:"items"`
	Count      int           `json:"count"`
}

// appendHistory appends h as encoding/json would, with its trailing
// newline: a year of hourly windows is 8,760 items, and reflecting over
// them was a quarter of such a request's time.
func appendHistory(b []byte, h historyJSON) []byte {
	b = append(b, `{"device":`...)
	b = appendJSONString(b, h.Device)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, h.Kind)
	b = append(b, `,"resolution":`...)
	b = appendJSONString(b, h.Resolution)
	b = append(b, `,"items":`...)
	if h.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range h.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendReading(b, &h.Items[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(h.Count), 10)
	return append(b, "}\n"...)
}
