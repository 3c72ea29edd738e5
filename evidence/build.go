package evidence

import (
	"math"
	"slices"
	"time"

	"github.com/kessel-city/kessel"
)

// Quantity is a quantity records summarise and the reading fields that
// measure it, the first present field winning. DewPoint has no field: it
// is computed (DewPoint) from air temperature and humidity measured in
// the same reading.
type Quantity struct {
	Name   string
	Unit   string
	Fields []string
	// Temperature quantities get hours below 0 °C; Sum ones a day's total.
	Temperature, Sum bool
}

// Quantities lists what a record summarises, in the report's order.
var Quantities = []Quantity{
	{Name: "surface_temperature", Unit: "°C", Fields: []string{"surface_temperature", "road_temperature"}, Temperature: true},
	{Name: "air_temperature", Unit: "°C", Fields: []string{"air_temperature", "temperature"}, Temperature: true},
	{Name: "humidity", Unit: "%", Fields: []string{"humidity", "relative_humidity"}},
	{Name: "dew_point", Unit: "°C", Temperature: true},
	{Name: "precipitation", Unit: "mm", Fields: []string{"precipitation", "rain"}, Sum: true},
	{Name: "freezing_point", Unit: "°C", Fields: []string{"freezing_point"}},
	{Name: "wetness", Unit: "1", Fields: []string{"wetness"}},
}

// DewPoint returns the dew point in °C for air temperature t (°C) and
// relative humidity rh (%) by the Magnus formula over water with the
// coefficients of the WMO Guide to Instruments and Methods of Observation
// (WMO-No. 8, 2018 edition, Vol. I, Annex 4.B: e_w(t) = 6.112 hPa ·
// exp(17.62 t / (243.12 + t)), for -45 to 60 °C). ok is false when rh is
// not in (0, 100] or t is outside that range.
func DewPoint(t, rh float64) (td float64, ok bool) {
	if !(rh > 0 && rh <= 100) || t < -45 || t > 60 {
		return 0, false
	}
	const a, b = 17.62, 243.12
	g := math.Log(rh/100) + a*t/(b+t)
	return b * g / (a - g), true
}

// Options tunes record building; zero values take the defaults noted.
type Options struct {
	// GapFactor: a sensor silent longer than GapFactor times its usual
	// interval has a gap; default 3.
	GapFactor int
	// DefaultInterval is the usual interval of a sensor with fewer than two
	// readings that day; default 10 minutes.
	DefaultInterval time.Duration
}

func (o *Options) ensureDefaults() {
	if o.GapFactor <= 0 {
		o.GapFactor = 3
	}
	if o.DefaultInterval <= 0 {
		o.DefaultInterval = 10 * time.Minute
	}
}

// SensorInput is what Build needs of one sensor: the device, its readings
// of the day (any order), and the alert journal's states of its alerts
// (kessel.Alert as saved at each transition and acknowledgement, oldest
// first), which may reach beyond the day.
type SensorInput struct {
	Device   kessel.Device
	Readings []kessel.Reading
	Alerts   []kessel.Alert
}

// Build returns the subject's record of day, unsealed (no Prev, no Hash).
// It is a pure function of its arguments.
func Build(s Subject, day Day, ins []SensorInput, o Options, builtAt time.Time) Record {
	o.ensureDefaults()
	rec := Record{Version: Version, Subject: s, Day: day.Date, Zone: Zone, From: day.Start, To: day.End,
		GapFactor: o.GapFactor, Sensors: []SensorDay{}, BuiltAt: builtAt.UTC().Truncate(time.Second)}
	if rec.Subject.Devices == nil {
		rec.Subject.Devices = []string{}
	}
	for _, in := range ins {
		rec.Sensors = append(rec.Sensors, buildSensor(day, in, o))
	}
	return rec
}

