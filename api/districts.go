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
	// Unit is the values' unit symbol when all the devices agree on one.
	Unit  string `json:"unit,omitempty"`
	mixed bool
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
			// Measured values whose quality flag passes only (1, 2 or none).
			if !kessel.Measured(f) || !kessel.FlagOf(st.Latest.Values, f).Passing() {
				continue
			}
			fs, ok := kind[f]
			u := unitSymbol(&st.Device, st.Latest, f)
			if !ok {
				fs = fieldStats{Min: v, Max: v, Unit: u}
			}
			fs.mixed = fs.mixed || u != fs.Unit
			fs.Mean += v // sum until the end
			fs.Min, fs.Max = math.Min(fs.Min, v), math.Max(fs.Max, v)
			fs.Count++
			kind[f] = fs
		}
	}
	for _, kind := range p.Current {
		for f, fs := range kind {
			fs.Mean /= float64(fs.Count)
			if fs.mixed {
				fs.Unit = ""
			}
			kind[f] = fs
		}
	}
	return p
}

func (s *server) handleDistricts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format, err := negotiate(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		ds := s.districts.List()
		switch {
		case format == formatCSV:
			rows := [][]string{{"id", "name", "devices"}}
			for _, d := range ds {
				n := 0
				for _, c := range s.districtSummary(d, false).Devices {
					n += c
				}
				rows = append(rows, []string{d.ID, d.Name, fmtFloat(float64(n))})
			}
			s.encode(w, r, csvBytes(rows), reply{media: mediaCSV, cache: cacheLive})
		case format == formatJSON && r.URL.Query().Get("format") == formatJSON:
			items := make([]districtProps, len(ds))
			for i, d := range ds {
				items[i] = s.districtSummary(d, false)
			}
			s.encode(w, r, listJSON{Items: items, Count: len(items), Total: len(items)}, reply{cache: cacheLive})
		default: // districts are geometry first
			fc := geojson.NewFeatureCollection()
			for _, d := range ds {
				f := geojson.NewFeature(d.Geometry)
				f.ID = d.ID
				p := s.districtSummary(d, false)
				f.Properties = geojson.Properties{"id": p.ID, "name": p.Name, "devices": p.Devices, "latest_url": p.Requests}
				fc.Append(f)
			}
			s.encode(w, r, fc, reply{media: mediaGeoJSON, cache: cacheLive})
		}
	})
}

func (s *server) district(r *http.Request) (kessel.District, error) {
	id := mux.Vars(r)["id"]
	d, ok := s.districts.Get(id)
	if !ok {
		return d, kessel.Errorf(kessel.ENOTFOUND, "district %q not found; see /api/v1/districts", id)
	}
	return d, nil
}

func (s *server) handleDistrict() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.district(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		p := s.districtSummary(d, true)
		f := geojson.NewFeature(d.Geometry)
		f.ID = d.ID
		f.Properties = geojson.Properties{"id": p.ID, "name": p.Name, "devices": p.Devices, "current": p.Current, "latest_url": p.Requests}
		s.encode(w, r, f, reply{media: mediaGeoJSON, cache: cacheLive})
	})
}

// handleDistrictReadings serves a district-wide series: one field of one
// kind aggregated over all of the district's devices per window (default
// the last 24 hours, every=1h, fn=mean).
func (s *server) handleDistrictReadings() http.Handler {
	type point struct {
		Time  time.Time `json:"time"`
		Value float64   `json:"value"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.district(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		v := r.URL.Query()
		kind, field := v.Get("kind"), v.Get("field")
		if !kessel.ValidFieldName(kind) || !kessel.ValidFieldName(field) {
			s.errorResponse(w, r, invalid("kind and field are required, e.g. kind=air_quality&field=pm10"))
			return
		}
		sp, err := parseSpan(v, s.opts.Now(), spanDefaults{span: 24 * time.Hour, every: time.Hour, fn: "mean", maxPoints: s.opts.MaxPoints})
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		format, err := negotiate(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		q := kessel.HistoryQuery{From: sp.from, To: sp.to, Every: sp.every, Fn: sp.fn, Resolution: sp.resolution}
		served, err := s.readings.Resolve(r.Context(), q)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		w.Header().Set(ResolutionHeader, served)
		rs, err := s.readings.DistrictSeries(r.Context(), d.Name, kind, field, q)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		items := make([]point, 0, len(rs))
		rows := [][]string{{"time", field}}
		for _, rd := range rs {
			items = append(items, point{rd.Time.UTC(), rd.Values[field]})
			rows = append(rows, []string{rd.Time.UTC().Format(time.RFC3339), fmtFloat(rd.Values[field])})
		}
		if format == formatCSV {
			s.encode(w, r, csvBytes(rows), reply{media: mediaCSV, cache: cacheHistory})
			return
		}
		s.encode(w, r, struct {
			District   string  `json:"district"`
			Kind       string  `json:"kind"`
			Field      string  `json:"field"`
			Fn         string  `json:"fn"`
			Every      string  `json:"every"`
			Resolution string  `json:"resolution"`
			Items      []point `json:"items"`
			Count      int     `json:"count"`
		}{d.Name, kind, field, sp.fn, sp.every.String(), served, items, len(items)}, reply{cache: cacheHistory})
	})
}
