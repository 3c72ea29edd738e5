package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kessel-city/kessel"
)

// handleDevicePush takes a reading over HTTP from a device that cannot
// speak MQTT: the body is what it would publish on
// kessel/devices/{id}/readings (native JSON or SenML), and the request
// carries the device's own key (a key entry with `device: {id}`) or an
// admin key. It answers once the reading is stored; a bad one is kept as
// a dead letter and answered 400 with the reason.
func (s *server) handleDevicePush() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["id"]
		p := principalOf(r)
		switch {
		case p == nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="kessel"`)
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAUTHORIZED, "a device pushes with its own key (kessel keys new --device %s)", id))
			return
		case p.Device != id && !p.Has(ScopeAdmin):
			s.errorResponse(w, r, kessel.Errorf(kessel.EFORBIDDEN, "key %q may not push readings for device %q", p.Name, id))
			return
		}
		s.push(w, r, kessel.ReadingsTopic(id))
	})
}
