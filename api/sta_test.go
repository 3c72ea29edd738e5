package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx/influxtest"
)

// staFixture is the API fixture with stored history: air-1 has pm10 = i
// at now-2h+i minutes (i < 120), flagged passing by quality control but
// the last, a suspect spike, and 500 three days before now (no flag),
// secret-1 (internal) one reading.
func staFixture(t *testing.T) *fixture {
	t.Helper()
	db := influxtest.Start(t)
	f := newFixture(t, db.URL)
	if err := f.store.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rs []kessel.Reading
	for i := range 120 {
		r := kessel.Reading{Device: "air-1", Kind: "air_quality", Time: f.now.Add(-2*time.Hour + time.Duration(i)*time.Minute), Values: map[string]float64{"pm10": float64(i), "qc.pm10": 1}}
		if i == 119 {
			r.Values["qc.pm10"], r.Values["qct.pm10"] = 3, 4 // spike
		}
		rs = append(rs, r)
	}
	rs = append(rs, kessel.Reading{Device: "air-1", Kind: "air_quality", Time: f.now.Add(-72 * time.Hour), Values: map[string]float64{"pm10": 500}})
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

func staIDs(doc map[string]any) []string {
	var out []string
	vals, _ := doc["value"].([]any)
	for _, v := range vals {
		out = append(out, fmt.Sprint(v.(map[string]any)["@iot.id"]))
	}
	return out
}

func staList(doc map[string]any, key string) []any {
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
			sets := staList(doc, "value")
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
			if got := strings.Join(staIDs(doc), ","); got != "air-1,air-2,noise-1" {
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
			if u["symbol"] != "µg/m³" || u["definition"] != "http://www.opengis.net/def/uom/UCUM/0/ug%2Fm3" || doc["observationType"] != "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement" ||
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
			if got := strings.Join(staIDs(doc), ","); got != "air-2:pm10,air-2:pm25" {
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
			vals := staList(doc, "value")
			if len(vals) != 2 || vals[0].(map[string]any)["@iot.selfLink"] != base+"/Datastreams('air-2:pm10')" {
				t.Errorf("refs: %v", doc)
			}
		}},
		{"datamodel/observation: observations of a datastream from the store", "/sta/v1.1/Datastreams('air-1:pm10')/Observations?$top=2&$orderby=phenomenonTime%20desc", 200, func(t *testing.T, doc map[string]any) {
			vals := staList(doc, "value")
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
			if q := fmt.Sprint(o["resultQuality"]); q != "map[meaning:suspect nameOfMeasure:QARTOD quality flag tests:[spike] value:3]" {
				t.Errorf("stored observation's resultQuality: %s", q)
			}
			if q := fmt.Sprint(vals[1].(map[string]any)["resultQuality"]); q != "map[meaning:pass nameOfMeasure:QARTOD quality flag value:1]" {
				t.Errorf("resultQuality of a passing stored observation: %s", q)
			}
		}},
		{"resource-path: an observation by its id, read back from the store", "/sta/v1.1/Observations('air-1:pm10:" + fmt.Sprint(time.Date(2026, 11, 23, 6, 30, 0, 0, time.UTC).UnixNano()) + "')", 200, func(t *testing.T, doc map[string]any) {
			if doc["result"] != 30.0 {
				t.Errorf("observation: %v", doc)
			}
		}},
		{"resource-path: the top-level Observations are the stored ones of the last hour, public devices only", "/sta/v1.1/Observations?$count=true&$top=1", 200, func(t *testing.T, doc map[string]any) {
			if doc["@iot.count"] != 59.0 || staIDs(doc)[0] != "air-1:pm10:"+fmt.Sprint(time.Date(2026, 11, 23, 7, 1, 0, 0, time.UTC).UnixNano()) {
				t.Errorf("observations: %v %v", doc["@iot.count"], staIDs(doc))
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

// TestSTAFiltering checks the requirements of conformance class A.2
// (Filtering Extension: req/request-data) of OGC 18-088.
func TestSTAFiltering(t *testing.T) {
	f := staFixture(t)
	obs := "/sta/v1.1/Datastreams('air-1:pm10')/Observations"
	q := func(path string, opts ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(opts); i += 2 {
			v.Set(opts[i], opts[i+1])
		}
		return path + "?" + v.Encode()
	}
	cases := []struct {
		req, path string
		status    int
		check     func(t *testing.T, doc map[string]any)
	}{
		{"request-data/top: $top limits the page and @iot.nextLink continues", q("/sta/v1.1/Things", "$top", "2"), 200, func(t *testing.T, doc map[string]any) {
			next, _ := doc["@iot.nextLink"].(string)
			if strings.Join(staIDs(doc), ",") != "air-1,air-2" || !strings.Contains(next, "%24skip=2") {
				t.Errorf("page: %v next %q", staIDs(doc), next)
			}
		}},
		{"request-data/skip: $skip", q("/sta/v1.1/Things", "$skip", "2"), 200, func(t *testing.T, doc map[string]any) {
			if strings.Join(staIDs(doc), ",") != "noise-1" || doc["@iot.nextLink"] != nil {
				t.Errorf("skipped: %v", doc)
			}
		}},
		{"request-data/count: $count=true counts the filtered collection", q(obs, "$count", "true", "$top", "1"), 200, func(t *testing.T, doc map[string]any) {
			if doc["@iot.count"] != 120.0 || len(staList(doc, "value")) != 1 {
				t.Errorf("count: %v", doc["@iot.count"])
			}
		}},
		{"request-data/top: $top=0 answers the count alone, with no next link to loop on", q("/sta/v1.1/Things", "$top", "0", "$count", "true"), 200, func(t *testing.T, doc map[string]any) {
			if doc["@iot.count"] != 3.0 || len(staList(doc, "value")) != 0 || doc["@iot.nextLink"] != nil {
				t.Errorf("top=0: %v", doc)
			}
		}},
		{"request-data/orderby: $orderby desc", q("/sta/v1.1/Things", "$orderby", "@iot.id desc"), 200, func(t *testing.T, doc map[string]any) {
			if strings.Join(staIDs(doc), ",") != "noise-1,air-2,air-1" {
				t.Errorf("order: %v", staIDs(doc))
			}
		}},
		{"request-data/select: $select keeps only the properties named", q("/sta/v1.1/Things('air-1')", "$select", "id,name"), 200, func(t *testing.T, doc map[string]any) {
			if len(doc) != 2 || doc["@iot.id"] != "air-1" || doc["name"] != "air-1" {
				t.Errorf("selected: %v", doc)
			}
		}},
		{"request-data/expand: Things with their Datastreams", q("/sta/v1.1/Things('air-2')", "$expand", "Datastreams($select=name)"), 200, func(t *testing.T, doc map[string]any) {
			ds := staList(doc, "Datastreams")
			if len(ds) != 2 || ds[0].(map[string]any)["name"] != "air-2 pm10" || len(ds[0].(map[string]any)) != 1 {
				t.Errorf("expanded: %v", doc["Datastreams"])
			}
		}},
		{"request-data/expand: Datastreams with their Observations, limited, nested options", q("/sta/v1.1/Things('air-1')", "$expand", "Datastreams($expand=Observations($top=3;$orderby=phenomenonTime desc;$count=true))"), 200, func(t *testing.T, doc map[string]any) {
			ds := staList(doc, "Datastreams")
			if len(ds) != 1 {
				t.Fatalf("expanded: %v", doc)
			}
			d := ds[0].(map[string]any)
			o := staList(d, "Observations")
			if len(o) != 3 || o[0].(map[string]any)["result"] != 119.0 || d["Observations@iot.count"] != 120.0 || d["Observations@iot.nextLink"] == nil {
				t.Errorf("observations: %v", d)
			}
		}},
		{"request-data/expand: a singular navigation", q("/sta/v1.1/Datastreams('air-1:pm10')", "$expand", "Thing,Sensor"), 200, func(t *testing.T, doc map[string]any) {
			if doc["Thing"].(map[string]any)["@iot.id"] != "air-1" || doc["Sensor"].(map[string]any)["@iot.id"] != "air_quality" {
				t.Errorf("expanded: %v", doc)
			}
		}},
		{"request-data/filter: comparison on a property", q("/sta/v1.1/Datastreams", "$filter", "properties/field eq 'pm25'"), 200, func(t *testing.T, doc map[string]any) {
			if strings.Join(staIDs(doc), ",") != "air-2:pm25" {
				t.Errorf("filtered: %v", staIDs(doc))
			}
		}},
		{"request-data/filter: and/or/not and a singular navigation path", q("/sta/v1.1/Datastreams", "$filter", "Thing/name eq 'air-1' or not (ObservedProperty/name ne 'pm25')"), 200, func(t *testing.T, doc map[string]any) {
			if strings.Join(staIDs(doc), ",") != "air-1:pm10,air-2:pm25" {
				t.Errorf("filtered: %v", staIDs(doc))
			}
		}},
		{"request-data/filter: phenomenonTime window and result comparison", q(obs, "$filter", "phenomenonTime ge 2026-11-23T07:00:00Z and phenomenonTime lt 2026-11-23T07:10:00Z and result gt 62", "$count", "true"), 200, func(t *testing.T, doc map[string]any) {
			if doc["@iot.count"] != 7.0 {
				t.Errorf("count: %v", doc["@iot.count"])
			}
		}},
		{"request-data/filter: a window older than the default 24 hours reaches the store", q(obs, "$filter", "phenomenonTime lt 2026-11-21T00:00:00Z and phenomenonTime gt 2026-11-01T00:00:00Z", "$count", "true"), 200, func(t *testing.T, doc map[string]any) {
			if doc["@iot.count"] != 1.0 || staList(doc, "value")[0].(map[string]any)["result"] != 500.0 {
				t.Errorf("count: %v", doc["@iot.count"])
			}
		}},
		{"request-data/filter: time functions", q(obs, "$filter", "minute(phenomenonTime) eq 5", "$count", "true"), 200, func(t *testing.T, doc map[string]any) {
			if doc["@iot.count"] != 2.0 {
				t.Errorf("count: %v", doc["@iot.count"])
			}
		}},
		{"request-data/filter: geo.distance in metres", q("/sta/v1.1/Locations", "$filter", "geo.distance(location, geography'POINT(9.18 48.78)') lt 200"), 200, func(t *testing.T, doc map[string]any) {
			if strings.Join(staIDs(doc), ",") != "air-1,noise-1" {
				t.Errorf("near: %v", staIDs(doc))
			}
		}},
		{"request-data/filter: st_within a polygon", q("/sta/v1.1/FeaturesOfInterest", "$filter", "st_within(feature, geography'POLYGON((9.19 48.77, 9.23 48.77, 9.23 48.79, 9.19 48.79, 9.19 48.77))')"), 200, func(t *testing.T, doc map[string]any) {
			if strings.Join(staIDs(doc), ",") != "air-2" {
				t.Errorf("within: %v", staIDs(doc))
			}
		}},
		{"request-data/filter: geo.intersects on a Datastream's observedArea", q("/sta/v1.1/Datastreams", "$filter", "geo.intersects(observedArea, geography'POLYGON((9.17 48.77, 9.19 48.77, 9.19 48.79, 9.17 48.79, 9.17 48.77))')", "$select", "id"), 200, func(t *testing.T, doc map[string]any) {
			if strings.Join(staIDs(doc), ",") != "air-1:pm10" {
				t.Errorf("intersects: %v", staIDs(doc))
			}
		}},
		{"errors: a malformed $filter is 400", q("/sta/v1.1/Things", "$filter", "name eq"), 400, nil},
		{"errors: an unknown property in $filter is 400", q("/sta/v1.1/Things", "$filter", "colour eq 'red'"), 400, nil},
		{"errors: an unknown query option is 400", q("/sta/v1.1/Things", "$search", "x"), 400, nil},
		{"errors: a negative $top is 400", q("/sta/v1.1/Things", "$top", "-1"), 400, nil},
		{"errors: $select of an unknown property is 400", q("/sta/v1.1/Things", "$select", "colour"), 400, nil},
		{"errors: $expand of an unknown navigation is 400", q("/sta/v1.1/Things", "$expand", "Observations"), 400, nil},
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

// TestSTAPagingAndAccess follows @iot.nextLink to the end under the
// server-side maximum, and checks keys, HEAD and wrong methods.
func TestSTAPagingAndAccess(t *testing.T) {
	f := staFixture(t)
	for i := range 1200 {
		if err := f.reg.Put(kessel.Device{ID: fmt.Sprintf("bulk-%04d", i), Kind: "noise", Location: &orb.Point{9.2, 48.8}, Visibility: kessel.Public}); err != nil {
			t.Fatal(err)
		}
	}
	seen, pages := map[string]bool{}, 0
	next := "/sta/v1.1/Things?$top=5000&$count=true&$filter=" + url.QueryEscape("startswith(@iot.id, 'bulk-')")
	for next != "" {
		status, doc := f.staJSON(t, strings.TrimPrefix(next, f.srv.URL))
		if status != 200 || doc["@iot.count"] != 1200.0 {
			t.Fatalf("page %d: %d %v", pages, status, doc["@iot.count"])
		}
		if n := len(staIDs(doc)); n > 1000 {
			t.Fatalf("page %d has %d entities, above the maximum of 1000", pages, n)
		}
		for _, id := range staIDs(doc) {
			seen[id] = true
		}
		next, _ = doc["@iot.nextLink"].(string)
		pages++
	}
	if len(seen) != 1200 || pages != 2 {
		t.Errorf("%d things in %d pages, want 1200 in 2", len(seen), pages)
	}

	internal := []string{"Authorization", "Bearer " + testKeys["data:internal"]}
	access := []struct {
		name, path string
		hdr        []string
		status     int
	}{
		{"data:internal sees an internal Thing", "/sta/v1.1/Things('secret-1')", internal, 200},
		{"data:internal reads an internal Datastream's observations", "/sta/v1.1/Datastreams('secret-1:pm10')/Observations", internal, 200},
		{"another scope does not", "/sta/v1.1/Things('secret-1')", []string{"Authorization", "Bearer " + testKeys["rules:read"]}, 404},
		{"an unknown key is 401", "/sta/v1.1/Things", []string{"Authorization", "Bearer nope"}, 401},
	}
	for _, tc := range access {
		t.Run(tc.name, func(t *testing.T) {
			if status, doc := f.staJSON(t, tc.path, tc.hdr...); status != tc.status {
				t.Errorf("GET %s: %d, want %d: %v", tc.path, status, tc.status, doc)
			}
		})
	}
	resp, body := f.do(t, http.MethodHead, "/sta/v1.1/Things", "")
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD: %d %q %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	resp, _ = f.do(t, http.MethodPost, "/sta/v1.1/Things", "{}")
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	resp, body = f.get(t, "/sta/v1.1/Things('air-1')/name/$value")
	if resp.StatusCode != 200 || string(body) != "air-1" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("$value: %d %q", resp.StatusCode, body)
	}
}

// TestSTAMobileTrack: a mobile device's HistoricalLocations are its
// stored places (OGC 18-088 §8.2.3: a Thing's past Locations), each with
// its own Location, narrowed by time in $filter.
func TestSTAMobileTrack(t *testing.T) {
	f := staFixture(t)
	if err := f.reg.Put(kessel.Device{ID: "bike-1", Kind: "air_quality", Location: &orb.Point{9.17, 48.77}, Visibility: kessel.Public}); err != nil {
		t.Fatal(err)
	}
	var rs []kessel.Reading
	for i := range 3 {
		rs = append(rs, kessel.Reading{Device: "bike-1", Kind: "air_quality", Time: f.now.Add(time.Duration(i-3) * 10 * time.Minute),
			Values: map[string]float64{"pm10": float64(10 + i)}, Location: &[]orb.Point{{9.171, 48.771}, {9.172, 48.771}, {9.173, 48.771}}[i]})
	}
	f.reg.Observe(rs[2:])
	if err := f.store.WriteReadings(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	at := func(min int) string { return fmt.Sprint(f.now.Add(time.Duration(min) * time.Minute).UnixNano()) }
	cases := []struct {
		name, path string
		status     int
		want       string // the ids, or a property's value
	}{
		{"the track of a mobile Thing", "/sta/v1.1/Things('bike-1')/HistoricalLocations", 200, "bike-1:" + at(-30) + ",bike-1:" + at(-20) + ",bike-1:" + at(-10)},
		{"narrowed by time", "/sta/v1.1/Things('bike-1')/HistoricalLocations?$filter=" + url.QueryEscape("time gt 2026-11-23T07:35:00Z"), 200, "bike-1:" + at(-20) + ",bike-1:" + at(-10)},
		{"a past place's Location", "/sta/v1.1/HistoricalLocations('bike-1:" + at(-20) + "')/Locations", 200, "bike-1:" + at(-20)},
		{"the Location's coordinates", "/sta/v1.1/Locations('bike-1:" + at(-20) + "')/location", 200, "map[location:map[coordinates:[9.172 48.771] type:Point]]"},
		{"back to the Thing", "/sta/v1.1/Locations('bike-1:" + at(-20) + "')/Things", 200, "bike-1"},
		{"a time with no stored place is 404", "/sta/v1.1/HistoricalLocations('bike-1:" + at(-25) + "')", 404, ""},
		{"a mobile device's observation has the reading's place as its FeatureOfInterest", "/sta/v1.1/Observations('bike-1:pm10:" + at(-20) + "')/FeatureOfInterest/feature", 200, "map[feature:map[coordinates:[9.172 48.771] type:Point]]"},
		{"from that FeatureOfInterest to the observations made there", "/sta/v1.1/FeaturesOfInterest('bike-1:" + at(-20) + "')/Observations", 200, "bike-1:pm10:" + at(-20)},
		{"each observation has its own place", "/sta/v1.1/Observations('bike-1:pm10:" + at(-30) + "')/FeatureOfInterest/name", 200, "map[name:place of bike-1 at 2026-11-23T07:30:00Z]"},
		{"a fixed device has one HistoricalLocation", "/sta/v1.1/Things('air-1')/HistoricalLocations", 200, "air-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, doc := f.staJSON(t, tc.path)
			if status != tc.status {
				t.Fatalf("GET %s: %d, want %d: %v", tc.path, status, tc.status, doc)
			}
			got := strings.Join(staIDs(doc), ",")
			if doc["value"] == nil {
				got = fmt.Sprint(doc)
			}
			if status == 200 && got != tc.want {
				t.Errorf("GET %s:\n got %s\nwant %s", tc.path, got, tc.want)
			}
		})
	}
}
