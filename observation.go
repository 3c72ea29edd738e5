package kessel

import "time"

// ObservationQuery selects stored values one by one (each a SensorThings
// Observation: one field of one reading) in [From, To), ordered by time,
// then device, then field (Desc: newest first), skipping Offset and
// returning at most Limit (0: no limit). Device and Field, when set,
// narrow to one device or field; Exclude leaves devices out (internal
// ones for a client that may not read them). The places of mobile
// sensors (lat, lon) are not values.
type ObservationQuery struct {
	Device, Field string
	From, To      time.Time
	Exclude       []string
	Desc          bool
	Offset, Limit int
}
