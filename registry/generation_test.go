package registry_test

import (
	"context"
	"testing"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/registry"
)

// TestGeneration steps through every change Query could show: each moves
// the generation on; a read, an older reading and a repeated description
// leave it.
func TestGeneration(t *testing.T) {
	r := newRegistry(t, registry.Options{})
	dev := kessel.Device{ID: "air-1", Kind: "air_quality", Location: pt(9.18, 48.78)}
	steps := []struct {
		name  string
		do    func() error
		moves bool
	}{
		{"put", func() error { return r.Put(dev) }, true},
		{"query", func() error { r.Query(kessel.DeviceQuery{}); return nil }, false},
		{"reading", func() error {
			r.Observe([]kessel.Reading{{Device: "air-1", Time: base, Values: map[string]float64{"pm10": 1}}})
			return nil
		}, true},
		{"older reading", func() error {
			r.Observe([]kessel.Reading{{Device: "air-1", Time: base.Add(-1), Values: map[string]float64{"pm10": 2}}})
			return nil
		}, false},
		{"describe a new device", func() error { return r.Describe(kessel.Device{ID: "air-2", Kind: "air_quality"}) }, true},
		{"repeated description", func() error { return r.Describe(kessel.Device{ID: "air-2", Kind: "air_quality"}) }, false},
		{"load", func() error {
			r.Load([]kessel.DeviceRecord{{Device: kessel.Device{ID: "air-3", Kind: "air_quality"}}})
			return nil
		}, true},
		{"delete", func() error { return r.Delete(context.Background(), "air-3", "") }, true},
	}
	for _, st := range steps {
		before := r.Generation()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if moved := r.Generation() != before; moved != st.moves {
			t.Errorf("%s: generation moved %v, want %v", st.name, moved, st.moves)
		}
	}
}