func buildSensor(day Day, in SensorInput, o Options) SensorDay {
	rs := make([]kessel.Reading, 0, len(in.Readings))
	for _, r := range in.Readings {
		if !r.Time.Before(day.Start) && r.Time.Before(day.End) {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(a, b kessel.Reading) int { return a.Time.Compare(b.Time) })
	times := make([]time.Time, len(rs))
	for i, r := range rs {
		times[i] = r.Time
	}
	interval := usualInterval(times, o.DefaultInterval)
	sd := SensorDay{Device: in.Device.ID, Kind: in.Device.Kind, Name: in.Device.Name, District: in.Device.District, Readings: len(rs),
		IntervalS: interval.Seconds(), Stats: map[string]Stats{}, Gaps: gaps(day, times, interval*time.Duration(o.GapFactor))}
	silent := time.Duration(0)
	for _, g := range sd.Gaps {
		silent += g.To.Sub(g.From)
	}
	sd.Coverage = round(1-silent.Seconds()/day.End.Sub(day.Start).Seconds(), 4)
	for _, q := range Quantities {
		if st, ok := stats(q, samplesOf(q, rs), day.End, interval); ok {
			sd.Stats[q.Name] = st
		}
	}
	sd.Alerts, sd.Acks = alertsOf(day, in.Device.ID, in.Alerts)
	return sd
}

// usualInterval is the median time between readings.
func usualInterval(times []time.Time, def time.Duration) time.Duration {
	if len(times) < 2 {
		return def
	}
	d := make([]time.Duration, 0, len(times)-1)
	for i := 1; i < len(times); i++ {
		d = append(d, times[i].Sub(times[i-1]))
	}
	slices.Sort(d)
	return max(d[len(d)/2].Round(time.Second), time.Second)
}

// gaps lists the silences longer than limit, including those from the
// day's start to the first reading and from the last to the day's end.
func gaps(day Day, times []time.Time, limit time.Duration) []Gap {
	out := []Gap{}
	add := func(from, to time.Time) {
		if to.Sub(from) > limit {
			out = append(out, Gap{From: from.UTC(), To: to.UTC(), Minutes: round(to.Sub(from).Minutes(), 1)})
		}
	}
	prev := day.Start
	for _, t := range times {
		add(prev, t)
		prev = t
	}
	add(prev, day.End)
	return out
}

type sample struct {
	t time.Time
	v float64
}

// samplesOf picks q's value from each reading.
func samplesOf(q Quantity, rs []kessel.Reading) []sample {
	var out []sample
	for _, r := range rs {
		if v, ok := valueOf(q, r.Values); ok {
			out = append(out, sample{r.Time, v})
		}
	}
	return out
}

func valueOf(q Quantity, vals map[string]float64) (float64, bool) {
	if q.Name == "dew_point" {
		t, okT := valueOf(Quantities[1], vals)
		rh, okH := valueOf(Quantities[2], vals)
		if !okT || !okH {
			return 0, false
		}
		return DewPoint(t, rh)
	}
	for _, f := range q.Fields {
		if v, ok := vals[f]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v, true
		}
	}
	return 0, false
}

// stats summarises samples. A sample counts for the time until the next
// one, at most interval (so never across a gap), the last one until end.
func stats(q Quantity, ss []sample, end time.Time, interval time.Duration) (Stats, bool) {
	if len(ss) == 0 {
		return Stats{}, false
	}
	st := Stats{Unit: q.Unit, N: len(ss), Min: ss[0].v, Max: ss[0].v}
	sum, below := 0.0, time.Duration(0)
	for i, s := range ss {
		st.Min, st.Max, sum = min(st.Min, s.v), max(st.Max, s.v), sum+s.v
		next := end
		if i+1 < len(ss) {
			next = ss[i+1].t
		}
		if s.v < 0 {
			below += min(next.Sub(s.t), interval)
		}
	}
	st.Min, st.Max, st.Mean = round(st.Min, 2), round(st.Max, 2), round(sum/float64(len(ss)), 2)
	if q.Temperature {
		h := round(below.Hours(), 2)
		st.BelowZeroH = &h
	}
	if q.Sum {
		s := round(sum, 2)
		st.Sum = &s
	}
	return st, true
}

func round(v float64, digits int) float64 {
	p := math.Pow10(digits)
	r := math.Round(v*p) / p
	if r == 0 {
		return 0 // no "-0" in the canonical form
	}
	return r
}
