package simulators_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/simulators"
)

// TestScenariosProduceTheirCondition steps simulated time and checks that
// each scenario makes the condition it promises.
func TestScenariosProduceTheirCondition(t *testing.T) {
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	fleet, err := simulators.NewFleet(simulators.FleetOptions{Devices: len(simulators.Kinds) * 4, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	of := func(kind string) []*simulators.Device {
		var out []*simulators.Device
		for _, d := range fleet {
			if d.Kind == kind {
				out = append(out, d)
			}
		}
		return out
	}
	t.Run("feinstaubalarm: the 24 h PM10 mean passes 50, then clears", func(t *testing.T) {
		sc, _ := simulators.NewScenario("feinstaubalarm", start)
		d := of("air_quality")[0]
		var window []float64
		peak, last := 0.0, 0.0
		for m := 0; m < 6*24*60; m += 10 {
			ts := start.Add(time.Duration(m) * time.Minute)
			v := d.Values(ts)
			sc.Apply(d, ts, v)
			window = append(window, v["pm10"])
			if len(window) > 144 {
				window = window[1:]
			}
			sum := 0.0
			for _, x := range window {
				sum += x
			}
			last = sum / float64(len(window))
			peak = max(peak, last)
		}
		if peak <= 50 || last >= 50 {
			t.Errorf("24 h mean peaked at %.1f and ended at %.1f; want above 50, then below", peak, last)
		}
	})
	t.Run("flood: some gauges rise more than 10 cm in 15 min", func(t *testing.T) {
		sc, _ := simulators.NewScenario("flood", start)
		rising := 0
		for _, d := range of("water_level") {
			prev := map[int]float64{}
			for m := 0; m <= 240; m += 15 {
				ts := start.Add(time.Duration(m) * time.Minute)
				v := d.Values(ts)
				sc.Apply(d, ts, v)
				if p, ok := prev[m-15]; ok && v["level"]-p > 10 {
					rising++
					break
				}
				prev[m] = v["level"]
			}
		}
		if rising == 0 || rising == len(of("water_level")) {
			t.Errorf("%d of %d gauges rose fast; want some, not all", rising, len(of("water_level")))
		}
	})
	t.Run("frost: surfaces below 0 °C before dawn while the air is above", func(t *testing.T) {
		sc, _ := simulators.NewScenario("frost", start)
		air := of("weather")[0]
		for _, d := range of("road_surface") {
			ts := start.Add(4 * time.Hour) // 05:00 local
			v := d.Values(ts)
			sc.Apply(d, ts, v)
			if v["surface_temperature"] > 0 || air.Values(ts)["temperature"] <= 0 {
				t.Errorf("%s at 05:00: surface %.1f, air %.1f", d.ID, v["surface_temperature"], air.Values(ts)["temperature"])
			}
		}
	})
	t.Run("wildfire: smoke at one sensor, then at its neighbours", func(t *testing.T) {
		sc, _ := simulators.NewScenario("wildfire", start)
		fires := of("wildfire")
		at := func(d *simulators.Device, h float64) float64 {
			ts := start.Add(time.Duration(h * float64(time.Hour)))
			v := d.Values(ts)
			sc.Apply(d, ts, v)
			return v["smoke"]
		}
		if at(fires[0], 1.1) < 1.5 || at(fires[1], 1.1) > 1.5 || at(fires[1], 1.5) < 1.5 || at(fires[0], 0.5) > 1.5 {
			t.Error("smoke does not start at the first sensor and spread")
		}
	})
	t.Run("outage: a fifth of the devices go silent", func(t *testing.T) {
		sc, _ := simulators.NewScenario("outage", start)
		silent := 0
		for _, d := range fleet {
			if sc.Silent(d, start.Add(5*time.Minute)) {
				t.Fatal("silent before the outage")
			}
			if sc.Silent(d, start.Add(time.Hour)) {
				silent++
			}
		}
		if silent != len(fleet)/5+1 && silent != len(fleet)/5 {
			t.Errorf("%d of %d silent", silent, len(fleet))
		}
	})
	if _, err := simulators.NewScenario("earthquake", start); err == nil {
		t.Error("unknown scenario accepted")
	}
}

// TestPlacementDenserInTheCentre: over a 5x5 grid of equal areas the
// central one gets more devices than a corner one.
func TestPlacementDenserInTheCentre(t *testing.T) {
	var areas []simulators.Area
	for i := range 5 {
		for j := range 5 {
			x, y := 9.0+float64(i)*0.02, 48.7+float64(j)*0.02
			areas = append(areas, simulators.Area{Name: fmt.Sprintf("%d%d", i, j), Geometry: orb.Polygon{{{x, y}, {x + 0.02, y}, {x + 0.02, y + 0.02}, {x, y + 0.02}, {x, y}}}})
		}
	}
	fleet, err := simulators.NewFleet(simulators.FleetOptions{Devices: 5000, Seed: 9, Areas: areas})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, d := range fleet {
		n[d.District]++
	}
	if n["22"] <= 2*n["00"] || n["00"] == 0 {
		t.Errorf("centre %d devices, corner %d; want the centre denser, corners not empty", n["22"], n["00"])
	}
}

// TestRainCouplesKinds: when it rains, gauges rise (two hours later) and
// particulate matter falls.
func TestRainCouplesKinds(t *testing.T) {
	fleet, _ := simulators.NewFleet(simulators.FleetOptions{Devices: len(simulators.Kinds), Seed: 4})
	var weather, gauge, air *simulators.Device
	for _, d := range fleet {
		switch d.Kind {
		case "weather":
			weather = d
		case "water_level":
			gauge = d
		case "air_quality":
			air = d
		}
	}
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	var wetLevel, dryLevel, wetPM, dryPM []float64
	for m := 0; m < 14*24*60; m += 30 {
		ts := start.Add(time.Duration(m) * time.Minute)
		rained := weather.Values(ts.Add(-2 * time.Hour))["rain"] > 0.5
		if rained {
			wetLevel = append(wetLevel, gauge.Values(ts)["level"])
		} else {
			dryLevel = append(dryLevel, gauge.Values(ts)["level"])
		}
		if weather.Values(ts)["rain"] > 0.5 {
			wetPM = append(wetPM, air.Values(ts)["pm10"])
		} else {
			dryPM = append(dryPM, air.Values(ts)["pm10"])
		}
	}
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	if len(wetLevel) == 0 || mean(wetLevel) <= mean(dryLevel) || mean(wetPM) >= mean(dryPM) {
		t.Errorf("level wet %.1f dry %.1f, pm10 wet %.1f dry %.1f (%d wet samples)", mean(wetLevel), mean(dryLevel), mean(wetPM), mean(dryPM), len(wetLevel))
	}
}

// TestScenarioDevicesAreItsOwn: a scenario publishes under device ids of
// its own, never a live fleet's (whose newer readings would make every
// backfilled one late), in every wire format.
func TestScenarioDevicesAreItsOwn(t *testing.T) {
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for _, name := range simulators.Scenarios {
		t.Run(name, func(t *testing.T) {
			opts := simulators.FleetOptions{Devices: 8, Kinds: []string{"air_quality", "water_level"}, Seed: 1, Formats: []string{"native", "senml", "tts", "airrohr"}}
			live, _ := simulators.NewFleet(opts)
			played, _ := simulators.NewFleet(opts)
			topics := func(devs []*simulators.Device, sc *simulators.Scenario) map[string]bool {
				c := &capture{}
				if _, err := simulators.Run(context.Background(), devs, c, simulators.RunOptions{Count: 16, Now: clock(start), Scenario: sc}); err != nil {
					t.Fatal(err)
				}
				out := map[string]bool{}
				for _, m := range c.msgs {
					out[m.Topic+m.HTTPPath+fmt.Sprint(m.Header)] = true
				}
				return out
			}
			sc, _ := simulators.NewScenario(name, start)
			liveTopics, playedTopics := topics(live, nil), topics(played, sc)
			for tp := range playedTopics {
				if liveTopics[tp] {
					t.Errorf("the scenario publishes as a live device: %s", tp)
				}
			}
			for _, d := range played {
				if !strings.HasPrefix(d.ID, name+"-") || !kessel.ValidDeviceID(d.KesselID()) {
					t.Errorf("device id %q (%q) is not the scenario's own", d.ID, d.KesselID())
				}
			}
			sc.Claim(played) // twice changes nothing
			if strings.Count(played[0].ID, name) != 1 {
				t.Errorf("claimed twice: %s", played[0].ID)
			}
		})
	}
}
