// Package simulators models a city's sensor fleet: devices of every kind
// Kessel knows, placed in a city, producing plausible values over time, and
// the wire formats those devices speak. cmd/kessel-sim publishes them.
package simulators

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Device is one simulated sensor. Its value stream is deterministic for a
// given fleet seed.
type Device struct {
	ID       string
	Kind     string
	Location orb.Point
	District string
	// Format is the wire format the device speaks (see Formats).
	Format string
	fcnt   uint32 // LoRaWAN frame counter

	index       int // position in the fleet
	firstOfKind int // index of the first device of the same kind
	// Mobile devices ride a tram line and report where they are.
	Mobile bool
	phase  float64
	// Fault, when set, makes the sensor fail (see SensorFaults).
	Fault *SensorFault

	rng      *rand.Rand
	capacity float64 // parking places, or bin litres
	offset   float64 // per-device bias
	fill     float64 // waste bin
	lastTS   time.Time
}

// Kinds lists every kind the simulator models, in a stable order.
var Kinds = []string{"air_quality", "noise", "traffic", "parking", "weather", "water_level", "road_surface", "waste_bin", "wildfire"}

var prefixes = map[string]string{
	"air_quality": "air", "noise": "noise", "traffic": "traffic", "parking": "parking", "weather": "weather",
	"water_level": "gauge", "road_surface": "road", "waste_bin": "bin", "wildfire": "fire",
}

// Area is where devices are placed: a named polygon (a district).
type Area struct {
	Name     string
	Geometry orb.Geometry // orb.Polygon or orb.MultiPolygon
}

// FleetOptions describes a fleet.
type FleetOptions struct {
	Devices int
	Kinds   []string // default: all Kinds
	Seed    uint64
	// Areas, when given, are where devices are placed (uniformly inside the
	// polygons); otherwise inside Bound.
	Areas []Area
	Bound orb.Bound // default: Stuttgart's basin
	// Formats are assigned round-robin; airrohr only to air_quality
	// devices (the others fall back to native). Default: native.
	Formats []string
	// Mobile is the share (0..1) of air_quality devices that ride the tram
	// line (TramLine) and report their position with each reading; they
	// speak native JSON.
	Mobile float64
}

// TramLine is the line mobile sensors ride: roughly Stuttgart's U1 from
// Vaihingen through the centre to Fellbach (lon, lat).
var TramLine = orb.LineString{{9.107, 48.728}, {9.141, 48.754}, {9.170, 48.770}, {9.180, 48.784}, {9.214, 48.800}, {9.237, 48.806}, {9.262, 48.812}}

// tramPeriod is one return trip.
const tramPeriod = 2 * time.Hour

// At returns where a mobile device is at t (and moves it there): it shuttles
// along TramLine, one return trip per tramPeriod.
func (d *Device) At(t time.Time) orb.Point {
	if !d.Mobile {
		return d.Location
	}
	f := math.Mod(float64(t.UnixNano())/float64(tramPeriod)+d.phase, 1)
	if f > 0.5 {
		f = 1 - f
	}
	f *= 2 // 0..1..0 along the line
	total := 0.0
	for i := 1; i < len(TramLine); i++ {
		total += planar.Distance(TramLine[i-1], TramLine[i])
	}
	want := f * total
	for i := 1; i < len(TramLine); i++ {
		seg := planar.Distance(TramLine[i-1], TramLine[i])
		if want <= seg || i == len(TramLine)-1 {
			k := math.Min(1, want/seg)
			a, b := TramLine[i-1], TramLine[i]
			d.Location = round(orb.Point{a[0] + k*(b[0]-a[0]), a[1] + k*(b[1]-a[1])})
			return d.Location
		}
		want -= seg
	}
	return d.Location
}

// Stuttgart is the default placement box, the Stuttgart basin and its hills.
var Stuttgart = orb.Bound{Min: orb.Point{9.05, 48.70}, Max: orb.Point{9.30, 48.85}}

