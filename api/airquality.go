package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/airquality"
)

// HourlyMeans reads the hourly means of stored readings: one Reading per
// device and clock hour with readings, Time the start of the hour, Values
// the means of the fields asked for. influx.Client reads them from the
// hourly rollups where they hold the hours, from raw readings otherwise.
type HourlyMeans interface {
	HourlyMeans(ctx context.Context, devices, fields []string, from, to time.Time) ([]kessel.Reading, error)
}

// hourlyBatch is how many devices one HourlyMeans call asks for.
const hourlyBatch = 500

// indicativeNote labels every figure of an indicative measurement.
const indicativeNote = "indicative measurement (low-cost sensor): these figures are not a compliance assessment under Directive 2008/50/EC or (EU) 2024/2881"

// aqSubject is one device's, or a district's, statistics for a year.
type aqSubject struct {
	Device     string                  `json:"device,omitempty"`
	Name       string                  `json:"name,omitempty"`
	District   string                  `json:"district,omitempty"`
	Class      kessel.MeasurementClass `json:"measurement_class"`
	Indicative bool                    `json:"indicative"`
	Note       string                  `json:"note,omitempty"`
	Pollutants []airquality.Stats      `json:"pollutants"`
	// Excluded names pollutants left out because the device reports them
	// in a unit other than µg/m³.
	Excluded []string `json:"excluded,omitempty"`
}

