package airquality_test

import (
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/airquality"
)

// hoursOn returns n hourly values of v starting at 00:00 CET of the date.
func hoursOn(date string, n int, v float64) []airquality.Hour {
	d, err := time.ParseInLocation(time.DateOnly, date, airquality.CET)
	if err != nil {
		panic(err)
	}
	out := make([]airquality.Hour, n)
	for i := range out {
		out[i] = airquality.Hour{Start: d.Add(time.Duration(i) * time.Hour), Mean: v}
	}
	return out
}

func cat(parts ...[]airquality.Hour) []airquality.Hour {
	var out []airquality.Hour
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestDailyMeans(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hours []airquality.Hour
		want  map[string]float64 // date -> mean; -1 for a day without one
	}{
		{"17 hours make no daily mean", hoursOn("2025-03-04", 17, 80), map[string]float64{"2025-03-04": -1}},
		{"18 hours make one", hoursOn("2025-03-04", 18, 80), map[string]float64{"2025-03-04": 80}},
		{"mean of the hourly values", cat(hoursOn("2025-03-04", 12, 10), hoursOn("2025-03-04", 24, 30)[12:]), map[string]float64{"2025-03-04": 20}},
		// 23:00 UTC on 3 March is 00:00 CET on 4 March.
		{"days are CET", []airquality.Hour{{time.Date(2025, 3, 3, 23, 0, 0, 0, time.UTC), 5}}, map[string]float64{"2025-03-04": -1}},
		{"summer days are CET too, not CEST", hoursOn("2025-07-01", 18, 1)[:1], map[string]float64{"2025-07-01": -1}},
		{"a repeated hour counts once", cat(hoursOn("2025-03-04", 17, 80), hoursOn("2025-03-04", 1, 80)), map[string]float64{"2025-03-04": -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			days := airquality.DailyMeans(2025, tc.hours)
			if len(days) != len(tc.want) {
				t.Fatalf("days %+v, want %v", days, tc.want)
			}
			for _, d := range days {
				want, ok := tc.want[d.Date]
				switch {
				case !ok:
					t.Errorf("unexpected day %s", d.Date)
				case want < 0 && d.Mean != nil:
					t.Errorf("%s: mean %v from %d hours, want none", d.Date, *d.Mean, d.Hours)
				case want >= 0 && (d.Mean == nil || *d.Mean != want):
					t.Errorf("%s: mean %v from %d hours, want %v", d.Date, d.Mean, d.Hours, want)
				}
			}
		})
	}
}

func TestYearBoundaryIsCET(t *testing.T) {
	// 22:00 UTC on 31 Dec 2024 is 23:00 CET, still 2024; 23:00 UTC is 2025.
	hs := []airquality.Hour{{time.Date(2024, 12, 31, 22, 0, 0, 0, time.UTC), 10}, {time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC), 90}}
	for _, tc := range []struct {
		year int
		mean float64
	}{{2024, 10}, {2025, 90}} {
		st := airquality.Compute(tc.year, airquality.PM10, kessel.Reference, hs, false)
		if st.Hours != 1 || st.AnnualMean == nil || *st.AnnualMean != tc.mean {
			t.Errorf("%d: %d hours, mean %v; want 1 hour of %v", tc.year, st.Hours, st.AnnualMean, tc.mean)
		}
	}
}

func assessment(t *testing.T, st airquality.Stats, standard string, p airquality.Period) airquality.Assessment {
	t.Helper()
	for _, a := range st.Assessments {
		if a.Standard == standard && a.Period == p {
			return a
		}
	}
	t.Fatalf("no %s %s assessment of %s in %+v", standard, p, st.Pollutant, st.Assessments)
	return airquality.Assessment{}
}

