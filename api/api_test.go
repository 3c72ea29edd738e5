package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/geo"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/registry"
)

var (
	_ api.Devices        = (*registry.Registry)(nil)
	_ api.Districts      = (*geo.Districts)(nil)
	_ api.ReadingQuerier = (*influx.Client)(nil)
)

const twoDistricts = `{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"mitte","properties":{"name":"Mitte"},"geometry":{"type":"Polygon","coordinates":[[[9.17,48.77],[9.19,48.77],[9.19,48.79],[9.17,48.79],[9.17,48.77]]]}},
 {"type":"Feature","id":"ost","properties":{"name":"Ost"},"geometry":{"type":"Polygon","coordinates":[[[9.19,48.77],[9.23,48.77],[9.23,48.79],[9.19,48.79],[9.19,48.77]]]}}]}`

type fixture struct {
	h     http.Handler
	srv   *httptest.Server
	reg   *registry.Registry
	store *influx.Client
	now   time.Time
}

// newFixture serves the API over a real registry and districts. With a
// store URL it reads history from that InfluxDB; otherwise from a closed port.
// Keys of the fixture: each holds the scope its name says.
var testKeys = map[string]string{
	"admin":         "kessel_test-admin",
	"data:internal": "kessel_test-internal",
	"devices:write": "kessel_test-devices",
	"rules:read":    "kessel_test-rules-read",
	"rules:write":   "kessel_test-rules-write",
	"alerts:manage": "kessel_test-alerts",
}

func newFixture(t testing.TB, storeURL string, ready ...api.Check) *fixture {
	return newFixtureWith(t, storeURL, func(*api.Options) {}, ready...)
}

