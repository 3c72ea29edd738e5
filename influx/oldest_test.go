package influx_test

import (
	"context"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestOldest reads each device's oldest stored reading of a kind, as the
// catalogue's temporal extent needs, from a real InfluxDB.
func TestOldest(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	rs := []kessel.Reading{
		{Device: "air-1", Kind: "air_quality", Time: base.Add(2 * time.Hour), Values: map[string]float64{"pm10": 1}},
		{Device: "air-1", Kind: "air_quality", Time: base, Values: map[string]float64{"pm25": 2}}, // another field, older
		{Device: "air-2", Kind: "air_quality", Time: base.Add(24 * time.Hour), Values: map[string]float64{"pm10": 3}},
		{Device: "noise-1", Kind: "noise", Time: base.Add(-48 * time.Hour), Values: map[string]float64{"laeq": 50}},
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, kind string
		want       map[string]time.Time
		wantErr    bool
	}{
		{"per device, over all fields", "air_quality", map[string]time.Time{"air-1": base, "air-2": base.Add(24 * time.Hour)}, false},
		{"other kinds apart", "noise", map[string]time.Time{"noise-1": base.Add(-48 * time.Hour)}, false},
		{"no data", "parking", map[string]time.Time{}, false},
		{"bad kind", `x") or true`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Oldest(ctx, tc.kind)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for dev, w := range tc.want {
				if !got[dev].Equal(w) {
					t.Errorf("%s: %v, want %v", dev, got[dev], w)
				}
			}
		})
	}
}
