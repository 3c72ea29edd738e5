package simulators_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kessel-city/kessel/simulators"
)

// TestSimulatedTimeReproducible runs the same simulated run twice: with a
// fixed Start and Seed the messages are the same, timestamps included,
// and the readings' times follow the schedule, not the wall clock.
func TestSimulatedTimeReproducible(t *testing.T) {
	start := time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		o    simulators.RunOptions
		// want is the simulated time of the k-th reading sent (0-based).
		want func(k int) time.Time
	}{
		{"rounds of an interval", simulators.RunOptions{Interval: 10 * time.Minute, Speedup: 1e7},
			func(k int) time.Time { return start.Add(time.Duration(k/12) * 10 * time.Minute) }},
		{"a rate without interval", simulators.RunOptions{Rate: 1000, Speedup: 1000},
			func(k int) time.Time { return start.Add(time.Duration(k) * time.Millisecond) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			once := func() []simulators.Message {
				fleet, err := simulators.NewFleet(simulators.FleetOptions{Devices: 12, Seed: 9, Formats: simulators.Formats})
				if err != nil {
					t.Fatal(err)
				}
				o := tc.o
				o.Start, o.Seed, o.Count = start, 9, 120
				c := &capture{}
				if _, err := simulators.Run(context.Background(), fleet, c, o); err != nil {
					t.Fatal(err)
				}
				return c.msgs
			}
			a, b := once(), once()
			if len(a) != len(b) {
				t.Fatalf("%d messages, then %d", len(a), len(b))
			}
			k, dropped := 0, 0
			for i := range a {
				if fmt.Sprint(a[i]) != fmt.Sprint(b[i]) {
					t.Fatalf("message %d differs:\n%v\n%v", i, a[i], b[i])
				}
				if a[i].Format == "meta" {
					continue
				}
				// A device may drop a reading (as radios do) or send a
				// duplicate; match each reading to its schedule slot.
				for !a[i].Sent.Equal(tc.want(k)) && k < 200 {
					k++
					dropped++
				}
				if k == 200 {
					t.Fatalf("message %d sent at %v, off the schedule", i, a[i].Sent)
				}
				if i+1 < len(a) && a[i+1].Sent.Equal(a[i].Sent) && string(a[i+1].Payload) == string(a[i].Payload) {
					continue // a duplicate keeps its slot
				}
				k++
			}
			if dropped > 5 {
				t.Errorf("%d schedule slots without a reading", dropped)
			}
		})
	}
}
