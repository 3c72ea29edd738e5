package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// Route is one path template of the router with the methods it serves.
type Route struct {
	Path    string
	Methods []string
}

// Routes walks the router of a handler made by NewServer, for tests
// outside the package: every path template with its methods, in order,
// the OPTIONS catch-all left out.
func Routes(h http.Handler) []Route {
	var out []Route
	byPath := map[string]int{}
	_ = h.(*server).router.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err1 := rt.GetPathTemplate()
		methods, err2 := rt.GetMethods()
		if err1 != nil || err2 != nil || len(methods) == 1 && methods[0] == http.MethodOptions {
			return nil // the subrouter itself, or the OPTIONS catch-all
		}
		i, ok := byPath[path]
		if !ok {
			i = len(out)
			byPath[path] = i
			out = append(out, Route{Path: path})
		}
		out[i].Methods = append(out[i].Methods, methods...)
		return nil
	})
	return out
}

// ValidateOpenAPI runs the OpenAPI validator on a document, for the
// external tests.
var ValidateOpenAPI = validateOpenAPI

// WaitSnapshotBuilds waits until the whole-city snapshot's background
// rebuilds of a handler made by NewServer have ended.
func WaitSnapshotBuilds(h http.Handler) {
	if sn := h.(*server).snap; sn != nil {
		sn.running.Wait()
	}
}
