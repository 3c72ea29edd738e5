package simulators

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Sensor fault modes: well-formed messages with the values of a failing
// sensor, for testing quality control (the wire Faults test the decoder).
const (
	// FaultSpike: every 10th reading (the 10th, 20th, …) jumps to ten
	// times its value plus 100, then the sensor is normal again.
	FaultSpike = "spike"
	// FaultStuck: from the 4th reading on, the sensor repeats the values
	// of its 3rd forever.
	FaultStuck = "stuck"
	// FaultDrift: each value drifts away, by 2 % of itself plus 0.5 per
	// reading, compounding (a fouled optical chamber, an ageing cell).
	FaultDrift = "drift"
	// FaultOutOfRange: every 5th reading sends -999 for every value (a
	// sensor's error code, which no quantity can take).
	FaultOutOfRange = "out-of-range"
)

// SensorFaults lists the sensor fault modes.
var SensorFaults = []string{FaultSpike, FaultStuck, FaultDrift, FaultOutOfRange}

// SensorFault is a fault a device's sensor has: its mode and the state
// the mode needs. The zero value is a healthy sensor.
type SensorFault struct {
	Mode  string
	n     int                // readings so far
	stuck map[string]float64 // FaultStuck: the values it repeats
}

// CheckSensorFaults returns an error naming an unknown mode.
func CheckSensorFaults(modes []string) error {
	for _, m := range modes {
		if !slices.Contains(SensorFaults, m) {
			return fmt.Errorf("simulators: unknown sensor fault %q (known: spike, stuck, drift, out-of-range)", m)
		}
	}
	return nil
}

// Apply changes one reading's values as the fault would, in place, and
// counts the reading. It returns whether it changed them.
func (f *SensorFault) Apply(values map[string]float64) bool {
	n := f.n
	f.n++
	switch f.Mode {
	case FaultSpike:
		if (n+1)%10 != 0 {
			return false
		}
		for k, v := range values {
			values[k] = r1(v*10 + 100)
		}
	case FaultStuck:
		switch {
		case n < 2:
			return false
		case n == 2:
			f.stuck = maps.Clone(values)
			return false
		}
		clear(values)
		maps.Copy(values, f.stuck)
	case FaultDrift:
		g := math.Pow(1.02, float64(n))
		for k, v := range values {
			values[k] = r1(v*g + 0.5*float64(n))
		}
	case FaultOutOfRange:
		if (n+1)%5 != 0 {
			return false
		}
		for k := range values {
			values[k] = -999
		}
	default:
		return false
	}
	return true
}

// AssignSensorFaults gives a share (0..1) of the fleet's devices a sensor
// fault, the modes taken in turn: with share 0.25, devices 0, 4, 8, …
// are faulty, device 0 with modes[0], device 4 with modes[1], and so on.
func AssignSensorFaults(fleet []*Device, modes []string, share float64) {
	if len(modes) == 0 || share <= 0 {
		return
	}
	every := max(1, int(math.Round(1/share)))
	for i, d := range fleet {
		if i%every == 0 {
			d.Fault = &SensorFault{Mode: modes[(i/every)%len(modes)]}
		}
	}
}
