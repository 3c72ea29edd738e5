package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

var _ api.HourlyMeans = (*influx.Client)(nil)

// aqPoint is one raw value written to InfluxDB.
type aqPoint struct {
	device, field string
	t             time.Time
	v             float64
}

// aqExpected is what the test computes from the raw points itself: the
// EU rules restated in the plainest way (hour = UTC clock hour; day = the
// date at UTC+1; a daily mean from 18 or more hourly means).
type aqExpected struct {
	hours, days, incomplete, exceed50 int
	annual                            float64
	daily                             map[string]float64 // date -> mean, NaN without one
}

var utcPlus1 = time.FixedZone("UTC+1", 3600)

// hourlyOf returns device -> unix hour -> mean of that hour's values.
func hourlyOf(ps []aqPoint, field string) map[string]map[int64]float64 {
	type acc struct {
		sum float64
		n   int
	}
	accs := map[string]map[int64]*acc{}
	for _, p := range ps {
		if p.field != field {
			continue
		}
		if accs[p.device] == nil {
			accs[p.device] = map[int64]*acc{}
		}
		h := p.t.Unix() / 3600 * 3600
		if accs[p.device][h] == nil {
			accs[p.device][h] = &acc{}
		}
		accs[p.device][h].sum += p.v
		accs[p.device][h].n++
	}
	out := map[string]map[int64]float64{}
	for d, hs := range accs {
		out[d] = map[int64]float64{}
		for h, a := range hs {
			out[d][h] = a.sum / float64(a.n)
		}
	}
	return out
}

// expect computes the statistics of the devices' field for the year; with
// several devices, of the per-hour mean of their hourly means.
func expect(ps []aqPoint, field string, year int, devices ...string) aqExpected {
	per := hourlyOf(ps, field)
	sum, n := map[int64]float64{}, map[int64]int{}
	for _, d := range devices {
		for h, v := range per[d] {
			sum[h] += v
			n[h]++
		}
	}
	e := aqExpected{daily: map[string]float64{}}
	daySum, dayN := map[string]float64{}, map[string]int{}
	total := 0.0
	for h := range sum {
		t := time.Unix(h, 0).In(utcPlus1)
		if t.Year() != year {
			continue
		}
		v := sum[h] / float64(n[h])
		e.hours++
		total += v
		date := t.Format(time.DateOnly)
		daySum[date] += v
		dayN[date]++
	}
	e.annual = total / float64(e.hours)
	for date, c := range dayN {
		if c < 18 {
			e.incomplete++
			e.daily[date] = math.NaN()
			continue
		}
		m := daySum[date] / float64(c)
		e.daily[date] = m
		e.days++
		if m > 50 {
			e.exceed50++
		}
	}
	return e
}

// aqAnswer is the part of the JSON answer the tests compare.
type aqAnswer struct {
	Year       int    `json:"year"`
	Class      string `json:"measurement_class"`
	Indicative bool   `json:"indicative"`
	Note       string `json:"note"`
	Pollutants []struct {
		Pollutant      string   `json:"pollutant"`
		Class          string   `json:"measurement_class"`
		Indicative     bool     `json:"indicative"`
		Hours          int      `json:"hours"`
		Days           int      `json:"days"`
		IncompleteDays int      `json:"incomplete_days"`
		AnnualMean     *float64 `json:"annual_mean"`
		HourCoverage   float64  `json:"hour_coverage"`
		Assessments    []struct {
			Standard, Period, Status string
			Limit, Value, Coverage   float64
			Allowed                  int
		} `json:"assessments"`
		Daily []struct {
			Date  string   `json:"date"`
			Hours int      `json:"hours"`
			Mean  *float64 `json:"mean"`
		} `json:"daily"`
	} `json:"pollutants"`
	Devices []struct {
		Device     string `json:"device"`
		Class      string `json:"measurement_class"`
		Indicative bool   `json:"indicative"`
		Note       string `json:"note"`
	} `json:"devices"`
}

