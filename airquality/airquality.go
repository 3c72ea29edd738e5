// Package airquality computes the statistics the EU ambient air quality
// directives ask of a measuring point: daily means, exceedance counts and
// annual means of PM10, PM2.5 and NO2 per calendar year, each compared with
// the limit values of Directive 2008/50/EC (in force) and of Directive (EU)
// 2024/2881 (to be attained by 1 January 2030), with the data coverage
// beside every figure.
//
// It is a pure computation over hourly means (Hour): it reads no store and
// no clock. Where the hourly means come from (Kessel: the hourly rollups,
// and raw readings for the newest hours) is the caller's business.
//
// The rules applied, with their sources:
//
//   - Day and year boundaries are in CET, UTC+1, all year round (no summer
//     time): a calendar day is [00:00, 24:00) CET = [23:00 UTC of the day
//     before, 23:00 UTC). The directives state their times in CET
//     (2008/50/EC Annex VII: "8:00 to 20:00 Central European Time"; the
//     8-hour mean periods "from 17:00 on the previous day to 01:00"), and
//     Germany's Umweltbundesamt publishes and counts its air quality data
//     (PM10 exceedance days included) in MEZ = CET without summer time
//     (its Luftdaten pages state their times in MEZ, e.g. the AOT40's
//     "8:00 – 20:00 MEZ", https://www.umweltbundesamt.de/daten/luft/luftdaten).
//     Counting in local time with summer time would make one day a year 23
//     hours long and one 25. An hour belongs to the day its start falls
//     on, so the 24 hours of a day are those ending 01:00 to 24:00 CET.
//   - An hourly value is the mean of the readings in one clock hour. The
//     directive asks 45 minutes of an hour (2008/50/EC Annex XI A: "one
//     hour values 75 % (i.e. 45 minutes)"); Kessel cannot know a device's
//     sampling interval, so any hour with a reading counts (MinHoursPerDay
//     still applies to days).
//   - A daily mean exists only where at least 18 of the day's 24 hourly
//     values exist (2008/50/EC Annex XI A: "24-hour values: 75 % of the
//     hourly averages (i.e. at least 18 one hour values)"; the recast,
//     Directive (EU) 2024/2881, keeps the rule). It is the mean of those
//     hourly values.
//   - An annual mean is the mean of the year's hourly values. It is
//     assessed against a limit only where at least 90 % of the year's
//     hours have a value (MinCoverage; 2008/50/EC Annex XI A: "one year:
//     90 % of the one hour values"; Annex I A: minimum data capture 90 %
//     for fixed and for indicative measurements of NO2, PM10 and PM2.5).
//     The same 90 % applies to counts: a count at or below what a limit
//     allows is "met" only with 90 % of the days (daily limits) or hours
//     (hourly limits) covered; a count above it is "exceeded" whatever the
//     coverage, since more data can only add exceedances.
//   - "Not to be exceeded" means a value strictly above the limit value
//     counts as an exceedance; values are compared unrounded.
//
// Statistics of indicative measurements (low-cost sensors, see
// kessel.MeasurementClass) are computed the same way and labelled as such:
// they do not show compliance in the directives' sense.
package airquality

import (
	"time"
)

// Pollutant field names, as devices report them.
const (
	PM10 = "pm10"
	PM25 = "pm25"
	NO2  = "no2"
)

// Pollutants lists the pollutants assessed, in report order.
var Pollutants = []string{PM10, PM25, NO2}

// CET is the zone days and years are counted in: UTC+1 all year.
var CET = time.FixedZone("CET", 3600)

// MinHoursPerDay is how many hourly values a daily mean needs (75 % of 24).
const MinHoursPerDay = 18

// MinCoverage is the share of a year's hours (or days) with a value that
// an annual assessment needs (90 %).
const MinCoverage = 0.9

// YearStart returns the start of the calendar year in CET.
func YearStart(year int) time.Time {
	return time.Date(year, time.January, 1, 0, 0, 0, 0, CET)
}

// YearSpan returns [from, to) of the calendar year in CET.
func YearSpan(year int) (from, to time.Time) {
	return YearStart(year), YearStart(year + 1)
}

// YearOf returns the calendar year (CET) t falls in.
func YearOf(t time.Time) int { return t.In(CET).Year() }

// Period is the averaging period of a limit value.
type Period string

const (
	Hourly Period = "1h"
	Daily  Period = "1d"
	Annual Period = "1y"
)

// Standards a limit comes from.
const (
	Directive2008 = "2008/50/EC"
	Directive2030 = "(EU) 2024/2881"
)

// Limit is one limit value for the protection of human health, in µg/m³.
// Allowed is how many hourly or daily values above Value a calendar year
// may have (0 for annual limits).
type Limit struct {
	Standard  string  `json:"standard"`
	Pollutant string  `json:"pollutant"`
	Period    Period  `json:"period"`
	Value     float64 `json:"limit"`
	Allowed   int     `json:"allowed"`
}

// Limits are the limit values assessed.
//
// In force: Directive 2008/50/EC Annex XI B (PM10: 50 µg/m³ daily, not to
// be exceeded more than 35 times a calendar year, 40 µg/m³ annual; NO2:
// 200 µg/m³ hourly, not more than 18 times, 40 µg/m³ annual) and Annex XIV
// E (PM2.5: 25 µg/m³ annual).
//
// From 1 January 2030: Directive (EU) 2024/2881 Annex I Section 1 Table 1
// (PM2.5: 25 µg/m³ daily, not more than 18 times, 10 µg/m³ annual; PM10:
// 45 µg/m³ daily, not more than 18 times, 20 µg/m³ annual; NO2: 200 µg/m³
// hourly, not more than 3 times (the 2022 proposal, COM(2022) 542, had
// once), 50 µg/m³ daily, not more than 18 times, 20 µg/m³ annual).
var Limits = []Limit{
	{Directive2008, PM10, Daily, 50, 35},
	{Directive2008, PM10, Annual, 40, 0},
	{Directive2008, PM25, Annual, 25, 0},
	{Directive2008, NO2, Hourly, 200, 18},
	{Directive2008, NO2, Annual, 40, 0},
	{Directive2030, PM10, Daily, 45, 18},
	{Directive2030, PM10, Annual, 20, 0},
	{Directive2030, PM25, Daily, 25, 18},
	{Directive2030, PM25, Annual, 10, 0},
	{Directive2030, NO2, Hourly, 200, 3},
	{Directive2030, NO2, Daily, 50, 18},
	{Directive2030, NO2, Annual, 20, 0},
}
