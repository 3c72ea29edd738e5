package airquality

import (
	"slices"
	"time"

	"github.com/kessel-city/kessel"
)

// Combine merges several devices' hourly values of one pollutant into a
// district's series: for each hour, the mean of the hourly values of the
// devices that have one. The district's statistics are then computed from
// that series like a device's (Compute): a district day has a daily mean
// where at least MinHoursPerDay of its hours have a value from any device,
// and its coverage counts hours with a value from any device.
//
// A district mean smooths its worst station away: the directives assess
// every sampling point, so a district report lists its devices' own
// statistics beside the combined ones.
func Combine(series ...[]Hour) []Hour {
	type acc struct {
		sum float64
		n   int
	}
	byHour := map[int64]*acc{}
	for _, hs := range series {
		seen := map[int64]bool{} // one value per device and hour
		for _, h := range hs {
			u := h.Start.Truncate(time.Hour).Unix()
			if seen[u] {
				continue
			}
			seen[u] = true
			a := byHour[u]
			if a == nil {
				a = &acc{}
				byHour[u] = a
			}
			a.sum += h.Mean
			a.n++
		}
	}
	out := make([]Hour, 0, len(byHour))
	for u, a := range byHour {
		out = append(out, Hour{time.Unix(u, 0).UTC(), a.sum / float64(a.n)})
	}
	slices.SortFunc(out, func(a, b Hour) int { return a.Start.Compare(b.Start) })
	return out
}

// CombinedClass is the measurement class of figures combined from devices
// of these classes: Reference only when every one is a reference station,
// so that one low-cost sensor makes a district figure indicative.
func CombinedClass(classes ...kessel.MeasurementClass) kessel.MeasurementClass {
	if len(classes) == 0 {
		return kessel.Indicative
	}
	for _, c := range classes {
		if c != kessel.Reference {
			return kessel.Indicative
		}
	}
	return kessel.Reference
}
