package alert_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
)

// fakeStore serves window aggregates made from readings as influx does:
// the count and the asked aggregate only, each device's newest reading on
// its bucket's aggregate; it records what it was asked.
type fakeStore struct {
	readings []kessel.Reading
	from, to time.Time
	every    time.Duration
	fns      []string
}

func (f *fakeStore) WindowAggregates(_ context.Context, kind, field, fn string, from, to time.Time, every time.Duration) ([]kessel.WindowAggregate, error) {
	f.from, f.to, f.every, f.fns = from, to, every, append(f.fns, fn)
	byKey := map[string]*kessel.WindowAggregate{}
	newest := map[string]kessel.Reading{}
	var keys []string
	for _, r := range f.readings {
		v, ok := r.Values[field]
		if !ok || r.Kind != kind || r.Time.Before(from) || !r.Time.Before(to) {
			continue
		}
		start := time.Unix(0, r.Time.UnixNano()/int64(every)*int64(every)).UTC()
		k := r.Device + start.String()
		a := byKey[k]
		if a == nil {
			a = &kessel.WindowAggregate{Device: r.Device, District: r.District, Start: start}
			byKey[k] = a
			keys = append(keys, k)
			switch fn {
			case "min":
				a.Min = v
			case "max":
				a.Max = v
			case "first":
				a.First = v
			}
		}
		a.Count++
		switch fn {
		case "sum":
			a.Sum += v
		case "min":
			a.Min = min(a.Min, v)
		case "max":
			a.Max = max(a.Max, v)
		}
		if r.Time.After(newest[r.Device].Time) {
			newest[r.Device] = r
		}
	}
	var out []kessel.WindowAggregate
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	for i := range out {
		if n := newest[out[i].Device]; !n.Time.Before(out[i].Start) && n.Time.Before(out[i].Start.Add(every)) {
			out[i].Last, out[i].LastAt = n.Values[field], n.Time
		}
	}
	return out, nil
}

func pm(device string, t time.Time, v float64) kessel.Reading {
	return kessel.Reading{Device: device, Kind: "air_quality", Time: t, Values: map[string]float64{"pm10": v}}
}

// TestRefillFrom: after a restart the window holds the stored readings as
// if the engine had seen them, readings newer than the stored ones are
// evaluated at once, and the engine's mean equals the mean of the stored
// and live readings in the window.
func TestRefillFrom(t *testing.T) {
	rule := alert.Rule{ID: "pm", Kind: "air_quality", Field: "pm10", Condition: alert.CondMean, Op: ">", Threshold: 50, Window: 10 * time.Minute}
	peak := alert.Rule{ID: "peak", Kind: "air_quality", Field: "pm10", Condition: alert.CondMax, Op: ">", Threshold: 500, Window: 10 * time.Minute}
	now := base.Add(time.Hour)
	var stored []kessel.Reading
	for i := range 30 { // 150 from 20 to 15 minutes ago (older than the window: left out)
		stored = append(stored, pm("d1", now.Add(-20*time.Minute+time.Duration(i)*10*time.Second), 150))
	}
	for i := range 24 { // then 8 to 4 minutes ago, rising
		stored = append(stored, pm("d1", now.Add(-8*time.Minute+time.Duration(i)*10*time.Second), float64(100+i)))
	}
	lastStored := stored[len(stored)-1].Time
	tests := []struct {
		name    string
		restore bool // the alert was firing before the restart
		live    []kessel.Reading
	}{
		{"refilled window, one newer reading", false, []kessel.Reading{pm("d1", lastStored.Add(10*time.Second), 0)}},
		{"restored firing alert keeps the stored window", true, []kessel.Reading{pm("d1", lastStored.Add(10*time.Second), 0)}},
		{"readings up to now are evaluated", true, []kessel.Reading{pm("d1", now.Add(-time.Minute), 0), pm("d1", now, 0)}},
		{"a stored reading delivered again is not counted twice", false, []kessel.Reading{stored[len(stored)-1], pm("d1", lastStored.Add(time.Second), 10)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := alert.New([]alert.Rule{rule, peak}, alert.Options{Now: func() time.Time { return now }})
			id := alert.Fingerprint("pm", "d1", nil)
			if tc.restore {
				e.Restore([]kessel.Alert{{ID: id, RuleID: "pm", Subject: "d1", State: kessel.Firing, ActiveAt: lastStored, FiredAt: lastStored, LastTrue: lastStored}})
			}
			src := &fakeStore{readings: stored}
			if n, err := e.RefillFrom(context.Background(), src); err != nil || n == 0 {
				t.Fatalf("refill: %d aggregates, %v", n, err)
			}
			if !src.to.After(now) || src.to.After(now.Add(time.Second)) || src.from.After(now.Add(-rule.Window)) || src.every != rule.Window/96 || strings.Join(src.fns, ",") != "max,sum" {
				t.Errorf("asked for %v over [%v, %v) every %v; want max and sum over the window up to now (%v) in 96 buckets", src.fns, src.from, src.to, src.every, now)
			}
			e.EvaluateForTest(tc.live)
			last := tc.live[len(tc.live)-1].Time
			sum, n, top := 0.0, 0, math.Inf(-1)
			seen := append(stored[:len(stored):len(stored)], tc.live[1:]...)
			if tc.live[0].Time.After(lastStored) {
				seen = append(seen, tc.live[0])
			}
			for _, r := range seen {
				if r.Time.After(last.Add(-rule.Window)) && !r.Time.After(last) {
					sum, n, top = sum+r.Values["pm10"], n+1, max(top, r.Values["pm10"])
				}
			}
			a, _ := e.Get(id)
			if want := sum / float64(n); math.Abs(a.Value-want) > 1e-9 {
				t.Errorf("engine's mean %.6f, want the readings' %.6f (%d readings)", a.Value, want, n)
			}
			if p, _ := e.Get(alert.Fingerprint("peak", "d1", nil)); p.Value != top {
				t.Errorf("engine's max %v, want the readings' %v", p.Value, top)
			}
		})
	}
}