func TestCompute(t *testing.T) {
	// A full year of PM10 at 30 µg/m³, with 40 days at 60 and 5 at 48.
	var full []airquality.Hour
	start := airquality.YearStart(2025)
	for d := 0; d < 365; d++ {
		v := 30.0
		switch {
		case d < 40:
			v = 60
		case d < 45:
			v = 48
		}
		full = append(full, hoursOn(start.AddDate(0, 0, d).Format(time.DateOnly), 24, v)...)
	}
	st := airquality.Compute(2025, airquality.PM10, "", full, true)
	if st.Class != kessel.Indicative || !st.Indicative {
		t.Errorf("class %q indicative %v: an unset class is indicative", st.Class, st.Indicative)
	}
	if st.Hours != 8760 || st.Days != 365 || st.HourCoverage != 1 || st.DayCoverage != 1 || len(st.Daily) != 365 {
		t.Errorf("hours %d days %d coverage %v/%v daily %d", st.Hours, st.Days, st.HourCoverage, st.DayCoverage, len(st.Daily))
	}
	wantMean := (40*60 + 5*48 + 320*30) / 365.0
	for _, tc := range []struct {
		standard string
		period   airquality.Period
		value    float64
		status   string
	}{
		{airquality.Directive2008, airquality.Daily, 40, airquality.StatusExceeded}, // > 50 on 40 days, 35 allowed
		{airquality.Directive2030, airquality.Daily, 45, airquality.StatusExceeded}, // > 45 on 45 days, 18 allowed
		{airquality.Directive2008, airquality.Annual, wantMean, airquality.StatusMet},
		{airquality.Directive2030, airquality.Annual, wantMean, airquality.StatusExceeded},
	} {
		a := assessment(t, st, tc.standard, tc.period)
		if a.Value != tc.value || a.Status != tc.status || a.Coverage != 1 {
			t.Errorf("%s %s: value %v status %s coverage %v; want %v %s", tc.standard, tc.period, a.Value, a.Status, a.Coverage, tc.value, tc.status)
		}
	}
	if got := airquality.ExceedanceDays(2025, full, 50); got != 40 {
		t.Errorf("ExceedanceDays = %d, want 40", got)
	}
}

func TestStatusNeedsCoverage(t *testing.T) {
	// 300 full days (82 %): the annual mean is reported but not assessed;
	// 36 exceedance days are an exceedance whatever the coverage.
	var hs []airquality.Hour
	for d := 0; d < 300; d++ {
		v := 10.0
		if d < 36 {
			v = 51
		}
		hs = append(hs, hoursOn(airquality.YearStart(2024).AddDate(0, 0, d).Format(time.DateOnly), 24, v)...)
	}
	st := airquality.Compute(2024, airquality.PM10, kessel.Reference, hs, false)
	if st.HoursInYear != 8784 || st.DaysInYear != 366 {
		t.Errorf("2024 has %d hours, %d days", st.HoursInYear, st.DaysInYear)
	}
	if a := assessment(t, st, airquality.Directive2008, airquality.Annual); a.Status != airquality.StatusInsufficient || a.Coverage != 7200.0/8784 {
		t.Errorf("annual: %+v", a)
	}
	if a := assessment(t, st, airquality.Directive2008, airquality.Daily); a.Status != airquality.StatusExceeded || a.Value != 36 {
		t.Errorf("daily: %+v", a)
	}
	st = airquality.Compute(2024, airquality.PM10, kessel.Reference, hs[:35*24], false)
	if a := assessment(t, st, airquality.Directive2008, airquality.Daily); a.Status != airquality.StatusInsufficient || a.Value != 35 {
		t.Errorf("35 days, little coverage: %+v", a)
	}
}

func TestNO2Hourly(t *testing.T) {
	hs := hoursOn("2025-01-10", 24, 20)
	for i := range 4 {
		hs[i].Mean = 201
	}
	hs[4].Mean = 200 // not above
	st := airquality.Compute(2025, airquality.NO2, kessel.Reference, hs, false)
	for _, tc := range []struct {
		standard string
		status   string
	}{{airquality.Directive2008, airquality.StatusInsufficient}, {airquality.Directive2030, airquality.StatusExceeded}} {
		if a := assessment(t, st, tc.standard, airquality.Hourly); a.Value != 4 || a.Status != tc.status {
			t.Errorf("%s hourly: %+v", tc.standard, a)
		}
	}
}

func TestCombine(t *testing.T) {
	a := hoursOn("2025-05-05", 3, 10)
	b := cat(hoursOn("2025-05-05", 2, 30)[1:], hoursOn("2025-05-05", 2, 99)[1:]) // hour 1 twice: the first counts
	got := airquality.Combine(a, b)
	want := []float64{10, 20, 10}
	if len(got) != 3 {
		t.Fatalf("%+v", got)
	}
	for i, h := range got {
		if h.Mean != want[i] {
			t.Errorf("hour %d: %v, want %v", i, h.Mean, want[i])
		}
	}
	for _, tc := range []struct {
		in   []kessel.MeasurementClass
		want kessel.MeasurementClass
	}{{nil, kessel.Indicative}, {[]kessel.MeasurementClass{kessel.Reference}, kessel.Reference}, {[]kessel.MeasurementClass{kessel.Reference, ""}, kessel.Indicative}} {
		if got := airquality.CombinedClass(tc.in...); got != tc.want {
			t.Errorf("CombinedClass(%v) = %s", tc.in, got)
		}
	}
}
