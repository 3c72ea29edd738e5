package ingest

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// SenMLRecord is one resolved SenML record (RFC 8428 section 4.6): base
// values applied, name complete, time absolute in seconds since the epoch.
// Exactly one of Value, StringValue, BoolValue and DataValue is set, or
// Sum, or both a value and Sum.
type SenMLRecord struct {
	Name        string   `json:"n"`
	Unit        string   `json:"u,omitempty"`
	Time        float64  `json:"t"`
	Value       *float64 `json:"v,omitempty"`
	StringValue *string  `json:"vs,omitempty"`
	BoolValue   *bool    `json:"vb,omitempty"`
	DataValue   *string  `json:"vd,omitempty"`
	Sum         *float64 `json:"s,omitempty"`
	Link        string   `json:"l,omitempty"`

	own string // the record's own n, before the base name was prepended
}

type senmlRaw struct {
	BaseName    *string  `json:"bn"`
	BaseTime    *float64 `json:"bt"`
	BaseUnit    *string  `json:"bu"`
	BaseValue   *float64 `json:"bv"`
	BaseSum     *float64 `json:"bs"`
	BaseVersion *int     `json:"bver"`
	Name        string   `json:"n"`
	Unit        string   `json:"u"`
	Value       *float64 `json:"v"`
	StringValue *string  `json:"vs"`
	BoolValue   *bool    `json:"vb"`
	DataValue   *string  `json:"vd"`
	Sum         *float64 `json:"s"`
	Time        *float64 `json:"t"`
	UpdateTime  *float64 `json:"ut"`
	Link        string   `json:"l"`
}

// relativeLimit: SenML times below 2**28 are relative to now (RFC 8428 4.5.3).
const relativeLimit = 1 << 28

// senmlBase holds the base fields in force (RFC 8428 section 4.1): each
// record's base fields replace the ones before for the records after it.
type senmlBase struct {
	name, unit       string
	time, value, sum float64
}

func (b *senmlBase) apply(r *senmlRaw) {
	if r.BaseName != nil {
		b.name = *r.BaseName
	}
	if r.BaseTime != nil {
		b.time = *r.BaseTime
	}
	if r.BaseUnit != nil {
		b.unit = *r.BaseUnit
	}
	if r.BaseValue != nil {
		b.value = *r.BaseValue
	}
	if r.BaseSum != nil {
		b.sum = *r.BaseSum
	}
}

// baseOnly reports whether r only sets base fields for the records after it.
func (r *senmlRaw) baseOnly() bool {
	return r.Name == "" && r.Unit == "" && r.Time == nil &&
		(r.BaseName != nil || r.BaseTime != nil || r.BaseUnit != nil || r.BaseValue != nil || r.BaseSum != nil || r.BaseVersion != nil)
}

// ResolveSenML resolves a SenML JSON pack against now. It returns a
// *Rejection for packs that are not valid SenML.
func ResolveSenML(payload []byte, now time.Time) ([]SenMLRecord, error) {
	var raws []senmlRaw
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&raws); err != nil {
		return nil, jsonRejection("", payload, err)
	}
	if len(raws) == 0 {
		return nil, reject(ReasonEmptyValues, "", "the SenML pack is empty")
	}
	nowSec := float64(now.UnixNano()) / 1e9
	var base senmlBase
	out := make([]SenMLRecord, 0, len(raws))
	for i := range raws {
		r := &raws[i]
		if r.BaseVersion != nil && *r.BaseVersion > 10 {
			return nil, reject(ReasonMalformedJSON, "", "record %d: SenML version %d is not supported", i, *r.BaseVersion)
		}
		base.apply(r)
		rec, n, rej := resolveRecord(i, r, &base, nowSec)
		if rej != nil {
			return nil, rej
		}
		if n == 0 && rec.Sum == nil {
			if r.baseOnly() {
				continue // a record of base fields only sets them for the records after it
			}
			return nil, reject(ReasonEmptyValues, "", "record %d (%s) has no value", i, rec.Name)
		}
		out = append(out, rec)
	}
	return out, nil
}

// resolveRecord applies base to the i-th record r and returns it with its
// number of values (v, vs, vb, vd; the sum apart).
func resolveRecord(i int, r *senmlRaw, base *senmlBase, nowSec float64) (SenMLRecord, int, *Rejection) {
	rec := SenMLRecord{Name: base.name + r.Name, Unit: r.Unit, Link: r.Link, own: r.Name}
	if rec.Unit == "" {
		rec.Unit = base.unit
	}
	t := base.time
	if r.Time != nil {
		t += *r.Time
	}
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return rec, 0, reject(ReasonBadTimestamp, "", "record %d: time is not finite", i)
	}
	if t < relativeLimit {
		t += nowSec
	}
	rec.Time = t
	n := 0
	if r.Value != nil {
		v := *r.Value + base.value
		rec.Value = &v
		n++
	}
	if r.StringValue != nil {
		rec.StringValue = r.StringValue
		n++
	}
	if r.BoolValue != nil {
		rec.BoolValue = r.BoolValue
		n++
	}
	if r.DataValue != nil {
		rec.DataValue = r.DataValue
		n++
	}
	if r.Sum != nil {
		s := *r.Sum + base.sum
		rec.Sum = &s
	}
	if n > 1 {
		return rec, n, reject(ReasonMalformedJSON, "", "record %d (%s) has more than one value", i, rec.Name)
	}
	if rec.Name == "" && (n > 0 || rec.Sum != nil) {
		return rec, n, reject(ReasonBadFieldName, "", "record %d has no name (n or bn)", i)
	}
	return rec, n, nil
}

