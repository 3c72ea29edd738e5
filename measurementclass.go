package kessel

// MeasurementClass is how a device measures in the sense of the EU air
// quality directives (2008/50/EC Art. 2(25)-(26), Annex I; Directive (EU)
// 2024/2881 Annex V): a reference station uses the reference method (or
// an equivalent one) and meets the data quality objectives of fixed
// measurements; an indicative measurement meets laxer objectives (a
// low-cost optical particle counter such as the SDS011 is at best that).
type MeasurementClass string

const (
	// Reference is a reference station (fixed measurement).
	Reference MeasurementClass = "reference"
	// Indicative is an indicative measurement, such as a low-cost sensor.
	// It is the default: a device is only a reference station when an
	// operator or the device says so.
	Indicative MeasurementClass = "indicative"
)

// ParseMeasurementClass accepts "", "reference" and "indicative"; the empty
// string stays empty (not set: indicative, see Device.Class). Other values
// return an EINVALID error.
func ParseMeasurementClass(s string) (MeasurementClass, error) {
	switch MeasurementClass(s) {
	case "", Reference, Indicative:
		return MeasurementClass(s), nil
	}
	return "", Errorf(EINVALID, "measurement_class must be reference or indicative, not %q", s)
}

// Class is the device's measurement class: Indicative unless it is set
// to Reference.
func (d Device) Class() MeasurementClass {
	if d.MeasurementClass == Reference {
		return Reference
	}
	return Indicative
}
