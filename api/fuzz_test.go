package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel/api"
)

var fuzzMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

// FuzzRoutes sends any method, path, query and body, with and without a
// key, and demands an answer that is no 5xx but 503 (the fixture's store
// is a closed port, and it pushes to no ingest), a problem document for
// every error, and no panic. The seeds are every route of the router
// with sample values, plus the known-bad inputs in testdata/fuzz/FuzzRoutes.
func FuzzRoutes(f *testing.F) {
	fx := newFixture(f, "")
	for _, rt := range api.Routes(fx.h) {
		for _, m := range rt.Methods {
			f.Add(uint8(methodIndex(m)), pathOf(rt.Path), "", "", true)
		}
		f.Add(uint8(0), pathOf(rt.Path), "format=csv&from=-2h&every=1h&limit=5&cursor=bzI", "", false)
	}
	f.Fuzz(func(t *testing.T, method uint8, path, query, body string, keyed bool) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		if m == "GET" && path == "/api/v1/alerts/stream" {
			m = "HEAD" // a stream never ends by itself; HEAD ends it after its headers
		}
		req := httptest.NewRequest(m, "/", strings.NewReader(body))
		req.URL.Path, req.URL.RawQuery = path, query
		req.Header.Set("Content-Type", "application/json")
		if keyed {
			req.Header.Set("Authorization", "Bearer "+testKeys["admin"])
		}
		ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second) // a bound, not a wait
		defer cancel()
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req.WithContext(ctx))
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s?%s: %d %s", m, path, query, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s %s?%s: %d without a problem document: %q", m, path, query, rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}

func methodIndex(m string) int {
	for i, x := range fuzzMethods {
		if x == m {
			return i
		}
	}
	return 0
}
