package quality

import (
	"math"
	"sync"
	"time"

	"github.com/kessel-city/kessel"
)

// Options configures a Checker.
type Options struct {
	// MaxDevices bounds the devices whose history is kept; default
	// 20,000. When full, one device's history is forgotten for each new
	// device (its next values are "not evaluated" by the stateful tests).
	MaxDevices int
	// Sensor returns a device's sensor type (its "sensor" label, such as
	// sds011) or "". It is asked once per device and history.
	Sensor func(device string) string
}

// Checker runs the tests on readings. The stateful tests (spike, rate of
// change, flat line, timing) keep, per device and field, the last four
// values and the length of the current run of equal values: about 300
// bytes per field. Nothing is persisted: after a restart (or once a
// device's history was evicted) they answer "not evaluated" until a
// device has sent again (rate, flat line, timing: 1 reading; spike: 3).
// A Checker is safe for concurrent use.
type Checker struct {
	cfg        Config
	quantities map[string]*Quantity
	opts       Options

	mu      sync.Mutex
	devices map[string]*deviceState
	evicted uint64
	values  []value // scratch: the values of the reading being checked
}

type deviceState struct {
	id, kind, district, sensor string
	last                       time.Time
	seq                        uint64 // readings checked
	fieldsLast                 int    // how many fields the last reading had
	fields                     map[string]*fieldState
}

type fieldState struct {
	flagKey, testsKey, corKey string
	q                         *Quantity
	gross, climate            *Range
	corr                      *Correction

	recent    [4]float64
	n, pos    int
	last      float64
	lastTime  time.Time
	run       int
	lastFlag  Flag
	lastTests Test
	seq       uint64 // the device's reading that last had this field
}

// New returns a Checker for a validated config (Config.Validate).
func New(cfg Config, opts Options) *Checker {
	if opts.MaxDevices <= 0 {
		opts.MaxDevices = 20_000
	}
	qs := map[string]*Quantity{}
	for name, q := range Quantities {
		qs[name] = &q
	}
	for name, q := range cfg.Quantities {
		qs[name] = &q
	}
	return &Checker{cfg: cfg, quantities: qs, opts: opts, devices: map[string]*deviceState{}}
}

// Devices returns how many devices have a history, and how many histories
// were evicted to stay within MaxDevices.
func (c *Checker) Devices() (n int, evicted uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.devices), c.evicted
}

// Check runs the tests on r and writes their flags into r.Values beside
// the values ("qc.<field>", and "qct.<field>" for a suspect or failed
// value), with corrected values ("cor.<field>") and r.Correction where a
// correction applies. received is when the reading arrived. Measured
// values are never changed. It returns the worst flag.
func (c *Checker) Check(r *kessel.Reading, received time.Time) Flag {
	c.mu.Lock()
	defer c.mu.Unlock()
	ds := c.device(r)
	vs := c.values[:0]
	for k, v := range r.Values {
		if kessel.Measured(k) {
			vs = append(vs, value{k, v, c.field(ds, k)})
		}
	}
	c.values = vs[:0]
	if c.redelivered(ds, r, vs) {
		return c.annotate(ds, r, vs, false)
	}
	timing, inOrder := c.timing(ds, r, received)
	worst, again := Flag(0), 0
	for _, e := range vs {
		fs, v := e.fs, e.v
		if fs.seq+1 == ds.seq {
			again++ // this field was in the last reading too
		}
		flag, tests := fs.static(v)
		if timing != Pass {
			flag, tests = worse(flag, timing), tests|Timing
		} else {
			flag = worse(flag, Pass)
		}
		// A physically impossible value is not compared with the past, nor
		// kept as the past of the next value (its recovery is no spike).
		if inOrder && tests&GrossRange == 0 {
			f, t := fs.stateful(v, r.Time)
			flag, tests = worse(flag, f), tests|t
		}
		fs.lastFlag, fs.lastTests, fs.seq = flag, tests, ds.seq
		worst = max(worst, flag)
	}
	if inOrder {
		ds.last = r.Time
	}
	c.annotate(ds, r, vs, again < ds.fieldsLast)
	ds.fieldsLast = len(vs)
	return worst
}

// value is a measured value of the reading being checked, with its history.
type value struct {
	name string
	v    float64
	fs   *fieldState
}

// device finds or makes the device's history, evicting one when full.
func (c *Checker) device(r *kessel.Reading) *deviceState {
	ds, ok := c.devices[r.Device]
	if !ok {
		if len(c.devices) >= c.opts.MaxDevices {
			for id := range c.devices {
				delete(c.devices, id)
				c.evicted++
				break
			}
		}
		ds = &deviceState{id: r.Device, kind: r.Kind, district: r.District, fields: map[string]*fieldState{}}
		if c.opts.Sensor != nil {
			ds.sensor = c.opts.Sensor(r.Device)
		}
		c.devices[r.Device] = ds
	}
	if ds.kind != r.Kind || ds.district != r.District {
		ds.kind, ds.district = r.Kind, r.District
		for name, fs := range ds.fields {
			c.limits(ds, name, fs)
		}
	}
	ds.seq++
	return ds
}

// field finds or makes a field's history.
func (c *Checker) field(ds *deviceState, name string) *fieldState {
	fs, ok := ds.fields[name]
	if !ok {
		fs = &fieldState{flagKey: FlagPrefix + name, testsKey: TestsPrefix + name, corKey: CorrectionPrefix + name}
		c.limits(ds, name, fs)
		ds.fields[name] = fs
	}
	return fs
}