// senmlUnitFields names a field after its SenML unit when a record has no
// name of its own (all of a device's records share the base name).
var senmlUnitFields = map[string]string{
	"Cel": "temperature", "%RH": "humidity", "Pa": "pressure", "hPa": "pressure", "V": "voltage", "A": "current",
	"W": "power", "%EL": "battery", "dB": "sound_level", "dBA": "laeq", "m/s": "wind", "lx": "illuminance",
	"ug/m3": "pm", "ppm": "ppm", "m": "distance", "%": "percent",
}

// senmlField derives a Kessel field name from a resolved record: its own
// name, else the last segment of the full name, else its unit.
func senmlField(rec *SenMLRecord) string {
	name := rec.own
	if name == "" {
		if f, ok := senmlUnitFields[rec.Unit]; ok && rec.Unit != "" {
			name = f
		} else {
			name = rec.Name
			if i := strings.LastIndexAny(name, ":/"); i >= 0 && i < len(name)-1 {
				name = name[i+1:]
			}
		}
	}
	name = NormalizeField(strings.Map(func(r rune) rune {
		if r == ':' {
			return '_'
		}
		return r
	}, name))
	if rec.Sum != nil && rec.Value == nil && rec.BoolValue == nil {
		name += "_sum"
	}
	return name
}

// decodeSenML turns a pack on a device's readings topic into readings,
// one per distinct time. Numbers and booleans (as 1/0) are stored; string
// and data values are not (Kessel stores numeric time series). Units "lon"
// and "lat" become the reading's location.
func decodeSenML(device string, payload []byte, now time.Time, lim Limits) ([]kessel.Reading, *Rejection) {
	recs, err := ResolveSenML(payload, now)
	if err != nil {
		rej := err.(*Rejection)
		rej.Device = device
		return nil, rej
	}
	p := senmlPack{device: device, byTime: map[float64]*kessel.Reading{}, lons: map[float64]float64{}, lats: map[float64]float64{}}
	for i := range recs {
		if rej := p.add(&recs[i], now, lim); rej != nil {
			return nil, rej
		}
	}
	return p.readings()
}

// senmlPack gathers a pack's records into readings by time.
type senmlPack struct {
	device     string
	byTime     map[float64]*kessel.Reading
	order      []float64
	lons, lats map[float64]float64
}

// senmlMinSec and senmlMaxSec bound the SenML times (seconds) the store can hold.
var senmlMinSec, senmlMaxSec = float64(kessel.MinTime.Unix()), float64(kessel.MaxTime.Unix())

// add puts one record's value into the reading of its time.
func (p *senmlPack) add(rec *SenMLRecord, now time.Time, lim Limits) *Rejection {
	r, ok := p.byTime[rec.Time]
	if !ok {
		if rec.Time < senmlMinSec || rec.Time > senmlMaxSec {
			return reject(ReasonBadTimestamp, p.device, "record %s: time %g s is outside what the store can hold", rec.Name, rec.Time)
		}
		sec, frac := math.Modf(rec.Time)
		ts := time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
		if rej := checkTime(ts, now, lim); rej != nil {
			rej.Device = p.device
			return rej
		}
		r = &kessel.Reading{Device: p.device, Time: ts, Source: "senml", Values: map[string]float64{}}
		p.byTime[rec.Time] = r
		p.order = append(p.order, rec.Time)
	}
	v, ok := senmlNumber(rec)
	switch {
	case !ok:
		return nil // string or data value
	case math.IsNaN(v) || math.IsInf(v, 0):
		return reject(ReasonNonFinite, p.device, "record %s is not finite", rec.Name)
	case rec.Unit == "lon":
		p.lons[rec.Time] = v
		return nil
	case rec.Unit == "lat":
		p.lats[rec.Time] = v
		return nil
	}
	f := senmlField(rec)
	if rej := checkField(p.device, "SenML name", rec.Name, f); rej != nil {
		return rej
	}
	r.Values[f] = v
	if rec.Unit != "" {
		if r.Units == nil {
			r.Units = map[string]string{}
		}
		r.Units[f] = rec.Unit
	}
	if len(r.Values) > lim.MaxFields {
		return reject(ReasonTooManyFields, p.device, "more than %d values at one time", lim.MaxFields)
	}
	return nil
}

// senmlNumber is a record's numeric value: v, vb as 1/0, else s.
func senmlNumber(rec *SenMLRecord) (float64, bool) {
	switch {
	case rec.Value != nil:
		return *rec.Value, true
	case rec.BoolValue != nil:
		if *rec.BoolValue {
			return 1, true
		}
		return 0, true
	case rec.Sum != nil:
		return *rec.Sum, true
	}
	return 0, false
}

// readings returns the pack's readings in the order of their first record,
// with their locations.
func (p *senmlPack) readings() ([]kessel.Reading, *Rejection) {
	out := make([]kessel.Reading, 0, len(p.order))
	for _, t := range p.order {
		r := p.byTime[t]
		lon, okLon := p.lons[t]
		lat, okLat := p.lats[t]
		if okLon && okLat {
			if !kessel.ValidLonLat(lon, lat) {
				return nil, reject(ReasonBadLocation, p.device, "lon %g, lat %g is not a WGS84 position", lon, lat)
			}
			r.Location = &orb.Point{lon, lat}
		}
		if len(r.Values) == 0 && r.Location == nil {
			continue // only strings/data at this time: nothing to store
		}
		out = append(out, *r)
	}
	if len(out) == 0 {
		return nil, reject(ReasonEmptyValues, p.device, "the SenML pack has no numeric or boolean values")
	}
	return out, nil
}
