package api

import (
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// TestOpenAPICoversRoutes fails when a route in routes.go is missing from
// the OpenAPI document, or the document lists a route that does not exist.
func TestOpenAPICoversRoutes(t *testing.T) {
	h, err := NewServer(nil, nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	err = h.(*server).router.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err1 := rt.GetPathTemplate()
		methods, err2 := rt.GetMethods()
		if err1 != nil || err2 != nil {
			return nil // the subrouter itself, or the OPTIONS catch-all
		}
		for _, m := range methods {
			if alias, ok := openAPIAliases[path]; ok {
				path = alias // served twice, described once
			}
			if m != "OPTIONS" && m != "HEAD" && !slices.Contains(routes, m+" "+path) { // HEAD goes with every GET, documented once
				routes = append(routes, m+" "+path)
			}
		}
		if slices.Contains(methods, "GET") != slices.Contains(methods, "HEAD") {
			t.Errorf("route %s %s: GET and HEAD must be served together", methods, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := OpenAPIPaths()
	slices.Sort(routes)
	slices.Sort(documented)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in the OpenAPI document", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("the OpenAPI document lists %s, which routes.go does not serve", d)
		}
	}
	if len(routes) < 15 {
		t.Errorf("only %d routes found: %s", len(routes), strings.Join(routes, ", "))
	}
}