func newFixtureWith(t testing.TB, storeURL string, tweak func(*api.Options), ready ...api.Check) *fixture {
	t.Helper()
	ds, err := geo.LoadDistricts(strings.NewReader(twoDistricts), "name", nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := registry.New(registry.Options{Locator: ds})
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	put := func(id, kind string, lon, lat float64, vis kessel.Visibility) {
		if err := reg.Put(kessel.Device{ID: id, Kind: kind, Location: &orb.Point{lon, lat}, Visibility: vis}); err != nil {
			t.Fatal(err)
		}
	}
	put("air-1", "air_quality", 9.18, 48.78, kessel.Public)
	put("air-2", "air_quality", 9.20, 48.78, kessel.Public)
	if err := reg.Put(kessel.Device{ID: "noise-1", Kind: "noise", Location: &orb.Point{9.181, 48.781}, Visibility: kessel.Public, Department: "test"}); err != nil {
		t.Fatal(err)
	}
	put("secret-1", "air_quality", 9.1801, 48.7801, kessel.Internal)
	reg.Observe([]kessel.Reading{
		{Device: "air-1", Kind: "air_quality", Time: now, Values: map[string]float64{"pm10": 20}},
		{Device: "air-2", Kind: "air_quality", Time: now, Values: map[string]float64{"pm10": 40, "pm25": 10}},
		{Device: "secret-1", Kind: "air_quality", Time: now, Values: map[string]float64{"pm10": 99}},
	})
	if storeURL == "" {
		storeURL = "http://127.0.0.1:1"
	}
	store, err := influx.New(influx.Options{URL: storeURL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	prom := prometheus.NewRegistry()
	var keys []api.Key
	for scope, key := range testKeys {
		keys = append(keys, api.Key{Name: "key-" + scope, Department: "test", Scopes: []string{scope}, Hash: api.HashKey(key)})
	}
	engine, err := alert.New(nil, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := api.Options{Registerer: prom, Gatherer: prom, Now: func() time.Time { return now }, Ready: ready, Keys: keys, DeadLetters: store, Writer: reg, Version: registry.Version,
		RateLimits: map[string]api.RateLimit{}, Rules: engine, Alerts: engine}
	tweak(&opts)
	h, err := api.NewServer(reg, ds, store, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{h: h, srv: srv, reg: reg, store: store, now: now}
}

func (f *fixture) get(t *testing.T, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return f.do(t, http.MethodGet, path, "", hdr...)
}

func (f *fixture) do(t *testing.T, method, path, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, []byte(b.String())
}

// TestBadParameters: every bad parameter of every endpoint is a 400 (or
// 404) problem document with a specific detail, never a 500.
func TestBadParameters(t *testing.T) {
	f := newFixture(t, "")
	cases := []struct {
		name, path string
		status     int
		detail     string
	}{
		{"bbox three numbers", "/api/v1/devices?bbox=1,2,3", 400, "bbox must be 4"},
		{"bbox not numbers", "/api/v1/devices?bbox=a,b,c,d", 400, "not a number"},
		{"bbox inverted", "/api/v1/devices?bbox=9.3,48.7,9.1,48.8", 400, "must not exceed"},
		{"bbox out of range", "/api/v1/devices?bbox=9,48,200,49", 400, "WGS84"},
		{"radius without near", "/api/v1/devices?radius=100", 400, "radius needs near"},
		{"near without radius", "/api/v1/devices?near=9.18,48.78", 400, "near needs radius"},
		{"radius zero", "/api/v1/devices?near=9.18,48.78&radius=0", 400, "radius must be"},
		{"radius negative", "/api/v1/devices?near=9.18,48.78&radius=-5", 400, "radius must be"},
		{"radius too large", "/api/v1/devices?near=9.18,48.78&radius=1e9", 400, "radius must be"},
		{"near lat out of range", "/api/v1/devices?near=9.18,98&radius=10", 400, "lon first"},
		{"unknown district", "/api/v1/devices?district=Atlantis", 400, "Atlantis"},
		{"bad kind", "/api/v1/latest?kind=Air%20Quality", 400, "kind"},
		{"unknown format", "/api/v1/devices?format=xml", 400, "format \"xml\""},
		{"limit zero", "/api/v1/devices?limit=0", 400, "limit"},
		{"limit too big", "/api/v1/devices?limit=100001", 400, "limit"},
		{"bad cursor", "/api/v1/devices?cursor=%21%21", 400, "cursor"},
		{"nearest without lat", "/api/v1/nearest?lon=9.1", 400, "lon and lat"},
		{"nearest k zero", "/api/v1/nearest?lon=9.1&lat=48.7&k=0", 400, "k must be"},
		{"nearest bad max_distance", "/api/v1/nearest?lon=9.1&lat=48.7&max_distance=-1", 400, "max_distance"},
		{"unknown device", "/api/v1/devices/nope", 404, "not found"},
		{"internal device hidden", "/api/v1/devices/secret-1", 404, "not found"},
		{"bad device id", "/api/v1/devices/a%20b", 400, "device id"},
		{"readings unknown fn", "/api/v1/devices/air-1/readings?every=1h&fn=median", 400, "fn \"median\""},
		{"readings fn without every", "/api/v1/devices/air-1/readings?fn=mean", 400, "fn needs every"},
		{"readings from after to", "/api/v1/devices/air-1/readings?from=2026-11-23T09:00:00Z&to=2026-11-23T08:00:00Z", 400, "must be before"},
		{"readings bad from", "/api/v1/devices/air-1/readings?from=yesterday", 400, "from"},
		{"readings bad to", "/api/v1/devices/air-1/readings?to=-3x", 400, "to"},
		{"readings every too small", "/api/v1/devices/air-1/readings?every=10s", 400, "every must be"},
		{"readings too many points", "/api/v1/devices/air-1/readings?from=-365d&every=1m", 400, "use every="},
		{"readings bad field", "/api/v1/devices/air-1/readings?fields=PM10", 400, "fields"},
		{"readings of internal device", "/api/v1/devices/secret-1/readings", 404, "not found"},
		{"unknown district id", "/api/v1/districts/atlantis", 404, "atlantis"},
		{"unknown path", "/api/v1/nothing", 404, "no resource"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.get(t, tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q", ct)
			}
			var p struct {
				Type, Title, Detail string
				Status              int
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			if p.Status != tc.status || !strings.HasPrefix(p.Type, api.ProblemTypeBase) || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("problem = %+v, want detail containing %q", p, tc.detail)
			}
		})
	}
	resp, _ := f.get(t, "/api/v1/devices")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("no CORS header on a public endpoint")
	}
}

func TestDevicesQueries(t *testing.T) {
	f := newFixture(t, "")
	type list struct {
		Items []struct {
			ID       string
			District string
			Distance *float64 `json:"distance_m"`
			Latest   *struct{ Values map[string]float64 }
		}
		Total      int
		NextCursor string `json:"next_cursor"`
	}
	ids := func(l list) string {
		var s []string
		for _, it := range l.Items {
			s = append(s, it.ID)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct{ name, path, want string }{
		{"all public", "/api/v1/devices", "air-1,air-2,noise-1"},
		{"by kind", "/api/v1/devices?kind=noise", "noise-1"},
		{"by district name", "/api/v1/devices?district=Ost", "air-2"},
		{"by district id", "/api/v1/devices?district=mitte", "air-1,noise-1"},
		{"bbox", "/api/v1/devices?bbox=9.175,48.775,9.185,48.785", "air-1,noise-1"},
		{"radius", "/api/v1/devices?near=9.18,48.78&radius=200", "air-1,noise-1"},
		{"within district", "/api/v1/devices?within=Ost", "air-2"},
		{"latest only with readings", "/api/v1/latest", "air-1,air-2"},
		{"latest in district", "/api/v1/latest?district=Ost", "air-2"},
		{"nearest", "/api/v1/nearest?lon=9.199&lat=48.78&k=2", "air-2,noise-1"},
		{"page 1", "/api/v1/devices?limit=2", "air-1,air-2"},
		{"page 2", "/api/v1/devices?limit=2&cursor=bzI", "noise-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.get(t, tc.path)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var l list
			if err := json.Unmarshal(body, &l); err != nil {
				t.Fatal(err)
			}
			if got := ids(l); got != tc.want {
				t.Errorf("ids = %s, want %s", got, tc.want)
			}
		})
	}
	_, body := f.get(t, "/api/v1/nearest?lon=9.18&lat=48.78&k=1")
	var l list
	_ = json.Unmarshal(body, &l)
	if len(l.Items) != 1 || l.Items[0].Distance == nil || *l.Items[0].Distance != 0 {
		t.Errorf("nearest distance: %s", body)
	}
}

func TestFormatsAndCaching(t *testing.T) {
	f := newFixture(t, "")
	resp, body := f.get(t, "/api/v1/latest?format=geojson")
	if resp.Header.Get("Content-Type") != "application/geo+json" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	var fc struct {
		Type     string
		Features []struct {
			Geometry struct {
				Type        string
				Coordinates []float64
			}
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(body, &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) != 2 {
		t.Fatalf("geojson: %v %s", err, body)
	}
	if c := fc.Features[0].Geometry.Coordinates; fc.Features[0].Geometry.Type != "Point" || c[0] != 9.18 || c[1] != 48.78 {
		t.Errorf("geometry not lon,lat: %+v", fc.Features[0].Geometry)
	}

	resp, body = f.get(t, "/api/v1/latest", "Accept", "text/csv")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv: %v %q", err, body)
	}
	if strings.Join(rows[0], ",") != "id,kind,name,lon,lat,district,department,visibility,last_seen,time,pm10,pm10_unit,pm25,pm25_unit" ||
		rows[1][10] != "20" || rows[1][11] != "µg/m³" || rows[1][12] != "" || rows[1][13] != "" || rows[2][12] != "10" {
		t.Errorf("csv rows: %q", rows)
	}

	resp, _ = f.get(t, "/api/v1/devices/air-1")
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Cache-Control") == "" {
		t.Fatal("no ETag or Cache-Control")
	}
	resp, _ = f.get(t, "/api/v1/devices/air-1", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", resp.StatusCode)
	}
	f.reg.Observe([]kessel.Reading{{Device: "air-1", Kind: "air_quality", Time: f.now.Add(time.Minute), Values: map[string]float64{"pm10": 21}}})
	resp, _ = f.get(t, "/api/v1/devices/air-1", "If-None-Match", etag)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after a new reading: status %d, want 200", resp.StatusCode)
	}

	_, body = f.get(t, "/api/v1/districts/Ost")
	var district struct {
		Properties struct {
			Current map[string]map[string]struct {
				Mean, Min, Max float64
				Count          int
			}
		}
	}
	_ = json.Unmarshal(body, &district)
	if st := district.Properties.Current["air_quality"]["pm10"]; st.Count != 1 || st.Mean != 40 {
		t.Errorf("district aggregates: %s", body)
	}
}

func TestReadinessAndHistoryUnavailable(t *testing.T) {
	f := newFixture(t, "", api.Check{Name: "mqtt", Check: func(context.Context) error {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "not connected"}
	}}, api.Check{Name: "boom", Check: func(context.Context) error { return errors.New("secret internals") }})
	resp, body := f.get(t, "/readyz")
	if resp.StatusCode != 503 || !strings.Contains(string(body), "not connected") || strings.Contains(string(body), "secret internals") {
		t.Errorf("readyz: %d %s", resp.StatusCode, body)
	}
	resp, body = f.get(t, "/api/v1/devices/air-1/readings")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("history with store down: %d %s", resp.StatusCode, body)
	}
	resp, _ = f.get(t, "/healthz")
	if resp.StatusCode != 200 {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	resp, body = f.get(t, "/metrics")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `kessel_http_problems_total{code="unavailable"}`) {
		t.Errorf("metrics: %d", resp.StatusCode)
	}
}

func TestHistoryFromInfluxDB(t *testing.T) {
	db := influxtest.Start(t)
	f := newFixture(t, db.URL)
	if err := f.store.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rs []kessel.Reading
	for i := range 120 {
		rs = append(rs, kessel.Reading{Device: "air-1", Kind: "air_quality", Time: f.now.Add(-2*time.Hour + time.Duration(i)*time.Minute), Values: map[string]float64{"pm10": float64(i)}})
	}
	if err := f.store.WriteReadings(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	var h struct {
		Count int
		Items []struct{ Values map[string]float64 }
	}
	_, body := f.get(t, "/api/v1/devices/air-1/readings?from=-2h")
	if err := json.Unmarshal(body, &h); err != nil || h.Count != 120 {
		t.Fatalf("raw history: %v %s", err, body)
	}
	_, body = f.get(t, "/api/v1/devices/air-1/readings?from=-2h&to=now&every=1h&fn=max")
	_ = json.Unmarshal(body, &h)
	if h.Count != 2 || h.Items[0].Values["pm10"] != 59 || h.Items[1].Values["pm10"] != 119 {
		t.Errorf("hourly max: %s", body)
	}
	resp, body := f.get(t, "/api/v1/devices/air-1/readings?from=-2h&format=csv&fields=pm10")
	if !strings.HasPrefix(string(body), "time,pm10,pm10_unit\n2026-11-23T06:00:00Z,0,µg/m³\n") || strings.Count(string(body), "\n") != 121 {
		t.Errorf("csv history: %d %.200s", resp.StatusCode, body)
	}
	// HEAD of a streamed export: the headers, no body, and the stream ends.
	resp, body = f.do(t, http.MethodHead, "/api/v1/devices/air-1/readings?from=-2h&format=csv&fields=pm10", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(body) != 0 {
		t.Errorf("HEAD of the csv history: %d %q %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
}

// TestScopeMatrix walks every protected route with no key, a wrong key, a
// key without the scope and a key with it.
func TestScopeMatrix(t *testing.T) {
	db := influxtest.Start(t)
	f := newFixture(t, db.URL)
	if err := f.store.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	routes := []struct {
		method, path, scope string
		noKey               int // status without a key
		body                func(n int) string
		ok                  int
	}{
		{method: "GET", path: "/api/v1/deadletters", scope: "admin", noKey: 401},
		{method: "GET", path: "/api/v1/devices/secret-1", scope: "data:internal", noKey: 404},
		{method: "GET", path: "/api/v1/devices/secret-1/readings", scope: "data:internal", noKey: 404},
		{method: "POST", path: "/api/v1/devices", scope: "devices:write", noKey: 401, ok: 201,
			body: func(n int) string { return fmt.Sprintf(`{"id":"new-%d","kind":"noise","department":"test"}`, n) }},
		{method: "DELETE", path: "/api/v1/devices/noise-1", scope: "devices:write", noKey: 401, ok: 204},
		{method: "GET", path: "/api/v1/rules", scope: "rules:read", noKey: 401},
		{method: "POST", path: "/api/v1/rules", scope: "rules:write", noKey: 401, ok: 201,
			body: func(n int) string {
				return fmt.Sprintf(`{"id":"r%d","kind":"air_quality","field":"pm10","condition":"mean","window":"24h","op":">","threshold":50}`, n)
			}},
	}
	n := 0
	body := func(b func(int) string) string {
		n++
		if b == nil {
			return ""
		}
		return b(n)
	}
	for _, rt := range routes {
		if rt.ok == 0 {
			rt.ok = 200
		}
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			resp, _ := f.do(t, rt.method, rt.path, body(rt.body))
			if resp.StatusCode != rt.noKey {
				t.Errorf("no key: %d, want %d", resp.StatusCode, rt.noKey)
			}
			resp, _ = f.do(t, rt.method, rt.path, body(rt.body), "Authorization", "Bearer kessel_wrong")
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("wrong key: %d, want 401 with WWW-Authenticate", resp.StatusCode)
			}
			resp, _ = f.do(t, rt.method, rt.path, body(rt.body), "Authorization", "Basic eDp5")
			if resp.StatusCode != 401 {
				t.Errorf("basic auth: %d, want 401", resp.StatusCode)
			}
			other := "rules:read"
			if rt.scope == other {
				other = "devices:write"
			}
			want := 403
			if rt.noKey == 404 {
				want = 404 // internal things stay invisible, not forbidden
			}
			resp, _ = f.do(t, rt.method, rt.path, body(rt.body), "Authorization", "Bearer "+testKeys[other])
			if resp.StatusCode != want {
				t.Errorf("key without %s: %d, want %d", rt.scope, resp.StatusCode, want)
			}
			keys := []string{rt.scope, "admin"}
			if rt.method == "DELETE" {
				keys = keys[:1] // the device is gone after the first
			}
			for _, k := range keys {
				resp, b := f.do(t, rt.method, rt.path, body(rt.body), "Authorization", "Bearer "+testKeys[k])
				if resp.StatusCode != rt.ok {
					t.Errorf("key with %s: %d, want %d: %s", k, resp.StatusCode, rt.ok, b)
				}
			}
		})
	}
	// Internal devices appear in lists only with the scope.
	_, list := f.get(t, "/api/v1/devices", "Authorization", "Bearer "+testKeys["data:internal"])
	if !strings.Contains(string(list), "secret-1") {
		t.Error("internal device missing from the list with data:internal")
	}
	_, list = f.get(t, "/api/v1/devices")
	if strings.Contains(string(list), "secret-1") {
		t.Error("internal device listed publicly")
	}
}

// TestRateLimits: a client past its bucket gets 429 with Retry-After;
// X-Forwarded-For counts only from a trusted proxy; classes are separate.
func TestRateLimits(t *testing.T) {
	f := newFixtureWith(t, "", func(o *api.Options) {
		o.RateLimits = map[string]api.RateLimit{api.ClassRead: {PerSecond: 1, Burst: 2}, api.ClassPush: {PerSecond: 1, Burst: 1}}
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	// The clock is fixed, so buckets never refill during the test.
	for i, want := range []int{200, 200, 429} {
		resp, body := f.get(t, "/api/v1/devices", "X-Forwarded-For", "203.0.113.7")
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d, want %d: %s", i, resp.StatusCode, want, body)
		}
		if want == 429 && (resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json") {
			t.Errorf("429 without Retry-After or problem body: %v", resp.Header)
		}
	}
	// Another client behind the same trusted proxy has its own bucket.
	if resp, _ := f.get(t, "/api/v1/devices", "X-Forwarded-For", "198.51.100.1, 203.0.113.9"); resp.StatusCode != 200 {
		t.Errorf("second client: %d", resp.StatusCode)
	}
	// Push has its own class.
	if resp, _ := f.do(t, "POST", "/api/v1/push/airrohr", `{}`, "X-Forwarded-For", "203.0.113.7"); resp.StatusCode == 429 {
		t.Error("push limited by the read bucket")
	}
	// A key has its own bucket, even from an address that used up its own.
	for i, want := range []int{200, 200, 429} {
		if resp, body := f.get(t, "/api/v1/devices", "X-Forwarded-For", "203.0.113.7", "Authorization", "Bearer "+testKeys["data:internal"]); resp.StatusCode != want {
			t.Fatalf("keyed request %d: %d, want %d: %s", i, resp.StatusCode, want, body)
		}
	}
	_, body := f.get(t, "/metrics")
	if !strings.Contains(string(body), `kessel_http_rate_limited_total{class="read"} 2`) {
		t.Error("429 not counted")
	}
}

func TestUntrustedForwardedFor(t *testing.T) {
	f := newFixtureWith(t, "", func(o *api.Options) {
		o.RateLimits = map[string]api.RateLimit{api.ClassRead: {PerSecond: 1, Burst: 1}}
	})
	f.get(t, "/api/v1/devices", "X-Forwarded-For", "203.0.113.1")
	if resp, _ := f.get(t, "/api/v1/devices", "X-Forwarded-For", "203.0.113.2"); resp.StatusCode != 429 {
		t.Errorf("a spoofed X-Forwarded-For from an untrusted peer escaped the limit: %d", resp.StatusCode)
	}
}

func TestCatalogAndUsage(t *testing.T) {
	f := newFixture(t, "")
	resp, body := f.get(t, "/api/v1/catalog")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/ld+json" {
		t.Fatalf("catalog: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	type ref struct {
		ID string `json:"@id"`
	}
	var cat struct {
		Context  map[string]string `json:"@context"`
		Type     string            `json:"@type"`
		License  ref               `json:"dct:license"`
		Datasets []struct {
			ID    string `json:"@id"`
			Title []struct {
				Value string `json:"@value"`
			} `json:"dct:title"`
			Distribution []struct {
				AccessURL ref `json:"dcat:accessURL"`
				MediaType ref `json:"dcat:mediaType"`
			} `json:"dcat:distribution"`
			Spatial struct {
				BBox struct {
					Value string `json:"@value"`
				} `json:"dcat:bbox"`
			} `json:"dct:spatial"`
		} `json:"dcat:dataset"`
	}
	if err := json.Unmarshal(body, &cat); err != nil {
		t.Fatal(err)
	}
	if cat.Type != "dcat:Catalog" || cat.Context["dcat"] != "http://www.w3.org/ns/dcat#" || cat.License.ID != "http://dcat-ap.de/def/licenses/dl-by-de/2.0" {
		t.Errorf("catalog head: %s", body)
	}
	if len(cat.Datasets) != 2 || !strings.HasSuffix(cat.Datasets[0].ID, "#dataset-air_quality") || len(cat.Datasets[0].Title) != 2 ||
		cat.Datasets[0].Title[1].Value != "Air quality: sensor readings" {
		t.Fatalf("datasets (internal devices must not count; titles without counts): %+v", cat.Datasets)
	}
	d := cat.Datasets[0]
	if len(d.Distribution) != 3 || !strings.HasSuffix(d.Distribution[2].AccessURL.ID, "/api/v1/latest?kind=air_quality&format=csv") ||
		d.Distribution[2].MediaType.ID != "https://www.iana.org/assignments/media-types/text/csv" || !strings.HasPrefix(d.Spatial.BBox.Value, "POLYGON((9.18 48.78") {
		t.Errorf("dataset: %+v", d)
	}
	f.get(t, "/api/v1/latest?kind=air_quality")
	f.get(t, "/api/v1/latest?kind=air_quality")
	f.get(t, "/api/v1/devices/nope") // a 404 is not usage
	_, body = f.get(t, "/api/v1/usage")
	var u struct {
		Items []struct {
			Endpoint, Dataset string
			Requests          int
		}
	}
	json.Unmarshal(body, &u)
	found := false
	for _, it := range u.Items {
		if it.Endpoint == "latest" && it.Dataset == "air_quality" {
			found = it.Requests == 2
		}
		if it.Endpoint == "device" {
			t.Errorf("failed request counted: %+v", it)
		}
	}
	if !found {
		t.Errorf("usage: %s", body)
	}
}

func TestRulesAPI(t *testing.T) {
	f := newFixture(t, "")
	auth := []string{"Authorization", "Bearer " + testKeys["rules:write"]}
	for _, tc := range []struct{ body, detail string }{
		{`{"id":"x","kind":"air_quality","field":"pm10","condition":"mean","op":">","threshold":50}`, "window"},
		{`{"id":"x","kind":"air_quality","field":"pm10","condition":"mean","window":"a day","op":">"}`, "window"},
		{`{"id":"x","kind":"air_quality","field":"pm10","condition":"median","op":">"}`, "condition"},
		{`{"id":"x","kind":"air_quality","colour":"red"}`, "colour"},
	} {
		resp, body := f.do(t, "POST", "/api/v1/rules", tc.body, auth...)
		if resp.StatusCode != 400 || !strings.Contains(string(body), tc.detail) || !strings.Contains(string(body), "problem") && !strings.Contains(resp.Header.Get("Content-Type"), "problem") {
			t.Errorf("%s: %d %s", tc.body, resp.StatusCode, body)
		}
	}
	rule := `{"id":"frost","kind":"road_surface","field":"surface_temperature","condition":"threshold","op":"<=","threshold":0,"for":"10m","visibility":"internal"}`
	if resp, body := f.do(t, "POST", "/api/v1/rules", rule, auth...); resp.StatusCode != 201 || !strings.Contains(string(body), `"for":"10m0s"`) {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if resp, _ := f.do(t, "POST", "/api/v1/rules", rule, auth...); resp.StatusCode != 409 {
		t.Errorf("duplicate: %d", resp.StatusCode)
	}
	if resp, body := f.do(t, "PUT", "/api/v1/rules/frost", strings.Replace(rule, `"threshold":0`, `"threshold":1`, 1), auth...); resp.StatusCode != 200 || !strings.Contains(string(body), `"threshold":1`) {
		t.Errorf("replace: %d %s", resp.StatusCode, body)
	}
	if resp, body := f.do(t, "GET", "/api/v1/rules/frost", "", "Authorization", "Bearer "+testKeys["rules:read"]); resp.StatusCode != 200 || !strings.Contains(string(body), `"threshold":1`) {
		t.Errorf("get: %d %s", resp.StatusCode, body)
	}
	if resp, _ := f.do(t, "DELETE", "/api/v1/rules/frost", "", auth...); resp.StatusCode != 204 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if resp, _ := f.do(t, "GET", "/api/v1/rules/frost", "", auth...); resp.StatusCode != 404 {
		t.Errorf("get deleted: %d", resp.StatusCode)
	}
}

// TestLongHistory: a year of hourly values is too much for JSON (400 with
// an every that fits) but streams completely as CSV; a district series
// aggregates over the district's devices.
func TestLongHistory(t *testing.T) {
	db := influxtest.Start(t)
	f := newFixtureWith(t, db.URL, func(o *api.Options) { o.MaxPoints = 1000 })
	if err := f.store.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := f.now.Add(-365 * 24 * time.Hour)
	var rs []kessel.Reading
	for h := range 365 * 24 {
		rs = append(rs, kessel.Reading{Device: "air-1", Kind: "air_quality", District: "Mitte", Time: start.Add(time.Duration(h) * time.Hour), Values: map[string]float64{"pm10": float64(h % 100)}})
		if h%2 == 0 {
			rs = append(rs, kessel.Reading{Device: "air-2", Kind: "air_quality", District: "Mitte", Time: start.Add(time.Duration(h) * time.Hour), Values: map[string]float64{"pm10": 100}})
		}
	}
	for i := 0; i < len(rs); i += 5000 {
		if err := f.store.WriteReadings(context.Background(), rs[i:min(i+5000, len(rs))]); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := f.get(t, "/api/v1/devices/air-1/readings?from=-366d")
	if resp.StatusCode != 400 || !strings.Contains(string(body), "every=") {
		t.Errorf("a year as JSON: %d %s", resp.StatusCode, body)
	}
	resp, body = f.get(t, "/api/v1/devices/air-1/readings?from=-366d&format=csv")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") == "" {
		t.Fatalf("a year as CSV: %d", resp.StatusCode)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) != 365*24+1 || strings.Join(rows[0], ",") != "time,pm10,pm10_unit" || rows[1][1] != "0" || rows[100][1] != "99" || rows[1][2] != "µg/m³" {
		t.Fatalf("CSV: %d rows (want %d), err %v, head %v", len(rows), 365*24+1, err, rows[:min(3, len(rows))])
	}
	_, body = f.get(t, "/api/v1/districts/mitte/readings?kind=air_quality&field=pm10&from=-366d&every=1d&fn=max")
	var series struct {
		Items []struct{ Value float64 }
		Count int
	}
	json.Unmarshal(body, &series)
	if series.Count < 365 || series.Items[10].Value != 100 {
		t.Errorf("district series: %d points, %s", series.Count, body[:min(300, len(body))])
	}
	if resp, _ := f.get(t, "/api/v1/districts/mitte/readings?kind=air_quality"); resp.StatusCode != 400 {
		t.Errorf("district series without field: %d", resp.StatusCode)
	}
}

func TestReadinessOptionalCheck(t *testing.T) {
	tests := []struct {
		name       string
		ttsErr     error
		wantStatus int
		wantBody   string
	}{
		{"tts up", nil, 200, `"status":"ready"`},
		{"tts down", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "not connected to The Things Stack"}, 200, `"status":"degraded"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "", api.Check{Name: "tts", Optional: true, Check: func(context.Context) error { return tt.ttsErr }})
			resp, body := f.get(t, "/readyz")
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("readyz: %d %s", resp.StatusCode, body)
			}
		})
	}
}