// NewFleet creates the devices, kinds assigned round-robin. It returns an
// error for an unknown kind or a fleet of less than one device.
func NewFleet(o FleetOptions) ([]*Device, error) {
	if o.Devices < 1 {
		return nil, fmt.Errorf("simulators: a fleet needs at least one device, got %d", o.Devices)
	}
	if len(o.Kinds) == 0 {
		o.Kinds = Kinds
	}
	for _, k := range o.Kinds {
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("simulators: unknown kind %q (known: %s)", k, strings.Join(Kinds, ", "))
		}
	}
	if o.Bound.IsZero() {
		o.Bound = Stuttgart
	}
	if len(o.Formats) == 0 {
		o.Formats = []string{"native"}
	}
	for _, f := range o.Formats {
		if !slices.Contains(Formats, f) {
			return nil, fmt.Errorf("simulators: unknown format %q (known: %s)", f, strings.Join(Formats, ", "))
		}
	}
	place := rand.New(rand.NewPCG(o.Seed, 0x5157))
	devs := make([]*Device, o.Devices)
	counts := map[string]int{}
	for i := range devs {
		kind := o.Kinds[i%len(o.Kinds)]
		counts[kind]++
		d := &Device{
			ID:   fmt.Sprintf("%s-%04d", prefixes[kind], counts[kind]),
			Kind: kind,
			rng:  rand.New(rand.NewPCG(o.Seed, uint64(i)+1)),
		}
		d.index = i
		d.firstOfKind = slices.Index(o.Kinds, kind)
		d.Location, d.District = placeIn(place, o)
		d.Format = o.Formats[i%len(o.Formats)]
		if d.Format == "airrohr" && kind != "air_quality" {
			d.Format = "native"
		}
		if kind == "air_quality" && o.Mobile > 0 && place.Float64() < o.Mobile {
			d.Mobile, d.Format, d.phase = true, "native", place.Float64()
			d.At(time.Unix(0, 0))
		}
		d.offset = d.rng.NormFloat64()
		switch kind {
		case "parking":
			d.capacity = float64(50 + d.rng.IntN(350))
		case "waste_bin":
			d.capacity = 1100
			d.fill = d.rng.Float64() * 60
		}
		devs[i] = d
	}
	return devs, nil
}

// placeIn puts a device uniformly inside an area, choosing central areas
// more often (weight falls off with the distance from the city's centre);
// without areas, half the devices cluster around the box's centre.
func placeIn(rng *rand.Rand, o FleetOptions) (orb.Point, string) {
	if len(o.Areas) == 0 {
		b := o.Bound
		c := b.Center()
		if rng.Float64() < 0.5 {
			for range 100 {
				p := orb.Point{c[0] + rng.NormFloat64()*(b.Max[0]-b.Min[0])/8, c[1] + rng.NormFloat64()*(b.Max[1]-b.Min[1])/8}
				if b.Contains(p) {
					return round(p), ""
				}
			}
		}
		return round(orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}), ""
	}
	var all orb.Bound
	for i, ar := range o.Areas {
		if i == 0 {
			all = ar.Geometry.Bound()
		}
		all = all.Union(ar.Geometry.Bound())
	}
	centre, scale := all.Center(), math.Max(all.Max[0]-all.Min[0], all.Max[1]-all.Min[1])/4
	weights := make([]float64, len(o.Areas))
	total := 0.0
	for i, ar := range o.Areas {
		c := ar.Geometry.Bound().Center()
		weights[i] = math.Exp(-math.Hypot(c[0]-centre[0], c[1]-centre[1]) / scale)
		total += weights[i]
	}
	pick, a := rng.Float64()*total, o.Areas[len(o.Areas)-1]
	for i, w := range weights {
		if pick < w {
			a = o.Areas[i]
			break
		}
		pick -= w
	}
	b := a.Geometry.Bound()
	for range 1000 {
		p := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
		in := false
		switch g := a.Geometry.(type) {
		case orb.Polygon:
			in = planar.PolygonContains(g, p)
		case orb.MultiPolygon:
			in = planar.MultiPolygonContains(g, p)
		}
		if in {
			return round(p), a.Name
		}
	}
	return round(b.Center()), a.Name
}

func round(p orb.Point) orb.Point {
	return orb.Point{math.Round(p[0]*1e6) / 1e6, math.Round(p[1]*1e6) / 1e6}
}

// KesselID is the id Kessel knows the device by: its own id, or for an
// airrohr node esp8266-<chipid>, as the firmware reports it.
func (d *Device) KesselID() string {
	if d.Format == "airrohr" {
		return "esp8266-" + AirrohrChipID(d)
	}
	return d.ID
}

// Reading encodes the device's reading at ts in its wire format.
func (d *Device) Reading(ts time.Time, values map[string]float64) Message {
	switch d.Format {
	case "senml":
		return SenMLReading(d, ts, values)
	case "tts":
		d.fcnt++
		return TTSUplink(d, ts, values, d.fcnt)
	case "airrohr":
		return AirrohrPush(d, values)
	}
	if d.Mobile {
		return NativeReadingAt(d, ts, values, d.At(ts))
	}
	return NativeReading(d, ts, values)
}

// Timestamp returns a time for the device's next reading at now: never
// earlier than, nor equal to, its previous one (millisecond resolution), so
// no two readings of one device share a timestamp.
func (d *Device) Timestamp(now time.Time) time.Time {
	t := now.UTC().Truncate(time.Millisecond)
	if !t.After(d.lastTS) {
		t = d.lastTS.Add(time.Millisecond)
	}
	d.lastTS = t
	return t
}

// hour of day in Stuttgart's local time (CET, ignoring summer time).
func localHour(t time.Time) float64 {
	u := t.UTC()
	return math.Mod(float64(u.Hour())+float64(u.Minute())/60+1, 24)
}

