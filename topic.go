package kessel

import "strings"

// The MQTT topics of the contract (PRODUCT.md), in one place for the
// packages that read, write or authorise them.
const (
	// DeviceTopicPrefix starts every topic a device publishes on.
	DeviceTopicPrefix = "kessel/devices/"
	// AirrohrPushTopic prefixes the X-Sensor header of an airrohr HTTP
	// push, which ingest takes as if it had come on this pseudo-topic.
	AirrohrPushTopic = "push/airrohr/"
	// AlertTopicPrefix starts every topic alert transitions are published
	// on; the level after it says who may read them.
	AlertTopicPrefix = "kessel/alerts/"
	// PublicAlertTopicPrefix starts the topics of public alerts, which any
	// client of the broker may read.
	PublicAlertTopicPrefix = AlertTopicPrefix + "public/"
	// InternalAlertTopicPrefix starts the topics of internal alerts, which
	// only service logins may read.
	InternalAlertTopicPrefix = AlertTopicPrefix + "internal/"
)

// OwnTopic says whether topic is one only Kessel publishes on: the alert
// transitions and the SensorThings Observations. A broker refuses an
// anonymous client's publish there (a spoofed alert would reach every
// subscriber); the device and service logins' permissions say the rest.
func OwnTopic(topic string) bool {
	return strings.HasPrefix(topic, AlertTopicPrefix) || topic == strings.TrimSuffix(AlertTopicPrefix, "/") ||
		strings.HasPrefix(topic, STATopicPrefix)
}

// ReadingsTopic is where device publishes its readings.
func ReadingsTopic(device string) string { return DeviceTopicPrefix + device + "/readings" }

// MetaTopic is where device publishes its retained self-description.
func MetaTopic(device string) string { return DeviceTopicPrefix + device + "/meta" }

// MetaTopicDevice returns the device whose self-description topic is
// topic, and false for any other topic.
func MetaTopicDevice(topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, DeviceTopicPrefix)
	if !ok {
		return "", false
	}
	dev, ok := strings.CutSuffix(rest, "/meta")
	if !ok || dev == "" || strings.ContainsAny(dev, "/+#") {
		return "", false
	}
	return dev, true
}

// AlertTopic is where a's transitions are published:
// kessel/alerts/public/{rule}/{subject} for a public alert,
// kessel/alerts/internal/{rule}/{subject} for any other (an alert without
// a visibility is internal).
func AlertTopic(a Alert) string {
	prefix := InternalAlertTopicPrefix
	if a.Visibility == Public {
		prefix = PublicAlertTopicPrefix
	}
	return prefix + a.RuleID + "/" + a.Subject
}

// STATopicPrefix starts the topics of the SensorThings MQTT receive
// extension (OGC 18-088 §14): Kessel publishes there, nobody else may.
const STATopicPrefix = "v1.1/"

// STAObservationsTopic is where each new Observation of the SensorThings
// Datastream device:field is published, as the JSON entity the API
// answers for it: v1.1/Datastreams('device:field')/Observations.
func STAObservationsTopic(device, field string) string {
	return STATopicPrefix + "Datastreams('" + device + ":" + field + "')/Observations"
}

// STATopicDevice returns the device whose Datastream's observations topic
// is topic, and false for any other topic.
func STATopicDevice(topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, STATopicPrefix+"Datastreams('")
	if !ok {
		return "", false
	}
	ds, ok := strings.CutSuffix(rest, "')/Observations")
	i := strings.LastIndexByte(ds, ':')
	if !ok || i <= 0 || !ValidDeviceID(ds[:i]) || !ValidFieldName(ds[i+1:]) {
		return "", false
	}
	return ds[:i], true
}
