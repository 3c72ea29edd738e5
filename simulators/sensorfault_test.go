package simulators_test

import (
	"testing"

	"github.com/kessel-city/kessel/simulators"
)

// TestSensorFaults plays each fault mode over 12 readings of a constant
// sensor and checks the values reading by reading.
func TestSensorFaults(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want []float64 // pm10 of readings 0..11 when the sensor reads 20
	}{
		{simulators.FaultSpike, []float64{20, 20, 20, 20, 20, 20, 20, 20, 20, 300, 20, 20}},
		{simulators.FaultStuck, []float64{20, 21, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22}},
		{simulators.FaultOutOfRange, []float64{20, 20, 20, 20, -999, 20, 20, 20, 20, -999, 20, 20}},
		{simulators.FaultDrift, []float64{20, 20.9, 21.8, 22.7, 23.6, 24.6, 25.5, 26.5, 27.4, 28.4, 29.4, 30.4}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f := &simulators.SensorFault{Mode: tc.mode}
			for i, want := range tc.want {
				v := 20.0
				if tc.mode == simulators.FaultStuck {
					v = 20 + float64(i) // a live sensor would change
				}
				values := map[string]float64{"pm10": v}
				f.Apply(values)
				if values["pm10"] != want {
					t.Errorf("reading %d: pm10 %v, want %v", i, values["pm10"], want)
				}
			}
		})
	}
	fleet, err := simulators.NewFleet(simulators.FleetOptions{Devices: 8, Kinds: []string{"air_quality"}})
	if err != nil {
		t.Fatal(err)
	}
	simulators.AssignSensorFaults(fleet, []string{"spike", "stuck"}, 0.25)
	for i, d := range fleet {
		want := map[int]string{0: "spike", 4: "stuck"}[i]
		if got := d.Fault; want == "" && got != nil || want != "" && (got == nil || got.Mode != want) {
			t.Errorf("device %d: fault %+v, want %q", i, got, want)
		}
	}
	if simulators.CheckSensorFaults([]string{"spike", "nope"}) == nil {
		t.Error("an unknown fault mode was accepted")
	}
}
