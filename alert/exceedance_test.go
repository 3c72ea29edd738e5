package alert_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
)

// fakeCounter answers exceedance days from a table and records the
// devices, field, threshold and time it was asked for.
type fakeCounter struct {
	mu     sync.Mutex
	counts map[string]int
	err    error
	asked  [][]string
	field  string
	limit  float64
	at     time.Time
}

func (f *fakeCounter) ExceedanceDays(_ context.Context, devices []string, field string, threshold float64, at time.Time) (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked, f.field, f.limit, f.at = append(f.asked, devices), field, threshold, at
	out := map[string]int{}
	for _, d := range devices {
		if n, ok := f.counts[d]; ok {
			out[d] = n
		}
	}
	return out, f.err
}

func (f *fakeCounter) set(device string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[device] = n
}

var daysRule = alert.Rule{ID: "pm10-days", Kind: "air_quality", Field: "pm10", Condition: alert.CondExceedanceDays, Threshold: 50, Count: 30, Visibility: kessel.Public}

// TestExceedanceDays steps a station's count through a year: the 30th day
// fires once, later days do not fire again, a restart with the saved state
// does not fire again, and the new year resolves it.
func TestExceedanceDays(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ctr := &fakeCounter{counts: map[string]int{"a": 29, "b": 3}}
	e, err := alert.New([]alert.Rule{daysRule}, alert.Options{Now: clock, Exceedances: ctr})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e.EvaluateForTest([]kessel.Reading{pm("a", now, 70), pm("b", now, 10), {Device: "c", Kind: "air_quality", Time: now, Values: map[string]float64{"no2": 1}}})
	id := alert.Fingerprint(daysRule.ID, "a", nil)
	step := func(name string, count int, wantState kessel.AlertState, wantTransitions int) {
		t.Helper()
		ctr.set("a", count)
		if err := e.CheckExceedances(ctx); err != nil {
			t.Fatal(err)
		}
		a, _ := e.Get(id)
		if a.State != wantState || a.Value != float64(count) || len(e.Transitions(id)) != wantTransitions {
			t.Errorf("%s: state %s value %v, %d transitions; want %s, %d, %d", name, a.State, a.Value, len(e.Transitions(id)), wantState, count, wantTransitions)
		}
	}
	step("29 days", 29, kessel.Inactive, 0)
	if got := ctr.asked[0]; !slices.Equal(got, []string{"a", "b"}) || ctr.field != "pm10" || ctr.limit != 50 || !ctr.at.Equal(now) {
		t.Errorf("asked for %v %s > %v at %v; want the devices seen with pm10 (a, b), pm10 > 50 at the clock", got, ctr.field, ctr.limit, ctr.at)
	}
	step("30th day fires", 30, kessel.Firing, 1)
	step("31st day does not fire again", 31, kessel.Firing, 1)

	// A restart: the saved state is restored and the count still holds.
	saved, _ := e.Get(id)
	e2, _ := alert.New([]alert.Rule{daysRule}, alert.Options{Now: clock, Exceedances: ctr})
	e2.Restore([]kessel.Alert{saved})
	if err := e2.CheckExceedances(ctx); err != nil {
		t.Fatal(err)
	}
	if a, _ := e2.Get(id); a.State != kessel.Firing || len(e2.Transitions(id)) != 0 || !a.FiredAt.Equal(saved.FiredAt) {
		t.Errorf("after a restart: %s fired %v, %d transitions; want still firing since %v, none new", a.State, a.FiredAt, len(e2.Transitions(id)), saved.FiredAt)
	}

	now = time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC) // a new year: nothing counted yet
	step("new year resolves", 0, kessel.Inactive, 2)
	if a, _ := e.Get(id); a.Status() != kessel.StatusResolved {
		t.Errorf("status %s, want resolved", a.Status())
	}
	if a, ok := e.Get(alert.Fingerprint(daysRule.ID, "b", nil)); !ok || a.State != kessel.Inactive {
		t.Errorf("b (3 days): %+v", a)
	}

	ctr.err = errors.New("influx down")
	if err := e.CheckExceedances(ctx); err == nil {
		t.Error("a counter's error is not returned")
	}
}

// TestExceedanceDaysRun: Run checks the counts itself, at once and then
// every ExceedanceEvery, and notifies the firing.
func TestExceedanceDaysRun(t *testing.T) {
	ctr := &fakeCounter{counts: map[string]int{"a": 30}}
	notified := make(chan kessel.Alert, 4)
	e, err := alert.New([]alert.Rule{daysRule}, alert.Options{Exceedances: ctr, ExceedanceEvery: 10 * time.Millisecond,
		Notify: func(_ context.Context, a kessel.Alert) { notified <- a }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	e.Observe([]kessel.Reading{pm("a", time.Now(), 80)})
	select {
	case a := <-notified:
		if a.Subject != "a" || a.State != kessel.Firing || a.Value != 30 {
			t.Errorf("notified %+v", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no alert within 10 s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestExceedanceDaysListedDevices: a rule's listed devices are counted
// before any reading of theirs arrives (right after a start), and each
// alert is labelled with its device's measurement class.
func TestExceedanceDaysListedDevices(t *testing.T) {
	r := daysRule
	r.Devices = []string{"y", "z"}
	r.Labels = map[string]string{"team": "air"}
	ctr := &fakeCounter{counts: map[string]int{"y": 30, "z": 31}}
	class := func(d string) kessel.MeasurementClass {
		if d == "y" {
			return kessel.Reference
		}
		return kessel.Indicative
	}
	e, _ := alert.New([]alert.Rule{r}, alert.Options{Exceedances: ctr, DeviceClass: class})
	if err := e.CheckExceedances(context.Background()); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]string{"y": "reference", "z": "indicative"} {
		a, _ := e.Get(alert.Fingerprint(r.ID, d, r.Labels))
		if a.State != kessel.Firing || a.Kind != "air_quality" || a.Labels["measurement_class"] != want || a.Labels["team"] != "air" {
			t.Errorf("listed device %s: %+v; want firing, labelled %s", d, a, want)
		}
	}
	if r.Labels["measurement_class"] != "" {
		t.Error("the rule's labels were changed")
	}
}