// compare checks one pollutant of an answer against the independent figures.
func compare(t *testing.T, got aqAnswer, pollutant string, want aqExpected) {
	t.Helper()
	for _, p := range got.Pollutants {
		if p.Pollutant != pollutant {
			continue
		}
		if p.Hours != want.hours || p.Days != want.days || p.IncompleteDays != want.incomplete || p.AnnualMean == nil || math.Abs(*p.AnnualMean-want.annual) > 1e-9 {
			t.Errorf("%s: hours %d days %d incomplete %d annual %v; want %d %d %d %v", pollutant, p.Hours, p.Days, p.IncompleteDays, p.AnnualMean, want.hours, want.days, want.incomplete, want.annual)
		}
		if len(p.Daily) != len(want.daily) {
			t.Errorf("%s: %d days listed, want %d", pollutant, len(p.Daily), len(want.daily))
		}
		for _, d := range p.Daily {
			w, ok := want.daily[d.Date]
			if !ok || math.IsNaN(w) != (d.Mean == nil) || d.Mean != nil && math.Abs(*d.Mean-w) > 1e-9 {
				t.Errorf("%s %s: mean %v from %d hours, want %v", pollutant, d.Date, d.Mean, d.Hours, w)
			}
		}
		for _, a := range p.Assessments {
			if a.Standard == "2008/50/EC" && a.Period == "1d" && (a.Value != float64(want.exceed50) || a.Limit != 50 || a.Allowed != 35) {
				t.Errorf("%s: PM10 days above 50: %+v, want %d", pollutant, a, want.exceed50)
			}
		}
		return
	}
	t.Errorf("no %s in %+v", pollutant, got.Pollutants)
}

// hourOfValues adds n readings spread over the hour starting at h.
func hourOfValues(ps []aqPoint, device, field string, h time.Time, vs ...float64) []aqPoint {
	for i, v := range vs {
		ps = append(ps, aqPoint{device, field, h.Add(time.Duration(i) * 60 / time.Duration(len(vs)) * time.Minute), v})
	}
	return ps
}

func writePoints(t *testing.T, store *influx.Client, ps []aqPoint) {
	t.Helper()
	rs := make([]kessel.Reading, len(ps))
	for i, p := range ps {
		rs[i] = kessel.Reading{Device: p.device, Kind: "air_quality", Time: p.t, Values: map[string]float64{p.field: p.v}}
	}
	if err := store.WriteReadings(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
}

func aqFixture(t *testing.T) (*fixture, *influx.Client) {
	t.Helper()
	srv := influxtest.Start(t)
	store, err := influx.New(influx.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, srv.URL, func(o *api.Options) { o.AirQuality = store })
	return f, store
}

// TestAirQualityAgainstRawData writes known readings (a day of 17 hourly
// values, one of 18, a full one, hours on both sides of a year boundary,
// NO2 hours above 200, a second device and an internal one in the same
// district), computes the statistics from those raw points independently
// and compares them with the endpoints.
func TestAirQualityAgainstRawData(t *testing.T) {
	f, store := aqFixture(t)
	for _, d := range []kessel.Device{
		{ID: "air-1", Kind: "air_quality", Location: &orb.Point{9.18, 48.78}, Visibility: kessel.Public, MeasurementClass: kessel.Reference},
		{ID: "air-3", Kind: "air_quality", Location: &orb.Point{9.175, 48.775}, Visibility: kessel.Public},
	} {
		if err := f.reg.Put(d); err != nil {
			t.Fatal(err)
		}
	}
	cet := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, utcPlus1) }
	var ps []aqPoint
	for h := range 17 { // 10 March: 17 hours, no daily mean (it would exceed)
		ps = hourOfValues(ps, "air-1", "pm10", cet(2025, 3, 10, h), 80, 90, 100)
	}
	for h := range 18 { // 11 March: 18 hours, a daily mean of 60
		ps = hourOfValues(ps, "air-1", "pm10", cet(2025, 3, 11, h), 55, 65)
	}
	for h := range 24 {
		ps = hourOfValues(ps, "air-1", "pm10", cet(2025, 3, 12, h), 20+float64(h), 21)
		no2 := 30.0
		if h >= 7 && h < 10 {
			no2 = 210
		}
		ps = hourOfValues(ps, "air-1", "no2", cet(2025, 3, 12, h), no2)
		ps = hourOfValues(ps, "secret-1", "pm10", cet(2025, 3, 11, h), 500)
	}
	for h := 5; h < 24; h++ {
		ps = hourOfValues(ps, "air-3", "pm10", cet(2025, 3, 11, h), 40, 44)
	}
	// 23:10 CET on 31 December is 2025; 00:10 CET on 1 January (23:10 UTC) is 2026.
	ps = hourOfValues(ps, "air-1", "pm10", time.Date(2025, 12, 31, 22, 10, 0, 0, time.UTC), 70)
	for h := range 19 {
		ps = hourOfValues(ps, "air-1", "pm10", cet(2026, 1, 1, h).Add(10*time.Minute), 10+float64(h))
	}
	writePoints(t, store, ps)

	get := func(path string, hdr ...string) aqAnswer {
		t.Helper()
		resp, body := f.get(t, path, hdr...)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		var a aqAnswer
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := get("/api/v1/airquality/devices/air-1/2025?daily=true")
	if a.Class != "reference" || a.Indicative || a.Note != "" || len(a.Pollutants) != 2 {
		t.Errorf("air-1: class %q indicative %v note %q, %d pollutants", a.Class, a.Indicative, a.Note, len(a.Pollutants))
	}
	compare(t, a, "pm10", expect(ps, "pm10", 2025, "air-1"))
	compare(t, a, "no2", expect(ps, "no2", 2025, "air-1"))
	for _, p := range a.Pollutants {
		for _, as := range p.Assessments {
			if p.Pollutant == "no2" && as.Period == "1h" && as.Value != 3 {
				t.Errorf("NO2 hours above 200: %+v, want 3", as)
			}
		}
	}
	compare(t, get("/api/v1/airquality/devices/air-1/2026?daily=true"), "pm10", expect(ps, "pm10", 2026, "air-1"))

	d := get("/api/v1/airquality/districts/mitte/2025?daily=true")
	compare(t, d, "pm10", expect(ps, "pm10", 2025, "air-1", "air-3"))
	if d.Class != "indicative" || !d.Indicative || d.Note == "" || len(d.Devices) != 2 ||
		d.Devices[0].Device != "air-1" || d.Devices[0].Indicative || d.Devices[1].Device != "air-3" || !d.Devices[1].Indicative || d.Devices[1].Note == "" {
		t.Errorf("district Mitte: class %q indicative %v note %q devices %+v", d.Class, d.Indicative, d.Note, d.Devices)
	}
	internal := get("/api/v1/airquality/districts/mitte/2025?daily=true", "Authorization", "Bearer "+testKeys["data:internal"])
	compare(t, internal, "pm10", expect(ps, "pm10", 2025, "air-1", "air-3", "secret-1"))
	if len(internal.Devices) != 3 {
		t.Errorf("with data:internal: devices %+v", internal.Devices)
	}

	resp, body := f.get(t, "/api/v1/airquality/devices/air-3/2025?format=csv")
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) != 5 {
		t.Fatalf("CSV: %v %q %d rows:\n%s", err, resp.Header.Get("Content-Type"), len(rows), body)
	}
	for _, r := range rows[1:] {
		if r[1] != "device" || r[2] != "air-3" || r[3] != "indicative" || r[4] != "true" || r[5] != "pm10" {
			t.Errorf("CSV row %v", r)
		}
	}
	resp, body = f.get(t, "/api/v1/airquality/districts/mitte/2025", "Accept", "text/csv")
	if rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll(); err != nil || resp.StatusCode != 200 || len(rows) != 1+(4+5)+(4+5)+4 || rows[1][1] != "district" {
		t.Errorf("district CSV (%d, %v):\n%s", resp.StatusCode, err, body)
	}
}

