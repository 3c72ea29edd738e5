package evidence_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/evidence"
)

// memStore keeps entries in memory: the second Store, beside InfluxDB's.
type memStore struct {
	mu sync.Mutex
	es []kessel.EvidenceEntry
}

func (m *memStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.es)
}

func (m *memStore) SaveEvidence(_ context.Context, e kessel.EvidenceEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.es = append(m.es, e)
	return nil
}

func (m *memStore) Evidence(_ context.Context, subject string, from, to time.Time) ([]kessel.EvidenceEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []kessel.EvidenceEntry
	for _, e := range m.es {
		if e.Subject == subject && !e.Start.Before(from) && e.Start.Before(to) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b kessel.EvidenceEntry) int { return a.Start.Compare(b.Start) })
	return out, nil
}

func (m *memStore) LastEvidence(ctx context.Context, subject string) (kessel.EvidenceEntry, bool, error) {
	es, _ := m.Evidence(ctx, subject, time.Unix(0, 0), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(es) == 0 {
		return kessel.EvidenceEntry{}, false, nil
	}
	return es[len(es)-1], true, nil
}

// hourly serves one reading an hour of every device, and no alerts.
type hourly struct{}

func (hourly) History(_ context.Context, q kessel.HistoryQuery) ([]kessel.Reading, error) {
	return every(q.Device, q.From, q.To, time.Hour, func(time.Time) map[string]float64 { return map[string]float64{"surface_temperature": 2} }), nil
}

func (hourly) AlertHistory(context.Context, time.Time, time.Time) ([]kessel.Alert, error) {
	return nil, nil
}

// devices is a registry of road sensors.
type devices []kessel.Device

func (d devices) Get(id string) (kessel.Device, *kessel.Reading, bool) {
	for _, x := range d {
		if x.ID == id {
			return x, nil, true
		}
	}
	return kessel.Device{}, nil, false
}

func (d devices) Query(q kessel.DeviceQuery) []kessel.DeviceState {
	var out []kessel.DeviceState
	for _, x := range d {
		if x.Kind == q.Kind {
			out = append(out, kessel.DeviceState{Device: x})
		}
	}
	return out
}

// TestServiceBuild: a chain starts at the first day built, catches up the
// days missed, never rebuilds a day, refuses a day not over, and its
// records verify; routes and sensors are the subjects.
func TestServiceBuild(t *testing.T) {
	now := time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)
	store := &memStore{}
	reg := devices{{ID: "road-1", Kind: "road_surface"}, {ID: "road-2", Kind: "road_surface"}, {ID: "weather-1", Kind: "weather"}}
	svc, err := evidence.NewService(hourly{}, store, reg, []evidence.RouteConfig{{ID: "b27", Devices: []string{"road-1", "weather-1"}}}, evidence.ServiceOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range svc.Subjects() {
		keys = append(keys, s.Key())
	}
	if strings.Join(keys, ",") != "sensor:road-1,sensor:road-2,route:b27" {
		t.Errorf("subjects %v", keys)
	}
	sub, _ := svc.Subject(evidence.Sensor, "road-1")
	day := func(s string) evidence.Day { d, _ := evidence.ParseDay(s); return d }
	tests := []struct {
		through string
		built   []string
		err     string
	}{
		{"2026-12-03", []string{"2026-12-03"}, ""},
		{"2026-12-06", []string{"2026-12-04", "2026-12-05", "2026-12-06"}, ""},
		{"2026-12-05", nil, ""}, // already built: nothing is rebuilt
		{"2026-12-10", nil, kessel.EINVALID},
	}
	for _, tc := range tests {
		recs, err := svc.Build(context.Background(), sub, day(tc.through))
		var got []string
		for _, r := range recs {
			got = append(got, r.Day)
		}
		if kessel.ErrorCode(err) != tc.err || strings.Join(got, ",") != strings.Join(tc.built, ",") {
			t.Errorf("build through %s: %v, %v; want %v, %q", tc.through, got, err, tc.built, tc.err)
		}
	}
	recs, res, err := svc.Records(context.Background(), sub, day("2026-12-01"), day("2026-12-09"))
	if err != nil || len(recs) != 4 || !res.OK || res.First != "2026-12-03" || res.Last != "2026-12-06" || recs[0].Prev != "" || recs[1].Prev != recs[0].Hash {
		t.Errorf("records %d, %+v, %v", len(recs), res, err)
	}
	if recs[0].Sensors[0].Readings != 24 || recs[0].Sensors[0].Coverage != 1 {
		t.Errorf("a day of hourly readings: %+v", recs[0].Sensors[0])
	}
	// A new chain starts at most MaxCatchUp (400) days back: a mistyped
	// year would otherwise anchor it there for good (chains are
	// append-only) and fill it with empty days.
	road2, _ := svc.Subject(evidence.Sensor, "road-2")
	for _, through := range []string{"2016-12-03", "0001-01-01", "2025-11-04"} {
		if recs, err := svc.Build(context.Background(), road2, day(through)); kessel.ErrorCode(err) != kessel.EINVALID || len(recs) != 0 {
			t.Errorf("a new chain from %s: %d records, %v; want EINVALID and none", through, len(recs), err)
		}
	}
	if recs, err := svc.Build(context.Background(), road2, day("2025-11-06")); err != nil || len(recs) != 1 {
		t.Errorf("a new chain from 399 days back: %d records, %v", len(recs), err)
	}
	if _, err := svc.Subject(evidence.Route, "nope"); kessel.ErrorCode(err) != kessel.ENOTFOUND {
		t.Errorf("unknown route: %v", err)
	}
	if _, _, err := svc.Records(context.Background(), sub, day("2026-12-09"), day("2026-12-01")); kessel.ErrorCode(err) != kessel.EINVALID {
		t.Errorf("a reversed range: %v", err)
	}
	if _, err := evidence.NewService(hourly{}, store, reg, []evidence.RouteConfig{{ID: "a", Devices: []string{"x"}}, {ID: "a", Devices: []string{"y"}}}, evidence.ServiceOptions{}); kessel.ErrorCode(err) != kessel.EINVALID {
		t.Errorf("a route twice: %v", err)
	}
}

// TestServiceRun: after BuildAfter past midnight, Run builds the day
// before's records of every subject; before it, none.
func TestServiceRun(t *testing.T) {
	loc := evidence.Location()
	for _, tc := range []struct {
		name  string
		now   time.Time
		built bool
	}{
		{"before the hour", time.Date(2026, 12, 10, 0, 30, 0, 0, loc), false},
		{"after it", time.Date(2026, 12, 10, 1, 30, 0, 0, loc), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &memStore{}
			reg := devices{{ID: "road-1", Kind: "road_surface"}}
			checked := make(chan struct{})
			now := func() time.Time {
				select {
				case <-checked:
				default:
					close(checked) // Run asked the time: its first pass is under way
				}
				return tc.now
			}
			svc, _ := evidence.NewService(hourly{}, store, reg, []evidence.RouteConfig{{ID: "b27", Devices: []string{"road-1"}}}, evidence.ServiceOptions{Now: now})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- svc.Run(ctx) }()
			<-checked
			deadline := time.Now().Add(10 * time.Second)
			for tc.built && store.count() < 2 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond) // polling a condition
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			store.mu.Lock()
			defer store.mu.Unlock()
			if got := len(store.es); (got == 2) != tc.built || (tc.built && store.es[0].Day != "2026-12-09") {
				t.Errorf("%d records %+v; want built %v for 2026-12-09", got, store.es, tc.built)
			}
		})
	}
}
