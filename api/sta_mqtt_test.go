package api_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
)

// TestSTAObservationsWant: only the topics want accepts are rendered,
// each topic is asked about once per call however many readings of its
// device a batch holds, and without want every field is rendered.
func TestSTAObservationsWant(t *testing.T) {
	at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	rs := []kessel.Reading{
		{Device: "air-1", Time: at, Values: map[string]float64{"pm10": 1, "pm25": 2}},
		{Device: "air-2", Time: at, Values: map[string]float64{"pm10": 3}},
		{Device: "air-1", Time: at.Add(time.Minute), Values: map[string]float64{"pm10": 4, "pm25": 5}},
	}
	pm10 := kessel.STAObservationsTopic("air-1", "pm10")
	for _, tc := range []struct {
		name   string
		wanted []string // nil: no want function
		topics []string // rendered, in order
		asks   int
	}{
		{"no want: every field", nil, []string{pm10, kessel.STAObservationsTopic("air-1", "pm25"), kessel.STAObservationsTopic("air-2", "pm10"), pm10, kessel.STAObservationsTopic("air-1", "pm25")}, 0},
		{"one Datastream wanted", []string{pm10}, []string{pm10, pm10}, 3},
		{"nobody listens", []string{}, nil, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asks := 0
			var want func(string) bool
			if tc.wanted != nil {
				want = func(topic string) bool { asks++; return slices.Contains(tc.wanted, topic) }
			}
			var got []string
			for _, m := range api.STAObservations("http://x", rs, want) {
				got = append(got, m.Topic)
			}
			if !slices.Equal(got, tc.topics) {
				t.Errorf("rendered %q, want %q", got, tc.topics)
			}
			if asks != tc.asks {
				t.Errorf("asked %d times, want %d (once per topic)", asks, tc.asks)
			}
		})
	}
}
