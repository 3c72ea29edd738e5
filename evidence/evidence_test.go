package evidence_test

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/evidence"
)

func TestDewPoint(t *testing.T) {
	tests := []struct {
		name     string
		t, rh    float64
		want     float64
		ok       bool
		tolerate float64
	}{
		{"mild and half saturated", 20, 50, 9.26, true, 0.01},
		{"cool and damp", 10, 80, 6.71, true, 0.01},
		{"saturated air: dew point is the air temperature", 0, 100, 0, true, 1e-9},
		{"frost", -5, 90, -6.39, true, 0.01},
		{"no humidity", 10, 0, 0, false, 0},
		{"over 100 %", 10, 101, 0, false, 0},
		{"outside the formula's range", -60, 50, 0, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := evidence.DewPoint(tc.t, tc.rh)
			if ok != tc.ok || (ok && math.Abs(got-tc.want) > tc.tolerate) {
				t.Errorf("DewPoint(%v, %v) = %.3f, %v; want %.2f, %v", tc.t, tc.rh, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestDays(t *testing.T) {
	tests := []struct {
		date  string
		start string // UTC
		hours float64
	}{
		{"2026-11-30", "2026-11-29T23:00:00Z", 24},
		{"2026-03-29", "2026-03-28T23:00:00Z", 23}, // summer time begins
		{"2026-10-25", "2026-10-24T22:00:00Z", 25}, // summer time ends
		{"2026-07-01", "2026-06-30T22:00:00Z", 24},
	}
	for _, tc := range tests {
		t.Run(tc.date, func(t *testing.T) {
			d, err := evidence.ParseDay(tc.date)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Start.Format(time.RFC3339); got != tc.start || d.End.Sub(d.Start).Hours() != tc.hours {
				t.Errorf("%s: starts %s, %v h; want %s, %v h", tc.date, got, d.End.Sub(d.Start).Hours(), tc.start, tc.hours)
			}
			if again := evidence.DayOf(d.End.Add(-time.Second)); again.Date != tc.date {
				t.Errorf("the day's last second falls on %s", again.Date)
			}
			if next := d.Next(); !next.Start.Equal(d.End) {
				t.Errorf("next day starts %v, want %v", next.Start, d.End)
			}
		})
	}
	// Days the store cannot be asked for are invalid: year 1 and 9999
	// overflowed InfluxDB's nanoseconds, and a range before 1970 reads as
	// none; each answered with 2026's records.
	for _, tc := range []struct {
		date string
		ok   bool
	}{
		{"30.11.2026", false},
		{"0001-01-01", false},
		{"1677-09-21", false}, // starts before the store's first instant
		{"1969-06-01", false}, // InfluxDB reads a bound before 1970 as none
		{"1970-01-01", false}, // starts 1969-12-31T23:00:00Z
		{"1970-01-02", true},
		{"2262-04-11", true},
		{"2262-04-12", false}, // ends after the store's last
		{"9999-12-31", false},
	} {
		if _, err := evidence.ParseDay(tc.date); (err == nil) != tc.ok || err != nil && kessel.ErrorCode(err) != kessel.EINVALID {
			t.Errorf("ParseDay(%s): %v, want ok %v (else EINVALID)", tc.date, err, tc.ok)
		}
	}
}

// local returns the time on the day at a local clock time.
func local(d evidence.Day, hh, mm int) time.Time {
	s := d.Start.In(evidence.Location())
	return time.Date(s.Year(), s.Month(), s.Day(), hh, mm, 0, 0, s.Location()).UTC()
}

// every returns readings of values every step in [from, to).
func every(dev string, from, to time.Time, step time.Duration, values func(time.Time) map[string]float64) []kessel.Reading {
	var out []kessel.Reading
	for t := from; t.Before(to); t = t.Add(step) {
		out = append(out, kessel.Reading{Device: dev, Kind: "road_surface", Time: t, Values: values(t)})
	}
	return out
}

// TestSilentNight: a sensor silent through the night has a gap there, its
// frost hours count no time inside the gap, and the report says so; a
// sensor silent all day has one gap and no statistics.
func TestSilentNight(t *testing.T) {
	day, _ := evidence.ParseDay("2026-11-30")
	dev := kessel.Device{ID: "road-1", Kind: "road_surface"}
	vals := func(t time.Time) map[string]float64 {
		v := 3.0
		if t.Before(local(day, 1, 0)) {
			v = -1 // freezing before the sensor fell silent
		}
		return map[string]float64{"surface_temperature": v, "temperature": 4, "humidity": 90}
	}
	rs := append(every("road-1", day.Start, local(day, 0, 55), 5*time.Minute, vals), every("road-1", local(day, 7, 0), day.End, 5*time.Minute, vals)...)
	rec := evidence.Build(evidence.Subject{Type: evidence.Sensor, ID: "road-1", Devices: []string{"road-1"}}, day,
		[]evidence.SensorInput{{Device: dev, Readings: rs}, {Device: kessel.Device{ID: "road-2"}}}, evidence.Options{}, day.End)
	night, silent := rec.Sensors[0], rec.Sensors[1]
	if len(night.Gaps) != 1 || !night.Gaps[0].From.Equal(local(day, 0, 50)) || !night.Gaps[0].To.Equal(local(day, 7, 0)) {
		t.Fatalf("gaps %+v, want one from 00:50 to 07:00", night.Gaps)
	}
	if night.IntervalS != 300 || night.Coverage != 0.7431 {
		t.Errorf("interval %v s, coverage %v; want 300 s and 17h50m/24h", night.IntervalS, night.Coverage)
	}
	st := night.Stats["surface_temperature"]
	// 00:00 to 00:50 below zero, in 5-minute steps: 11 readings, the last
	// one counting 5 minutes, not the 6 silent hours after it.
	if st.BelowZeroH == nil || *st.BelowZeroH != 0.92 || st.Min != -1 || st.Max != 3 {
		t.Errorf("surface stats %+v (below zero %v h), want min -1, max 3, 0.92 h below zero", st, *st.BelowZeroH)
	}
	if dp, ok := night.Stats["dew_point"]; !ok || dp.Min != 2.51 {
		t.Errorf("dew point %+v, want 2.51 °C from 4 °C and 90 %%", dp)
	}
	if len(silent.Gaps) != 1 || !silent.Gaps[0].From.Equal(day.Start) || !silent.Gaps[0].To.Equal(day.End) || len(silent.Stats) != 0 || silent.Coverage != 0 {
		t.Errorf("a silent sensor: %+v, want one gap over the whole day and no statistics", silent)
	}
	var page bytes.Buffer
	if err := (evidence.Report{Subject: rec.Subject, From: day.Date, To: day.Date, Records: []evidence.Record{rec}}).WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Datenlücke", "30.11.2026 00:50:00 CET", "30.11.2026 07:00:00 CET", "Keine Messwerte an diesem Tag", "Datenabdeckung 0 %"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// frostJournal is the alert journal of a frost night: pending at 00:50,
// firing 01:00, acknowledged 05:40 with a note, resolved 08:00; one
// alert of the day before, resolved then; one firing at 23:30 that
// resolves the next day.
func frostJournal(day evidence.Day) []kessel.Alert {
	a := kessel.Alert{ID: "f1", RuleID: "glaette", Subject: "road-1", Severity: "warning", Summary: "Glättegefahr", Value: -1.5}
	pending, firing := a, a
	pending.State, pending.ActiveAt = kessel.Pending, local(day, 0, 50)
	firing.State, firing.ActiveAt, firing.FiredAt = kessel.Firing, local(day, 0, 50), local(day, 1, 0)
	acked := firing
	acked.AckedBy, acked.AckedAt, acked.AckNote = "fahrer (winterdienst)", local(day, 5, 40), "Streufahrzeug 3 ausgerückt 05:40"
	resolved := acked
	resolved.State, resolved.ResolvedAt, resolved.Value = kessel.Inactive, local(day, 8, 0), 0.5
	before := a
	before.State, before.FiredAt, before.ResolvedAt = kessel.Inactive, local(day, -3, 0), local(day, -2, 0)
	late := a
	late.State, late.FiredAt = kessel.Firing, local(day, 23, 30)
	lateResolved := late
	lateResolved.State, lateResolved.ResolvedAt = kessel.Inactive, local(day, 25, 0)
	lateAcked := lateResolved
	lateAcked.AckedBy, lateAcked.AckedAt, lateAcked.AckNote = "leitstelle (winterdienst)", local(day, 25, 10), "nachts gestreut"
	beforeAcked := before
	beforeAcked.AckedBy, beforeAcked.AckedAt = "leitstelle (winterdienst)", local(day, 24, 30) // the day after, of an alert of the day before
	other := firing
	other.Subject = "road-2"
	return []kessel.Alert{before, pending, firing, acked, other, resolved, late, lateResolved, lateAcked, beforeAcked}
}

func TestAlertsAndAcks(t *testing.T) {
	day, _ := evidence.ParseDay("2026-12-01")
	rec := evidence.Build(evidence.Subject{Type: evidence.Sensor, ID: "road-1"}, day,
		[]evidence.SensorInput{{Device: kessel.Device{ID: "road-1"}, Alerts: frostJournal(day)}}, evidence.Options{}, day.End)
	sd := rec.Sensors[0]
	if len(sd.Alerts) != 2 {
		t.Fatalf("alerts %+v, want the frost night's and the late one", sd.Alerts)
	}
	if a := sd.Alerts[0]; !a.FiredAt.Equal(local(day, 1, 0)) || !a.ResolvedAt.Equal(local(day, 8, 0)) || a.Value != -1.5 {
		t.Errorf("frost alert %+v, want fired 01:00, resolved 08:00, value -1.5", a)
	}
	if a := sd.Alerts[1]; !a.FiredAt.Equal(local(day, 23, 30)) || !a.ResolvedAt.IsZero() {
		t.Errorf("late alert %+v, want fired 23:30 and still firing at the day's end", a)
	}
	if len(sd.Acks) != 2 || sd.Acks[0].Note != "Streufahrzeug 3 ausgerückt 05:40" || !sd.Acks[0].At.Equal(local(day, 5, 40)) || sd.Acks[0].By != "fahrer (winterdienst)" {
		t.Errorf("acks %+v, want the one at 05:40 with its note", sd.Acks)
	}
	if len(sd.Acks) == 2 && (sd.Acks[1].Note != "nachts gestreut" || !sd.Acks[1].FiredAt.Equal(local(day, 23, 30))) {
		t.Errorf("ack %+v, want the next night's of the alert fired at 23:30", sd.Acks[1])
	}
}

// chain builds n sealed days from start.
func chain(t testing.TB, start string, n int) []kessel.EvidenceEntry {
	t.Helper()
	day, _ := evidence.ParseDay(start)
	var out []kessel.EvidenceEntry
	prev := ""
	for range n {
		rs := every("road-1", day.Start, day.End, time.Hour, func(time.Time) map[string]float64 { return map[string]float64{"surface_temperature": 1.5} })
		rec, err := evidence.Seal(evidence.Build(evidence.Subject{Type: evidence.Sensor, ID: "road-1", Devices: []string{"road-1"}}, day,
			[]evidence.SensorInput{{Device: kessel.Device{ID: "road-1"}, Readings: rs, Alerts: frostJournal(day)}}, evidence.Options{}, day.End), prev)
		if err != nil {
			t.Fatal(err)
		}
		e, err := evidence.Entry(rec)
		if err != nil {
			t.Fatal(err)
		}
		out, prev, day = append(out, e), rec.Hash, day.Next()
	}
	return out
}