// TestObserveWhileRulesChange edits rules while readings flow (run it with
// -race: Observe once read the rule count without the lock).
func TestObserveWhileRulesChange(t *testing.T) {
	e, _ := alert.New(nil, alert.Options{})
	runEngine(t, e)
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 200 {
			r := alert.Rule{ID: fmt.Sprintf("r%d", i%3), Kind: "air_quality", Field: "pm10", Condition: alert.CondThreshold, Op: ">", Threshold: 50}
			if _, err := e.PutRule(ctx, r, false); kessel.ErrorCode(err) == kessel.ENOTFOUND {
				_, err = e.PutRule(ctx, r, true)
			}
			if i%5 == 0 {
				_ = e.DeleteRule(ctx, r.ID)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 2000 {
			e.Observe([]kessel.Reading{pm("d1", base.Add(time.Duration(i)*time.Second), float64(i%100))})
		}
	}()
	wg.Wait()
	if len(e.Rules()) == 0 {
		t.Error("no rules left; the edits did not happen")
	}
}

// TestEventIDsAcrossRestart: an engine started after another numbers its
// events above the other's, so a stream resumed with the last id seen
// before a restart gets every event since.
func TestEventIDsAcrossRestart(t *testing.T) {
	rule := alert.Rule{ID: "pm", Kind: "air_quality", Field: "pm10", Condition: alert.CondThreshold, Op: ">", Threshold: 50}
	clock := base
	now := func() time.Time { return clock }
	tests := []struct {
		name   string
		before []float64 // values seen by the first run
		after  []float64 // and by the second, started 2 s later
		events int       // events the resumed stream gets from the second run
	}{
		{"fires again after the restart", vals(60, 10), vals(60), 1},
		{"many events in one clock tick", vals(60, 10, 60, 10, 60, 10), vals(60, 10, 60), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var lastID int64
			for run, values := range [][]float64{tc.before, tc.after} {
				e, _ := alert.New([]alert.Rule{rule}, alert.Options{Now: now})
				_, _, stop := e.Subscribe(0)
				for i, v := range values {
					e.EvaluateForTest([]kessel.Reading{pm("d1", clock.Add(time.Duration(i)*time.Millisecond), v)})
				}
				stop()
				backlog, _, stop := e.Subscribe(lastID)
				stop()
				if run == 1 && len(backlog) != tc.events {
					t.Fatalf("resumed after id %d: %d events %v, want %d", lastID, len(backlog), backlog, tc.events)
				}
				for _, ev := range backlog {
					if ev.Seq <= lastID {
						t.Fatalf("event id %d after %d", ev.Seq, lastID)
					}
					lastID = ev.Seq
				}
				clock = clock.Add(2 * time.Second)
			}
		})
	}
}

// TestStreamsEndWithEngine: when the engine stops, every stream's channel
// closes, so a handler serving it returns (and shutdown need not wait).
func TestStreamsEndWithEngine(t *testing.T) {
	e, _ := alert.New(nil, alert.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	_, events, stop := e.Subscribe(0)
	defer stop()
	cancel()
	<-done
	select {
	case _, open := <-events:
		if open {
			t.Fatal("an event instead of the end of the stream")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end with the engine")
	}
	if _, later, _ := e.Subscribe(0); later != nil {
		if _, open := <-later; open {
			t.Error("a subscription after the stop is open")
		}
	}
}

// TestRestoreSilence: a silence alert restored after a restart stays as it
// was while the device stays quiet, and resolves when it speaks (before, the
// first tick after a restart resolved it: the restored "last seen" was the
// last time the silence held).
func TestRestoreSilence(t *testing.T) {
	rule := alert.Rule{ID: "quiet", Kind: "wildfire", Condition: alert.CondSilence, Silence: 30 * time.Minute}
	id := alert.Fingerprint("quiet", "fire-1", nil)
	tests := []struct {
		name  string
		state kessel.AlertState
		speak bool // the device sends a reading after the tick
		want  string
	}{
		{"firing, still quiet", kessel.Firing, false, "firing"},
		{"firing, then speaks", kessel.Firing, true, "resolved"},
		{"pending, still quiet", kessel.Pending, false, "firing"}, // for: 0, so the tick fires it
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := alert.New([]alert.Rule{rule}, alert.Options{})
			e.Restore([]kessel.Alert{{ID: id, RuleID: "quiet", Subject: "fire-1", State: tc.state, ActiveAt: base, FiredAt: base, LastTrue: base.Add(50 * time.Minute)}})
			e.TickForTest(base.Add(60 * time.Minute))
			if tc.speak {
				e.EvaluateForTest([]kessel.Reading{{Device: "fire-1", Kind: "wildfire", Time: base.Add(61 * time.Minute), Values: map[string]float64{"smoke": 0}}})
			}
			if a, _ := e.Get(id); a.Status() != tc.want {
				t.Errorf("state %s, want %s", a.Status(), tc.want)
			}
		})
	}
}
