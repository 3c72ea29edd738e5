package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/internal/testenv"
	"github.com/kessel-city/kessel/registry"
)

// TestUsageBounded: usage counts only bounded labels, however many
// different and however long the values clients send.
func TestUsageBounded(t *testing.T) {
	f := newFixture(t, "")
	long := strings.Repeat("x", 64<<10)
	const bombs, kinds = 40, 400
	for i := range bombs {
		if resp, _ := f.get(t, fmt.Sprintf("/healthz?kind=%d%s", i, long)); resp.StatusCode != 200 {
			t.Fatalf("healthz: %d", resp.StatusCode)
		}
	}
	for i := range kinds {
		f.get(t, fmt.Sprintf("/healthz?kind=kind_%d", i))
	}
	resp, body := f.get(t, "/api/v1/usage")
	if resp.StatusCode != 200 || len(body) > 32<<10 {
		t.Fatalf("usage: %d, %d bytes", resp.StatusCode, len(body))
	}
	var u struct {
		Items []struct {
			Endpoint, Dataset string
			Requests          int
		}
	}
	if err := json.Unmarshal(body, &u); err != nil {
		t.Fatal(err)
	}
	rows, total, other := 0, 0, 0
	for _, it := range u.Items {
		if it.Endpoint != "healthz" {
			continue
		}
		rows++
		total += it.Requests
		if it.Dataset == "other" {
			other = it.Requests
		}
	}
	if rows > 130 || total != bombs+kinds || other < bombs {
		t.Errorf("healthz usage: %d rows, %d requests (want %d), %d as other", rows, total, bombs+kinds, other)
	}
}

// settableClock is a clock tests move on by hand.
type settableClock struct{ ns atomic.Int64 }

func (c *settableClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *settableClock) add(d time.Duration)     { c.ns.Add(int64(d)) }
func newClock(t time.Time) *settableClock        { c := &settableClock{}; c.ns.Store(t.UnixNano()); return c }
func bearer(key string) []string                 { return []string{"Authorization", "Bearer " + key} }
func statusOf(resp *http.Response, _ []byte) int { return resp.StatusCode }

// TestReadyzCached: a flood of /readyz runs the checks once per second.
func TestReadyzCached(t *testing.T) {
	var calls atomic.Int32
	clock := newClock(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	f := newFixtureWith(t, "", func(o *api.Options) { o.Now = clock.now },
		api.Check{Name: "influxdb", Check: func(context.Context) error { calls.Add(1); return nil }})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/readyz", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("20 concurrent /readyz ran the checks %d times, want 1", n)
	}
	clock.add(1500 * time.Millisecond)
	if resp, _ := f.get(t, "/readyz"); resp.StatusCode != 200 || calls.Load() != 2 {
		t.Errorf("after the cache expired: %d, %d checks", resp.StatusCode, calls.Load())
	}
}

