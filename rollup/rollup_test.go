package rollup_test

import (
	"context"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/rollup"
)

var _ rollup.Store = (*influx.Client)(nil)

// clock is a settable clock for the Roller.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// outage is a reverse proxy to an InfluxDB that can be switched off:
// while down, every connection is closed unanswered, as a server that is
// not there.
type outage struct {
	URL  string
	down atomic.Bool
}

func newOutage(t *testing.T, srv *influxtest.Server) *outage {
	t.Helper()
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	o := &outage{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // connections cut at the end of the test
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.down.Load() {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	o.URL = ts.URL
	return o
}

func newStore(t *testing.T, url string, opts influx.Options) *influx.Client {
	t.Helper()
	opts.URL = url
	opts.Timeout = 30 * time.Second
	c, err := influx.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// drain steps r until it has nothing more to do at the clock's time.
func drain(t *testing.T, r *rollup.Roller) {
	t.Helper()
	for range 1000 {
		before := r.Mark()
		more, err := r.Step(context.Background())
		if err != nil {
			t.Fatalf("step: %v", err)
		}
		if !more && r.Mark() == before {
			return
		}
	}
	t.Fatal("the roller never finished")
}

// minutes returns a reading per minute and device in [from, to).
func minutes(from, to time.Time, devices ...string) []kessel.Reading {
	var rs []kessel.Reading
	for ts := from; ts.Before(to); ts = ts.Add(time.Minute) {
		for i, d := range devices {
			m := int(ts.Unix() / 60)
			rs = append(rs, kessel.Reading{Device: d, Kind: "air_quality", District: "Mitte", Time: ts,
				Values: map[string]float64{"pm10": float64((m*7+i*5)%31) + 0.5, "qc.flag": 1}})
		}
	}
	return rs
}

func write(t *testing.T, c *influx.Client, rs []kessel.Reading) {
	t.Helper()
	if err := c.WriteReadings(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
}

// expect computes the rollups of rs in Go: per device, window start.
func expect(rs []kessel.Reading, window time.Duration, from, to time.Time) map[string]kessel.Rollup {
	out := map[string]kessel.Rollup{}
	for _, r := range rs {
		v, ok := r.Values["pm10"]
		if !ok || r.Time.Before(from) || !r.Time.Before(to) {
			continue
		}
		start := r.Time.Truncate(window)
		k := r.Device + " " + start.Format(time.RFC3339)
		e, ok := out[k]
		if !ok {
			e = kessel.Rollup{Time: start, Device: r.Device, Field: "pm10", Min: v, Max: v}
		}
		e.Mean += v
		e.Count++
		e.Min, e.Max = math.Min(e.Min, v), math.Max(e.Max, v)
		out[k] = e
	}
	for k, e := range out {
		e.Mean /= float64(e.Count)
		out[k] = e
	}
	return out
}

func stored(t *testing.T, c *influx.Client, res string, from, to time.Time) map[string]kessel.Rollup {
	t.Helper()
	out := map[string]kessel.Rollup{}
	err := c.Rollups(context.Background(), kessel.RollupQuery{Resolution: res, From: from, To: to}, func(r kessel.Rollup) error {
		if r.Field != "pm10" {
			t.Errorf("rolled up field %q: annotations (with a dot) must not be", r.Field)
		}
		k := r.Device + " " + r.Time.Format(time.RFC3339)
		if _, dup := out[k]; dup {
			t.Errorf("rollup %s stored twice", k)
		}
		out[k] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func same(t *testing.T, what string, got, want map[string]kessel.Rollup) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rollups, want %d: %v", what, len(got), len(want), got)
	}
	for k, w := range want {
		g := got[k]
		if g.Count != w.Count || math.Abs(g.Mean-w.Mean) > 1e-9 || g.Min != w.Min || g.Max != w.Max {
			t.Errorf("%s %s = %+v, want %+v", what, k, g, w)
		}
	}
}

// TestCatchUpAfterOutage steps a clock across hour and day boundaries:
// each hour is rolled up when it closes and again after its grace
// period, with a late reading; InfluxDB is then unreachable across an
// hour boundary (a proxy that drops every connection) while readings queue, and once it is back the missed hours
// are rolled up, the final pass waiting a grace period for the queue.
// The watermark survives a restart of the Roller, and every stored
// rollup equals the statistics computed in Go from what was written.
func TestCatchUpAfterOutage(t *testing.T) {
	net := newOutage(t, influxtest.Start(t))
	c := newStore(t, net.URL, influx.Options{})
	ctx := context.Background()
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(-26 * time.Hour) // 22:00, two hours before a day ends
	var all []kessel.Reading
	put := func(rs []kessel.Reading) { write(t, c, rs); all = append(all, rs...) }
	put(minutes(base, base.Add(2*time.Hour+30*time.Minute), "air-1", "air-2"))

	clk := &clock{t: base.Add(90 * time.Minute)}
	prom := prometheus.NewRegistry()
	r, err := rollup.New(c, rollup.Options{Now: clk.Now, Grace: 15 * time.Minute, Registerer: prom})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, r)
	if m := r.Mark(); !m.Done.Equal(base.Add(time.Hour)) || !m.Final.Equal(base) {
		t.Fatalf("after the first hour closed: mark %+v, want done %s, final %s", m, base.Add(time.Hour), base)
	}
	put([]kessel.Reading{{Device: "air-1", Kind: "air_quality", District: "Mitte", Time: base.Add(59*time.Minute + 30*time.Second), Values: map[string]float64{"pm10": 999}}}) // late, within the grace period
	clk.Set(base.Add(2 * time.Hour))
	drain(t, r)

	net.down.Store(true)
	clk.Set(base.Add(3*time.Hour + 10*time.Minute))
	if _, err := r.Step(ctx); kessel.ErrorCode(err) != kessel.EUNAVAILABLE {
		t.Fatalf("step with InfluxDB down: %v, want EUNAVAILABLE", err)
	}
	net.down.Store(false)
	put(minutes(base.Add(2*time.Hour+30*time.Minute), base.Add(3*time.Hour+10*time.Minute), "air-1", "air-2")) // queued while it was down
	drain(t, r)
	if m := r.Mark(); !m.Done.Equal(base.Add(3*time.Hour)) || !m.Final.Equal(base.Add(time.Hour)) {
		t.Fatalf("back after the outage: mark %+v; want every closed hour done, none final within the grace period", m)
	}
	clk.Set(base.Add(3*time.Hour + 30*time.Minute))
	drain(t, r)
	if m := r.Mark(); !m.Final.Equal(base.Add(3 * time.Hour)) {
		t.Fatalf("a grace period later: mark %+v, want final %s", m, base.Add(3*time.Hour))
	}
	end := base.Add(3 * time.Hour)
	same(t, "hourly", stored(t, c, kessel.ResolutionHour, base, end), expect(all, time.Hour, base, end))
	day := base.Truncate(24 * time.Hour)
	same(t, "daily", stored(t, c, kessel.ResolutionDay, day, day.Add(24*time.Hour)), expect(all, 24*time.Hour, day, day.Add(24*time.Hour)))
	if got := testutil.ToFloat64(mustCounter(t, prom, "kessel_rollup_passes_total", "failed")); got != 1 {
		t.Errorf("failed passes counted: %v, want 1", got)
	}

	// A restarted Roller goes on from the stored watermark; rolling the
	// same hours up again stores the same points, no more.
	r2, err := rollup.New(c, rollup.Options{Now: clk.Now, Grace: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Step(ctx); err != nil || !r2.Mark().Final.Equal(end) {
		t.Fatalf("restarted roller: mark %+v, err %v; want final %s", r2.Mark(), err, end)
	}
	if !r2.Mark().Since.Equal(base) { // the first start began at the oldest reading's hour, and kept it
		t.Errorf("restarted roller: rolled up since %s, want %s", r2.Mark().Since, base)
	}
	if _, err := c.ComputeHours(ctx, base, end); err != nil {
		t.Fatal(err)
	}
	same(t, "hourly after a rewrite", stored(t, c, kessel.ResolutionHour, base, end), expect(all, time.Hour, base, end))
}

// mustCounter finds the counter name{result=label} in reg.
func mustCounter(t *testing.T, reg *prometheus.Registry, name, label string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetValue() == label {
					return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name}, func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("no %s{%s}", name, label)
	return nil
}
