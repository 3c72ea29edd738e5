package simulators

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/kessel-city/kessel"
)

// Message is one thing a device sends: an MQTT topic and payload.
type Message struct {
	Topic    string // MQTT topic; empty for an HTTP push
	Payload  []byte
	Retained bool
	Kind     string
	Format   string
	// HTTPPath and Header describe an HTTP push (airrohr).
	HTTPPath string
	Header   map[string]string
	// Fault names the fault injected into this message, if any.
	Fault string
	// Sent is when the simulator sent it (its clock).
	Sent time.Time
}

type nativeLocation struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

// NativeReading encodes a reading in Kessel's native JSON, as PRODUCT.md
// specifies: {"ts": RFC 3339 with milliseconds, "values": {...}}.
func NativeReading(d *Device, ts time.Time, values map[string]float64) Message {
	// Written by hand: it is the simulator's hottest path. Field names are
	// plain identifiers; the order is sorted, as encoding/json would.
	p := make([]byte, 0, 160)
	p = append(p, `{"ts":"`...)
	layout := "2006-01-02T15:04:05.000Z07:00"
	if ts.Nanosecond()%int(time.Millisecond) != 0 {
		layout = time.RFC3339Nano // keep what makes an out-of-order reading unique
	}
	p = ts.UTC().AppendFormat(p, layout)
	p = append(p, `","values":{`...)
	for i, k := range sortedKeys(values) {
		if i > 0 {
			p = append(p, ',')
		}
		p = append(p, '"')
		p = append(p, k...)
		p = append(p, '"', ':')
		p = strconv.AppendFloat(p, values[k], 'f', -1, 64)
	}
	p = append(p, '}', '}')
	return Message{Topic: kessel.ReadingsTopic(d.ID), Payload: p, Kind: d.Kind, Format: "native"}
}

// NativeReadingAt is NativeReading with the position of a mobile sensor.
func NativeReadingAt(d *Device, ts time.Time, values map[string]float64, p [2]float64) Message {
	b, _ := json.Marshal(struct {
		TS       string             `json:"ts"`
		Values   map[string]float64 `json:"values"`
		Location nativeLocation     `json:"location"`
	}{ts.UTC().Format("2006-01-02T15:04:05.000Z07:00"), values, nativeLocation{p[0], p[1]}})
	return Message{Topic: kessel.ReadingsTopic(d.ID), Payload: b, Kind: d.Kind, Format: "native"}
}

// Meta encodes the device's retained self-description.
func Meta(d *Device) Message {
	p, _ := json.Marshal(struct {
		Kind       string         `json:"kind"`
		Name       string         `json:"name"`
		Location   nativeLocation `json:"location"`
		Department string         `json:"department"`
		Visibility string         `json:"visibility"`
	}{d.Kind, "Simulated " + d.Kind + " " + d.ID, nativeLocation{d.Location[0], d.Location[1]}, departments[d.Kind], "public"})
	return Message{Topic: kessel.MetaTopic(d.KesselID()), Payload: p, Retained: true, Kind: d.Kind, Format: "meta"}
}

// departments that own each kind in a typical German city administration.
var departments = map[string]string{
	"air_quality": "umweltschutz", "noise": "umweltschutz", "traffic": "tiefbau", "parking": "tiefbau",
	"weather": "umweltschutz", "water_level": "tiefbau", "road_surface": "abfallwirtschaft-winterdienst",
	"waste_bin": "abfallwirtschaft-winterdienst", "wildfire": "feuerwehr",
}
