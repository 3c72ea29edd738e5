package alert_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/internal/testenv"
)

var base = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func ptr(f float64) *float64 { return &f }

// step feeds one reading per minute (value by minute; NaN = no reading)
// through a fresh engine's evaluation and returns the state after each
// minute plus the notified transitions.
func play(t *testing.T, r alert.Rule, values []float64) (states []string, notes []string) {
	t.Helper()
	e, err := alert.New([]alert.Rule{r}, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for m, v := range values {
		now := base.Add(time.Duration(m) * time.Minute)
		if v == v { // not NaN
			e.EvaluateForTest([]kessel.Reading{{Device: "d1", Kind: r.Kind, Time: now, Values: map[string]float64{r.Field: v}}})
		}
		if r.Condition == alert.CondSilence {
			e.TickForTest(now)
		}
		st := "inactive"
		if a, ok := e.Get(alert.Fingerprint(r.ID, "d1", r.Labels)); ok {
			st = a.Status()
		}
		states = append(states, st)
	}
	evs, _, cancel2 := e.Subscribe(0)
	defer cancel2()
	for _, ev := range evs {
		notes = append(notes, fmt.Sprintf("%s@%d", ev.Alert.Status(), int(ev.Alert.LatestAt().Sub(base).Minutes())))
	}
	return states, notes
}

const nan = -1e308 // marker replaced below

func vals(xs ...float64) []float64 {
	for i, x := range xs {
		if x == nan {
			xs[i] = 0
			xs[i] = xs[i] / 0 * 0 // NaN
		}
	}
	return xs
}

func TestStateMachine(t *testing.T) {
	thr := alert.Rule{ID: "pm", Kind: "air_quality", Field: "pm10", Condition: alert.CondThreshold, Op: ">", Threshold: 50}
	cases := []struct {
		name   string
		rule   func(alert.Rule) alert.Rule
		values []float64
		states string
		notes  int
	}{
		{"fires at once without for", func(r alert.Rule) alert.Rule { return r }, vals(10, 60, 60, 10), "inactive firing firing resolved", 2},
		{"for delays firing", func(r alert.Rule) alert.Rule { r.For = 2 * time.Minute; return r }, vals(60, 60, 60, 10), "pending pending firing resolved", 2},
		{"pending that ends is never told", func(r alert.Rule) alert.Rule { r.For = 5 * time.Minute; return r }, vals(60, 60, 10, 10), "pending pending inactive inactive", 0},
		{"hysteresis holds until the clear value", func(r alert.Rule) alert.Rule { r.Clear = ptr(40); return r }, vals(60, 45, 45, 39), "firing firing firing resolved", 2},
		{"keep_firing_for bridges a dip", func(r alert.Rule) alert.Rule { r.KeepFiringFor = 2 * time.Minute; return r }, vals(60, 10, 60, 10, 10, 10), "firing firing firing firing firing resolved", 2},
		{"flapping input: bounded notifications", func(r alert.Rule) alert.Rule { r.For = 2 * time.Minute; r.KeepFiringFor = 3 * time.Minute; return r },
			vals(60, 10, 60, 10, 60, 60, 60, 10, 60, 10, 60, 10, 10, 10, 10), "pending inactive pending inactive pending pending firing firing firing firing firing firing firing firing resolved", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			states, notes := play(t, tc.rule(thr), tc.values)
			if got := strings.Join(states, " "); got != tc.states {
				t.Errorf("states\n got %s\nwant %s", got, tc.states)
			}
			if len(notes) != tc.notes {
				t.Errorf("%d notifications %v, want %d", len(notes), notes, tc.notes)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	cases := []struct {
		name   string
		rule   alert.Rule
		values []float64
		states string
	}{
		{"24h mean (here a 3-minute window)", alert.Rule{ID: "m", Kind: "k", Field: "f", Condition: alert.CondMean, Op: ">", Threshold: 50, Window: 3 * time.Minute},
			vals(40, 70, 70, 40, 30, 30), "inactive firing firing firing resolved resolved"},
		{"rate of change", alert.Rule{ID: "r", Kind: "k", Field: "f", Condition: alert.CondRate, Op: ">", Threshold: 10, Window: 2 * time.Minute},
			vals(100, 105, 112, 118, 119, 120, 120), "inactive inactive firing firing resolved resolved resolved"},
		{"frost: min at or below zero", alert.Rule{ID: "f", Kind: "k", Field: "f", Condition: alert.CondMin, Op: "<=", Threshold: 0, Window: time.Minute},
			vals(2, 1, 0, -1, 1, 2, 3), "inactive inactive firing firing resolved resolved resolved"},
		{"silence", alert.Rule{ID: "s", Kind: "k", Condition: alert.CondSilence, Silence: 2 * time.Minute},
			vals(1, nan, nan, nan, 1, 1), "inactive inactive firing firing resolved resolved"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.rule.Field == "" {
				tc.rule.Field = "f"
			}
			states, _ := play(t, tc.rule, tc.values)
			if got := strings.Join(states, " "); got != tc.states {
				t.Errorf("states\n got %s\nwant %s", got, tc.states)
			}
		})
	}
}

func TestRuleValidation(t *testing.T) {
	ok := alert.Rule{ID: "r1", Kind: "air_quality", Field: "pm10", Condition: alert.CondMean, Op: ">", Threshold: 50, Window: 24 * time.Hour}
	for _, tc := range []struct {
		name, field string
		mutate      func(*alert.Rule)
	}{
		{"bad id", "id", func(r *alert.Rule) { r.ID = "a b" }},
		{"no kind", "kind", func(r *alert.Rule) { r.Kind = "" }},
		{"no field", "field", func(r *alert.Rule) { r.Field = "" }},
		{"bad op", "op", func(r *alert.Rule) { r.Op = "=" }},
		{"no window", "window", func(r *alert.Rule) { r.Window = 0 }},
		{"bad condition", "condition", func(r *alert.Rule) { r.Condition = "median" }},
		{"bad severity", "severity", func(r *alert.Rule) { r.Severity = "panic" }},
		{"bad visibility", "visibility", func(r *alert.Rule) { r.Visibility = "secret" }},
		{"silence without duration", "silence", func(r *alert.Rule) { r.Condition = alert.CondSilence }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.mutate(&r)
			err := r.Validate()
			if kessel.ErrorCode(err) != kessel.EINVALID || !strings.Contains(kessel.ErrorMessage(err), `"`+r.ID+`"`) || !strings.Contains(kessel.ErrorMessage(err), tc.field) {
				t.Errorf("got %v, want EINVALID naming rule and %s", err, tc.field)
			}
		})
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := alert.New([]alert.Rule{ok, ok}, alert.Options{}); err == nil {
		t.Error("duplicate rule ids accepted")
	}
}

// TestOrderedOneAlert: readings a millisecond apart never make two alerts.
func TestOrderedOneAlert(t *testing.T) {
	r := alert.Rule{ID: "pm", Kind: "air_quality", Field: "pm10", Condition: alert.CondThreshold, Op: ">", Threshold: 50}
	e, _ := alert.New([]alert.Rule{r}, alert.Options{})
	var rs []kessel.Reading
	for i := range 100 {
		rs = append(rs, kessel.Reading{Device: "d1", Kind: "air_quality", Time: base.Add(time.Duration(i) * time.Millisecond), Values: map[string]float64{"pm10": 80}})
	}
	e.EvaluateForTest(rs)
	evs, _, cancel := e.Subscribe(0)
	defer cancel()
	if len(evs) != 1 || len(e.List(kessel.AlertQuery{IncludeInternal: true})) != 1 {
		t.Fatalf("%d events, want exactly one firing", len(evs))
	}
	if _, err := e.Ack(context.Background(), evs[0].Alert.ID, "tiefbau", "Streufahrzeug 3 ausgerückt 05:40"); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.Get(evs[0].Alert.ID); a.AckedBy != "tiefbau" || a.AckNote != "Streufahrzeug 3 ausgerückt 05:40" {
		t.Errorf("ack not recorded: %+v", a)
	}
	if _, err := e.Ack(context.Background(), "nope", "x", ""); kessel.ErrorCode(err) != kessel.ENOTFOUND {
		t.Errorf("ack of unknown alert: %v", err)
	}
}

// TestRestartInPending: an alert restored in pending keeps its timer, so
// it fires when `for` has passed since it first became active, not since
// the restart.
func TestRestartInPending(t *testing.T) {
	r := alert.Rule{ID: "pm", Kind: "air_quality", Field: "pm10", Condition: alert.CondThreshold, Op: ">", Threshold: 50, For: 10 * time.Minute}
	e1, _ := alert.New([]alert.Rule{r}, alert.Options{})
	e1.EvaluateForTest([]kessel.Reading{{Device: "d1", Kind: "air_quality", Time: base, Values: map[string]float64{"pm10": 80}}})
	a, _ := e1.Get(alert.Fingerprint("pm", "d1", nil))
	if a.State != kessel.Pending {
		t.Fatalf("state %s, want pending", a.State)
	}
	// "Restart": a new engine restored from the saved state.
	e2, _ := alert.New([]alert.Rule{r}, alert.Options{})
	e2.Restore([]kessel.Alert{a})
	e2.EvaluateForTest([]kessel.Reading{{Device: "d1", Kind: "air_quality", Time: base.Add(11 * time.Minute), Values: map[string]float64{"pm10": 80}}})
	got, _ := e2.Get(a.ID)
	if got.State != kessel.Firing || !got.ActiveAt.Equal(base) {
		t.Errorf("after restore: %s since %v, want firing, active since %v", got.State, got.ActiveAt, base)
	}
}

// TestObserveBurst hands the engine a burst of single-reading batches, as
// ingest does, before it runs: up to the queue's bound every reading is
// evaluated; beyond it the excess is counted, never blocked on.
func TestObserveBurst(t *testing.T) {
	tests := []struct {
		name          string
		queue, burst  int
		wantEvaluated int
		wantDropped   int
	}{
		{"within the default bound", 0, 20_000, 20_000, 0},
		{"beyond a bound of 100", 100, 5_000, 100, 4_900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			e, err := alert.New([]alert.Rule{{ID: "hot", Kind: "k", Field: "v", Condition: alert.CondThreshold, Op: ">", Threshold: 100}},
				alert.Options{Queue: tt.queue, Registerer: reg})
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
			for i := range tt.burst {
				e.Observe([]kessel.Reading{{Device: fmt.Sprintf("d%d", i%50), Kind: "k", Time: t0.Add(time.Duration(i) * time.Second), Values: map[string]float64{"v": 1}}})
			}
			_, events, stop := e.Subscribe(0)
			defer stop()
			runEngine(t, e)
			testenv.Eventually(t, 10*time.Second, func() bool { return counter(t, reg, "kessel_alert_evaluations_total") >= float64(tt.wantEvaluated) },
				"evaluated %v readings, want %d", counter(t, reg, "kessel_alert_evaluations_total"), tt.wantEvaluated)
			// The queue is emptied in order: once a reading handed over
			// after the burst fired its alert, nothing of the burst is left.
			e.Observe([]kessel.Reading{{Device: "sentinel", Kind: "k", Time: t0, Values: map[string]float64{"v": 1000}}})
			select {
			case <-events:
			case <-time.After(10 * time.Second):
				t.Fatal("the reading after the burst was not evaluated")
			}
			tt.wantEvaluated++ // the sentinel
			if got := counter(t, reg, "kessel_alert_evaluations_total"); got != float64(tt.wantEvaluated) {
				t.Errorf("evaluated %v readings, want %d", got, tt.wantEvaluated)
			}
			if got := counter(t, reg, "kessel_alert_dropped_readings_total"); got != float64(tt.wantDropped) {
				t.Errorf("dropped %v readings, want %d", got, tt.wantDropped)
			}
		})
	}
}

func counter(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// runEngine runs e until the test ends.
func runEngine(t *testing.T, e *alert.Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}
