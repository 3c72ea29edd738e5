package quality

import (
	"slices"
	"strconv"

	"github.com/kessel-city/kessel"
)

// MethodKappaKohler is the humidity correction of optical particle
// sensors by hygroscopic growth after κ-Köhler theory (Petters and
// Kreidenweis 2007) in the mass-based form of Crilley et al. 2018
// ("Evaluation of a low-cost optical particle counter (Alphasense OPC-N2)
// for ambient air monitoring", Atmos. Meas. Tech. 11, 709-720,
// doi:10.5194/amt-11-709-2018, eq. 3), the form Di Antonio et al. 2018
// (Sensors 18(9), 2790, doi:10.3390/s18092790) refine per size bin:
//
//	C = 1 + (κ / 1.65) / (100 / RH - 1)    corrected = raw / C
//
// with RH the relative humidity in %. The growth diverges towards 100 %,
// so above MaxRH (default 95 %) no corrected value is written: a fog
// reading stays uncorrected rather than divided by an arbitrary factor.
const MethodKappaKohler = "kappa_kohler"

// Correction is a sensor correction, applied to the devices of a kind
// whose "sensor" label matches (e.g. sds011). Its corrected values are
// stored as "cor.<field>" beside the raw values, and "Name/vVersion" as
// the reading's Correction, so that each version is its own series.
type Correction struct {
	Name    string   `yaml:"name"`
	Version int      `yaml:"version"`
	Method  string   `yaml:"method"`
	Kind    string   `yaml:"kind"`
	Sensor  string   `yaml:"sensor"`
	Fields  []string `yaml:"fields"`
	// Humidity names the field with the relative humidity (default
	// humidity); a value of it that failed quality control is not used.
	Humidity string  `yaml:"humidity"`
	Kappa    float64 `yaml:"kappa"`
	MaxRH    float64 `yaml:"max_rh"`

	id string // Name/vVersion
}

// ID is the correction's name and version, as stored: "name/vN".
func (c *Correction) ID() string { return c.id }

func (c *Correction) validate() error {
	switch {
	case !kessel.ValidFieldName(c.Name):
		return kessel.Errorf(kessel.EINVALID, "name: 1-64 lower-case letters, digits or '_' (such as sds011_rh)")
	case c.Version < 1:
		return kessel.Errorf(kessel.EINVALID, "version: a positive number")
	case c.Method != MethodKappaKohler:
		return kessel.Errorf(kessel.EINVALID, "method: only %s is known", MethodKappaKohler)
	case c.Kind == "" || kessel.ValidateKind(c.Kind) != nil:
		return kessel.Errorf(kessel.EINVALID, "kind: a device kind such as air_quality")
	case len(c.Fields) == 0:
		return kessel.Errorf(kessel.EINVALID, "fields: the fields to correct, such as [pm10, pm25]")
	case !(c.Kappa > 0 && c.Kappa < 2):
		return kessel.Errorf(kessel.EINVALID, "kappa: a hygroscopicity between 0 and 2 (such as 0.4)")
	}
	for _, f := range c.Fields {
		if !kessel.ValidFieldName(f) {
			return kessel.Errorf(kessel.EINVALID, "fields: %q is not a field name", f)
		}
	}
	if c.Humidity == "" {
		c.Humidity = "humidity"
	}
	if c.MaxRH == 0 {
		c.MaxRH = 95
	}
	if !(c.MaxRH > 0 && c.MaxRH < 100) {
		return kessel.Errorf(kessel.EINVALID, "max_rh: a relative humidity below 100")
	}
	c.id = c.Name + "/v" + strconv.Itoa(c.Version)
	return nil
}

// applies reports whether c corrects field on a device of kind and sensor.
func (c *Correction) applies(kind, sensor, field string) bool {
	return c.Kind == kind && (c.Sensor == "" || c.Sensor == sensor) && slices.Contains(c.Fields, field)
}

// factor returns the growth factor C at relative humidity rh (%), and
// false where the correction does not apply.
func (c *Correction) factor(rh float64) (float64, bool) {
	if !(rh >= 0 && rh <= c.MaxRH) {
		return 0, false
	}
	return 1 + (c.Kappa/1.65)/(100/rh-1), true
}