// TestAirQualitySensorCommunity feeds a week of a real SDS011's readings
// (Sensor.Community archive, November 2018, timestamps UTC) and compares
// the daily means with an independent computation. The files hold UTC
// days: the first CET day misses its first hour (23 hours, still a daily
// mean), and 23:00-24:00 UTC of the last file is a CET day of one hour.
func TestAirQualitySensorCommunity(t *testing.T) {
	dir := filepath.Join(testenv.ModuleRoot(), "..", "shared", "data", "timeseries", "sensor-community-archive")
	files, _ := filepath.Glob(filepath.Join(dir, "2018-11-0*_sds011_sensor_15092.csv"))
	if len(files) != 7 {
		testenv.Missing(t, "the Sensor.Community archive is absent (../shared/data/timeseries): %d files in %s", len(files), dir)
	}
	f, store := aqFixture(t)
	if err := f.reg.Put(kessel.Device{ID: "sds-15092", Kind: "air_quality", Location: &orb.Point{9.21, 48.78}, Visibility: kessel.Public}); err != nil {
		t.Fatal(err)
	}
	var ps []aqPoint
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(strings.NewReader(string(b)))
		r.Comma = ';'
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows[1:] {
			at, err := time.Parse("2006-01-02T15:04:05", row[5])
			if err != nil {
				t.Fatal(err)
			}
			for field, col := range map[string]int{"pm10": 6, "pm25": 9} {
				if v, err := strconv.ParseFloat(row[col], 64); err == nil {
					ps = append(ps, aqPoint{"sds-15092", field, at, v})
				}
			}
		}
	}
	writePoints(t, store, ps)
	resp, body := f.get(t, "/api/v1/airquality/devices/sds-15092/2018?daily=true")
	var a aqAnswer
	if err := json.Unmarshal(body, &a); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v: %s", resp.StatusCode, err, body)
	}
	if !a.Indicative || a.Note == "" {
		t.Errorf("an SDS011 without a class must be labelled indicative: %+v", a)
	}
	for _, p := range []string{"pm10", "pm25"} {
		want := expect(ps, p, 2018, "sds-15092")
		if want.days != 7 || want.incomplete != 1 {
			t.Errorf("%s: the archive should give 7 full CET days and a partial one, not %d and %d", p, want.days, want.incomplete)
		}
		compare(t, a, p, want)
	}
}

