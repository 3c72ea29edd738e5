package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel/api"
)

// problemOf checks that an answer is a problem document of status and
// returns its type and detail.
func problemOf(t *testing.T, rec *httptest.ResponseRecorder, status int) (typ, detail string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p struct {
		Type, Detail string
		Status       int
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != status {
		t.Fatalf("problem document %s: %v", rec.Body, err)
	}
	return strings.TrimPrefix(p.Type, api.ProblemTypeBase), p.Detail
}

// serve sends one request straight to the handler.
func (f *fixture) serve(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestHostileRequests: known-bad queries, ranges and bodies are each a
// specific 4xx problem document, never a panic or a 5xx.
func TestHostileRequests(t *testing.T) {
	f := newFixture(t, "")
	admin := []string{"Authorization", "Bearer " + testKeys["admin"]}
	jsonBody := []string{"Authorization", "Bearer " + testKeys["admin"], "Content-Type", "application/json"}
	square := func(x, y float64) string {
		b, _ := jsonMarshal(map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{x, y}, {x + 1, y}, {x + 1, y + 1}, {x, y}}}})
		return b
	}
	cases := []struct {
		name, method, target, body string
		hdr                        []string
		status                     int
		code, detail               string
	}{
		{"query that does not parse", "GET", "/api/v1/devices?kind=%zz", "", nil, 400, "invalid", "does not parse"},
		{"query with a bad escape on the page", "GET", "/?lang=%", "", nil, 400, "invalid", "does not parse"},
		{"cursor past int64", "GET", "/api/v1/devices?cursor=" + b64("o9223372036854775807"), "", nil, 400, "invalid", "cursor"},
		{"cursor past the largest list", "GET", "/api/v1/latest?cursor=" + b64("o1073741825"), "", nil, 400, "invalid", "not one this API issued"},
		{"cursor not canonical", "GET", "/api/v1/devices?cursor=" + b64("o+1"), "", nil, 400, "invalid", "cursor"},
		{"cursor negative", "GET", "/api/v1/devices?cursor=" + b64("o-1"), "", nil, 400, "invalid", "cursor"},
		{"search cursor past int64", "POST", "/api/v1/devices/search?cursor=" + b64("o9223372036854775807"), square(9.1, 48.7), nil, 400, "invalid", "cursor"},
		{"to after the stored range", "GET", "/api/v1/devices/air-1/readings?to=9999-12-31T23:59:59Z", "", nil, 400, "invalid", "outside the stored range"},
		{"from before the stored range", "GET", "/api/v1/devices/air-1/readings?from=0001-01-01T00:00:00Z", "", nil, 400, "invalid", "outside the stored range"},
		{"from just before 1677-09-21", "GET", "/api/v1/devices/air-1/readings?from=1677-09-21T00:00:00Z", "", nil, 400, "invalid", "from"},
		{"district series to 9999", "GET", "/api/v1/districts/mitte/readings?kind=air_quality&field=pm10&to=9999-12-31T23:59:59Z", "", nil, 400, "invalid", "outside the stored range"},
		{"district series absurd every", "GET", "/api/v1/districts/mitte/readings?kind=air_quality&field=pm10&every=1000000h", "", nil, 400, "invalid", "every must be"},
		{"district series from after to", "GET", "/api/v1/districts/mitte/readings?kind=air_quality&field=pm10&from=-1h&to=-2h", "", nil, 400, "invalid", "must be before"},
		{"dead letters to 9999", "GET", "/api/v1/deadletters?to=9999-12-31T23:59:59Z", "", admin, 400, "invalid", "outside the stored range"},
		{"alerts since 9999", "GET", "/api/v1/alerts?since=9999-12-31T23:59:59Z", "", nil, 400, "invalid", "since"},
		{"every zero", "GET", "/api/v1/devices/air-1/readings?every=0s", "", nil, 400, "invalid", "every must be"},
		{"every in days overflowing", "GET", "/api/v1/devices/air-1/readings?every=99999999999d", "", nil, 400, "invalid", "every must be"},
		{"every minutes over 50 years", "GET", "/api/v1/devices/air-1/readings?from=-20000d&every=1m", "", nil, 400, "invalid", "use every="},
		{"to at the epoch", "GET", "/api/v1/devices/air-1/readings?from=1969-12-31T00:00:00Z&to=1970-01-01T00:00:00Z", "", nil, 400, "invalid", "outside the stored range"},
		{"csv every minutes over ten years", "GET", "/api/v1/devices/air-1/readings?from=-3650d&every=1m&format=csv", "", nil, 400, "invalid", "use every="},
		{"relative time overflowing", "GET", "/api/v1/devices/air-1/readings?from=-9999999999h", "", nil, 400, "invalid", "from"},
		{"trailing garbage", "POST", "/api/v1/devices", `{"id":"t-1","kind":"noise"}garbage`, jsonBody, 400, "invalid", "after the JSON value"},
		{"a second object", "POST", "/api/v1/devices", `{"id":"t-1","kind":"noise"} {"id":"t-2"}`, jsonBody, 400, "invalid", "after the JSON value"},
		{"duplicate key", "POST", "/api/v1/devices", `{"id":"t-1","kind":"noise","kind":"water_level"}`, jsonBody, 400, "invalid", `key "kind" appears twice`},
		{"duplicate key nested", "POST", "/api/v1/devices", `{"id":"t-1","kind":"noise","labels":{"a":"1","a":"2"}}`, jsonBody, 400, "invalid", `key "a" appears twice`},
		{"text/plain", "POST", "/api/v1/devices", `{"id":"t-1","kind":"noise"}`, append(slices.Clone(admin), "Content-Type", "text/plain"), 415, "unsupported_media_type", "application/json"},
		{"form encoded", "POST", "/api/v1/devices", `{"id":"t-1","kind":"noise"}`, append(slices.Clone(admin), "Content-Type", "application/x-www-form-urlencoded"), 415, "unsupported_media_type", "Content-Type"},
		{"empty body", "POST", "/api/v1/devices", ``, jsonBody, 400, "invalid", "empty"},
		{"not an object", "POST", "/api/v1/devices", `[1,2]`, jsonBody, 400, "invalid", "must be an object"},
		{"wrong field type", "POST", "/api/v1/devices", `{"id":"t-1","kind":5}`, jsonBody, 400, "invalid", "kind must be a string"},
		{"unknown field", "POST", "/api/v1/devices", `{"id":"t-1","kind":"noise","colour":"red"}`, jsonBody, 400, "invalid", "colour"},
		{"nested too deep", "POST", "/api/v1/devices", strings.Repeat("[", 300) + strings.Repeat("]", 300), jsonBody, 400, "invalid", "nested deeper"},
		{"body too large", "POST", "/api/v1/devices", `{"id":"t-1","kind":"noise","name":"` + strings.Repeat("x", api.DefaultMaxBody) + `"}`, jsonBody, 413, "too_large", "larger than"},
		{"polygon outside WGS84", "POST", "/api/v1/devices/search", square(900, 480), nil, 400, "invalid", "(900, 480) is not lon,lat"},
		{"polygon text/plain", "POST", "/api/v1/devices/search", square(9.1, 48.7), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "application/json"},
		{"polygon duplicate key", "POST", "/api/v1/devices/search", `{"type":"Polygon","type":"Point","coordinates":[]}`, nil, 400, "invalid", "appears twice"},
		{"rule trailing garbage", "POST", "/api/v1/rules", `{"id":"r","kind":"noise","condition":"silence","silence":"1h"}]`, jsonBody, 400, "invalid", "after the JSON value"},
		{"rule text/plain", "POST", "/api/v1/rules", `{}`, append(slices.Clone(admin), "Content-Type", "text/plain; charset=utf-8"), 415, "unsupported_media_type", "application/json"},
		{"PUT without If-Match", "PUT", "/api/v1/devices/noise-1", `{"kind":"noise"}`, jsonBody, 428, "precondition_required", "If-Match"},
		{"PUT with a stale If-Match", "PUT", "/api/v1/devices/noise-1", `{"kind":"noise"}`, append(slices.Clone(jsonBody), "If-Match", `"0-abc"`), 412, "precondition_failed", "changed since"},
		{"DELETE with a stale If-Match", "DELETE", "/api/v1/devices/noise-1", ``, append(slices.Clone(admin), "If-Match", `"0-abc"`), 412, "precondition_failed", "changed since"},
		{"wrong method on a collection", "DELETE", "/api/v1/latest", ``, nil, 405, "method_not_allowed", "GET, HEAD, OPTIONS"},
		{"wrong method on an operation", "PATCH", "/healthz", ``, nil, 405, "method_not_allowed", "GET, HEAD"},
		{"unknown path", "DELETE", "/api/v1/nothing", ``, nil, 404, "not_found", "no resource"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.serve(tc.method, tc.target, tc.body, tc.hdr...)
			code, detail := problemOf(t, rec, tc.status)
			if code != tc.code || !strings.Contains(detail, tc.detail) {
				t.Errorf("problem %s %q, want %s containing %q", code, detail, tc.code, tc.detail)
			}
		})
	}
	// The control: a good search is answered, in GeoJSON's own media type.
	if rec := f.serve("POST", "/api/v1/devices/search", square(9.17, 48.77), "Content-Type", "application/geo+json"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "air-1") {
		t.Errorf("good search: %d %s", rec.Code, rec.Body)
	}
}

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// pathOf fills a route's template with an id that exists where one does.
func pathOf(template string) string {
	id := "nope"
	switch {
	case strings.HasPrefix(template, "/api/v1/devices/"):
		id = "air-1"
	case strings.HasPrefix(template, "/api/v1/districts/"):
		id = "mitte"
	}
	return strings.ReplaceAll(template, "{id}", id)
}

