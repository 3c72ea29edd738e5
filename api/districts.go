package api

import (
	"math"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb/geojson"

	"github.com/kessel-city/kessel"
)

type fieldStats struct {
	Mean  float64 `json:"mean"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Count int     `json:"count"`
}

type districtProps struct {
	ID       string                           `json:"id"`
	Name     string                           `json:"name"`
	Devices  map[string]int                   `json:"devices"`
	Current  map[string]map[string]fieldStats `json:"current,omitempty"`
	Requests string                           `json:"latest_url"`
}

// districtSummary counts the district's public devices per kind and, with
// stats, aggregates their latest readings per kind and field.
func (s *server) districtSummary(d kessel.District, stats bool) districtProps {
	p := districtProps{ID: d.ID, Name: d.Name, Devices: map[string]int{}, Requests: "/api/v1/latest?district=" + d.ID}
	states := s.devices.Query(kessel.DeviceQuery{District: d.Name})
	if stats {
		p.Current = map[string]map[string]fieldStats{}
	}
	for _, st := range states {
		p.Devices[st.Device.Kind]++
		if !stats || st.Latest == nil {
			continue
		}
		kind := p.Current[st.Device.Kind]
		if kind == nil {
			kind = map[string]fieldStats{}
			p.Current[st.Device.Kind] = kind
		}
		for f, v := range st.Latest.Values {
			fs, ok := kind[f]
			if !ok {
				fs = fieldStats{Min: v, Max: v}
			}
			fs.Mean += v // sum until the end
			fs.Min, fs.Max = math.Min(fs.Min, v), math.Max(fs.Max, v)
			fs.Count++
			kind[f] = fs
		}
	}
	for _, kind := range p.Current {
		for f, fs := range kind {
			fs.Mean /= float64(fs.Count)
			kind[f] = fs
		}
	}
	return p
}

func (s *server) handleDistricts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.districts == nil {
			s.respondBody(w, r, formatGeoJSON, geojson.NewFeatureCollection(), cacheStatic)
			return
		}
		format, err := negotiate(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		ds := s.districts.List()
		if format == formatJSON && r.URL.Query().Get("format") == "" {
			format = formatGeoJSON // districts are geometry first
		}
		switch format {
		case formatCSV:
			rows := [][]string{{"id", "name", "devices"}}
			for _, d := range ds {
				n := 0
				for _, c := range s.districtSummary(d, false).Devices {
					n += c
				}
				rows = append(rows, []string{d.ID, d.Name, fmtFloat(float64(n))})
			}
			respond(w, r, contentTypeOf(formatCSV), csvBytes(rows), cacheLive)
		case formatJSON:
			items := make([]districtProps, len(ds))
			for i, d := range ds {
				items[i] = s.districtSummary(d, false)
			}
			s.respondJSON(w, r, listJSON{Items: items, Count: len(items), Total: len(items)}, cacheLive)
		default:
			fc := geojson.NewFeatureCollection()
			for _, d := range ds {
				f := geojson.NewFeature(d.Geometry)
				f.ID = d.ID
				p := s.districtSummary(d, false)
				f.Properties = geojson.Properties{"id": p.ID, "name": p.Name, "devices": p.Devices, "latest_url": p.Requests}
				fc.Append(f)
			}
			s.respondBody(w, r, formatGeoJSON, fc, cacheLive)
		}
	})
}

func (s *server) handleDistrict() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["id"]
		if s.districts == nil {
			s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "no districts are configured"))
			return
		}
		d, ok := s.districts.Get(id)
		if !ok {
			s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "district %q not found", id))
			return
		}
		p := s.districtSummary(d, true)
		f := geojson.NewFeature(d.Geometry)
		f.ID = d.ID
		f.Properties = geojson.Properties{"id": p.ID, "name": p.Name, "devices": p.Devices, "current": p.Current, "latest_url": p.Requests}
		s.respondBody(w, r, formatGeoJSON, f, cacheLive)
	})
}

// handleDistrictReadings serves a district-wide series: one field of one
// kind aggregated over all of the district's devices per window.
func (s *server) handleDistrictReadings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.districts == nil {
			s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "no districts are configured"))
			return
		}
		d, ok := s.districts.Get(mux.Vars(r)["id"])
		if !ok {
			s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "district %q not found", mux.Vars(r)["id"]))
			return
		}
		v := r.URL.Query()
		kind, field := v.Get("kind"), v.Get("field")
		if !kessel.ValidFieldName(kind) || !kessel.ValidFieldName(field) {
			s.errorResponse(w, r, invalid("kind and field are required, e.g. kind=air_quality&field=pm10"))
			return
		}
		if v.Get("every") == "" {
			q := r.URL.Query()
			q.Set("every", "1h")
			r.URL.RawQuery = q.Encode()
		}
		hq, err := s.historyQuery(r, "district", false)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		format, err := negotiate(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		rs, err := s.readings.DistrictSeries(r.Context(), d.Name, kind, field, hq.From, hq.To, hq.Every, hq.Fn)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		type point struct {
			Time  time.Time `json:"time"`
			Value float64   `json:"value"`
		}
		items := make([]point, 0, len(rs))
		rows := [][]string{{"time", field}}
		for _, rd := range rs {
			items = append(items, point{rd.Time.UTC(), rd.Values[field]})
			rows = append(rows, []string{rd.Time.UTC().Format(time.RFC3339), fmtFloat(rd.Values[field])})
		}
		if format == formatCSV {
			respond(w, r, contentTypeOf(formatCSV), csvBytes(rows), cacheHistory)
			return
		}
		s.respondJSON(w, r, struct {
			District string  `json:"district"`
			Kind     string  `json:"kind"`
			Field    string  `json:"field"`
			Fn       string  `json:"fn"`
			Every    string  `json:"every"`
			Items    []point `json:"items"`
			Count    int     `json:"count"`
		}{d.Name, kind, field, hq.Fn, hq.Every.String(), items, len(items)}, cacheHistory)
	})
}
