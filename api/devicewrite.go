package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"

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
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Location *struct {
		Lon *float64 `json:"lon"`
		Lat *float64 `json:"lat"`
	} `json:"location"`
	Department string            `json:"department"`
	Visibility string            `json:"visibility"`
	Labels     map[string]string `json:"labels"`
	Units      map[string]string `json:"units"`
	// Class: reference or indicative (default).
	Class  string                    `json:"measurement_class"`
	Levels map[string][]kessel.Level `json:"levels"`
}

func (s *server) decodeDevice(r *http.Request) (kessel.Device, error) {
	var in deviceInput
	if err := s.decode(r, &in); err != nil {
		return kessel.Device{}, err
	}
	vis, err := kessel.ParseVisibility(in.Visibility)
	if err != nil {
		return kessel.Device{}, err
	}
	class, err := kessel.ParseMeasurementClass(in.Class)
	if err != nil {
		return kessel.Device{}, err
	}
	d := kessel.Device{ID: in.ID, Kind: in.Kind, Name: in.Name, Department: in.Department, Visibility: vis, Labels: in.Labels, Units: in.Units, MeasurementClass: class, Levels: in.Levels}
	if in.Location != nil {
		if in.Location.Lon == nil || in.Location.Lat == nil {
			return d, invalid("location needs lon and lat") // not 0, off the coast of Africa
		}
		d.Location = &orb.Point{*in.Location.Lon, *in.Location.Lat}
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

// versionOf extracts the version from an If-Match value.
func versionOf(ifMatch string) string {
	v := strings.TrimPrefix(strings.TrimSpace(ifMatch), "W/")
	v = strings.Trim(v, `"`)
	v, _, _ = strings.Cut(v, "-")
	return v
}

func (s *server) handleCreateDevice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.decodeDevice(r)
		if err != nil {
			s.errorResponse(w, r, err)
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
			s.errorResponse(w, r, s.createRefused(r, d.ID, err))
			return
		}
		w.Header().Set("Location", "/api/v1/devices/"+created.ID)
		s.respondDevice(w, r, kessel.DeviceState{Device: created}, http.StatusCreated)
	})
}

func (s *server) handleReplaceDevice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["id"]
		ifMatch := r.Header.Get("If-Match")
		if ifMatch == "" {
			s.errorResponse(w, r, kessel.Errorf(kessel.EPRECONDITIONREQUIRED, "PUT needs If-Match with the ETag of the device as you last read it, so that two departments do not overwrite each other"))
			return
		}
		d, err := s.decodeDevice(r)
		if err != nil {
			s.errorResponse(w, r, err)
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
			s.errorResponse(w, r, err)
			return
		}
		_, latest, _ := s.devices.Get(id)
		s.respondDevice(w, r, kessel.DeviceState{Device: updated, Latest: latest}, http.StatusOK)
	})
}

func (s *server) handleDeleteDevice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			s.errorResponse(w, r, err)
			return
		}
		s.encode(w, r, nil, reply{status: http.StatusNoContent})
	})
}