// rush is 0..1, peaking at 8:00 and 17:30 on weekdays.
func rush(t time.Time) float64 {
	h := localHour(t)
	r := math.Exp(-math.Pow(h-8, 2)/2) + math.Exp(-math.Pow(h-17.5, 2)/3)
	if wd := t.UTC().Weekday(); wd == time.Saturday || wd == time.Sunday {
		r *= 0.4
	}
	return math.Min(1, r)
}

// daylight is 0 at night and 1 at midday.
func daylight(t time.Time) float64 {
	return math.Max(0, math.Sin((localHour(t)-6)/12*math.Pi))
}

// rain is the city's rain in mm per hour at t: showers every few hours,
// the same for every device, so weather stations, gauges and air sensors
// agree (rain raises rivers and washes particulate matter out).
func rain(t time.Time) float64 {
	h := float64(t.Unix()) / 3600
	return math.Max(0, 3*math.Sin(h/5.3)+2*math.Sin(h/1.7)-3)
}

// drift is a sensor's slow drift: a per-device rate, in units per 30 days.
func (d *Device) drift(t time.Time) float64 {
	return d.offset * 0.5 * float64(t.Unix()%(365*86400)) / (30 * 86400)
}

// airTemperature is a November day in Stuttgart: 2..9 °C.
func airTemperature(t time.Time) float64 {
	return 5.5 + 3.5*math.Sin((localHour(t)-9)/24*2*math.Pi)
}

func r1(x float64) float64 { return math.Round(x*10) / 10 }
func r2(x float64) float64 { return math.Round(x*100) / 100 }

// Values returns the device's measurements at time t.
func (d *Device) Values(t time.Time) map[string]float64 {
	n := d.rng.NormFloat64
	temp := airTemperature(t) + 0.5*d.offset
	switch d.Kind {
	case "air_quality":
		pm10 := math.Max(1, (18+4*d.offset+14*rush(t)+3*n())/(1+0.3*rain(t))+0.1*math.Abs(d.drift(t)))
		return map[string]float64{
			"pm10": r1(pm10), "pm25": r1(pm10 * (0.55 + 0.05*n())), "no2": r1(math.Max(2, 25+35*rush(t)+5*n())),
			"temperature": r1(temp + 0.3*n()), "humidity": r1(math.Min(100, math.Max(20, 82-15*daylight(t)+3*n()))),
		}
	case "noise":
		laeq := 48 + 3*d.offset + 18*rush(t) + 6*daylight(t) + 2*n()
		return map[string]float64{"laeq": r1(laeq), "lamax": r1(laeq + 12 + 4*math.Abs(n()))}
	case "traffic":
		v := math.Max(0, math.Round(6+140*rush(t)+30*daylight(t)+8*n()))
		return map[string]float64{"vehicles": v, "speed": r1(math.Max(5, 52-25*rush(t)+4*n()))}
	case "parking":
		occ := math.Round(math.Min(d.capacity, math.Max(0, d.capacity*(0.15+0.75*daylight(t))+3*n())))
		return map[string]float64{"occupied": occ, "free": d.capacity - occ}
	case "weather":
		return map[string]float64{
			"temperature": r1(temp + 0.2*n()), "humidity": r1(math.Min(100, 85-20*daylight(t)+2*n())),
			"pressure": r1(1016 + 3*d.offset - 2*rain(t) + 0.5*n()), "wind": r1(math.Abs(2.5 + 1.5*n())), "rain": r1(rain(t) + math.Max(0, 0.1*n())),
		}
	case "water_level":
		return map[string]float64{"level": r1(95 + 10*d.offset + 8*rain(t.Add(-2*time.Hour)) + 0.8*n())}
	case "road_surface":
		surface := temp - 1.5 - 2*(1-daylight(t)) + 0.3*n()
		return map[string]float64{"surface_temperature": r1(surface), "freezing_point": r1(-1.5 - 2*math.Abs(d.offset)), "wetness": r2(math.Min(1, math.Max(0, 0.5+0.2*n())))}
	case "waste_bin":
		d.fill += 0.4 + 0.2*math.Abs(n())
		if d.fill >= 100 {
			d.fill = d.rng.Float64() * 5
		}
		return map[string]float64{"fill": r1(d.fill)}
	case "wildfire":
		return map[string]float64{"smoke": r2(math.Max(0, 0.2+0.1*n())), "temperature": r1(temp + 0.2*n()), "humidity": r1(math.Min(100, 80+2*n())), "battery": r2(3.6 - 0.01*math.Abs(n()))}
	}
	return map[string]float64{}
}

// dropout reports whether this reading is lost, as one in two hundred are
// on real radio links.
func (d *Device) dropout() bool { return d.rng.Float64() < 0.005 }
