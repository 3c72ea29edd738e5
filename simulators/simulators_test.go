package simulators_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/simulators"
)

// capture is a Publisher that keeps what it is given.
type capture struct {
	mu   sync.Mutex
	msgs []simulators.Message
}

func (c *capture) Publish(_ context.Context, m simulators.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	return nil
}
func (c *capture) Flush(context.Context) error { return nil }
func (c *capture) Failed() int                 { return 0 }

// clock steps a fixed time by one second per call.
func clock(start time.Time) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func run(t *testing.T, seed uint64, formats []string, faults float64, count int) ([]simulators.Message, simulators.Summary) {
	t.Helper()
	fleet, err := simulators.NewFleet(simulators.FleetOptions{Devices: 36, Seed: seed, Formats: formats})
	if err != nil {
		t.Fatal(err)
	}
	c := &capture{}
	sum, err := simulators.Run(context.Background(), fleet, c, simulators.RunOptions{Count: count, Faults: faults, Seed: seed,
		Now: clock(time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	return c.msgs, sum
}

func TestDeterministic(t *testing.T) {
	a, sa := run(t, 42, simulators.Formats, 0.1, 500)
	b, sb := run(t, 42, simulators.Formats, 0.1, 500)
	c, _ := run(t, 43, simulators.Formats, 0.1, 500)
	if len(a) != len(b) || fmt.Sprint(sa.Faults) != fmt.Sprint(sb.Faults) {
		t.Fatalf("same seed, different runs: %d/%d messages, faults %v / %v", len(a), len(b), sa.Faults, sb.Faults)
	}
	same := true
	for i := range a {
		// clock_skew faults use the wall clock; everything else must match byte for byte
		if a[i].Fault != "clock_skew" && string(a[i].Payload) != string(b[i].Payload) {
			t.Fatalf("message %d differs:\n%s\n%s", i, a[i].Payload, b[i].Payload)
		}
		same = same && i < len(c) && string(a[i].Payload) == string(c[i].Payload)
	}
	if same {
		t.Error("a different seed gave the same messages")
	}
}

// TestEveryFormatDecodes round-trips every format through Kessel's own
// decoders: every clean message decodes, every injected fault is rejected.
func TestEveryFormatDecodes(t *testing.T) {
	msgs, sum := run(t, 7, simulators.Formats, 0.2, 2000)
	formats, rejected := map[string]int{}, 0
	for _, m := range msgs {
		if m.Format == "meta" {
			continue
		}
		topic := m.Topic
		if topic == "" {
			topic = kessel.AirrohrPushTopic + m.Header["X-Sensor"]
		}
		d, err := ingest.Decode(topic, m.Payload, m.Sent.Add(time.Second), ingest.Limits{})
		if m.Fault == "" {
			if err != nil {
				t.Fatalf("%s message rejected: %v\n%s", m.Format, err, m.Payload)
			}
			if len(d.Readings) != 1 || len(d.Readings[0].Values) == 0 {
				t.Fatalf("%s message decoded to %+v", m.Format, d.Readings)
			}
			formats[m.Format]++
			continue
		}
		var rej *ingest.Rejection
		if !errors.As(err, &rej) {
			t.Fatalf("%s fault %s accepted: %s", m.Format, m.Fault, m.Payload[:min(300, len(m.Payload))])
		}
		rejected++
	}
	if rejected != sum.DeadLetters {
		t.Errorf("%d faulty messages rejected, summary says %d dead letters", rejected, sum.DeadLetters)
	}
	for _, f := range simulators.Formats {
		if formats[f] == 0 {
			t.Errorf("no clean %s message", f)
		}
	}
	for _, f := range simulators.Faults {
		if sum.Faults[f] == 0 {
			t.Errorf("fault %s never injected in %d messages", f, sum.Sent)
		}
	}
}

// TestPlausibleWeek runs every kind through a simulated week and checks
// ranges and a visible daily cycle.
func TestPlausibleWeek(t *testing.T) {
	fleet, err := simulators.NewFleet(simulators.FleetOptions{Devices: len(simulators.Kinds) * 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ranges := map[string][2]float64{
		"pm10": {0, 300}, "pm25": {0, 250}, "no2": {0, 400}, "temperature": {-30, 45}, "humidity": {0, 100},
		"laeq": {20, 120}, "lamax": {20, 140}, "vehicles": {0, 2000}, "speed": {0, 130}, "occupied": {0, 2000}, "free": {0, 2000},
		"pressure": {900, 1100}, "wind": {0, 60}, "rain": {0, 200}, "level": {0, 1000}, "surface_temperature": {-30, 60},
		"freezing_point": {-30, 0}, "wetness": {0, 1}, "fill": {0, 100}, "smoke": {0, 1000}, "battery": {2, 4.5},
	}
	start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	night, noon := map[string][]float64{}, map[string][]float64{}
	for m := 0; m < 7*24*60; m += 10 {
		ts := start.Add(time.Duration(m) * time.Minute)
		for _, d := range fleet {
			for k, v := range d.Values(ts) {
				r, ok := ranges[k]
				if !ok {
					t.Fatalf("%s: unexpected field %s", d.Kind, k)
				}
				if v < r[0] || v > r[1] {
					t.Fatalf("%s %s = %v at %v, outside %v", d.ID, k, v, ts, r)
				}
				h := (ts.Hour() + 1) % 24
				if h >= 2 && h <= 4 {
					night[d.Kind+"."+k] = append(night[d.Kind+"."+k], v)
				}
				if h >= 12 && h <= 14 {
					noon[d.Kind+"."+k] = append(noon[d.Kind+"."+k], v)
				}
			}
		}
	}
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	for _, k := range []string{"noise.laeq", "traffic.vehicles", "parking.occupied", "weather.temperature"} {
		if mean(noon[k]) <= mean(night[k]) {
			t.Errorf("%s: no daily cycle (noon %.1f, night %.1f)", k, mean(noon[k]), mean(night[k]))
		}
	}
}

func TestFleetErrors(t *testing.T) {
	for _, o := range []simulators.FleetOptions{{Devices: 0}, {Devices: 1, Kinds: []string{"toaster"}}, {Devices: 1, Formats: []string{"xml"}}} {
		if _, err := simulators.NewFleet(o); err == nil || !strings.Contains(err.Error(), "simulators:") {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestMobileTramSensors(t *testing.T) {
	fleet, err := simulators.NewFleet(simulators.FleetOptions{Devices: 90, Kinds: []string{"air_quality"}, Seed: 2, Mobile: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	mobile := 0
	for _, d := range fleet {
		if !d.Mobile {
			continue
		}
		mobile++
		b := simulators.TramLine.Bound()
		t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
		p0 := d.At(t0)
		p1 := d.At(t0.Add(10 * time.Minute))
		if p0 == p1 || !b.Pad(1e-6).Contains(p0) || !b.Pad(1e-6).Contains(p1) {
			t.Fatalf("%s: %v then %v, want moving along the line within %v", d.ID, p0, p1, b)
		}
		m := d.Reading(t0, map[string]float64{"pm10": 1})
		if !strings.Contains(string(m.Payload), `"location":{"lon":`) {
			t.Fatalf("mobile reading without location: %s", m.Payload)
		}
	}
	if mobile < 15 || mobile > 45 {
		t.Errorf("%d of 90 devices mobile, want about 30%%", mobile)
	}
}