// TestHeadOnEveryGetRoute walks the router: every GET route answers HEAD
// with GET's status and headers and no body; a stream ends after its headers.
func TestHeadOnEveryGetRoute(t *testing.T) {
	f := newFixture(t, "")
	admin := "Bearer " + testKeys["admin"]
	n := 0
	for _, rt := range api.Routes(f.h) {
		if !slices.Contains(rt.Methods, http.MethodGet) {
			continue
		}
		n++
		t.Run(rt.Path, func(t *testing.T) {
			path := pathOf(rt.Path)
			head := make(chan *httptest.ResponseRecorder, 1)
			go func() { head <- f.serve("HEAD", path, "", "Authorization", admin) }()
			var h *httptest.ResponseRecorder
			select {
			case h = <-head:
			case <-time.After(10 * time.Second):
				t.Fatal("HEAD did not end")
			}
			if h.Body.Len() != 0 {
				t.Errorf("HEAD wrote a body: %.100s", h.Body)
			}
			if strings.HasSuffix(path, "/stream") {
				if h.Code != 200 || h.Header().Get("Content-Type") != "text/event-stream" {
					t.Errorf("HEAD of the stream: %d %v", h.Code, h.Header())
				}
				return
			}
			g := f.serve("GET", path, "", "Authorization", admin)
			if h.Code != g.Code {
				t.Fatalf("HEAD %d, GET %d", h.Code, g.Code)
			}
			for _, k := range []string{"Content-Type", "Content-Length", "ETag", "Cache-Control", "Allow"} {
				if path == "/metrics" || path == "/api/v1/usage" {
					continue // these count the requests themselves
				}
				if h.Header().Get(k) != g.Header().Get(k) {
					t.Errorf("%s: HEAD %q, GET %q", k, h.Header().Get(k), g.Header().Get(k))
				}
			}
		})
	}
	if n < 15 {
		t.Errorf("only %d GET routes walked", n)
	}
}

