package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestReloadAlerts: a replica given a partition goes on with the alert
// states saved last, never with its own older ones because InfluxDB did
// not answer (it would fire again what the other replica had fired).
func TestReloadAlerts(t *testing.T) {
	down := errors.New("influx: connection refused")
	tests := []struct {
		name      string
		answers   []error // what each load returns; nil: the states saved by then
		wantLoads int     // the load whose states are used (1-based); 0: none
		wantWarns int
	}{
		{"store up", []error{nil}, 1, 0},
		{"store down, then back: read again after the grace", []error{down, down, nil, nil}, 4, 1},
		{"store flaps", []error{down, nil, down, nil, nil}, 5, 2},
		{"store never back", []error{down, down, down}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			loads, warns := 0, 0
			load := func(context.Context) ([]kessel.Alert, error) {
				loads++
				if loads == len(tc.answers) && tc.wantLoads == 0 {
					cancel() // the replica stops while the store is still down
				}
				if err := tc.answers[min(loads, len(tc.answers))-1]; err != nil {
					return nil, err
				}
				// Each load sees the states saved by then: the n-th load
				// the transition at n.
				return []kessel.Alert{{ID: "a1", State: kessel.Firing, FiredAt: time.Unix(int64(loads), 0)}}, nil
			}
			states, ok := reloadAlerts(ctx, time.Millisecond, load, func(error) { warns++ })
			if ok != (tc.wantLoads > 0) {
				t.Fatalf("ok %v after %d loads, want %v", ok, loads, tc.wantLoads > 0)
			}
			if tc.wantLoads > 0 && (len(states) != 1 || states[0].FiredAt.Unix() != int64(tc.wantLoads)) {
				t.Errorf("states %v, want those of load %d", states, tc.wantLoads)
			}
			if loads != max(tc.wantLoads, len(tc.answers)) || warns != tc.wantWarns {
				t.Errorf("%d loads, %d warnings; want %d, %d", loads, warns, max(tc.wantLoads, len(tc.answers)), tc.wantWarns)
			}
		})
	}
}
