// Package evidence builds the winter service's proof (Nachweis für den
// Winterdienst): for each road-surface sensor and each route (a named group
// of sensors), one record per day of what was measured, every alert with
// its firing and resolving times, every acknowledgement with who, when and
// their note, and every gap in the data, stated as a gap.
//
// A day is a calendar day in Europe/Berlin (Zone): from local midnight to
// the next, 23 or 25 hours long on the days summer time starts or ends.
// Records carry their own data (statistics, alerts, gaps), never references
// to raw points, so they outlive the raw readings' retention.
//
// Records are tamper-evident: each is written in a canonical form
// (Canonical), hashed with SHA-256 and chained, per subject, to the
// previous day's hash (Seal); Verify recomputes a chain and names the first
// day where it breaks. Everything here but Service is pure.
package evidence

import (
	"fmt"
	"regexp"
	"time"

	"github.com/kessel-city/kessel"
)

// Zone is the time zone whose calendar days records cover.
const Zone = "Europe/Berlin"

// Version is the record format's version, part of every record.
const Version = 1

// Subject types.
const (
	Sensor = "sensor"
	Route  = "route"
)

// Subject is what a chain of records covers: one sensor, or a route of
// several. Its Key ("sensor:road-0001", "route:b27-nord") names the chain.
type Subject struct {
	Type    string   `json:"type"` // Sensor or Route
	ID      string   `json:"id"`
	Name    string   `json:"name,omitempty"`
	Devices []string `json:"devices"`
}

// Key names the subject's chain.
func (s Subject) Key() string { return s.Type + ":" + s.ID }

// RouteConfig is a route as the config file lists it.
type RouteConfig struct {
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name"`
	Devices []string `yaml:"devices"`
}

var routeID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate returns EINVALID naming what is wrong with the route.
func (r RouteConfig) Validate() error {
	switch {
	case !routeID.MatchString(r.ID):
		return kessel.Errorf(kessel.EINVALID, "route %q: id must be 1 to 64 lower-case letters, digits, '-' or '_'", r.ID)
	case len(r.Devices) == 0:
		return kessel.Errorf(kessel.EINVALID, "route %s: devices must list at least one sensor", r.ID)
	}
	for _, d := range r.Devices {
		if !kessel.ValidDeviceID(d) {
			return kessel.Errorf(kessel.EINVALID, "route %s: %s", r.ID, kessel.DeviceIDError(d))
		}
	}
	return nil
}

// Location returns the Zone's location. Go embeds no zone data unless the
// binary imports time/tzdata; cmd/kessel does.
func Location() *time.Location {
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		panic(fmt.Sprintf("evidence: time zone %s: %v (import time/tzdata)", Zone, err))
	}
	return loc
}

// Day is one calendar day in Zone.
type Day struct {
	Date       string    // YYYY-MM-DD
	Start, End time.Time // [Start, End), UTC
}

// ParseDay returns the day named YYYY-MM-DD; EINVALID otherwise, and for
// a day outside what the store can be asked for (from 1970-01-02, whose
// start in Zone is after the epoch, to kessel.MaxTime).
func ParseDay(date string) (Day, error) {
	t, err := time.ParseInLocation(time.DateOnly, date, Location())
	if err != nil {
		return Day{}, kessel.Errorf(kessel.EINVALID, "day %q: want YYYY-MM-DD", date)
	}
	d := dayAt(t)
	if !d.Start.After(time.Unix(0, 0)) || kessel.ValidateTime(d.End) != nil { // InfluxDB reads a bound at or before 1970 as none
		return Day{}, kessel.Errorf(kessel.EINVALID, "day %s is outside what the store can be asked for (1970-01-02 to %s)", date,
			kessel.MaxTime.Format(time.DateOnly))
	}
	return d, nil
}

// DayOf returns the day t falls on in Zone.
func DayOf(t time.Time) Day {
	l := t.In(Location())
	return dayAt(time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, l.Location()))
}

func dayAt(midnight time.Time) Day {
	next := time.Date(midnight.Year(), midnight.Month(), midnight.Day()+1, 0, 0, 0, 0, midnight.Location())
	return Day{Date: midnight.Format(time.DateOnly), Start: midnight.UTC(), End: next.UTC()}
}

// Next returns the following day.
func (d Day) Next() Day { return DayOf(d.End) }

// Record is one subject's day. Its JSON form is the canonical form (see
// Canonical); Hash is left out of what is hashed.
type Record struct {
	Version int       `json:"version"`
	Subject Subject   `json:"subject"`
	Day     string    `json:"day"`
	Zone    string    `json:"zone"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	// GapFactor: silence longer than GapFactor times a sensor's usual
	// interval is a gap.
	GapFactor int         `json:"gap_factor"`
	Sensors   []SensorDay `json:"sensors"`
	BuiltAt   time.Time   `json:"built_at"`
	Prev      string      `json:"prev"` // the previous day's Hash; "" starts a chain
	Hash      string      `json:"hash,omitempty"`
}

// SensorDay is one sensor's day.
type SensorDay struct {
	Device   string `json:"device"`
	Kind     string `json:"kind,omitempty"`
	Name     string `json:"name,omitempty"`
	District string `json:"district,omitempty"`
	Readings int    `json:"readings"`
	// IntervalS is the sensor's usual interval between readings (the
	// median of the day's), seconds.
	IntervalS float64 `json:"interval_s"`
	// Coverage is the share of the day not inside a gap, 0 to 1.
	Coverage float64 `json:"coverage"`
	// Stats by quantity (see Quantities), only those measured.
	Stats  map[string]Stats `json:"stats"`
	Gaps   []Gap            `json:"gaps"`
	Alerts []AlertEntry     `json:"alerts"`
	Acks   []AckEntry       `json:"acks"`
}

// Stats summarises one quantity over a day. Temperatures (°C) have
// BelowZeroH, the hours with a value below 0 °C (each reading counts until
// the next, never across a gap); precipitation (mm) has Sum.
type Stats struct {
	Unit       string   `json:"unit"`
	N          int      `json:"n"`
	Min        float64  `json:"min"`
	Max        float64  `json:"max"`
	Mean       float64  `json:"mean"`
	BelowZeroH *float64 `json:"below_zero_h,omitempty"`
	Sum        *float64 `json:"sum,omitempty"`
}

// Gap is a time the sensor was silent longer than the gap factor allows:
// nothing is known about it.
type Gap struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Minutes float64   `json:"minutes"`
}

// AlertEntry is one firing of an alert that overlaps the day. ResolvedAt
// is zero when the alert was still firing at the day's end.
type AlertEntry struct {
	AlertID    string    `json:"alert_id"`
	RuleID     string    `json:"rule_id"`
	Severity   string    `json:"severity,omitempty"`
	Summary    string    `json:"summary,omitempty"`
	FiredAt    time.Time `json:"fired_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	Value      float64   `json:"value"`
}

// AckEntry is one acknowledgement made during the day.
type AckEntry struct {
	AlertID string    `json:"alert_id"`
	RuleID  string    `json:"rule_id"`
	FiredAt time.Time `json:"fired_at,omitzero"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Note    string    `json:"note,omitempty"`
}
