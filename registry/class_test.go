package registry_test

import (
	"testing"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/registry"
)

// TestDescribeChangesClass: a self-description that changes only the
// measurement class is a change, not a repeat.
func TestDescribeChangesClass(t *testing.T) {
	reg, err := registry.New(registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		class kessel.MeasurementClass
		want  kessel.MeasurementClass
	}{{"", kessel.Indicative}, {kessel.Reference, kessel.Reference}, {kessel.Indicative, kessel.Indicative}} {
		if err := reg.Describe(kessel.Device{ID: "air-1", Kind: "air_quality", MeasurementClass: tc.class}); err != nil {
			t.Fatal(err)
		}
		if d, _, _ := reg.Get("air-1"); d.Class() != tc.want {
			t.Errorf("after describing it %q: class %q, want %q", tc.class, d.Class(), tc.want)
		}
	}
}
