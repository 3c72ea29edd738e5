package kessel

import "fmt"

// DeviceIDRule says, for error messages, what ValidDeviceID accepts.
const DeviceIDRule = "use 1-128 ASCII letters, digits, '.', '_', ':' or '-', starting with a letter or digit"

// DeviceIDError returns the message for an id that ValidDeviceID refuses:
// the id and the rule.
func DeviceIDError(id string) string {
	return fmt.Sprintf("device id %q: %s", id, DeviceIDRule)
}
