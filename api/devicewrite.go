package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/kessel-city/kessel"
)

// DeviceWriter changes the registry on an operator's word. Versions are
// opaque strings (see DeviceVersion) for optimistic concurrency.
type DeviceWriter interface {
	Create(ctx context.Context, d kessel.Device) (kessel.Device, error)
	Replace(ctx context.Context, d kessel.Device, version string) (kessel.Device, error)
	Delete(ctx context.Context, id, version string) error
}

// deviceInput is the body of POST /devices and PUT /devices/{id}.
type deviceInput struct {
	ID         string            `json:"id"`
	Kind       string            `json:"kind"`
	Name       string            `json:"name"`
	Location   *lonLat           `json:"location"`
	Department string            `json:"department"`
	Visibility string            `json:"visibility"`
	Labels     map[string]string `json:"labels"`
}

func decodeDevice(r *http.Request, limit int) (kessel.Device, error) {
	var in deviceInput
	body, err := readBody(r, limit)
	if err != nil {
		return kessel.Device{}, err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return kessel.Device{}, invalid("body is not a device: %v", err)
	}
	vis, err := kessel.ParseVisibility(in.Visibility)
	if err != nil {
		return kessel.Device{}, err
	}
	d := kessel.Device{ID: in.ID, Kind: in.Kind, Name: in.Name, Department: in.Department, Visibility: vis, Labels: in.Labels}
	if in.Location != nil {
		d.Location = &orb.Point{in.Location.Lon, in.Location.Lat}
	}
	if d.Kind == "" {
		return d, invalid("kind is required")
	}
	return d, nil // the registry validates the rest
}

// mayWrite reports whether the principal may change a device of dept:
// its own department's devices, or any with admin.
func mayWrite(p *Principal, dept string) bool {
	return p.Has(ScopeAdmin) || p.Department == dept
}

// deviceETag combines the device's version (what If-Match checks) with a
// hash of the whole representation (what caches compare).
func deviceETag(version string, body []byte) string {
	return `"` + version + "-" + strings.Trim(bodyETag(body), `"`) + `"`
}

// versionOf extracts the version from an If-Match value.
func versionOf(ifMatch string) string {
	v := strings.TrimPrefix(strings.TrimSpace(ifMatch), "W/")
	v = strings.Trim(v, `"`)
	v, _, _ = strings.Cut(v, "-")
	return v
}

func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errTooLarge) {
		s.tooLarge(w, r)
		return
	}
	if kessel.ErrorCode(err) == kessel.ECONFLICT && r.Method == http.MethodPut || kessel.ErrorCode(err) == kessel.ECONFLICT && r.Method == http.MethodDelete {
		s.problem(w, r, http.StatusPreconditionFailed, "precondition_failed", kessel.ErrorMessage(err))
		return
	}
	s.errorResponse(w, r, err)
}

func (s *server) handleCreateDevice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.writer == nil {
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAVAILABLE, "device changes are not available on this instance"))
			return
		}
		d, err := decodeDevice(r, s.opts.MaxBody)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		p := principalOf(r)
		if d.Department == "" {
			d.Department = p.Department
		}
		if !mayWrite(p, d.Department) {
			s.errorResponse(w, r, kessel.Errorf(kessel.EFORBIDDEN, "key %q of department %s may not register devices of department %s", p.Name, p.Department, d.Department))
			return
		}
		created, err := s.writer.Create(r.Context(), d)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/devices/"+created.ID)
		s.respondDevice(w, r, kessel.DeviceState{Device: created}, http.StatusCreated)
	})
}

func (s *server) handleReplaceDevice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.writer == nil {
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAVAILABLE, "device changes are not available on this instance"))
			return
		}
		id := mux.Vars(r)["id"]
		ifMatch := r.Header.Get("If-Match")
		if ifMatch == "" {
			s.problem(w, r, http.StatusPreconditionRequired, "precondition_required", "PUT needs If-Match with the ETag of the device as you last read it, so that two departments do not overwrite each other")
			return
		}
		d, err := decodeDevice(r, s.opts.MaxBody)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if d.ID == "" {
			d.ID = id
		}
		if d.ID != id {
			s.errorResponse(w, r, invalid("body id %q differs from the path's %q", d.ID, id))
			return
		}
		cur, _, err := s.lookup(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		p := principalOf(r)
		if d.Department == "" {
			d.Department = cur.Department
		}
		if !mayWrite(p, cur.Department) || !mayWrite(p, d.Department) {
			s.errorResponse(w, r, kessel.Errorf(kessel.EFORBIDDEN, "key %q of department %s may not change devices of department %s", p.Name, p.Department, cur.Department))
			return
		}
		updated, err := s.writer.Replace(r.Context(), d, versionOf(ifMatch))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		_, latest, _ := s.devices.Get(id)
		s.respondDevice(w, r, kessel.DeviceState{Device: updated, Latest: latest}, http.StatusOK)
	})
}

func (s *server) handleDeleteDevice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.writer == nil {
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAVAILABLE, "device changes are not available on this instance"))
			return
		}
		cur, _, err := s.lookup(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		p := principalOf(r)
		if !mayWrite(p, cur.Department) {
			s.errorResponse(w, r, kessel.Errorf(kessel.EFORBIDDEN, "key %q of department %s may not remove devices of department %s", p.Name, p.Department, cur.Department))
			return
		}
		if err := s.writer.Delete(r.Context(), cur.ID, versionOf(r.Header.Get("If-Match"))); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// respondDevice writes one device with the ETag that PUT's If-Match checks.
func (s *server) respondDevice(w http.ResponseWriter, r *http.Request, st kessel.DeviceState, status int) {
	body, err := json.Marshal(toDeviceJSON(st, true))
	if err != nil {
		s.errorResponse(w, r, fmt.Errorf("api: encode: %w", err))
		return
	}
	body = append(body, '\n')
	etag := deviceETag(s.version(st.Device), body)
	w.Header().Set("ETag", etag)
	if status == http.StatusOK && r.Method == http.MethodGet && matches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", cacheLive)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// handleSearch serves POST /devices/search: devices inside a GeoJSON
// Polygon or MultiPolygon (a geometry, Feature or FeatureCollection of one).
func (s *server) handleSearch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := s.body(w, r)
		if !ok {
			return
		}
		poly, err := polygonOf(body)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		format, err := negotiate(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		q, err := s.deviceQuery(r.URL.Query())
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		offset, limit, err := page(r.URL.Query())
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		q.Within, q.BBox, q.Near = poly, nil, nil
		q.IncludeInternal = s.canSeeInternal(r)
		s.respondDevices(w, r, format, s.devices.Query(q), offset, limit, true)
	})
}

func polygonOf(body []byte) (orb.Geometry, error) {
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, invalid("body is not GeoJSON: %v", err)
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
	switch g := g.(type) {
	case orb.Polygon:
		if len(g) == 0 || len(g[0]) < 4 {
			return nil, invalid("the polygon needs a closed ring of at least 4 positions")
		}
		return g, nil
	case orb.MultiPolygon:
		if len(g) == 0 {
			return nil, invalid("the multipolygon is empty")
		}
		return g, nil
	}
	return nil, invalid("search needs a Polygon or MultiPolygon, not %T", g)
}
