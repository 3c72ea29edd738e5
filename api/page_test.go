package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kessel-city/kessel/api"
)

// TestPageMounted: Options.Page answers / and /static/..., GET and HEAD;
// every other path stays the API's.
func TestPageMounted(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page "+r.URL.Path) })
	h, err := api.NewServer(nil, nil, nil, api.Options{Page: page, RateLimits: map[string]api.RateLimit{}})
	if err != nil {
		t.Fatal(err)
	}
	without, err := api.NewServer(nil, nil, nil, api.Options{RateLimits: map[string]api.RateLimit{}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		h                  http.Handler
		status             int
		body               string
	}{
		{"page", http.MethodGet, "/", h, 200, "page /"},
		{"page HEAD", http.MethodHead, "/", h, 200, ""},
		{"asset", http.MethodGet, "/static/v1/app.js", h, 200, "page /static/v1/app.js"},
		{"page POST", http.MethodPost, "/", h, 405, ""},
		{"API unchanged", http.MethodGet, "/api/v1/nope", h, 404, ""},
		{"no page configured", http.MethodGet, "/", without, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.body != "" && rec.Body.String() != tc.body {
				t.Errorf("body %q, want %q", rec.Body, tc.body)
			}
		})
	}
}