// TestOperationsAndAuthLimited: /readyz, /healthz and /metrics are rate
// limited like the reads; wrong keys are limited per address (429 with
// Retry-After, counted) while a right key from there still works.
func TestOperationsAndAuthLimited(t *testing.T) {
	f := newFixtureWith(t, "", func(o *api.Options) {
		o.RateLimits = map[string]api.RateLimit{api.ClassRead: {PerSecond: 1, Burst: 2}}
		o.FailedAuth = api.RateLimit{PerSecond: 1, Burst: 3}
	})
	// One address shares one read bucket across these paths.
	got := []int{statusOf(f.get(t, "/readyz")), statusOf(f.get(t, "/metrics")), statusOf(f.get(t, "/healthz")), statusOf(f.get(t, "/readyz"))}
	if fmt.Sprint(got) != "[200 200 429 429]" {
		t.Errorf("/readyz, /metrics, /healthz, /readyz from one address: %v, want [200 200 429 429]", got)
	}
	for i, want := range []int{401, 401, 401, 429, 429} {
		resp, body := f.get(t, "/api/v1/devices", bearer(fmt.Sprintf("kessel_guess-%d", i))...)
		if resp.StatusCode != want {
			t.Fatalf("wrong key %d: %d, want %d: %s", i, resp.StatusCode, want, body)
		}
		if want == 429 && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if resp, _ := f.get(t, "/api/v1/districts", bearer(testKeys["admin"])...); resp.StatusCode != 200 {
		t.Errorf("right key after wrong ones: %d", resp.StatusCode)
	}
	_, body := f.get(t, "/metrics", bearer(testKeys["admin"])...)
	if !strings.Contains(string(body), `kessel_http_rate_limited_total{class="auth"} 2`) {
		t.Error("failed authentications over the limit not counted")
	}
}

// slowQuerier is a fault-injection double: every query blocks until
// release is closed, and it records how many ran at once.
type slowQuerier struct {
	release          chan struct{}
	running, maxSeen atomic.Int32
}

func (q *slowQuerier) wait(ctx context.Context) error {
	n := q.running.Add(1)
	defer q.running.Add(-1)
	for m := q.maxSeen.Load(); n > m && !q.maxSeen.CompareAndSwap(m, n); m = q.maxSeen.Load() {
	}
	select {
	case <-q.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *slowQuerier) History(ctx context.Context, _ kessel.HistoryQuery) ([]kessel.Reading, error) {
	return nil, q.wait(ctx)
}

func (q *slowQuerier) StreamHistory(ctx context.Context, _ kessel.HistoryQuery, _ func(kessel.Reading) error) error {
	return q.wait(ctx)
}

func (q *slowQuerier) DistrictSeries(ctx context.Context, _, _, _ string, _ kessel.HistoryQuery) ([]kessel.Reading, error) {
	return nil, q.wait(ctx)
}

func (q *slowQuerier) Resolve(context.Context, kessel.HistoryQuery) (string, error) {
	return kessel.ResolutionRaw, nil
}

// TestQueryLimits: one client's burst of slow history queries gets 429
// beyond its share, the server 503 beyond its total, both with
// Retry-After and without queueing; another client still gets through.
func TestQueryLimits(t *testing.T) {
	reg, _ := registry.New(registry.Options{})
	if err := reg.Put(kessel.Device{ID: "air-1", Kind: "air_quality", Location: &orb.Point{9.18, 48.78}}); err != nil {
		t.Fatal(err)
	}
	q := &slowQuerier{release: make(chan struct{})}
	keys := []api.Key{
		{Name: "a", Department: "a", Scopes: []string{api.ScopeDataInternal}, Hash: api.HashKey("kessel_a")},
		{Name: "b", Department: "b", Scopes: []string{api.ScopeDataInternal}, Hash: api.HashKey("kessel_b")},
	}
	h, err := api.NewServer(reg, nil, q, api.Options{Keys: keys, RateLimits: map[string]api.RateLimit{},
		Queries: api.Concurrency{PerClient: 2, Total: 3, Wait: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(key string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/devices/air-1/readings", nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	var wg sync.WaitGroup
	held := make(chan int, 3)
	hold := func(key string, running int32) {
		wg.Add(1)
		go func() { defer wg.Done(); st, _ := get(key); held <- st }()
		testenv.Eventually(t, 5*time.Second, func() bool { return q.running.Load() == running }, "%d queries not running", running)
	}
	hold("", 1)
	hold("", 2)
	steps := []struct {
		name, key string
		status    int
	}{
		{"anonymous client over its share", "", 429},
		{"another client while the first is at its share", "kessel_a", 0}, // held: runs
		{"a third client with all slots taken", "kessel_b", 503},
	}
	for _, s := range steps {
		if s.status == 0 {
			hold(s.key, 3)
			continue
		}
		if st, retry := get(s.key); st != s.status || retry == "" {
			t.Errorf("%s: %d (Retry-After %q), want %d with Retry-After", s.name, st, retry, s.status)
		}
	}
	close(q.release)
	wg.Wait()
	close(held)
	for st := range held {
		if st != 200 {
			t.Errorf("a held query answered %d", st)
		}
	}
	if m := q.maxSeen.Load(); m > 3 {
		t.Errorf("%d queries ran at once, limit 3", m)
	}
	if st, _ := get(""); st != 200 {
		t.Errorf("after the burst: %d", st)
	}
}

// TestStreamLimits: open alert streams are bounded per client and in
// total; a client over its share gets 429, anyone beyond the total 503,
// and a closed stream frees its slot.
func TestStreamLimits(t *testing.T) {
	f := newFixtureWith(t, "", func(o *api.Options) {
		o.Streams = api.Concurrency{PerClient: 2, Total: 3, Wait: 10 * time.Millisecond}
	})
	var open []*http.Response
	t.Cleanup(func() {
		for _, resp := range open {
			resp.Body.Close()
		}
	})
	stream := func(key string) int {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/alerts/stream", nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK {
			open = append(open, resp)
		} else {
			resp.Body.Close()
		}
		return resp.StatusCode
	}
	steps := []struct {
		name, key string
		status    int
	}{
		{"first anonymous stream", "", 200},
		{"second anonymous stream", "", 200},
		{"third anonymous stream", "", 429},
		{"a keyed client's stream", testKeys["alerts:manage"], 200},
		{"beyond the total", testKeys["admin"], 503},
	}
	for _, s := range steps {
		if st := stream(s.key); st != s.status {
			t.Fatalf("%s: %d, want %d", s.name, st, s.status)
		}
	}
	open[0].Body.Close()
	open = open[1:]
	testenv.Eventually(t, 5*time.Second, func() bool { return stream(testKeys["admin"]) == 200 }, "a closed stream's slot was not freed")
}