func TestAirQualityErrors(t *testing.T) {
	f := newFixtureWith(t, "", func(o *api.Options) { o.AirQuality = stubHourly{} })
	for _, tc := range []struct {
		name, path string
		status     int
		detail     string
	}{
		{"year not a number", "/api/v1/airquality/devices/air-1/20x5", 400, "calendar year"},
		{"year too short", "/api/v1/airquality/devices/air-1/25", 400, "calendar year"},
		{"year to come", "/api/v1/airquality/devices/air-1/2027", 400, "has not begun"},
		{"bad daily", "/api/v1/airquality/devices/air-1/2025?daily=yes", 400, "daily"},
		{"geojson", "/api/v1/airquality/devices/air-1/2025?format=geojson", 400, "JSON or CSV"},
		{"unknown device", "/api/v1/airquality/devices/nope/2025", 404, "not found"},
		{"internal device", "/api/v1/airquality/devices/secret-1/2025", 404, "not found"},
		{"bad device id", "/api/v1/airquality/devices/a%20b/2025", 400, "device id"},
		{"unknown district", "/api/v1/airquality/districts/atlantis/2025", 404, "atlantis"},
		{"store down", "/api/v1/airquality/devices/air-2/2025", 503, "InfluxDB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.get(t, tc.path)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), tc.detail) {
				t.Errorf("%d %q: %s; want %d with %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status, tc.detail)
			}
		})
	}
	off := newFixture(t, "")
	if resp, body := off.get(t, "/api/v1/airquality/devices/air-1/2025"); resp.StatusCode != 503 {
		t.Errorf("without a source: %d %s", resp.StatusCode, body)
	}
}

// stubHourly answers no hourly means, one hour of NO2 and PM10 for ppb-1,
// and fails for air-2 as InfluxDB does.
type stubHourly struct{}

func (stubHourly) HourlyMeans(_ context.Context, devices, _ []string, from, _ time.Time) ([]kessel.Reading, error) {
	switch {
	case len(devices) == 1 && devices[0] == "air-2":
		return nil, &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}
	case len(devices) == 1 && devices[0] == "ppb-1":
		return []kessel.Reading{{Device: "ppb-1", Time: from, Values: map[string]float64{"no2": 21, "pm10": 30}}}, nil
	}
	return nil, nil
}

// TestAirQualityUnits: a pollutant a device reports in another unit than
// µg/m³ is left out and named, never compared with µg/m³ limits.
func TestAirQualityUnits(t *testing.T) {
	f := newFixtureWith(t, "", func(o *api.Options) { o.AirQuality = stubHourly{} })
	if err := f.reg.Put(kessel.Device{ID: "ppb-1", Kind: "air_quality", Visibility: kessel.Public, Units: map[string]string{"no2": "ppb"}}); err != nil {
		t.Fatal(err)
	}
	resp, body := f.get(t, "/api/v1/airquality/devices/ppb-1/2025")
	var a struct {
		Pollutants []struct{ Pollutant string } `json:"pollutants"`
		Excluded   []string                     `json:"excluded"`
	}
	if err := json.Unmarshal(body, &a); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v: %s", resp.StatusCode, err, body)
	}
	if len(a.Pollutants) != 1 || a.Pollutants[0].Pollutant != "pm10" || len(a.Excluded) != 1 || !strings.HasPrefix(a.Excluded[0], "no2: reported in ppb") {
		t.Errorf("pollutants %+v excluded %q; want pm10 only, no2 named as excluded", a.Pollutants, a.Excluded)
	}
}

// TestDeviceMeasurementClass: the class is set through the API, shown on
// the device, and a bad one is a 400 naming the field.
func TestDeviceMeasurementClass(t *testing.T) {
	f := newFixture(t, "")
	auth := []string{"Authorization", "Bearer " + testKeys["devices:write"], "Content-Type", "application/json"}
	resp, body := f.do(t, "POST", "/api/v1/devices", `{"id":"ref-1","kind":"air_quality","department":"test","measurement_class":"reference"}`, auth...)
	if resp.StatusCode != 201 || !strings.Contains(string(body), `"measurement_class":"reference"`) {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if d, _, _ := f.reg.Get("ref-1"); d.Class() != kessel.Reference {
		t.Errorf("registry holds class %q", d.MeasurementClass)
	}
	resp, body = f.do(t, "POST", "/api/v1/devices", `{"id":"ref-2","kind":"air_quality","department":"test","measurement_class":"gold"}`, auth...)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "measurement_class") {
		t.Errorf("bad class: %d %s", resp.StatusCode, body)
	}
	if _, body := f.get(t, "/api/v1/devices/air-1"); strings.Contains(string(body), "measurement_class") {
		t.Errorf("a device without a class shows one: %s", body)
	}
}
