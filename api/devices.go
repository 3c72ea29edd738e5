package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/kessel-city/kessel"
)

// handleDevices serves GET /devices and, with latest, GET /latest.
func (s *server) handleDevices() http.Handler { return s.deviceCollection(false) }

// handleLatest serves the whole city's answer from a snapshot (snapshot.go).
func (s *server) handleLatest() http.Handler { return s.snap.wrap(s.deviceCollection(true)) }

func (s *server) deviceCollection(latest bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format, q, pg, err := s.collectionQuery(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		qcf, err := qcFilter(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		states := s.devices.Query(q)
		if latest {
			states = slices.DeleteFunc(states, func(st kessel.DeviceState) bool { return st.Latest == nil })
			filterLatest(qcf, states)
		}
		s.respondDevices(w, r, format, states, pg, latest)
	})
}

// handleSearch serves POST /devices/search: devices inside a GeoJSON
// Polygon or MultiPolygon (a geometry, Feature or FeatureCollection of one),
// with the list filters of GET /devices. It changes nothing.
func (s *server) handleSearch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format, q, pg, err := s.collectionQuery(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		var body json.RawMessage
		if err := s.decode(r, &body); err != nil {
			s.errorResponse(w, r, err)
			return
		}
		poly, err := polygonOf(body)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		q.Within, q.BBox, q.Near = poly, nil, nil
		s.respondDevices(w, r, format, s.devices.Query(q), pg, true)
	})
}

// collectionQuery reads what every device collection takes: the format,
// the filters and the page.
func (s *server) collectionQuery(r *http.Request) (string, kessel.DeviceQuery, page, error) {
	v := r.URL.Query()
	format, err := negotiate(r)
	if err != nil {
		return "", kessel.DeviceQuery{}, page{}, err
	}
	q, err := s.deviceQuery(v)
	if err != nil {
		return "", q, page{}, err
	}
	pg, err := parsePage(v)
	q.IncludeInternal = s.canSeeInternal(r)
	return format, q, pg, err
}

func (s *server) handleNearest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format, err := negotiate(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		q, err := nearestQuery(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		q.IncludeInternal = s.canSeeInternal(r)
		s.respondDevices(w, r, format, s.devices.Query(q), page{limit: MaxK}, true)
	})
}

func nearestQuery(r *http.Request) (kessel.DeviceQuery, error) {
	v := r.URL.Query()
	lon, lat := v.Get("lon"), v.Get("lat")
	if lon == "" || lat == "" {
		return kessel.DeviceQuery{}, invalid("lon and lat are required")
	}
	p, err := parsePoint("lon,lat", lon+","+lat)
	if err != nil {
		return kessel.DeviceQuery{}, err
	}
	q := kessel.DeviceQuery{Kind: v.Get("kind"), Near: &p, K: 10}
	if ks := v.Get("k"); ks != "" {
		if q.K, err = strconv.Atoi(ks); err != nil || q.K < 1 || q.K > MaxK {
			return q, invalid("k must be a whole number from 1 to %d, got %q", MaxK, ks)
		}
	}
	if err := checkKind(q.Kind); err != nil {
		return q, err
	}
	if md := v.Get("max_distance"); md != "" {
		if q.Radius, err = parseRadius(md); err != nil {
			return q, invalid("max_distance must be a number of metres in (0, %g], got %q", MaxRadius, md)
		}
	}
	return q, nil
}

// respondDevices answers one page of devices in the format asked for,
// with the next page's URL in a Link header and in the body (JSON "next",
// GeoJSON "links" with rel=next), so that a client either has the whole
// list or is told where the rest is.
func (s *server) respondDevices(w http.ResponseWriter, r *http.Request, format string, states []kessel.DeviceState, pg page, withLatest bool) {
	total := len(states)
	from := min(pg.offset, total)
	states = states[from : from+min(pg.limit, total-from)]
	var next pageLinks
	if from+len(states) < total {
		next.cursor = cursorFor(from + len(states))
		u := url.URL{Path: r.URL.Path}
		qv := r.URL.Query()
		qv.Set("cursor", next.cursor)
		u.RawQuery = qv.Encode()
		// Relative to this server unless its public URL is configured:
		// the same for every Host a request names (snapshots share it).
		next.url = strings.TrimRight(s.opts.Catalog.BaseURL, "/") + u.String()
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", next.url))
	}
	if format == formatCSV {
		s.encode(w, r, devicesCSV(states, withLatest), reply{media: mediaCSV, cache: cacheLive})
		return
	}
	items := make([]deviceJSON, len(states))
	for i, st := range states {
		items[i] = toDeviceJSON(st, withLatest)
	}
	b := make([]byte, 0, 400*len(items)+64)
	if format == formatGeoJSON {
		s.encode(w, r, appendFeatureCollection(b, items, next), reply{media: mediaGeoJSON, cache: cacheLive})
		return
	}
	s.encode(w, r, appendDeviceList(b, items, total, next), reply{cache: cacheLive})
}

// lookup returns a device the request may see, or ENOTFOUND (internal
// devices are not found without the scope, so their existence is not told).
func (s *server) lookup(r *http.Request) (kessel.Device, *kessel.Reading, error) {
	id := mux.Vars(r)["id"]
	if !kessel.ValidDeviceID(id) {
		return kessel.Device{}, nil, invalid("%s", kessel.DeviceIDError(id))
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

// respondDevice writes one device with the ETag that PUT's If-Match checks.
func (s *server) respondDevice(w http.ResponseWriter, r *http.Request, st kessel.DeviceState, status int) {
	s.encode(w, r, toDeviceJSON(st, true), reply{status: status, cache: cacheLive, version: s.version(st.Device)})
}

// polygonOf reads the search area: a Polygon or MultiPolygon whose every
// position is lon,lat in WGS84 degrees.
func polygonOf(body []byte) (orb.Geometry, error) {
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, invalid("body is not a GeoJSON object: %v", err)
	}
	var g orb.Geometry
	switch probe.Type {
	case "Feature":
		f, err := geojson.UnmarshalFeature(body)
		if err != nil {
			return nil, invalid("body is not a GeoJSON Feature: %v", err)
		}
		g = f.Geometry
	case "FeatureCollection":
		fc, err := geojson.UnmarshalFeatureCollection(body)
		if err != nil || len(fc.Features) != 1 {
			return nil, invalid("a FeatureCollection body must hold exactly one polygon feature")
		}
		g = fc.Features[0].Geometry
	default:
		geom, err := geojson.UnmarshalGeometry(body)
		if err != nil {
			return nil, invalid("body is not a GeoJSON geometry: %v", err)
		}
		g = geom.Geometry()
	}
	return checkPolygon(g)
}

func checkPolygon(g orb.Geometry) (orb.Geometry, error) {
	var polys orb.MultiPolygon
	switch g := g.(type) {
	case orb.Polygon:
		polys = orb.MultiPolygon{g}
	case orb.MultiPolygon:
		if len(g) == 0 {
			return nil, invalid("the multipolygon is empty")
		}
		polys = g
	default:
		return nil, invalid("search needs a Polygon or MultiPolygon, not %T", g)
	}
	for _, p := range polys {
		if len(p) == 0 || len(p[0]) < 4 {
			return nil, invalid("each polygon needs a closed ring of at least 4 positions")
		}
		for _, ring := range p {
			for _, pt := range ring {
				if !kessel.ValidLonLat(pt[0], pt[1]) {
					return nil, invalid("position (%g, %g) is not lon,lat in WGS84 degrees (lon -180..180 first, then lat -90..90)", pt[0], pt[1])
				}
			}
		}
	}
	return g, nil
}
