package influx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
)

// failingQueries is a proxy to a real influxd that answers 400 to every
// Flux query containing all of the strings of one of its rules (and none
// of those written "!string"), as InfluxDB does for a query it cannot run.
// It returns its URL and how often each rule refused a query.
func failingQueries(t *testing.T, srv *influxtest.Server, rules ...[]string) (string, []atomic.Int64) {
	t.Helper()
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	hits := make([]atomic.Int64, len(rules))
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var q struct{ Query string }
		_ = json.Unmarshal(body, &q)
		for i, rule := range rules {
			all := q.Query != ""
			for _, s := range rule {
				if not, ok := strings.CutPrefix(s, "!"); ok {
					all = all && !strings.Contains(q.Query, not)
				} else {
					all = all && strings.Contains(q.Query, s)
				}
			}
			if all && strings.HasSuffix(r.URL.Path, "/query") {
				hits[i].Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"code":"invalid","message":"table builder already has column with label _measurement"}`))
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	return proxy.URL, hits
}

// TestLatestFallsBackKindByKind makes the query over all devices fail, then
// one kind's, then one device's: Latest must still answer every other
// device, and leave out only the one whose data cannot be read.
func TestLatestFallsBackKindByKind(t *testing.T) {
	srv := influxtest.Start(t)
	direct := clientFor(t, srv, "kessel")
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var rs []kessel.Reading
	for _, d := range []struct{ id, kind string }{{"air-1", "air_quality"}, {"air-2", "air_quality"}, {"noise-1", "noise"}, {"noise-2", "noise"}} {
		rs = append(rs, kessel.Reading{Device: d.id, Kind: d.kind, Time: base, Values: map[string]float64{"x": 1}})
	}
	if err := direct.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	all := []string{"last()", "!r._measurement =="}
	for _, tc := range []struct {
		name  string
		rules [][]string
		want  string
	}{
		{"all devices fail", [][]string{all}, "air-1 air-2 noise-1 noise-2"},
		{"and one kind", [][]string{all, {`r._measurement == "noise")`}}, "air-1 air-2 noise-1 noise-2"},
		{"and one device", [][]string{all, {`r._measurement == "noise")`}, {`r.device == "noise-2"`}}, "air-1 air-2 noise-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxyURL, hits := failingQueries(t, srv, tc.rules...)
			c, err := influx.New(influx.Options{URL: proxyURL})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			latest, err := c.Latest(ctx, base.Add(-time.Hour), base.Add(time.Hour))
			if err != nil {
				t.Fatalf("latest: %v", err)
			}
			var got []string
			for _, r := range latest {
				got = append(got, r.Device)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("latest answered %v, want %s", got, tc.want)
			}
			for i := range hits {
				if hits[i].Load() == 0 {
					t.Errorf("rule %v never refused a query", tc.rules[i])
				}
			}
		})
	}
}