// TestMethodNotAllowedOnEveryPath walks the router: each path asked with a
// method it does not serve answers 405 with Allow listing those it does,
// as a problem document, counted.
func TestMethodNotAllowedOnEveryPath(t *testing.T) {
	f := newFixture(t, "")
	sent := 0
	routes := api.Routes(f.h)
	for _, rt := range routes {
		// Another route may serve the same path: GET /devices/search is
		// the device "search".
		var want []string
		for _, other := range routes {
			if templateMatches(other.Path, pathOf(rt.Path)) {
				want = append(want, other.Methods...)
			}
		}
		if strings.HasPrefix(rt.Path, "/api/v1/") {
			want = append(want, http.MethodOptions)
		}
		slices.Sort(want)
		want = slices.Compact(want)
		for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
			if slices.Contains(want, m) {
				continue
			}
			sent++
			t.Run(m+" "+rt.Path, func(t *testing.T) {
				rec := f.serve(m, pathOf(rt.Path), "")
				problemOf(t, rec, http.StatusMethodNotAllowed)
				if strings.HasPrefix(rt.Path, "/api/v1/") && rec.Header().Get("Access-Control-Allow-Origin") != "*" {
					t.Error("a 405 of the public API without CORS: browsers cannot read it")
				}
				allow := strings.Split(rec.Header().Get("Allow"), ", ")
				slices.Sort(allow)
				if !slices.Equal(allow, want) {
					t.Errorf("Allow %v, want %v", allow, want)
				}
			})
		}
	}
	rec := f.serve("GET", "/metrics", "")
	body, _ := io.ReadAll(rec.Body)
	for _, line := range []string{
		`kessel_http_problems_total{code="method_not_allowed"} ` + strconv.Itoa(sent),
		`kessel_http_requests_total{code="405",route="notallowed"} ` + strconv.Itoa(sent),
	} {
		if !strings.Contains(string(body), line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
}

// templateMatches reports whether a route template such as
// /api/v1/devices/{id} matches a path.
func templateMatches(template, path string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if ts[i] != ps[i] && !strings.HasPrefix(ts[i], "{") {
			return false
		}
	}
	return true
}

