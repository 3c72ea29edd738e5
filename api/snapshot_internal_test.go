package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// snapHarness drives snapshots directly: a generation, a clock and a
// normal path the test controls (its body names the generation it saw).
type snapHarness struct {
	sn    *snapshots
	gen   atomic.Uint64
	clock atomic.Int64
	mode  atomic.Value // "ok", "fail" (500), "panic" or "block"
	// a build in "block" mode signals started, then waits for release
	started, release chan struct{}
}

func (g *snapHarness) Generation() uint64 { return g.gen.Load() }

func newSnapHarness(t *testing.T) *snapHarness {
	t.Helper()
	h := &snapHarness{started: make(chan struct{}), release: make(chan struct{})}
	h.gen.Store(1)
	h.mode.Store("ok")
	sn, err := newSnapshotsOf(h, func() time.Time { return time.Unix(0, h.clock.Load()) }, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	sn.normal = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := h.gen.Load()
		switch h.mode.Load() {
		case "block":
			h.started <- struct{}{}
			<-h.release
		case "fail":
			w.WriteHeader(http.StatusInternalServerError)
			return
		case "panic":
			panic("normal path failed")
		}
		w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, g))
		_, _ = w.Write([]byte(fmt.Sprintf("v%d", g))) // a fresh slice: the copy keeps it
	})
	sn.warmFor = 0 // the clock is the test's: TestSnapshotKeptWarm runs it
	h.sn = sn
	t.Cleanup(sn.running.Wait)
	return h
}

// get asks for the snapshot: its body, or "normal" when the request would
// take the normal path.
func (h *snapHarness) get() string {
	c := h.sn.current(snapshotKey{format: formatGeoJSON}, "/api/v1/latest")
	if c == nil {
		return "normal"
	}
	return string(c.body)
}

// getWithin is get in another goroutine, failing the test when it takes
// longer than a request may wait (a request waiting for a blocked build
// would never return).
func (h *snapHarness) getWithin(t *testing.T, d time.Duration) string {
	t.Helper()
	got := make(chan string, 1)
	go func() { got <- h.get() }()
	select {
	case s := <-got:
		return s
	case <-time.After(d):
		t.Fatalf("a request waited more than %v for the snapshot", d)
		return ""
	}
}

// TestSnapshotRequestDuringRebuild: while a rebuild runs (held in the
// normal path), requests get the previous copy at once; the next request
// after it gets the new one.
func TestSnapshotRequestDuringRebuild(t *testing.T) {
	h := newSnapHarness(t)
	if got := h.get(); got != "v1" {
		t.Fatalf("first answer %q, want v1", got)
	}
	h.gen.Store(2)
	h.clock.Add(int64(SnapshotInterval))
	h.mode.Store("block")
	defer func() {
		select {
		case h.release <- struct{}{}: // a build still held: let it end
		default:
		}
	}()
	if got := h.getWithin(t, 10*time.Second); got != "v1" {
		t.Fatalf("request that found the copy due got %q, want the previous v1", got)
	}
	select {
	case <-h.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no rebuild started")
	}
	for i := range 3 {
		if got := h.getWithin(t, 10*time.Second); got != "v1" {
			t.Fatalf("request %d during the rebuild got %q, want v1", i, got)
		}
	}
	h.release <- struct{}{}
	h.sn.running.Wait()
	if got := h.get(); got != "v2" {
		t.Fatalf("after the rebuild %q, want v2", got)
	}
	if n := testutil.ToFloat64(h.sn.builds); n != 2 {
		t.Errorf("%v builds, want 2", n)
	}
}

// TestSnapshotFreshness steps the clock and the generation: when a copy is
// rebuilt, when the previous one is served meanwhile, and that a failed
// or panicking rebuild leaves the previous copy in place.
func TestSnapshotFreshness(t *testing.T) {
	type step struct {
		change  bool          // the registry changes first
		advance time.Duration // then the clock moves
		mode    string        // how the normal path answers builds
		want    string        // the answer
		builds  float64       // builds stored, once background ones ended
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"no change: no rebuild however old", []step{
			{false, time.Hour, "ok", "v1", 1},
		}},
		{"within the interval: the copy, no rebuild", []step{
			{true, SnapshotInterval - time.Millisecond, "ok", "v1", 1},
			{false, 0, "ok", "v1", 1},
		}},
		{"due: the previous copy while it is rebuilt, then the new one", []step{
			{true, SnapshotInterval, "ok", "v1", 2},
			{false, 0, "ok", "v2", 2},
		}},
		{"older than SnapshotMaxAge: the request waits for the new copy", []step{
			{true, SnapshotMaxAge, "ok", "v2", 2},
		}},
		{"too old and the build fails: the normal path answers", []step{
			{true, SnapshotMaxAge, "fail", "normal", 1},
		}},
		{"a failed rebuild keeps the previous copy, the next one succeeds", []step{
			{true, SnapshotInterval, "fail", "v1", 1},
			{false, 0, "fail", "v1", 1},
			{false, 0, "ok", "v1", 2},
			{false, 0, "ok", "v2", 2},
		}},
		{"a panicking rebuild keeps the previous copy and frees the slot", []step{
			{true, SnapshotInterval, "panic", "v1", 1},
			{false, 0, "ok", "v1", 2},
			{false, 0, "ok", "v2", 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSnapHarness(t)
			h.sn.builds = prometheus.NewCounter(prometheus.CounterOpts{Name: "builds"})
			if got := h.get(); got != "v1" {
				t.Fatalf("first answer %q, want v1", got)
			}
			for i, st := range tc.steps {
				if st.change {
					h.gen.Add(1)
				}
				h.clock.Add(int64(st.advance))
				h.mode.Store(st.mode)
				got := h.getWithin(t, 10*time.Second)
				h.sn.running.Wait()
				if got != st.want {
					t.Errorf("step %d: %q, want %q", i, got, st.want)
				}
				if n := testutil.ToFloat64(h.sn.builds); n != st.builds {
					t.Errorf("step %d: %v builds, want %v", i, n, st.builds)
				}
			}
		})
	}
}

// TestSnapshotKeptWarm: on the real clock, a copy asked for is rebuilt
// when the registry changes without a further request, so that the next
// request after a pause finds it up to date; once nobody asked for
// warmFor, keeping it so stops.
func TestSnapshotKeptWarm(t *testing.T) {
	h := newSnapHarness(t)
	h.sn.now = time.Now
	h.sn.warmFor = 3 * SnapshotInterval
	if got := h.get(); got != "v1" {
		t.Fatalf("first answer %q, want v1", got)
	}
	slot := h.sn.slot(snapshotKey{format: formatGeoJSON})
	h.gen.Store(2)
	waitFor(t, 5*SnapshotInterval, "a rebuild without a request", func() bool {
		c := slot.cur.Load()
		return c != nil && c.gen == 2
	})
	waitFor(t, 10*SnapshotInterval, "keeping the copy up to date to stop after warmFor", func() bool { return !slot.warm.Load() })
	if n := testutil.ToFloat64(h.sn.builds); n != 2 {
		t.Errorf("%v builds, want 2", n)
	}
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no %s within %v", what, d)
		}
	}
}
