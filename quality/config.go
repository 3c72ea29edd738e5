package quality

import (
	"math"
	"time"

	"github.com/kessel-city/kessel"
)

// Config is the quality section of the config file.
type Config struct {
	// Quantities override the default limits (Quantities) per field name;
	// a field listed here replaces the default entry as a whole.
	Quantities map[string]Quantity `yaml:"quantities"`
	// Climate are climatological ranges: where a kind's field, in a
	// district or on a device, is plausible. The most specific entry
	// wins (device, then district, then kind); a value outside is suspect.
	Climate []ClimateRange `yaml:"climate"`
	// LateAfter, when set, is how old a reading may be when it arrives
	// before the timing test calls it late (suspect). Default 0: off,
	// since a gateway's buffered upload or a backfill is good data that
	// happens to be late; set it where only fresh data may count. Out of
	// order and conflicting duplicates are suspect regardless.
	LateAfter time.Duration `yaml:"late_after"`
	// Corrections are sensor corrections, applied per device type.
	Corrections []Correction `yaml:"corrections"`
}

// ClimateRange is a climatological range of one field. Kind is required;
// District or Device narrow it.
type ClimateRange struct {
	Kind     string   `yaml:"kind"`
	District string   `yaml:"district"`
	Device   string   `yaml:"device"`
	Field    string   `yaml:"field"`
	Min      *float64 `yaml:"min"`
	Max      *float64 `yaml:"max"`
}

// bounds is the range, open on a side without a limit.
func (cr *ClimateRange) bounds() Range {
	r := Range{math.Inf(-1), math.Inf(1)}
	if cr.Min != nil {
		r.Min = *cr.Min
	}
	if cr.Max != nil {
		r.Max = *cr.Max
	}
	return r
}

// Validate checks the config and returns an EINVALID error naming the
// entry at fault. It fills the defaults.
func (c *Config) Validate() error {
	if c.LateAfter < 0 {
		return kessel.Errorf(kessel.EINVALID, "quality.late_after must not be negative")
	}
	for name, q := range c.Quantities {
		if !kessel.ValidFieldName(name) {
			return kessel.Errorf(kessel.EINVALID, "quality.quantities: %q is not a field name", name)
		}
		if q.Gross != nil && !(q.Gross.Min <= q.Gross.Max) {
			return kessel.Errorf(kessel.EINVALID, "quality.quantities.%s.gross: min must not exceed max", name)
		}
		if q.FlatFail > 0 && q.FlatFail < q.FlatSuspect {
			return kessel.Errorf(kessel.EINVALID, "quality.quantities.%s: flat_fail must not be below flat_suspect", name)
		}
	}
	for i := range c.Climate {
		cr := &c.Climate[i]
		if cr.Kind == "" || kessel.ValidateKind(cr.Kind) != nil || !kessel.ValidFieldName(cr.Field) {
			return kessel.Errorf(kessel.EINVALID, "quality.climate[%d]: kind and field are required (such as air_quality and pm10)", i)
		}
		if b := cr.bounds(); cr.Min == nil && cr.Max == nil || b.Min > b.Max {
			return kessel.Errorf(kessel.EINVALID, "quality.climate[%d]: give min and/or max, min not above max", i)
		}
	}
	for i := range c.Corrections {
		if err := c.Corrections[i].validate(); err != nil {
			return kessel.Errorf(kessel.EINVALID, "quality.corrections[%d]: %s", i, kessel.ErrorMessage(err))
		}
	}
	return nil
}

// climate returns the most specific climatological range for a field of
// a device of kind in district, or nil.
func (c *Config) climate(device, kind, district, field string) *Range {
	var best *ClimateRange
	rank := -1
	for i := range c.Climate {
		cr := &c.Climate[i]
		if cr.Kind != kind || cr.Field != field ||
			cr.Device != "" && cr.Device != device || cr.District != "" && cr.District != district {
			continue
		}
		n := 0
		switch {
		case cr.Device != "":
			n = 2
		case cr.District != "":
			n = 1
		}
		if n > rank {
			best, rank = cr, n
		}
	}
	if best == nil {
		return nil
	}
	b := best.bounds()
	return &b
}

func (c *Config) quantity(field string) (Quantity, bool) {
	if q, ok := c.Quantities[field]; ok {
		return q, true
	}
	q, ok := Quantities[field]
	return q, ok
}

// gross returns the gross range of field for a sensor type, or nil.
func (c *Config) gross(sensor, field string, q Quantity) *Range {
	if sensor != "" {
		if r, ok := GrossRanges[sensor+"/"+field]; ok {
			return &r
		}
	}
	return q.Gross
}
