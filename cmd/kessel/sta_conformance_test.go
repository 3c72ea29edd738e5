package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// staFleet is more Things than one default page (100) of the service.
const staFleet = 150

// staRequired are the properties OGC 18-088 §8.2 (req/datamodel) makes
// mandatory for each entity set, and its navigation links (§9.2.2,
// req/resource-path); every entity also has @iot.id and @iot.selfLink.
var staRequired = map[string][]string{
	"Things":              {"name", "description", "Locations@iot.navigationLink", "HistoricalLocations@iot.navigationLink", "Datastreams@iot.navigationLink"},
	"Locations":           {"name", "description", "encodingType", "location", "Things@iot.navigationLink", "HistoricalLocations@iot.navigationLink"},
	"HistoricalLocations": {"time", "Thing@iot.navigationLink", "Locations@iot.navigationLink"},
	"Datastreams": {"name", "description", "unitOfMeasurement", "observationType", "Thing@iot.navigationLink", "Sensor@iot.navigationLink",
		"ObservedProperty@iot.navigationLink", "Observations@iot.navigationLink"},
	"Sensors":            {"name", "description", "encodingType", "metadata", "Datastreams@iot.navigationLink"},
	"ObservedProperties": {"name", "definition", "description", "Datastreams@iot.navigationLink"},
	"Observations":       {"phenomenonTime", "result", "resultTime", "Datastream@iot.navigationLink", "FeatureOfInterest@iot.navigationLink"},
	"FeaturesOfInterest": {"name", "description", "encodingType", "feature", "Observations@iot.navigationLink"},
}

// staHub is a real `kessel serve` (embedded NATS broker, anonymous MQTT
// clients allowed beside a service login) fed by kessel-sim with
// staFleet public devices, plus one internal device, hidden-air.
func staHub(t *testing.T) (h *hub, mqttAddr string) {
	t.Helper()
	db := influxtest.Start(t)
	hash, err := broker.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	os.WriteFile(cfg, []byte(`devices:
  - {id: hidden-air, kind: air_quality, visibility: internal, location: {lon: 9.18, lat: 48.78}}
api_keys:
  - {name: internal, department: umwelt, scopes: [data:internal], hash: `+api.HashKey("kessel_sta_internal")+`}
mqtt:
  anonymous: true
  users:
    - {username: svc, role: service, password_hash: "`+hash+`"}
`), 0o644)
	mqttAddr = testenv.FreePort(t)
	h = startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", cfg)
	_, simBin := binaries(t)
	if out, err := exec.Command(simBin, "--broker", "tcp://"+mqttAddr, "--devices", fmt.Sprint(staFleet), "--kinds", "air_quality,noise",
		"--count", fmt.Sprint(3*staFleet), "--interval", "0", "--seed", "14", "--quiet").CombinedOutput(); err != nil {
		t.Fatalf("kessel-sim: %v\n%s", err, out)
	}
	pub := staMQTT(t, mqttAddr, "", "hidden-publisher")
	staPublish(t, pub, "hidden-air", "pm10", 12)
	base := "http://" + h.HTTP + "/sta/v1.1"
	testenv.Eventually(t, 30*time.Second, func() bool {
		_, doc := staGet(t, base+"/Things?$top=0&$count=true")
		_, ds := staGet(t, base+"/Datastreams('hidden-air:pm10')", "Authorization", "Bearer kessel_sta_internal")
		return doc["@iot.count"] == float64(staFleet) && ds["@iot.id"] != nil
	}, "the fleet's %d Things and hidden-air's Datastream", staFleet)
	return h, mqttAddr
}

func staGet(t *testing.T, u string, hdr ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %v", u, resp.StatusCode, err)
	}
	return resp.StatusCode, doc
}

