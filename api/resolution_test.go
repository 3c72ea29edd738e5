package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/geo"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/registry"
)

// TestHistoryResolution: with raw readings kept for 2 hours and the
// closed hours rolled up, a raw request past the retention answers 410
// problem+json naming the rollups; an hourly mean over the same span is
// served from the rollups plus raw for the open hour, and says so (header
// and field); resolution overrides, and a bad one is a 400.
func TestHistoryResolution(t *testing.T) {
	db := influxtest.Start(t)
	store, err := influx.New(influx.Options{URL: db.URL, RawRetention: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	ctx := context.Background()
	if err := store.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := geo.LoadDistricts(strings.NewReader(twoDistricts), "name", nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := registry.New(registry.Options{Locator: ds})
	if err := reg.Put(kessel.Device{ID: "air-1", Kind: "air_quality", Location: &orb.Point{9.18, 48.78}, Visibility: kessel.Public}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var rs []kessel.Reading
	for ts := now.Add(-110 * time.Minute); ts.Before(now); ts = ts.Add(time.Minute) {
		rs = append(rs, kessel.Reading{Device: "air-1", Kind: "air_quality", District: "Mitte", Time: ts, Values: map[string]float64{"pm10": 10}})
	}
	if err := store.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ComputeHours(ctx, now.Add(-3*time.Hour), now.Truncate(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveRollupMark(ctx, kessel.RollupMark{Final: now.Truncate(time.Hour), Done: now.Truncate(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h, err := api.NewServer(reg, ds, store, api.Options{RateLimits: map[string]api.RateLimit{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, path string
		status     int
		served     string
		body       string
	}{
		{"raw past the retention", "/api/v1/devices/air-1/readings?from=-3h", 410, "", "every=1h"},
		{"raw within it", "/api/v1/devices/air-1/readings?from=-1h", 200, "raw", `"resolution":"raw"`},
		{"hourly mean from rollups and raw", "/api/v1/devices/air-1/readings?from=-3h&every=1h", 200, "1h+raw", `"resolution":"1h+raw"`},
		{"hourly last needs raw", "/api/v1/devices/air-1/readings?from=-3h&every=1h&fn=last", 410, "", "rollups"},
		{"resolution=1h alone", "/api/v1/devices/air-1/readings?from=-3h&resolution=1h", 200, "1h", `"pm10":10`},
		{"resolution=raw forced", "/api/v1/devices/air-1/readings?from=-3h&every=1h&resolution=raw", 410, "", "resolution=1h"},
		{"resolution=1d with every=1h", "/api/v1/devices/air-1/readings?every=1h&resolution=1d", 400, "", "multiple of 1d"},
		{"unknown resolution", "/api/v1/devices/air-1/readings?resolution=5m", 400, "", "resolution"},
		{"district series", "/api/v1/districts/mitte/readings?kind=air_quality&field=pm10&from=-3h", 200, "1h+raw", `"resolution":"1h+raw"`},
		{"district series as CSV", "/api/v1/districts/mitte/readings?kind=air_quality&field=pm10&from=-3h&every=2h&format=csv", 200, "1h+raw", "time,pm10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get(api.ResolutionHeader) != tc.served || !strings.Contains(string(body), tc.body) {
				t.Fatalf("%d %s=%q %s; want %d %q containing %q", resp.StatusCode, api.ResolutionHeader, resp.Header.Get(api.ResolutionHeader), body, tc.status, tc.served, tc.body)
			}
			if tc.status >= 400 {
				var p struct{ Status int }
				if resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(body, &p) != nil || p.Status != tc.status {
					t.Errorf("not a problem document: %s %s", resp.Header.Get("Content-Type"), body)
				}
			}
		})
	}
}