// aqReport is the answer of both air-quality endpoints.
type aqReport struct {
	Year        int       `json:"year"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	DayBoundary string    `json:"day_boundary"`
	aqSubject
	Aggregation string      `json:"aggregation,omitempty"`
	Devices     []aqSubject `json:"devices,omitempty"`
}

// newReport starts the answer for a year.
func newReport(year int) aqReport {
	from, to := airquality.YearSpan(year)
	return aqReport{Year: year, From: from.UTC(), To: to.UTC(), DayBoundary: "00:00 CET (UTC+1 all year, no summer time)"}
}

// subjectStats computes the statistics of each pollutant with data in
// hours (pollutant -> hourly values), in airquality.Pollutants order.
func subjectStats(year int, class kessel.MeasurementClass, hours map[string][]airquality.Hour, daily bool) aqSubject {
	sub := aqSubject{Class: airquality.CombinedClass(class), Pollutants: []airquality.Stats{}}
	sub.Indicative = sub.Class == kessel.Indicative
	if sub.Indicative {
		sub.Note = indicativeNote
	}
	for _, p := range airquality.Pollutants {
		if st := airquality.Compute(year, p, sub.Class, hours[p], daily); st.Hours > 0 {
			sub.Pollutants = append(sub.Pollutants, st)
		}
	}
	return sub
}

// inMicrograms keeps the pollutants the device reports in µg/m³ (its own
// units, else its kind's default; none known counts as µg/m³) and names
// the others: the limit values are in µg/m³, and Kessel converts no units.
func inMicrograms(d kessel.Device, hours map[string][]airquality.Hour) (map[string][]airquality.Hour, []string) {
	out := make(map[string][]airquality.Hour, len(hours))
	var excluded []string
	for p, hs := range hours {
		if u, ok := kessel.UnitOf(&d, nil, p); ok && u.UCUM != "ug/m3" {
			excluded = append(excluded, p+": reported in "+u.Symbol+", not µg/m³")
			continue
		}
		out[p] = hs
	}
	slices.Sort(excluded)
	return out, excluded
}

// aqRequest reads what both endpoints take: the year, the format and
// whether to include daily means.
func (s *server) aqRequest(r *http.Request) (year int, format string, daily bool, err error) {
	raw := mux.Vars(r)["year"]
	year, err = strconv.Atoi(raw)
	if err != nil || len(raw) != 4 || year < 1970 {
		return 0, "", false, invalid("year must be a calendar year such as 2025, not %q", raw)
	}
	if now := airquality.YearOf(s.opts.Now()); year > now {
		return 0, "", false, invalid("year %d has not begun (it is %d in CET)", year, now)
	}
	switch v := r.URL.Query().Get("daily"); v {
	case "", "false":
	case "true":
		daily = true
	default:
		return 0, "", false, invalid("daily must be true or false, not %q", v)
	}
	format, err = negotiate(r)
	if err == nil && format == formatGeoJSON {
		err = invalid("air-quality statistics are JSON or CSV, not GeoJSON")
	}
	return year, format, daily, err
}

// hourlyByDevice reads the year's hourly means of the pollutants for the
// devices: device -> pollutant -> hourly values.
func (s *server) hourlyByDevice(ctx context.Context, year int, devices []string) (map[string]map[string][]airquality.Hour, error) {
	from, to := airquality.YearSpan(year)
	out := map[string]map[string][]airquality.Hour{}
	for batch := range slices.Chunk(devices, hourlyBatch) {
		rs, err := s.opts.AirQuality.HourlyMeans(ctx, batch, airquality.Pollutants, from, to)
		if err != nil {
			return nil, err
		}
		for _, rd := range rs {
			m := out[rd.Device]
			if m == nil {
				m = map[string][]airquality.Hour{}
				out[rd.Device] = m
			}
			for f, v := range rd.Values {
				m[f] = append(m[f], airquality.Hour{Start: rd.Time, Mean: v})
			}
		}
	}
	return out, nil
}

// handleAirQualityDevice serves one device's statistics for a year.
func (s *server) handleAirQualityDevice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _, err := s.lookup(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		year, format, daily, err := s.aqRequest(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		hours, err := s.hourlyByDevice(r.Context(), year, []string{d.ID})
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		rep := newReport(year)
		h, excluded := inMicrograms(d, hours[d.ID])
		rep.aqSubject = subjectStats(year, d.Class(), h, daily)
		rep.Device, rep.Name, rep.District, rep.Excluded = d.ID, d.Name, d.District, excluded
		s.respondAirQuality(w, r, format, rep)
	})
}

// handleAirQualityDistrict serves a district's statistics for a year:
// those of the combined series of its devices (airquality.Combine) and
// each device's own.
func (s *server) handleAirQualityDistrict() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dist, err := s.district(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		year, format, daily, err := s.aqRequest(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		states := s.devices.Query(kessel.DeviceQuery{District: dist.Name, IncludeInternal: s.canSeeInternal(r)})
		ids := make([]string, len(states))
		for i, st := range states {
			ids[i] = st.Device.ID
		}
		slices.Sort(ids)
		hours, err := s.hourlyByDevice(r.Context(), year, ids)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		rep := newReport(year)
		rep.Aggregation = "per hour, the mean of the hourly values of the district's devices that have one; daily means and coverage from that series as for one device; each device's own statistics under devices"
		var classes []kessel.MeasurementClass
		combined := map[string][][]airquality.Hour{}
		for _, st := range states {
			h, excluded := inMicrograms(st.Device, hours[st.Device.ID])
			if len(h) == 0 && len(excluded) == 0 {
				continue
			}
			sub := subjectStats(year, st.Device.Class(), h, false)
			sub.Device, sub.Name, sub.Excluded = st.Device.ID, st.Device.Name, excluded
			rep.Devices = append(rep.Devices, sub)
			classes = append(classes, st.Device.Class())
			for p, hs := range h {
				combined[p] = append(combined[p], hs)
			}
		}
		slices.SortFunc(rep.Devices, func(a, b aqSubject) int { return strings.Compare(a.Device, b.Device) })
		merged := map[string][]airquality.Hour{}
		for p, series := range combined {
			merged[p] = airquality.Combine(series...)
		}
		rep.aqSubject = subjectStats(year, airquality.CombinedClass(classes...), merged, daily)
		rep.District = dist.Name
		s.respondAirQuality(w, r, format, rep)
	})
}

// respondAirQuality answers JSON, or CSV with one row per assessment:
// the district's (subject "district") and each device's.
func (s *server) respondAirQuality(w http.ResponseWriter, r *http.Request, format string, rep aqReport) {
	if format != formatCSV {
		s.encode(w, r, rep, reply{cache: cacheHistory})
		return
	}
	rows := [][]string{{"year", "subject", "id", "measurement_class", "indicative", "pollutant", "standard", "period", "limit_ugm3", "allowed",
		"value", "coverage", "status", "hours", "hours_in_year", "days", "days_in_year", "incomplete_days", "annual_mean_ugm3"}}
	add := func(subject, id string, sub aqSubject) {
		for _, st := range sub.Pollutants {
			mean := ""
			if st.AnnualMean != nil {
				mean = fmtFloat(*st.AnnualMean)
			}
			for _, a := range st.Assessments {
				rows = append(rows, []string{strconv.Itoa(rep.Year), subject, id, string(st.Class), strconv.FormatBool(st.Indicative), st.Pollutant,
					a.Standard, string(a.Period), fmtFloat(a.Limit.Value), strconv.Itoa(a.Allowed), fmtFloat(a.Value), fmtFloat(a.Coverage), a.Status,
					strconv.Itoa(st.Hours), strconv.Itoa(st.HoursInYear), strconv.Itoa(st.Days), strconv.Itoa(st.DaysInYear), strconv.Itoa(st.IncompleteDays), mean})
			}
		}
	}
	if rep.Device != "" {
		add("device", rep.Device, rep.aqSubject)
	} else {
		add("district", rep.District, rep.aqSubject)
	}
	for _, d := range rep.Devices {
		add("device", d.Device, d)
	}
	s.encode(w, r, csvBytes(rows), reply{media: mediaCSV, cache: cacheHistory})
}
