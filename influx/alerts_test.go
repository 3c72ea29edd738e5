package influx_test

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/influx"
)

var _ alert.Journal = (*influx.Client)(nil)
var _ alert.WindowSource = (*influx.Client)(nil)

// TestAlertJournal: alerts saved in their wire form load back with state
// and timers, the stored state field is the Status, and records written
// before the one wire form (resolved stored as "inactive", zero timers
// written out) still load.
func TestAlertJournal(t *testing.T) {
	c, srv := newClient(t)
	ctx := context.Background()
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	old := `kessel_alerts,rule=old id="o1",state="inactive",doc="{\"id\":\"o1\",\"rule_id\":\"old\",\"subject\":\"air-9\",\"value\":3,\"severity\":\"warning\",\"visibility\":\"public\",` +
		`\"fired_at\":\"` + at.Format(time.RFC3339) + `\",\"resolved_at\":\"` + at.Add(time.Minute).Format(time.RFC3339) + `\",` +
		`\"state\":\"inactive\",\"last_true\":\"` + at.Format(time.RFC3339) + `\",\"keep_firing_since\":\"0001-01-01T00:00:00Z\"}",value=3`
	resp, err := http.Post(srv.URL+"/write?db=kessel&rp=autogen", "text/plain", strings.NewReader(old))
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("writing an old record: %v %v", err, resp)
	}
	saved := []kessel.Alert{
		{ID: "p1", RuleID: "pm", Subject: "air-1", State: kessel.Pending, ActiveAt: at, LastTrue: at.Add(time.Minute), Value: 60, Visibility: kessel.Public},
		{ID: "f1", RuleID: "pm", Subject: "air-2", State: kessel.Firing, ActiveAt: at, FiredAt: at, KeepFiringSince: at.Add(time.Minute), Value: 70},
		{ID: "r1", RuleID: "frost", Subject: "road-1", State: kessel.Inactive, FiredAt: at, ResolvedAt: at.Add(time.Minute), AckedBy: "tiefbau", AckedAt: at},
	}
	if err := c.SaveAlerts(ctx, saved); err != nil {
		t.Fatal(err)
	}
	got, err := c.LoadAlerts(ctx, at.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]kessel.Alert{}
	for _, a := range got {
		byID[a.ID] = a
	}
	tests := []struct {
		id, status string
		lastTrue   time.Time
	}{{"p1", "pending", at.Add(time.Minute)}, {"f1", "firing", time.Time{}}, {"r1", "resolved", time.Time{}}, {"o1", "resolved", at}}
	for _, tc := range tests {
		a, ok := byID[tc.id]
		if !ok || a.Status() != tc.status || !a.LastTrue.Equal(tc.lastTrue) {
			t.Errorf("%s: loaded %+v (status %s), want %s with last_true %v", tc.id, a, a.Status(), tc.status, tc.lastTrue)
		}
	}
	if a := byID["f1"]; !a.KeepFiringSince.Equal(at.Add(time.Minute)) {
		t.Errorf("keep_firing_since not kept: %+v", a)
	}
	if a := byID["r1"]; a.AckedBy != "tiefbau" {
		t.Errorf("acknowledgement not kept: %+v", a)
	}
	// The state field says what people see.
	q := url.Values{"db": {"kessel"}, "q": {`SELECT "state" FROM "records"."kessel_alerts" WHERE "id" = 'r1'`}} // Kessel's own records are kept in their own policy
	resp, err = http.Get(srv.URL + "/query?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"resolved"`) {
		t.Errorf("stored state of a resolved alert: %s", body)
	}
}

// TestWindowAggregates: per device and bucket, the count and the asked
// aggregate equal those computed from the readings, in buckets aligned to
// the Unix epoch (also for widths that do not divide a day), over
// [from, to); each device's newest reading is on its bucket's aggregate.
func TestWindowAggregates(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	var rs []kessel.Reading
	for i := range 300 {
		for j, d := range []string{"a", "b"} {
			at := base.Add(time.Duration(i*37+j*5)*time.Second + time.Duration(i%7)*time.Millisecond)
			rs = append(rs, kessel.Reading{Device: d, Kind: "air_quality", District: "mitte", Time: at,
				Values: map[string]float64{"pm10": math.Round(math.Sin(float64(i))*1000) / 10, "pm25": 1}})
		}
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	from, to := base.Add(5*time.Minute), base.Add(2*time.Hour)
	tests := []struct {
		fn    string
		every time.Duration
		pick  func(kessel.WindowAggregate) float64
	}{
		{"sum", 10 * time.Second, func(a kessel.WindowAggregate) float64 { return a.Sum }},
		{"max", 1041666666, func(a kessel.WindowAggregate) float64 { return a.Max }},
		{"min", 105 * time.Minute, func(a kessel.WindowAggregate) float64 { return a.Min }},
		{"first", 15 * time.Minute, func(a kessel.WindowAggregate) float64 { return a.First }},
	}
	for _, tc := range tests {
		t.Run(tc.fn, func(t *testing.T) {
			got, err := c.WindowAggregates(ctx, "air_quality", "pm10", tc.fn, from, to, tc.every)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]kessel.WindowAggregate{}
			newest := map[string]string{}
			for _, r := range rs {
				if r.Time.Before(from) || !r.Time.Before(to) {
					continue
				}
				v := r.Values["pm10"]
				start := time.Unix(0, r.Time.UnixNano()/int64(tc.every)*int64(tc.every)).UTC()
				k := r.Device + start.Format(time.RFC3339Nano)
				a, ok := want[k]
				if !ok {
					a = kessel.WindowAggregate{Device: r.Device, District: "mitte", Start: start, Min: v, Max: v, First: v}
				}
				a.Count, a.Sum, a.Min, a.Max, a.Last, a.LastAt = a.Count+1, a.Sum+v, min(a.Min, v), max(a.Max, v), v, r.Time
				want[k] = a
				newest[r.Device] = k
			}
			if len(got) != len(want) {
				t.Errorf("%d aggregates, want %d", len(got), len(want))
			}
			lasts := 0
			for _, a := range got {
				k := a.Device + a.Start.UTC().Format(time.RFC3339Nano)
				w := want[k]
				if a.Count != w.Count || math.Abs(tc.pick(a)-tc.pick(w)) > 1e-9 || a.District != w.District {
					g, _ := json.Marshal(a)
					x, _ := json.Marshal(w)
					t.Fatalf("\n got %s\nwant %s", g, x)
				}
				if !a.LastAt.IsZero() {
					lasts++
					if newest[a.Device] != k || a.Last != w.Last || !a.LastAt.Equal(w.LastAt) {
						t.Errorf("newest reading of %s: %v at %v, want %v at %v", a.Device, a.Last, a.LastAt, want[newest[a.Device]].Last, want[newest[a.Device]].LastAt)
					}
				}
			}
			if lasts != 2 {
				t.Errorf("%d aggregates carry a newest reading, want one per device", lasts)
			}
		})
	}
}
