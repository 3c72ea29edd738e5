package influx_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// TestObservations reads single values across devices, ordered, paged
// and counted in InfluxDB, as the SensorThings /Observations needs; a
// value comes with its own quality flag and tests (not those of another
// field at the same time), and flags are not counted as values.
func TestObservations(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	rs := []kessel.Reading{
		{Device: "air-1", Kind: "air_quality", Time: at(0), Values: map[string]float64{"pm10": 1, "qc.pm10": 3, "qct.pm10": 4, "pm25": 2, "qc.pm25": 1}},
		{Device: "air-2", Kind: "air_quality", Time: at(0), Values: map[string]float64{"pm10": 3}},
		{Device: "bike-1", Kind: "air_quality", Time: at(1), Values: map[string]float64{"pm10": 4}, Location: &orb.Point{9.1, 48.7}},
		{Device: "secret-1", Kind: "air_quality", Time: at(2), Values: map[string]float64{"pm10": 5}},
		{Device: "air-1", Kind: "air_quality", Time: at(90), Values: map[string]float64{"pm10": 6}},
		{Device: "air-2", Kind: "air_quality", Time: at(60), Values: map[string]float64{"pm10": 7}}, // at the window's end: out
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	window := kessel.ObservationQuery{From: at(0), To: at(60)}
	with := func(f func(q *kessel.ObservationQuery)) kessel.ObservationQuery { q := window; f(&q); return q }
	for _, tc := range []struct {
		name  string
		q     kessel.ObservationQuery
		want  string
		count int
	}{
		{"oldest first, then device, then field; no lat/lon", window, "air-1:pm10=1,qc.pm10=3,qct.pm10=4 air-1:pm25=2,qc.pm25=1 air-2:pm10=3 bike-1:pm10=4 secret-1:pm10=5", 5},
		{"newest first", with(func(q *kessel.ObservationQuery) { q.Desc = true }), "secret-1:pm10=5 bike-1:pm10=4 air-2:pm10=3 air-1:pm25=2,qc.pm25=1 air-1:pm10=1,qc.pm10=3,qct.pm10=4", 5},
		{"offset and limit", with(func(q *kessel.ObservationQuery) { q.Offset, q.Limit = 1, 2 }), "air-1:pm25=2,qc.pm25=1 air-2:pm10=3", 5},
		{"excluded devices", with(func(q *kessel.ObservationQuery) { q.Exclude = []string{"secret-1", "air-2"} }), "air-1:pm10=1,qc.pm10=3,qct.pm10=4 air-1:pm25=2,qc.pm25=1 bike-1:pm10=4", 3},
		{"one device's field", with(func(q *kessel.ObservationQuery) { q.Device, q.Field, q.To = "air-1", "pm10", at(120) }), "air-1:pm10=1,qc.pm10=3,qct.pm10=4 air-1:pm10=6", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Observations(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, r := range got {
				var kv []string
				for _, f := range slices.Sorted(maps.Keys(r.Values)) {
					kv = append(kv, fmt.Sprintf("%s=%g", f, r.Values[f]))
				}
				s = append(s, r.Device+":"+strings.Join(kv, ","))
			}
			if strings.Join(s, " ") != tc.want {
				t.Errorf("got  %s\nwant %s", strings.Join(s, " "), tc.want)
			}
			if n, err := c.CountObservations(ctx, tc.q); err != nil || n != tc.count {
				t.Errorf("count %d, %v; want %d", n, err, tc.count)
			}
		})
	}
	if _, err := c.Observations(ctx, kessel.ObservationQuery{Device: `x") or true`, From: at(0), To: at(1)}); kessel.ErrorCode(err) != kessel.EINVALID {
		t.Errorf("bad device: %v", err)
	}
}
