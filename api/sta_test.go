package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"


	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx/influxtest"
)

// staFixture is the API fixture with stored history: air-1 has pm10 = i
// at now-2h+i minutes (i < 120), secret-1 (internal) one reading.
func staFixture(t *testing.T) *fixture {
	t.Helper()
	db := influxtest.Start(t)
	f := newFixture(t, db.URL)
	if err := f.store.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rs []kessel.Reading
	for i := range 120 {
		rs = append(rs, kessel.Reading{Device: "air-1", Kind: "air_quality", Time: f.now.Add(-2*time.Hour + time.Duration(i)*time.Minute), Values: map[string]float64{"pm10": float64(i)}})
	}
	rs = append(rs, kessel.Reading{Device: "secret-1", Kind: "air_quality", Time: f.now.Add(-time.Minute), Values: map[string]float64{"pm10": 99}})
	if err := f.store.WriteReadings(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) staJSON(t *testing.T, path string, hdr ...string) (int, map[string]any) {
	t.Helper()
	resp, body := f.get(t, path, hdr...)
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %.300s", path, resp.StatusCode, body)
	}
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("GET %s: %d as %q, not a problem document", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, doc
}

func ids(doc map[string]any) []string {
	var out []string
	vals, _ := doc["value"].([]any)
	for _, v := range vals {
		out = append(out, fmt.Sprint(v.(map[string]any)["@iot.id"]))
	}
	return out
}

func listOf(doc map[string]any, key string) []any {
	l, _ := doc[key].([]any)
	return l
}

// TestSTASensingCore checks the requirements of conformance class A.1
// (Sensing Core, read) of OGC 18-088 against the server with a real store.
func TestSTASensingCore(t *testing.T) {
	f := staFixture(t)
	base := f.srv.URL + "/sta/v1.1"
	cases := []struct {
		req, path string
		status    int
		check     func(t *testing.T, doc map[string]any)
	}{
		{"resource-path: service root lists every entity set and the conformance", "/sta/v1.1", 200, func(t *testing.T, doc map[string]any) {
			sets := listOf(doc, "value")
			if len(sets) != 8 || sets[0].(map[string]any)["url"] != base+"/Things" {
				t.Errorf("value: %v", sets)
			}
			conf := fmt.Sprint(doc["serverSettings"])
			if !strings.Contains(conf, "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data") {
				t.Errorf("conformance: %s", conf)
			}
		}},
		{"datamodel/thing: a public Thing with its links", "/sta/v1.1/Things('air-1')", 200, func(t *testing.T, doc map[string]any) {
			if doc["@iot.id"] != "air-1" || doc["@iot.selfLink"] != base+"/Things('air-1')" || doc["name"] != "air-1" || doc["description"] == nil ||
				doc["Datastreams@iot.navigationLink"] != base+"/Things('air-1')/Datastreams" || doc["Locations@iot.navigationLink"] == nil || doc["HistoricalLocations@iot.navigationLink"] == nil {
				t.Errorf("thing: %v", doc)
			}
		}},
		{"resource-path: a collection holds public devices only", "/sta/v1.1/Things", 200, func(t *testing.T, doc map[string]any) {
			if got := strings.Join(ids(doc), ","); got != "air-1,air-2,noise-1" {
				t.Errorf("things: %s", got)
			}
		}},
		{"datamodel/location: encodingType and GeoJSON location", "/sta/v1.1/Locations('air-1')", 200, func(t *testing.T, doc map[string]any) {
			if doc["encodingType"] != "application/geo+json" || fmt.Sprint(doc["location"]) != "map[coordinates:[9.18 48.78] type:Point]" || doc["Things@iot.navigationLink"] == nil {
				t.Errorf("location: %v", doc)
			}
		}},
		{"datamodel/historical-location: time and links", "/sta/v1.1/HistoricalLocations('air-1')", 200, func(t *testing.T, doc map[string]any) {
			if doc["time"] == nil || doc["Thing@iot.navigationLink"] == nil || doc["Locations@iot.navigationLink"] == nil {
				t.Errorf("historical location: %v", doc)
			}
		}},
		{"datamodel/datastream: unitOfMeasurement in UCUM, observationType, observedArea", "/sta/v1.1/Datastreams('air-2:pm25')", 200, func(t *testing.T, doc map[string]any) {
			u := doc["unitOfMeasurement"].(map[string]any)
			if u["symbol"] != "µg/m³" || u["definition"] != "ucum:ug/m3" || doc["observationType"] != "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement" ||
				doc["observedArea"] == nil || doc["Observations@iot.navigationLink"] != base+"/Datastreams('air-2:pm25')/Observations" {
				t.Errorf("datastream: %v", doc)
			}
		}},
		{"datamodel/sensor: encodingType and metadata", "/sta/v1.1/Sensors('air_quality')", 200, func(t *testing.T, doc map[string]any) {
			if doc["encodingType"] == nil || doc["metadata"] == nil || doc["Datastreams@iot.navigationLink"] == nil {
				t.Errorf("sensor: %v", doc)
			}
		}},
		{"datamodel/observed-property: name and definition", "/sta/v1.1/ObservedProperties('pm10')", 200, func(t *testing.T, doc map[string]any) {
			if doc["name"] != "pm10" || doc["definition"] == nil {
				t.Errorf("observed property: %v", doc)
			}
		}},
		{"datamodel/feature-of-interest: encodingType and feature", "/sta/v1.1/FeaturesOfInterest('air-2')", 200, func(t *testing.T, doc map[string]any) {
			if doc["encodingType"] != "application/geo+json" || doc["feature"] == nil || doc["Observations@iot.navigationLink"] == nil {
				t.Errorf("feature of interest: %v", doc)
			}
		}},
		{"resource-path: navigation to a related collection", "/sta/v1.1/Things('air-2')/Datastreams", 200, func(t *testing.T, doc map[string]any) {
			if got := strings.Join(ids(doc), ","); got != "air-2:pm10,air-2:pm25" {
				t.Errorf("datastreams of air-2: %s", got)
			}
		}},
		{"resource-path: navigation to a related entity", "/sta/v1.1/Datastreams('air-1:pm10')/Thing", 200, func(t *testing.T, doc map[string]any) {
			if doc["@iot.id"] != "air-1" {
				t.Errorf("thing of the datastream: %v", doc)
			}
		}},
		{"resource-path: a property", "/sta/v1.1/Things('air-1')/name", 200, func(t *testing.T, doc map[string]any) {
			if len(doc) != 1 || doc["name"] != "air-1" {
				t.Errorf("property: %v", doc)
			}
		}},
		{"resource-path: association links ($ref)", "/sta/v1.1/Things('air-2')/Datastreams/$ref", 200, func(t *testing.T, doc map[string]any) {
			vals := listOf(doc, "value")
			if len(vals) != 2 || vals[0].(map[string]any)["@iot.selfLink"] != base+"/Datastreams('air-2:pm10')" {
				t.Errorf("refs: %v", doc)
			}
		}},
		{"datamodel/observation: observations of a datastream from the store", "/sta/v1.1/Datastreams('air-1:pm10')/Observations?$top=2&$orderby=phenomenonTime%20desc", 200, func(t *testing.T, doc map[string]any) {
			vals := listOf(doc, "value")
			if len(vals) != 2 {
				t.Fatalf("observations: %v", doc)
			}
			o := vals[0].(map[string]any)
			if o["result"] != 119.0 || o["phenomenonTime"] != "2026-11-23T07:59:00Z" || o["Datastream@iot.navigationLink"] == nil || o["FeatureOfInterest@iot.navigationLink"] == nil {
				t.Errorf("newest observation: %v", o)
			}
			if _, ok := o["resultTime"]; !ok {
				t.Errorf("resultTime missing: %v", o)
			}
		}},
		{"resource-path: an observation by its id, read back from the store", "/sta/v1.1/Observations('air-1:pm10:" + fmt.Sprint(time.Date(2026, 11, 23, 6, 30, 0, 0, time.UTC).UnixNano()) + "')", 200, func(t *testing.T, doc map[string]any) {
			if doc["result"] != 30.0 {
				t.Errorf("observation: %v", doc)
			}
		}},
		{"resource-path: the top-level Observations are the latest of each datastream", "/sta/v1.1/Observations", 200, func(t *testing.T, doc map[string]any) {
			if len(listOf(doc, "value")) != 3 {
				t.Errorf("observations: %v", ids(doc))
			}
		}},
		{"resource-path: an unknown entity is 404", "/sta/v1.1/Things('nope')", 404, nil},
		{"resource-path: an unknown entity set is 404", "/sta/v1.1/Gadgets", 404, nil},
		{"resource-path: an unknown navigation is 404", "/sta/v1.1/Things('air-1')/Observations", 404, nil},
		{"visibility: an internal Thing is not found without a key", "/sta/v1.1/Things('secret-1')", 404, nil},
		{"visibility: an internal Datastream's observations are not found without a key", "/sta/v1.1/Datastreams('secret-1:pm10')/Observations", 404, nil},
	}
	for _, tc := range cases {
		t.Run(tc.req, func(t *testing.T) {
			status, doc := f.staJSON(t, tc.path)
			if status != tc.status {
				t.Fatalf("GET %s: %d, want %d: %v", tc.path, status, tc.status, doc)
			}
			if tc.check != nil {
				tc.check(t, doc)
			}
		})
	}
}
