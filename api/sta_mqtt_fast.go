package api

import (
	"math"
	"strconv"
	"time"

	"github.com/kessel-city/kessel"
)

// appendSTAObservation appends the JSON of the Observation of field in a
// reading of device at t, exactly as GET /sta/v1.1/Observations('id')
// renders it (staModel.render of staModel.observation, keys sorted as
// encoding/json sorts a map's), without building the map: the MQTT feed
// renders one per stored value. base is the SensorThings root URL. ok is
// false for what JSON cannot hold (a NaN or infinite value, a year
// outside 0-9999), which the feed leaves out as the map path did.
func appendSTAObservation(b []byte, base, device, field string, t time.Time, values map[string]float64) (_ []byte, ok bool) {
	v := values[field]
	if math.IsNaN(v) || math.IsInf(v, 0) || t.Year() < 0 || t.Year() > 9999 {
		return b, false
	}
	id := staObservationID(device, field, t)
	self := staSelf(base, "Observations", id)
	b = append(b, `{"@iot.id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"@iot.selfLink":`...)
	b = appendJSONString(b, self)
	b = append(b, `,"Datastream@iot.navigationLink":`...)
	b = appendJSONString(b, self+"/Datastream")
	b = append(b, `,"FeatureOfInterest@iot.navigationLink":`...)
	b = appendJSONString(b, self+"/FeatureOfInterest")
	b = append(b, `,"phenomenonTime":`...)
	b = appendJSONTime(b, t.UTC())
	b = append(b, `,"result":`...)
	b = appendJSONFloat(b, v)
	if f := kessel.FlagOf(values, field); f != 0 {
		b = append(b, `,"resultQuality":{"meaning":`...)
		b = appendJSONString(b, f.String())
		b = append(b, `,"nameOfMeasure":"QARTOD quality flag"`...)
		if tests := kessel.QCTestNames(int(values[kessel.TestsPrefix+field])); tests != nil {
			b = append(b, `,"tests":[`...)
			for i, n := range tests {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, n)
			}
			b = append(b, ']')
		}
		b = append(b, `,"value":`...)
		b = strconv.AppendInt(b, int64(f), 10)
		b = append(b, '}')
	}
	return append(b, `,"resultTime":null}`...), true
}