func staMQTT(t *testing.T, addr, user, clientID string) mqtt.Client {
	t.Helper()
	c, err := mqttLogin(addr, user, clientID)
	if err != nil {
		t.Fatalf("MQTT login %q: %v", user, err)
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func staPublish(t *testing.T, c mqtt.Client, device, field string, v float64) {
	t.Helper()
	tok := c.Publish(kessel.ReadingsTopic(device), 1, false, fmt.Sprintf(`{"values":{%q:%g}}`, field, v))
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", device, tok.Error())
	}
}

// TestSTAConformance checks a real `kessel serve` against the
// conformance classes of OGC 18-088 it claims: A.1 Sensing Core (read:
// datamodel, resource paths, entity control information, navigation),
// A.3 Filtering Extension (request-data: $top/$skip/$count with
// @iot.nextLink under the server's maximum, $orderby, $select, $expand,
// $filter) and A.8 MQTT receive for a Datastream's
// Observations, with public and internal devices.
func TestSTAConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	h, mqttAddr := staHub(t)
	base := "http://" + h.HTTP + "/sta/v1.1"
	t.Run("A.1 sensing core", func(t *testing.T) { staSensingCore(t, base) })
	t.Run("A.3 filtering extension", func(t *testing.T) { staFiltering(t, base) })
	t.Run("A.8 MQTT receive, Datastream Observations", func(t *testing.T) { staReceive(t, h, mqttAddr) })
}

// staSensingCore: the service root lists every set; each set's entities
// have the mandatory properties, a selfLink that answers the same entity
// and navigation links that answer; an internal device is not found
// without data:internal.
func staSensingCore(t *testing.T, base string) {
	_, root := staGet(t, base)
	sets, _ := root["value"].([]any)
	if len(sets) != len(staRequired) {
		t.Fatalf("service root lists %d entity sets, want %d", len(sets), len(staRequired))
	}
	for _, s := range sets {
		set := s.(map[string]any)
		name, link := set["name"].(string), set["url"].(string)
		if link != base+"/"+name || staRequired[name] == nil {
			t.Errorf("service root entry %v", set)
			continue
		}
		t.Run(name, func(t *testing.T) {
			status, doc := staGet(t, link+"?$top=2")
			vals, _ := doc["value"].([]any)
			if status != 200 || len(vals) == 0 {
				t.Fatalf("GET %s: %d, %d entities", link, status, len(vals))
			}
			for _, v := range vals {
				staCheckEntity(t, name, v.(map[string]any))
			}
		})
	}
	for _, path := range []string{"/Things('hidden-air')", "/Datastreams('hidden-air:pm10')", "/Things('hidden-air')/Datastreams"} {
		if status, _ := staGet(t, base+path); status != 404 {
			t.Errorf("GET %s without a key: %d, want 404", path, status)
		}
	}
	if status, doc := staGet(t, base+"/Things('hidden-air')", "Authorization", "Bearer kessel_sta_internal"); status != 200 || doc["@iot.id"] != "hidden-air" {
		t.Errorf("GET hidden-air with data:internal: %d %v", status, doc)
	}
}

// staCheckEntity checks one entity's control information, properties and
// links (req/datamodel, req/resource-path).
func staCheckEntity(t *testing.T, set string, e map[string]any) {
	t.Helper()
	self, _ := e["@iot.selfLink"].(string)
	if e["@iot.id"] == nil || self == "" {
		t.Fatalf("%s entity without @iot.id or @iot.selfLink: %v", set, e)
	}
	for _, p := range staRequired[set] {
		if _, ok := e[p]; !ok {
			t.Errorf("%s %v lacks %s", set, e["@iot.id"], p)
		}
	}
	if status, back := staGet(t, self); status != 200 || back["@iot.id"] != e["@iot.id"] {
		t.Errorf("selfLink %s: %d, @iot.id %v", self, status, back["@iot.id"])
	}
	for k, v := range e {
		nav, ok := strings.CutSuffix(k, "@iot.navigationLink")
		if !ok {
			continue
		}
		status, doc := staGet(t, v.(string))
		_, many := doc["value"].([]any)
		if status != 200 || many == (nav == "Thing" || nav == "Datastream" || nav == "Sensor" || nav == "ObservedProperty" || nav == "FeatureOfInterest") {
			t.Errorf("%s %v: %s answers %d, collection %v", set, e["@iot.id"], v, status, many)
		}
	}
}

