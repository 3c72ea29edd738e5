package kessel

import (
	"fmt"
	"time"

	"github.com/paulmach/orb"
)

// Visibility says who may see a device and its readings.
type Visibility string

const (
	// Public devices and their readings are open data.
	Public Visibility = "public"
	// Internal devices are visible only to keys with the data:internal scope.
	Internal Visibility = "internal"
)

// ParseVisibility turns "public" or "internal" into a Visibility; the empty
// string means Public. Other values return an EINVALID error.
func ParseVisibility(s string) (Visibility, error) {
	switch s {
	case "", string(Public):
		return Public, nil
	case string(Internal):
		return Internal, nil
	}
	return "", Errorf(EINVALID, "visibility must be public or internal, not %q", s)
}

// Device is a sensor or gateway known to Kessel.
type Device struct {
	ID         string            `json:"id"`
	Kind       string            `json:"kind"`
	Name       string            `json:"name,omitempty"`
	Location   *orb.Point        `json:"location,omitempty"`
	District   string            `json:"district,omitempty"`
	Department string            `json:"department,omitempty"`
	Visibility Visibility        `json:"visibility"`
	Labels     map[string]string `json:"labels,omitempty"`
	// Units maps field names to the units this device reports them in
	// (UCUM codes or SenML units); they override the kind's defaults, a
	// reading's own units override them (see UnitOf).
	Units map[string]string `json:"units,omitempty"`
	// Levels are warning levels per field that the device declares (a
	// gauge's flood warning stages), lowest first; see Level.
	Levels    map[string][]Level `json:"levels,omitempty"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
	LastSeen  time.Time          `json:"last_seen,omitzero"`

	// MeasurementClass says whether the device is a reference station or
	// an indicative (low-cost) sensor; empty means indicative (see Class).
	MeasurementClass MeasurementClass `json:"measurement_class,omitempty"`
}

// Validate checks the fields a device must have; it returns an EINVALID
// error naming the first bad field.
func (d Device) Validate() error {
	if !ValidDeviceID(d.ID) {
		return &Error{Code: EINVALID, Message: DeviceIDError(d.ID)}
	}
	if err := ValidateKind(d.Kind); err != nil {
		return Errorf(EINVALID, "device %s: %s", d.ID, ErrorMessage(err))
	}
	if err := ValidateTagValue("department", d.Department); err != nil {
		return Errorf(EINVALID, "device %s: %s", d.ID, ErrorMessage(err))
	}
	if len(d.Name) > MaxTagValue || !printable(d.Name) {
		return Errorf(EINVALID, "device %s: name must be at most %d bytes of printable UTF-8, without control characters", d.ID, MaxTagValue)
	}
	if err := validateLabels(d.Labels); err != nil {
		return Errorf(EINVALID, "device %s: %s", d.ID, ErrorMessage(err))
	}
	if _, err := ParseVisibility(string(d.Visibility)); err != nil {
		return fmt.Errorf("device %s: %w", d.ID, err)
	}
	if _, err := ParseMeasurementClass(string(d.MeasurementClass)); err != nil {
		return fmt.Errorf("device %s: %w", d.ID, err)
	}
	if p := d.Location; p != nil && !ValidLonLat(p[0], p[1]) {
		return Errorf(EINVALID, "device %s: location %v is not a WGS84 lon,lat", d.ID, *p)
	}
	if err := ValidateUnits(d.Units); err != nil {
		return Errorf(EINVALID, "device %s: %s", d.ID, ErrorMessage(err))
	}
	if err := ValidateLevels(d.Levels); err != nil {
		return Errorf(EINVALID, "device %s: %s", d.ID, ErrorMessage(err))
	}
	return nil
}

// MaxLabels is how many labels a device may have.
const MaxLabels = 64

// validateLabels: at most MaxLabels labels, keys of 1-64 and values of at
// most MaxTagValue bytes of printable UTF-8.
func validateLabels(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return Errorf(EINVALID, "labels: at most %d, got %d", MaxLabels, len(labels))
	}
	for k, v := range labels {
		if k == "" || len(k) > 64 || !printable(k) || len(v) > MaxTagValue || !printable(v) {
			return Errorf(EINVALID, "labels: %.64q: keys are 1-64 bytes and values at most %d bytes of printable UTF-8", k, MaxTagValue)
		}
	}
	return nil
}

// ValidLonLat reports whether lon and lat are WGS84 degrees.
func ValidLonLat(lon, lat float64) bool {
	return lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90
}

// DeviceQuery selects devices. Zero fields match everything. Internal
// devices are included only with IncludeInternal. At most one spatial
// selector applies, in this order: Near with K (the K nearest, optionally
// within Radius), Near with Radius, BBox, Within.
type DeviceQuery struct {
	Kind            string
	District        string
	Department      string
	IncludeInternal bool

	Near   *orb.Point
	Radius float64 // metres, with Near
	K      int     // with Near: the K nearest
	BBox   *orb.Bound
	Within orb.Geometry // orb.Polygon or orb.MultiPolygon
}

// Spatial reports whether the query selects by place.
func (q DeviceQuery) Spatial() bool { return q.Near != nil || q.BBox != nil || q.Within != nil }

// DeviceState is a device with its latest reading and, for queries around a
// point, its great-circle distance from that point in metres.
type DeviceState struct {
	Device   Device
	Latest   *Reading
	Distance *float64
}

// District is a named area devices and readings are assigned to.
type District struct {
	ID       string
	Name     string
	Geometry orb.Geometry // orb.Polygon or orb.MultiPolygon, WGS84
}

// DeviceRecord is one entry of the device journal: a device as it became
// after a change, who may override it, or that it was removed.
type DeviceRecord struct {
	Device Device
	// ByOperator is set when an operator (config or API) defined the
	// device; a device's self-description then no longer changes it.
	ByOperator bool
	Deleted    bool
	Time       time.Time
}
