// Package kessel holds Kessel's domain types: readings, devices, dead letters
// and the error vocabulary shared by every other package.
//
// It imports only the standard library and orb's value types; the packages
// that talk to MQTT, InfluxDB or HTTP translate to and from these types.
package kessel

// ValidDeviceID reports whether id may name a device: 1 to 128 characters of
// ASCII letters, digits, '.', '_', ':' and '-', starting with a letter or
// digit. MQTT wildcards, slashes and white space are never allowed.
func ValidDeviceID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == ':' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidFieldName reports whether name may name a measured value:
// 1 to 64 characters of lower-case ASCII letters, digits and '_'.
func ValidFieldName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
