package kessel

import "time"

// Resolutions of stored readings: every raw reading, or hourly and daily
// rollups (mean, min, max and count of each field per device and window).
const (
	ResolutionRaw  = "raw"
	ResolutionHour = "1h"
	ResolutionDay  = "1d"
)

// Resolutions lists the resolutions a HistoryQuery may ask for.
var Resolutions = []string{ResolutionRaw, ResolutionHour, ResolutionDay}

// ResolutionWindow returns the window length of a rollup resolution, 0
// for raw or an unknown name.
func ResolutionWindow(res string) time.Duration {
	switch res {
	case ResolutionHour:
		return time.Hour
	case ResolutionDay:
		return 24 * time.Hour
	}
	return 0
}

// Rollup is one window of one field of one device: the mean, minimum,
// maximum and number of the raw values in [Time, Time+window) that quality
// control passed (flag 1, 2 or none: kessel.Flag.Passing), and the number
// of values it left out (Excluded: flagged suspect, fail or missing), so
// that Count+Excluded is every stored value. Count is 0 when every value
// was excluded; Mean, Min and Max are then 0 and mean nothing. Windows
// are aligned to UTC hours and UTC days; Time is the window's start.
type Rollup struct {
	Time       time.Time
	Kind       string
	Device     string
	District   string
	Department string
	Field      string
	Mean       float64
	Min        float64
	Max        float64
	Count      int64
	Excluded   int64
}

// Sum returns the sum of the window's values, Mean × Count.
func (r Rollup) Sum() float64 { return r.Mean * float64(r.Count) }

// RollupQuery selects rollups of windows starting in [From, To).
// Resolution is ResolutionHour or ResolutionDay. Kind, Device, District
// and Fields narrow the selection when set (Fields empty: every field).
type RollupQuery struct {
	Resolution string
	From, To   time.Time
	Kind       string
	Device     string
	District   string
	Fields     []string
}

// RollupMark is how far the rollups were computed: every hour before
// Final was rolled up after its grace period for late readings, every
// hour before Done at least once (Done ≥ Final). Since is the first hour
// rolled up: readings of earlier hours (stored before rolling up began)
// have no rollups; zero when unknown (a watermark saved before Kessel kept
// it), taken as "from the beginning". Daily rollups exist for every whole
// UTC day in [Since, Done).
type RollupMark struct {
	Final, Done, Since time.Time
}
