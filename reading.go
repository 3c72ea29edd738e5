package kessel

import (
	"time"

	"github.com/paulmach/orb"
)

// Reading is the set of values one device measured at one instant.
//
// Values are finite numbers keyed by field name (see ValidFieldName).
// Location is set only for mobile sensors that report where they were.
// Kind, District and Department are filled from the device registry on ingest.
type Reading struct {
	Device     string             `json:"device"`
	Kind       string             `json:"kind,omitempty"`
	Time       time.Time          `json:"time"`
	Values     map[string]float64 `json:"values"`
	Location   *orb.Point         `json:"location,omitempty"`
	District   string             `json:"district,omitempty"`
	Department string             `json:"department,omitempty"`
	// Source names the wire format the reading arrived in
	// (native, senml, tts, airrohr).
	Source string `json:"source,omitempty"`
	// Units maps field names to their units where the sender said (SenML).
	Units map[string]string `json:"units,omitempty"`
	// Link holds how the reading travelled, not what was measured: radio
	// and transport data such as LoRaWAN rssi, snr, gateways, f_cnt and
	// f_cnt_gap, or airrohr's WiFi signal. Stored as fields "link.<name>"
	// (see Annotation); never in Values, means or quantity lists.
	Link map[string]float64 `json:"link,omitempty"`
	// Correction names the sensor correction, and its version, that made
	// the corrected values among Values ("cor.<field>"), such as
	// "sds011_rh/v1"; stored as a tag, so each version is its own series.
	Correction string `json:"correction,omitempty"`
	// Internal is set on readings of internal devices (from the registry).
	Internal bool `json:"-"`
}

// DeadLetter is a message Kessel could not accept, kept with the reason so
// that nothing is ever dropped silently.
type DeadLetter struct {
	Time    time.Time `json:"time"`
	Reason  string    `json:"reason"`
	Topic   string    `json:"topic"`
	Device  string    `json:"device,omitempty"`
	Detail  string    `json:"detail"`
	Payload string    `json:"payload"` // at most the first KiB
}

// DeadLetterPayloadLimit is how many bytes of a rejected payload a DeadLetter keeps.
const DeadLetterPayloadLimit = 1024

// HistoryQuery selects one device's stored readings in [From, To).
// Fields empty means all fields. Every > 0 aggregates into windows of that
// length with Fn, one of Aggregates. Limit > 0 caps the readings returned.
type HistoryQuery struct {
	Device   string
	From, To time.Time
	Fields   []string
	Every    time.Duration
	Fn       string
	Limit    int
	// Resolution chooses the stored data that serves the query: "" lets
	// the store choose, or one of ResolutionRaw, ResolutionHour and
	// ResolutionDay (see Resolutions).
	Resolution string
}

// Aggregates lists the aggregate functions a HistoryQuery may use.
var Aggregates = []string{"mean", "min", "max", "sum", "count", "last"}

// ValidAggregate reports whether fn is one of Aggregates.
func ValidAggregate(fn string) bool {
	for _, a := range Aggregates {
		if a == fn {
			return true
		}
	}
	return false
}

// DeadLetterQuery selects dead letters in [From, To); Reason empty means
// all reasons; Limit 0 means 1000.
type DeadLetterQuery struct {
	From, To time.Time
	Reason   string
	Limit    int
}
