package kessel

// The MQTT topics of the contract (PRODUCT.md), in one place for the
// packages that read, write or authorise them.
const (
	// DeviceTopicPrefix starts every topic a device publishes on.
	DeviceTopicPrefix = "kessel/devices/"
	// AirrohrPushTopic prefixes the X-Sensor header of an airrohr HTTP
	// push, which ingest takes as if it had come on this pseudo-topic.
	AirrohrPushTopic = "push/airrohr/"
)

// ReadingsTopic is where device publishes its readings.
func ReadingsTopic(device string) string { return DeviceTopicPrefix + device + "/readings" }

// MetaTopic is where device publishes its retained self-description.
func MetaTopic(device string) string { return DeviceTopicPrefix + device + "/meta" }
