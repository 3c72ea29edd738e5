package airquality

import (
	"slices"
	"time"

	"github.com/kessel-city/kessel"
)

// Hour is one hourly value: the mean of a device's readings of one
// pollutant in the clock hour starting at Start, in µg/m³.
type Hour struct {
	Start time.Time
	Mean  float64
}

// Day is one calendar day (CET) with hourly values. Mean, the daily mean,
// is set only when Hours reaches MinHoursPerDay.
type Day struct {
	Date  string   `json:"date"` // YYYY-MM-DD in CET
	Hours int      `json:"hours"`
	Mean  *float64 `json:"mean"`
}

// Assessment is one figure compared with one limit value. Value is the
// annual mean (µg/m³) for an annual limit, else the number of hours or
// days above the limit. Coverage is the share of the year's hours (annual
// and hourly limits) or days (daily limits) with a value, 0 to 1. Status
// is StatusExceeded, StatusMet or StatusInsufficient.
type Assessment struct {
	Limit
	Value    float64 `json:"value"`
	Coverage float64 `json:"coverage"`
	Status   string  `json:"status"`
}

// Assessment statuses.
const (
	StatusExceeded     = "exceeded"
	StatusMet          = "met"
	StatusInsufficient = "insufficient_coverage"
)

// Stats are one pollutant's statistics over one calendar year. The
// counts say what the coverages are made of. Class is the measurement
// class of the data; Indicative repeats it as a flag so that no reader
// takes an indicative figure for a reference one.
type Stats struct {
	Pollutant      string                  `json:"pollutant"`
	Class          kessel.MeasurementClass `json:"measurement_class"`
	Indicative     bool                    `json:"indicative"`
	Hours          int                     `json:"hours"`           // hourly values in the year
	HoursInYear    int                     `json:"hours_in_year"`   // 8760 or 8784
	Days           int                     `json:"days"`            // valid daily means
	DaysInYear     int                     `json:"days_in_year"`    // 365 or 366
	IncompleteDays int                     `json:"incomplete_days"` // days with hourly values but too few for a mean
	AnnualMean     *float64                `json:"annual_mean"`     // µg/m³; nil without any hourly value
	HourCoverage   float64                 `json:"hour_coverage"`   // Hours / HoursInYear
	DayCoverage    float64                 `json:"day_coverage"`    // Days / DaysInYear
	Assessments    []Assessment            `json:"assessments"`
	Daily          []Day                   `json:"daily,omitempty"`
}

// yearHours returns the hourly values of hs in the year, one per hour
// (the last given wins), sorted.
func yearHours(year int, hs []Hour) []Hour {
	from, to := YearSpan(year)
	byHour := make(map[int64]float64, len(hs))
	for _, h := range hs {
		t := h.Start.Truncate(time.Hour)
		if t.Before(from) || !t.Before(to) {
			continue
		}
		byHour[t.Unix()] = h.Mean
	}
	out := make([]Hour, 0, len(byHour))
	for u, m := range byHour {
		out = append(out, Hour{time.Unix(u, 0).UTC(), m})
	}
	slices.SortFunc(out, func(a, b Hour) int { return a.Start.Compare(b.Start) })
	return out
}

// DailyMeans returns every day of the year that has hourly values, in
// order, with its daily mean where it has at least MinHoursPerDay.
func DailyMeans(year int, hs []Hour) []Day {
	return dailyMeans(yearHours(year, hs))
}

// dailyMeans groups sorted hourly values into CET days.
func dailyMeans(hs []Hour) []Day {
	var out []Day
	sum := 0.0
	for i, h := range hs {
		date := h.Start.In(CET).Format(time.DateOnly)
		if len(out) == 0 || out[len(out)-1].Date != date {
			sum = 0
			out = append(out, Day{Date: date})
		}
		d := &out[len(out)-1]
		d.Hours++
		sum += h.Mean
		if last := i == len(hs)-1 || hs[i+1].Start.In(CET).Format(time.DateOnly) != date; last && d.Hours >= MinHoursPerDay {
			m := sum / float64(d.Hours)
			d.Mean = &m
		}
	}
	return out
}

// ExceedanceDays counts the days of the year whose daily mean is above
// limit (µg/m³).
func ExceedanceDays(year int, hs []Hour, limit float64) int {
	n := 0
	for _, d := range DailyMeans(year, hs) {
		if d.Mean != nil && *d.Mean > limit {
			n++
		}
	}
	return n
}

// Compute returns one pollutant's statistics for the calendar year from
// hourly values (in any order; those outside the year are ignored),
// assessed against every limit of Limits for the pollutant. withDaily
// keeps the daily means in Stats.Daily.
func Compute(year int, pollutant string, class kessel.MeasurementClass, hs []Hour, withDaily bool) Stats {
	if class != kessel.Reference {
		class = kessel.Indicative
	}
	from, to := YearSpan(year)
	hours := yearHours(year, hs)
	days := dailyMeans(hours)
	st := Stats{Pollutant: pollutant, Class: class, Indicative: class == kessel.Indicative, Hours: len(hours),
		HoursInYear: int(to.Sub(from) / time.Hour), DaysInYear: int(to.Sub(from) / (24 * time.Hour))}
	sum := 0.0
	for _, h := range hours {
		sum += h.Mean
	}
	if len(hours) > 0 {
		m := sum / float64(len(hours))
		st.AnnualMean = &m
	}
	for _, d := range days {
		if d.Mean != nil {
			st.Days++
		} else {
			st.IncompleteDays++
		}
	}
	st.HourCoverage = float64(st.Hours) / float64(st.HoursInYear)
	st.DayCoverage = float64(st.Days) / float64(st.DaysInYear)
	for _, l := range Limits {
		if l.Pollutant != pollutant {
			continue
		}
		a := Assessment{Limit: l}
		switch l.Period {
		case Annual:
			a.Coverage = st.HourCoverage
			if st.AnnualMean != nil {
				a.Value = *st.AnnualMean
			}
		case Hourly:
			a.Coverage = st.HourCoverage
			for _, h := range hours {
				if h.Mean > l.Value {
					a.Value++
				}
			}
		case Daily:
			a.Coverage = st.DayCoverage
			for _, d := range days {
				if d.Mean != nil && *d.Mean > l.Value {
					a.Value++
				}
			}
		}
		a.Status = status(l, a.Value, a.Coverage)
		st.Assessments = append(st.Assessments, a)
	}
	if withDaily {
		st.Daily = days
	}
	return st
}

// status assesses a figure: an annual mean needs MinCoverage either way;
// a count above what is allowed is exceeded whatever the coverage.
func status(l Limit, v, coverage float64) string {
	switch {
	case l.Period != Annual && v > float64(l.Allowed):
		return StatusExceeded
	case coverage < MinCoverage:
		return StatusInsufficient
	case l.Period == Annual && v > l.Value:
		return StatusExceeded
	}
	return StatusMet
}