// staPages follows @iot.nextLink from u to the end and returns the ids
// and the number of pages; no page may hold more than max entities.
func staPages(t *testing.T, u string, max int) (ids []string, pages int) {
	t.Helper()
	seen := map[string]bool{}
	for u != "" {
		status, doc := staGet(t, u)
		vals, _ := doc["value"].([]any)
		if status != 200 || len(vals) > max {
			t.Fatalf("GET %s: %d, %d entities (at most %d)", u, status, len(vals), max)
		}
		for _, v := range vals {
			id := fmt.Sprint(v.(map[string]any)["@iot.id"])
			if seen[id] {
				t.Fatalf("%s on two pages", id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
		u, _ = doc["@iot.nextLink"].(string)
		if pages++; pages > 50 {
			t.Fatal("more than 50 pages")
		}
	}
	return ids, pages
}

// staFiltering: the query options of req/request-data on the fleet.
func staFiltering(t *testing.T, base string) {
	q := func(path string, opts ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(opts); i += 2 {
			v.Set(opts[i], opts[i+1])
		}
		return base + path + "?" + v.Encode()
	}
	t.Run("$top default and @iot.nextLink: every Thing over two pages", func(t *testing.T) {
		ids, pages := staPages(t, base+"/Things", 100)
		if len(ids) != staFleet || pages != 2 {
			t.Errorf("%d Things in %d pages, want %d in 2", len(ids), pages, staFleet)
		}
	})
	t.Run("$top above the server's maximum of 1000 is lowered; $count counts all", func(t *testing.T) {
		_, doc := staGet(t, q("/Observations", "$top", "5000", "$count", "true"))
		n, _ := doc["@iot.count"].(float64)
		vals, _ := doc["value"].([]any)
		if n <= 1000 || len(vals) != 1000 || doc["@iot.nextLink"] == nil {
			t.Fatalf("count %v, %d on the page, next %v: want more than 1000, 1000 and a next link", n, len(vals), doc["@iot.nextLink"])
		}
		ids, _ := staPages(t, q("/Observations", "$top", "5000"), 1000)
		if float64(len(ids)) != n {
			t.Errorf("paged through %d Observations, @iot.count %v", len(ids), n)
		}
	})
	t.Run("$skip, $orderby, $select", func(t *testing.T) {
		_, doc := staGet(t, q("/Things", "$orderby", "@iot.id desc", "$skip", "1", "$top", "2", "$select", "id,name"))
		vals, _ := doc["value"].([]any)
		if len(vals) != 2 || len(vals[0].(map[string]any)) != 2 || vals[0].(map[string]any)["@iot.id"] != "noise-0074" {
			t.Errorf("page %v", vals)
		}
	})
	t.Run("$expand of every Datastream's newest Observation on a full page of Things", func(t *testing.T) {
		status, doc := staGet(t, q("/Things", "$top", "100", "$expand", "Datastreams($expand=Observations($top=1;$orderby=phenomenonTime desc))"))
		things, _ := doc["value"].([]any)
		if status != 200 || len(things) != 100 {
			t.Fatalf("%d, %d Things: %.300v", status, len(things), doc)
		}
		for _, th := range things {
			for _, d := range th.(map[string]any)["Datastreams"].([]any) {
				if obs, _ := d.(map[string]any)["Observations"].([]any); len(obs) != 1 {
					t.Fatalf("Datastream %v: %d Observations", d.(map[string]any)["@iot.id"], len(obs))
				}
			}
		}
	})
	t.Run("$expand with nested options", func(t *testing.T) {
		_, doc := staGet(t, q("/Things('air-0001')", "$expand", "Datastreams($expand=Observations($top=1;$orderby=phenomenonTime desc),ObservedProperty)"))
		ds, _ := doc["Datastreams"].([]any)
		if len(ds) == 0 {
			t.Fatalf("no Datastreams: %v", doc)
		}
		d := ds[0].(map[string]any)
		if obs, _ := d["Observations"].([]any); len(obs) != 1 || d["ObservedProperty"] == nil {
			t.Errorf("expanded Datastream %v", d)
		}
	})
	t.Run("$filter: comparison, and/or, a navigation path, a time function, geo.distance in metres", func(t *testing.T) {
		_, loc := staGet(t, base+"/Locations('air-0001')")
		p := loc["location"].(map[string]any)["coordinates"].([]any)
		point := fmt.Sprintf("geography'POINT(%v %v)'", p[0], p[1])
		for _, tc := range []struct {
			path, filter string
			check        func(ids []string) bool
		}{
			{"/Datastreams", "ObservedProperty/name eq 'pm10' and Thing/properties/kind eq 'air_quality'", func(ids []string) bool {
				return len(ids) > 0 && !strings.Contains(strings.Join(ids, ","), "noise")
			}},
			{"/Things", "startswith(@iot.id, 'noise') or name eq 'Simulated air_quality air-0001'", func(ids []string) bool { return len(ids) == staFleet/2+1 }},
			{"/Observations", "year(phenomenonTime) eq " + fmt.Sprint(time.Now().UTC().Year()) + " and result ge 0", func(ids []string) bool { return len(ids) > 0 }},
			{"/Locations", "geo.distance(location, " + point + ") lt 1", func(ids []string) bool { return len(ids) >= 1 && ids[0] == "air-0001" }},
			{"/Locations", "geo.distance(location, " + point + ") lt 100000", func(ids []string) bool { return len(ids) == staFleet }},
		} {
			ids, _ := staPages(t, q(tc.path, "$filter", tc.filter, "$orderby", "@iot.id", "$top", "1000"), 1000)
			if !tc.check(ids) {
				t.Errorf("%s?$filter=%s: %d entities %.200v", tc.path, tc.filter, len(ids), ids)
			}
		}
	})
}

// staReceive: a client subscribing to v1.1/Datastreams('id')/Observations
// receives each new Observation as the JSON entity, the same as the REST
// API's. With anonymous clients allowed on the embedded NATS broker,
// internal Datastreams' observations are withheld from MQTT, from the
// service login too (jetstream's TestSTAReceive covers the broker without
// anonymous clients, which publishes them to service logins only);
// nobody else publishes under v1.1/.
func staReceive(t *testing.T, h *hub, addr string) {
	public, hidden := kessel.STAObservationsTopic("air-0001", "pm10"), kessel.STAObservationsTopic("hidden-air", "pm10")
	anonIn, svcIn := make(chan mqtt.Message, 16), make(chan mqtt.Message, 16)
	anon, svc := staMQTT(t, addr, "", "sta-reader"), staMQTT(t, addr, "svc", "sta-service")
	for _, c := range []struct {
		c  mqtt.Client
		in chan mqtt.Message
	}{{anon, anonIn}, {svc, svcIn}} {
		in := c.in
		tok := c.c.SubscribeMultiple(map[string]byte{public: 0, hidden: 0}, func(_ mqtt.Client, m mqtt.Message) { in <- m }).(*mqtt.SubscribeToken)
		if !tok.WaitTimeout(10*time.Second) || tok.Result()[public] != 0 {
			t.Fatalf("SUBACKs %v", tok.Result())
		}
	}
	pub := staMQTT(t, addr, "", "sta-publisher")
	if tok := pub.Publish(public, 1, false, `{"result":666}`); !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("no PUBACK")
	}
	staPublish(t, pub, "hidden-air", "pm10", 13)
	staPublish(t, pub, "air-0001", "pm10", 42.5)
	for name, in := range map[string]chan mqtt.Message{"anonymous client": anonIn, "service login": svcIn} {
		select {
		case m := <-in:
			var o map[string]any
			json.Unmarshal(m.Payload(), &o)
			if m.Topic() != public || o["result"] != 42.5 {
				t.Fatalf("%s received %s: %s", name, m.Topic(), m.Payload())
			}
			staCheckEntity(t, "Observations", o)
			if _, doc := staGet(t, o["@iot.selfLink"].(string)); doc["result"] != 42.5 || doc["phenomenonTime"] != o["phenomenonTime"] {
				t.Errorf("the REST API answers %v for %v", doc, o)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("the %s received no observation", name)
		}
	}
	if n := h.metric("kessel_broker_sta_withheld_total"); n < 1 {
		t.Errorf("internal observations withheld: %v", n)
	}
	if n := h.metric("kessel_broker_publishes_denied_total"); n < 1 {
		t.Errorf("the client's publish on v1.1/ was not denied: %v", n)
	}
}