// TestMissingDependencies: a route whose part this instance lacks answers
// 503 naming it, the same way for every such part.
func TestMissingDependencies(t *testing.T) {
	h, err := api.NewServer(nil, nil, nil, api.Options{Keys: []api.Key{{Name: "a", Department: "d", Scopes: []string{api.ScopeAdmin}, Hash: api.HashKey("kessel_a")}}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{h: h}
	for _, tc := range []struct{ method, path, missing string }{
		{"GET", "/api/v1/districts", "districts"},
		{"GET", "/api/v1/districts/mitte", "districts"},
		{"GET", "/api/v1/districts/mitte/readings?kind=noise&field=db", "districts"},
		{"GET", "/api/v1/devices/a/readings", "stored readings"},
		{"GET", "/api/v1/alerts", "alerts role"},
		{"GET", "/api/v1/alerts/x", "alerts role"},
		{"GET", "/api/v1/alerts/stream", "alerts role"},
		{"POST", "/api/v1/alerts/x/ack", "alerts role"},
		{"GET", "/api/v1/rules", "alerts role"},
		{"DELETE", "/api/v1/rules/x", "alerts role"},
		{"POST", "/api/v1/devices", "device changes"},
		{"DELETE", "/api/v1/devices/a", "device changes"},
		{"GET", "/api/v1/deadletters", "dead letters"},
		{"POST", "/api/v1/push/airrohr", "ingest role"},
		{"POST", "/api/v1/devices/a/readings", "ingest role"},
		{"GET", "/metrics", "no metrics"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}")).WithContext(ctx)
			req.Header.Set("Authorization", "Bearer kessel_a")
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			if _, detail := problemOf(t, rec, 503); !strings.Contains(detail, tc.missing) || rec.Header().Get("Retry-After") == "" {
				t.Errorf("detail %q (Retry-After %q), want it to name %q", detail, rec.Header().Get("Retry-After"), tc.missing)
			}
		})
	}
}
