// Package kessel holds Kessel's domain types: readings, devices, dead letters
// and the error vocabulary shared by every other package.
//
// It imports only the standard library and orb's value types; the packages
// that talk to MQTT, InfluxDB or HTTP translate to and from these types.
package kessel

import "regexp"

var (
	deviceIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	fieldPattern    = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
)

// ValidDeviceID reports whether id may name a device: 1 to 128 characters of
// ASCII letters, digits, '.', '_', ':' and '-', starting with a letter or
// digit. MQTT wildcards, slashes and white space are never allowed.
func ValidDeviceID(id string) bool { return deviceIDPattern.MatchString(id) }

// ValidFieldName reports whether name may name a measured value:
// 1 to 64 characters of lower-case ASCII letters, digits and '_'.
func ValidFieldName(name string) bool { return fieldPattern.MatchString(name) }
