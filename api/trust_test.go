package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel/api"
)

const metricsKey = "kessel_test-metrics"

// withMetricsKey adds a key with scope metrics, and series naming a public
// device, an internal one and a webhook, to the fixture's registry.
func withMetricsKey(o *api.Options) {
	o.Keys = append(o.Keys, api.Key{Name: "key-metrics", Department: "ops", Scopes: []string{api.ScopeMetrics}, Hash: api.HashKey(metricsKey)})
	seen := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "test_device_seen", Help: "per device"}, []string{"device"})
	seen.WithLabelValues("air-1").Set(1)
	seen.WithLabelValues("secret-1").Set(1)
	hooks := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "test_webhook_sent_total", Help: "per webhook"}, []string{"webhook"})
	hooks.WithLabelValues("frost-service").Inc()
	o.Registerer.MustRegister(seen, hooks)
}

// TestMetricsAccess: /metrics names internal devices (and webhooks) only
// to a key with scope metrics or admin; anyone else reads the rest.
func TestMetricsAccess(t *testing.T) {
	f := newFixtureWith(t, "", withMetricsKey)
	cases := []struct {
		name, key string
		status    int
		full      bool
	}{
		{"anonymous", "", 200, false},
		{"key without metrics scope", testKeys["data:internal"], 200, false},
		{"metrics key", metricsKey, 200, true},
		{"admin key", testKeys["admin"], 200, true},
		{"wrong key", "kessel_wrong", 401, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.key != "" {
				hdr = []string{"Authorization", "Bearer " + tc.key}
			}
			resp, body := f.get(t, "/metrics", hdr...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			b := string(body)
			if !strings.Contains(b, `test_device_seen{device="air-1"} 1`) || !strings.Contains(b, "kessel_http_auth_failures_total") {
				t.Errorf("public series missing:\n%s", b)
			}
			for _, secret := range []string{`device="secret-1"`, "frost-service"} {
				if strings.Contains(b, secret) != tc.full {
					t.Errorf("%s shown: %v, want %v", secret, !tc.full, tc.full)
				}
			}
		})
	}
}

// TestCacheScope: every GET of the API varies with Authorization; keyed
// answers are private, anonymous ones stay publicly cacheable.
func TestCacheScope(t *testing.T) {
	f := newFixture(t, "")
	paths := []string{"/api/v1/devices", "/api/v1/devices?format=csv", "/api/v1/devices/air-1", "/api/v1/latest?format=geojson",
		"/api/v1/nearest?lon=9.18&lat=48.78", "/api/v1/districts", "/api/v1/districts/mitte", "/api/v1/catalog",
		"/api/v1/usage", "/api/v1/openapi.json", "/api/v1/alerts"}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			resp, body := f.get(t, path)
			if resp.StatusCode != 200 {
				t.Fatalf("anonymous: %d %s", resp.StatusCode, body)
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "public") || !vary(resp, "Authorization") {
				t.Errorf("anonymous: Cache-Control %q, Vary %q", cc, resp.Header.Values("Vary"))
			}
			for _, key := range []string{testKeys["data:internal"], testKeys["rules:read"]} {
				resp, _ = f.get(t, path, "Authorization", "Bearer "+key)
				cc := resp.Header.Get("Cache-Control")
				if resp.StatusCode != 200 || !strings.Contains(cc, "private") || strings.Contains(cc, "public") || !vary(resp, "Authorization") {
					t.Errorf("keyed: %d Cache-Control %q, Vary %q", resp.StatusCode, cc, resp.Header.Values("Vary"))
				}
				if etag := resp.Header.Get("ETag"); etag != "" && path != "/api/v1/usage" { // usage grows with each request
					resp, _ = f.get(t, path, "Authorization", "Bearer "+key, "If-None-Match", etag)
					if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != 304 || strings.Contains(cc, "public") {
						t.Errorf("keyed 304: %d Cache-Control %q", resp.StatusCode, cc)
					}
				}
			}
		})
	}
}

// vary reports whether the (one) Vary header lists name.
func vary(resp *http.Response, name string) bool {
	if len(resp.Header.Values("Vary")) != 1 {
		return false
	}
	for _, f := range strings.Split(resp.Header.Get("Vary"), ",") {
		if strings.EqualFold(strings.TrimSpace(f), name) {
			return true
		}
	}
	return false
}

// TestCreateTakenID: POST /devices with a taken id answers 409 only to a
// key that may see and change that device; any other key gets the same
// 403 for an internal device as for another department's public one,
// and nothing changes.
func TestCreateTakenID(t *testing.T) {
	f := newFixture(t, "")
	cases := []struct {
		name, key, id string
		status        int
	}{
		{"internal device, key without data:internal", "devices:write", "secret-1", 403},
		{"public device of another department", "devices:write", "air-1", 403},
		{"own department's public device", "devices:write", "noise-1", 409},
		{"internal device, admin", "admin", "secret-1", 409},
	}
	details := map[int]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _, _ := f.reg.Get(tc.id)
			body := fmt.Sprintf(`{"id":%q,"kind":"noise","department":"test"}`, tc.id)
			resp, b := f.do(t, "POST", "/api/v1/devices", body, "Authorization", "Bearer "+testKeys[tc.key], "Content-Type", "application/json")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			var p struct{ Detail string }
			_ = json.Unmarshal(b, &p)
			detail := strings.ReplaceAll(p.Detail, tc.id, "ID")
			if prev, ok := details[tc.status]; ok && tc.key == "devices:write" && prev != detail {
				t.Errorf("answers differ: %q and %q", prev, detail)
			}
			details[tc.status] = detail
			if strings.Contains(strings.ToLower(p.Detail), "internal") || strings.Contains(p.Detail, "exists") && tc.status == 403 {
				t.Errorf("detail tells too much: %q", p.Detail)
			}
			after, _, _ := f.reg.Get(tc.id)
			if after.Kind != before.Kind || after.Department != before.Department || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("device changed: %+v -> %+v", before, after)
			}
		})
	}
}