// limits resolves a field's limits for its device's kind, district and sensor.
func (c *Checker) limits(ds *deviceState, name string, fs *fieldState) {
	fs.q = c.quantities[name]
	fs.gross = nil
	if fs.q != nil {
		fs.gross = c.cfg.gross(ds.sensor, name, *fs.q)
	}
	fs.climate = c.cfg.climate(ds.id, ds.kind, ds.district, name)
	fs.corr = nil
	for i := range c.cfg.Corrections {
		if c.cfg.Corrections[i].applies(ds.kind, ds.sensor, name) {
			fs.corr = &c.cfg.Corrections[i]
			break
		}
	}
}

// timing is the timing test: a reading older than LateAfter (when set)
// when it arrived, older than the device's last one, or at the same time
// with other values, is suspect. inOrder is false for the last two: they do
// not enter the history.
func (c *Checker) timing(ds *deviceState, r *kessel.Reading, received time.Time) (f Flag, inOrder bool) {
	f, inOrder = Pass, ds.last.IsZero() || r.Time.After(ds.last)
	if !inOrder || c.cfg.LateAfter > 0 && !received.IsZero() && received.Sub(r.Time) > c.cfg.LateAfter {
		f = Suspect
	}
	return f, inOrder
}

// redelivered reports whether r repeats the device's last reading (same
// time, same values): a redelivery, whose flags stay those of the first.
func (c *Checker) redelivered(ds *deviceState, r *kessel.Reading, vs []value) bool {
	if ds.last.IsZero() || !r.Time.Equal(ds.last) || len(vs) == 0 {
		return false
	}
	for _, e := range vs {
		if e.fs.n == 0 || !e.fs.lastTime.Equal(r.Time) || e.fs.last != e.v {
			return false
		}
	}
	return true
}

// annotate writes the flags and the corrections, and, when some field of
// the last reading is missing from this one, its flag Missing.
func (c *Checker) annotate(ds *deviceState, r *kessel.Reading, vs []value, missing bool) Flag {
	worst := Flag(0)
	for _, e := range vs {
		fs := e.fs
		r.Values[fs.flagKey] = float64(fs.lastFlag)
		if fs.lastTests != 0 {
			r.Values[fs.testsKey] = float64(fs.lastTests)
		}
		worst = max(worst, fs.lastFlag)
		if fs.corr != nil {
			c.correct(ds, fs, r, e.v)
		}
	}
	if missing {
		for _, fs := range ds.fields {
			if fs.seq+1 == ds.seq { // in the last reading, not in this one
				r.Values[fs.flagKey] = float64(Missing)
			}
		}
	}
	return worst
}

// correct writes the corrected value of a field, when the humidity it
// needs was measured and is not suspect or failed.
func (c *Checker) correct(ds *deviceState, fs *fieldState, r *kessel.Reading, v float64) {
	h, ok := r.Values[fs.corr.Humidity]
	if !ok {
		return
	}
	if hs, ok := ds.fields[fs.corr.Humidity]; !ok || !Passing(hs.lastFlag) {
		return
	}
	if f, ok := fs.corr.factor(h); ok {
		r.Values[fs.corKey] = v / f
		r.Correction = fs.corr.id
	}
}

// static runs the tests that need no history: gross and climate range.
func (fs *fieldState) static(v float64) (Flag, Test) {
	flag, tests := NotEvaluated, Test(0)
	if fs.gross != nil {
		if fs.gross.contains(v) {
			flag = worse(flag, Pass)
		} else {
			flag, tests = Fail, GrossRange
		}
	}
	if fs.climate != nil {
		if fs.climate.contains(v) {
			flag = worse(flag, Pass)
		} else {
			flag, tests = worse(flag, Suspect), tests|Climatology
		}
	}
	return flag, tests
}

// stateful runs spike, rate of change and flat line against the history
// and then adds v (measured at t) to it.
func (fs *fieldState) stateful(v float64, t time.Time) (Flag, Test) {
	flag, tests := NotEvaluated, Test(0)
	q := fs.q
	if q != nil && fs.n > 0 {
		if q.RatePerMinute > 0 {
			if dt := t.Sub(fs.lastTime).Minutes(); dt > 0 && dt <= 60 {
				if math.Abs(v-fs.last)/max(dt, 1) > q.RatePerMinute {
					flag, tests = worse(flag, Suspect), tests|RateOfChange
				} else {
					flag = worse(flag, Pass)
				}
			}
		}
		if fs.n >= 3 && q.SpikeSuspect.on() {
			med := fs.median()
			d := math.Abs(v - med)
			switch {
			case q.SpikeFail.on() && d > q.SpikeFail.at(med):
				flag, tests = worse(flag, Fail), tests|Spike
			case d > q.SpikeSuspect.at(med):
				flag, tests = worse(flag, Suspect), tests|Spike
			default:
				flag = worse(flag, Pass)
			}
		}
	}
	if q != nil && q.FlatSuspect > 0 {
		if fs.n > 0 && math.Abs(v-fs.last) <= q.FlatTolerance {
			fs.run++
		} else {
			fs.run = 1
		}
		switch {
		case q.FlatFail > 0 && fs.run >= q.FlatFail:
			flag, tests = worse(flag, Fail), tests|FlatLine
		case fs.run >= q.FlatSuspect:
			flag, tests = worse(flag, Suspect), tests|FlatLine
		case fs.n > 0:
			flag = worse(flag, Pass)
		}
	}
	fs.recent[fs.pos] = v
	fs.pos = (fs.pos + 1) % len(fs.recent)
	fs.n = min(fs.n+1, len(fs.recent))
	fs.last, fs.lastTime = v, t
	return flag, tests
}

// median of the last values (up to four).
func (fs *fieldState) median() float64 {
	var s [4]float64
	n := copy(s[:], fs.recent[:fs.n])
	for i := 1; i < n; i++ { // insertion sort of at most four
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
