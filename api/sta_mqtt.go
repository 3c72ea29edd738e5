package api

import (
	"bytes"
	"strings"

	"github.com/kessel-city/kessel"
)

// STAMessage is one Observation for the SensorThings MQTT receive
// extension (OGC 18-088 §14.2): the JSON entity on its Datastream's topic.
type STAMessage struct {
	Topic   string // kessel.STAObservationsTopic
	Payload []byte
	// Public is false for an internal device's Datastream: only logins
	// that may read internal data may receive it.
	Public bool
}

// STAObservations renders stored readings as the MQTT receive extension
// publishes them: one message per field, the same JSON as GET
// /sta/v1.1/Observations('id') answers, with links under base (the
// server's public URL, such as http://127.0.0.1:8080). want, when not
// nil, says whether a topic has a subscriber: the Observations of topics
// it refuses are not rendered (rendering is most of the feed's cost, and
// usually nobody listens); it is asked once per topic and call. It is
// safe for concurrent use.
func STAObservations(base string, rs []kessel.Reading, want func(topic string) bool) []STAMessage {
	base = strings.TrimRight(base, "/") + staRoot
	var out []STAMessage
	scratch := make([]byte, 0, 512)
	// A batch holds several readings of a device: each topic is asked
	// about once (a broker's lookup of a topic costs about a microsecond
	// when its cache is smaller than a city's Datastreams), remembered by
	// device and field, so that a known one costs no topic string.
	var wanted map[staField]bool
	if want != nil {
		wanted = map[staField]bool{}
	}
	ask := func(device, field string) bool {
		w, asked := wanted[staField{device, field}]
		if !asked {
			w = want(kessel.STAObservationsTopic(device, field))
			wanted[staField{device, field}] = w
		}
		return w
	}
	for i := range rs {
		r := &rs[i]
		if want != nil && !anyWanted(r, ask) {
			continue
		}
		for _, f := range fieldNames(r.Values) {
			if want != nil && !ask(r.Device, f) {
				continue
			}
			var ok bool
			if scratch, ok = appendSTAObservation(scratch[:0], base, r.Device, f, r.Time, r.Values); !ok {
				continue // a value JSON cannot hold (validated readings have none)
			}
			out = append(out, STAMessage{Topic: kessel.STAObservationsTopic(r.Device, f), Payload: bytes.Clone(scratch), Public: !r.Internal})
		}
	}
	return out
}

// staField names a Datastream: a device and one of its fields.
type staField struct{ device, field string }

// anyWanted reports whether a measured field of r has a topic ask wants.
func anyWanted(r *kessel.Reading, ask func(device, field string) bool) bool {
	for f := range r.Values {
		if kessel.Measured(f) && ask(r.Device, f) {
			return true
		}
	}
	return false
}
