package simulators

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Scenarios lists the situations the simulator can play.
var Scenarios = []string{"feinstaubalarm", "flood", "frost", "wildfire", "outage"}

// Scenario changes what devices measure, or whether they send at all,
// from its start on (simulated time).
type Scenario struct {
	Name  string
	Start time.Time
}

// NewScenario returns the named scenario starting at start.
func NewScenario(name string, start time.Time) (*Scenario, error) {
	if !slices.Contains(Scenarios, name) {
		return nil, fmt.Errorf("simulators: unknown scenario %q (known: %s)", name, strings.Join(Scenarios, ", "))
	}
	return &Scenario{Name: name, Start: start}, nil
}

// Claim gives the devices ids of the scenario's own: its name before the
// fleet's id (feinstaubalarm-air-0001). A scenario is often backfilled
// (--start -96h) next to a live fleet of the same kinds; were its devices
// the live ones, each backfilled reading would be older than the device's
// latest and count as late, and no alert would fire. Claiming twice
// changes nothing.
func (s *Scenario) Claim(devs []*Device) {
	if s == nil {
		return
	}
	for _, d := range devs {
		if !strings.HasPrefix(d.ID, s.Name+"-") {
			d.ID = s.Name + "-" + d.ID
		}
	}
}

// Silent reports whether d sends nothing at t (outage: every fifth device
// goes quiet ten minutes in).
func (s *Scenario) Silent(d *Device, t time.Time) bool {
	return s != nil && s.Name == "outage" && t.Sub(s.Start) >= 10*time.Minute && d.index%5 == 0
}

// Apply changes the values d measures at t.
func (s *Scenario) Apply(d *Device, t time.Time, v map[string]float64) {
	if s == nil {
		return
	}
	h := t.Sub(s.Start).Hours()
	switch {
	case s.Name == "feinstaubalarm" && d.Kind == "air_quality":
		// An inversion over the basin: particulate matter builds up for
		// three days (to about 3.5 times its level), then wind clears it.
		f := 1.0
		switch {
		case h < 0:
		case h < 72:
			f = 1 + 2.5*h/72
		case h < 84:
			f = 3.5 - 2.5*(h-72)/12
		}
		v["pm10"] = r1(v["pm10"] * f)
		v["pm25"] = r1(v["pm25"] * f)
		if h >= 72 && h < 96 {
			v["no2"] = r1(v["no2"] * 0.6)
		}
	case s.Name == "flood" && d.Kind == "water_level" && d.index%2 == 0:
		// Heavy rain: half the gauges rise 60 cm an hour for three hours,
		// then fall slowly.
		rise := 0.0
		switch {
		case h < 0:
		case h < 3:
			rise = 60 * h
		default:
			rise = math.Max(0, 180-15*(h-3))
		}
		v["level"] = r1(v["level"] + rise)
	case s.Name == "frost" && d.Kind == "road_surface":
		// A clear night: surfaces radiate below 0 °C before dawn while the
		// air stays above freezing.
		lh := localHour(t)
		if lh >= 1 && lh < 8 {
			v["surface_temperature"] = r1(-1.5 - 0.3*d.offset)
			v["wetness"] = 0.8
		}
	case s.Name == "wildfire" && d.Kind == "wildfire":
		// Smoke at the first fire sensor an hour in; the others follow.
		onset := 1.0
		if d.index != d.firstOfKind {
			onset = 1.25
		}
		if h >= onset {
			v["smoke"] = r2(2.5 + 0.5*math.Abs(d.offset) + (h-onset)*0.5)
			v["temperature"] = r1(v["temperature"] + 15)
			v["humidity"] = r1(v["humidity"] * 0.5)
		}
	}
}
