package influx_test

import (
	"context"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestQualityAnnotations stores readings with quality flags and a
// corrected value and reads them back: flags as written, the correction's
// name and version, and district means and alert refills over passing
// values only.
func TestQualityAnnotations(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Hour)
	pm := []float64{10, 20, 900, 30}
	flag := []float64{1, 2, 4, 3}
	var rs []kessel.Reading
	for i, v := range pm {
		rs = append(rs, kessel.Reading{Device: "q1", Kind: "air_quality", District: "Mitte", Time: base.Add(time.Duration(i) * time.Minute),
			Correction: "sds011_rh/v1", Values: map[string]float64{"pm10": v, "qc.pm10": flag[i], "cor.pm10": v / 2, "humidity": 50, "qc.humidity": 1}})
	}
	rs[2].Values["qct.pm10"] = 1
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	got, err := c.History(ctx, kessel.HistoryQuery{Device: "q1", From: base, To: base.Add(time.Hour), Fields: []string{"pm10"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("history: %d readings: %+v", len(got), got)
	}
	for i, r := range got {
		if r.Values["pm10"] != pm[i] || r.Values["qc.pm10"] != flag[i] || r.Values["cor.pm10"] != pm[i]/2 || r.Correction != "sds011_rh/v1" {
			t.Errorf("reading %d: %+v (correction %q)", i, r.Values, r.Correction)
		}
		if _, ok := r.Values["humidity"]; ok {
			t.Errorf("reading %d: humidity not asked for: %+v", i, r.Values)
		}
	}
	if got[2].Values["qct.pm10"] != 1 {
		t.Errorf("tests of the failed value: %+v", got[2].Values)
	}
	one, err := c.History(ctx, kessel.HistoryQuery{Device: "q1", From: base, To: base.Add(time.Hour), Fields: []string{"pm10"}, Every: time.Hour, Fn: "max"})
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0].Values["pm10"] != 20 || len(one[0].Values) != 1 { // not 900 (fail) nor 30 (suspect)
		t.Errorf("one field's aggregate over passing values: %+v", one)
	}
	mean, err := c.DistrictSeries(ctx, "Mitte", "air_quality", "pm10", kessel.HistoryQuery{From: base, To: base.Add(time.Hour), Every: time.Hour, Fn: "mean", Resolution: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	if len(mean) != 1 || mean[0].Values["pm10"] != 15 { // 10 and 20; not 900 (fail) nor 30 (suspect)
		t.Errorf("district mean over passing values: %+v", mean)
	}
	recent, err := c.Recent(ctx, "air_quality", "pm10", base, base.Add(time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(recent) != 1 || recent[0].Device != "q1" || recent[0].Values["pm10"] != 15 {
		t.Errorf("recent over passing values: %+v", recent)
	}
}
