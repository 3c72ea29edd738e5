package alert

import (
	"slices"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestRing: event numbers follow the clock in microseconds, stay unique
// and increasing when the clock stalls or steps back, and the ring keeps
// the last max events.
func TestRing(t *testing.T) {
	at := func(us int64) time.Time { return time.UnixMicro(us) }
	tests := []struct {
		name     string
		max      int
		times    []time.Time
		seqs     []int64 // of every push
		afterArg int64
		after    []int64 // ring.after(afterArg)
	}{
		{"from the clock", 10, []time.Time{at(100), at(250)}, []int64{100, 250}, 0, []int64{100, 250}},
		{"a stalled clock counts on", 10, []time.Time{at(100), at(100), at(100)}, []int64{100, 101, 102}, 100, []int64{101, 102}},
		{"a clock stepped back counts on", 10, []time.Time{at(100), at(50), at(300)}, []int64{100, 101, 300}, 101, []int64{300}},
		{"keeps the last max", 2, []time.Time{at(1), at(2), at(3)}, []int64{1, 2, 3}, 0, []int64{2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ring{max: tc.max}
			var seqs []int64
			for i, now := range tc.times {
				seqs = append(seqs, r.push(kessel.Alert{ID: []string{"a", "b"}[i%2]}, now).Seq)
			}
			if !slices.Equal(seqs, tc.seqs) {
				t.Errorf("seqs %v, want %v", seqs, tc.seqs)
			}
			var after []int64
			for _, ev := range r.after(tc.afterArg) {
				after = append(after, ev.Seq)
			}
			if !slices.Equal(after, tc.after) {
				t.Errorf("after(%d) = %v, want %v", tc.afterArg, after, tc.after)
			}
			for _, ev := range r.of("a") {
				if ev.Alert.ID != "a" {
					t.Errorf("of(a) returned %+v", ev)
				}
			}
		})
	}
}
