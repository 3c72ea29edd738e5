package influx_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestLinkAndDailyAggregates stores readings with link data over two days:
// raw history gives link data back apart from the values, a daily mean is
// stamped at the start of its day and holds that day's values only, and
// neither aggregates nor Latest's values ever carry link data; a stored
// annotation of another namespace is read by no one.
func TestLinkAndDailyAggregates(t *testing.T) {
	c, srv := newClient(t)
	ctx := context.Background()
	day1 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	var rs []kessel.Reading
	for i, v := range []float64{10, 20, 30} { // 26 Nov: mean 20
		rs = append(rs, kessel.Reading{Device: "lora-1", Kind: "noise", Time: day1.Add(time.Duration(6*i+6) * time.Hour),
			Values: map[string]float64{"laeq": v}, Link: map[string]float64{"rssi": -100 - v, "f_cnt": float64(i)}})
	}
	for i, v := range []float64{50, 70} { // 27 Nov: mean 60
		rs = append(rs, kessel.Reading{Device: "lora-1", Kind: "noise", Time: day2.Add(time.Duration(8*i+1) * time.Hour),
			Values: map[string]float64{"laeq": v}, Link: map[string]float64{"rssi": -90, "f_cnt": float64(3 + i)}})
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	// Another namespace (one no reader asks for; qc. is read as quality flags) written beside the values.
	srv.WriteLines(t, "kessel", fmt.Sprintf("noise,device=lora-1 xq.laeq=1 %d\n", day1.Add(6*time.Hour).UnixNano()))

	raw, err := c.History(ctx, kessel.HistoryQuery{Device: "lora-1", From: day1, To: day2.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if raw[0].Link["xq.laeq"] != 0 || len(raw[0].Link) != 2 {
		t.Errorf("an annotation of another namespace was read: %+v", raw[0])
	}
	if len(raw) != 5 || raw[0].Link["rssi"] != -110 || raw[0].Link["f_cnt"] != 0 || !maps.Equal(raw[0].Values, map[string]float64{"laeq": 10}) {
		t.Fatalf("raw history: %+v", raw)
	}

	cases := []struct {
		name string
		q    kessel.HistoryQuery
		want []kessel.Reading
	}{
		{"daily mean", kessel.HistoryQuery{Device: "lora-1", From: day1, To: day2.Add(24 * time.Hour), Every: 24 * time.Hour, Fn: "mean"},
			[]kessel.Reading{{Time: day1, Values: map[string]float64{"laeq": 20}}, {Time: day2, Values: map[string]float64{"laeq": 60}}}},
		{"daily count", kessel.HistoryQuery{Device: "lora-1", From: day1, To: day2.Add(24 * time.Hour), Every: 24 * time.Hour, Fn: "count"},
			[]kessel.Reading{{Time: day1, Values: map[string]float64{"laeq": 3}}, {Time: day2, Values: map[string]float64{"laeq": 2}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.History(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d rows, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				if !got[i].Time.Equal(w.Time) || !maps.Equal(got[i].Values, w.Values) || len(got[i].Link) != 0 {
					t.Errorf("row %d = %v %v link %v, want %v %v", i, got[i].Time, got[i].Values, got[i].Link, w.Time, w.Values)
				}
			}
		})
	}

	latest, err := c.Latest(ctx, day1, day2.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 1 || !maps.Equal(latest[0].Values, map[string]float64{"laeq": 70}) || latest[0].Link["f_cnt"] != 4 {
		t.Errorf("latest: %+v", latest)
	}
}
