package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/evidence"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/registry"
)

// call is one request of the conformance test: op is the operationId the
// request must reach; status the answer wanted.
type call struct {
	op, method, path, body string
	hdr                    []string
	status                 int
}

// acceptPusher stores every push (it stands in for ingest).
type acceptPusher struct{}

func (acceptPusher) Submit(context.Context, string, []byte) error { return nil }

// emptyArchive writes nothing (it stands in for the archive).
type emptyArchive struct{ dir string }

func (a emptyArchive) Dir() string                          { return a.dir }
func (emptyArchive) Days() ([]time.Time, error)             { return nil, nil }
func (emptyArchive) Build(context.Context, time.Time) error { return nil }

// conformer checks answers of a real server against its own OpenAPI
// document (kin-openapi), and which operations answered with success.
type conformer struct {
	doc    *openapi3.T
	router routers.Router
	base   string
	ok     map[string]bool // operationIds that answered 2xx
	codes  map[int]bool    // every status seen
}

func newConformer(t *testing.T, f *fixture) *conformer {
	t.Helper()
	_, body := f.get(t, "/api/v1/openapi.json")
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load the served document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the served document is not valid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: f.srv.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, media := range []string{"text/turtle", "application/rdf+xml", "text/html", "text/event-stream", "text/csv"} {
		openapi3filter.RegisterBodyDecoder(media, openapi3filter.PlainBodyDecoder)
	}
	return &conformer{doc: doc, router: router, base: f.srv.URL, ok: map[string]bool{}, codes: map[int]bool{}}
}

// check sends c and validates the request (for a success) and the answer
// against the operation the document has for it.
func (cf *conformer) check(t *testing.T, f *fixture, c call) {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodGet
	}
	if c.status == 0 {
		c.status = http.StatusOK
	}
	var resp *http.Response
	var body []byte
	if c.op == "streamAlerts" {
		resp, body = streamHead(t, cf.base+c.path)
	} else {
		resp, body = f.do(t, c.method, c.path, c.body, c.hdr...)
	}
	cf.codes[resp.StatusCode] = true
	if resp.StatusCode != c.status {
		t.Fatalf("%s %s: status %d, want %d: %.300s", c.method, c.path, resp.StatusCode, c.status, body)
	}
	method := c.method
	if c.status == http.StatusMethodNotAllowed {
		method = http.MethodGet // the answer is described on the path's operations
	}
	req, _ := http.NewRequest(method, cf.base+c.path, strings.NewReader(c.body))
	for i := 0; i+1 < len(c.hdr); i += 2 {
		req.Header.Set(c.hdr[i], c.hdr[i+1])
	}
	route, params, err := cf.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s: no operation in the document: %v", method, c.path, err)
	}
	if route.Operation.OperationID != c.op {
		t.Fatalf("%s %s reached %s, want %s", method, c.path, route.Operation.OperationID, c.op)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}} // the error, not the whole schema
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if c.status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Fatalf("%s %s: the request does not match the document: %v", c.method, c.path, err)
		}
	}
	out := (&openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}).SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Fatalf("%s %s: the answer (%d %s) does not match the document: %v\n%.500s", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), err, body)
	}
	if c.status < 300 {
		cf.ok[c.op] = true
	}
}

// streamHead opens an event stream and returns its status and headers;
// the stream does not end, so the body is not read.
func streamHead(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp, nil
}

// conformanceFixture serves the API over a real InfluxDB with stored
// readings and dead letters, an alert firing, a rule, pushes accepted,
// and a real evidence service with a road-surface sensor (road-1).
func conformanceFixture(t *testing.T) *fixture {
	t.Helper()
	db := influxtest.Start(t)
	rule := alert.Rule{ID: "pm", Kind: "air_quality", Field: "pm10", Condition: alert.CondThreshold, Op: ">", Threshold: 30, Visibility: kessel.Public, Severity: "warning"}
	engine, err := alert.New([]alert.Rule{rule}, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, db.URL, func(o *api.Options) {
		o.Pusher, o.Alerts, o.Rules = acceptPusher{}, engine, engine
		o.Usage = api.NewUsage(nil, "test", nil)
		o.Archive = emptyArchive{t.TempDir()}
		aq, err := influx.New(influx.Options{URL: db.URL})
		if err != nil {
			t.Fatal(err)
		}
		o.AirQuality = aq
		o.Catalog = api.Catalog{Publisher: "Stadt Teststadt", ContactEmail: "opendata@example.org"}
		o.Evidence = evidenceService(t, db.URL, o.Writer.(*registry.Registry), o.Now)
	})
	engine.Restore([]kessel.Alert{{ID: "pm-air-2", RuleID: "pm", Subject: "air-2", Kind: "air_quality", State: kessel.Firing, Value: 40,
		Severity: "warning", Visibility: kessel.Public, ActiveAt: f.now.Add(-time.Hour), FiredAt: f.now.Add(-time.Hour)}})
	ctx := context.Background()
	if err := f.store.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Put(kessel.Device{ID: "road-1", Kind: evidence.RoadSurfaceKind, Location: &orb.Point{9.21, 48.785}, Visibility: kessel.Public}); err != nil {
		t.Fatal(err)
	}
	var rs []kessel.Reading
	for i := range 24 { // the day before: what the evidence records are built from
		rs = append(rs, kessel.Reading{Device: "road-1", Kind: evidence.RoadSurfaceKind, Time: f.now.Add(-32*time.Hour + time.Duration(i)*time.Hour),
			Values: map[string]float64{"surface_temp": float64(i%5) - 2}})
	}
	for i := range 60 {
		at := f.now.Add(-time.Hour + time.Duration(i)*time.Minute)
		// air-1's values carry quality flags, every 10th a suspect spike, and a corrected value.
		rs = append(rs, kessel.Reading{Device: "air-1", Kind: "air_quality", Time: at, Correction: "sds011_rh/v1",
			Values: map[string]float64{"pm10": float64(i), "qc.pm10": float64(1 + 2*min(1, i%10/9)), "qct.pm10": float64(4 * min(1, i%10/9)), "cor.pm10": float64(i) / 2}},
			kessel.Reading{Device: "air-2", Kind: "air_quality", District: "Mitte", Time: at, Values: map[string]float64{"pm10": 40}})
	}
	if err := f.store.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	dl := kessel.DeadLetter{Time: time.Now(), Reason: "malformed_json", Topic: "kessel/devices/x/readings", Device: "x", Detail: "unexpected end", Payload: "{"}
	if err := f.store.WriteDeadLetters(ctx, []kessel.DeadLetter{dl}); err != nil {
		t.Fatal(err)
	}
	return f
}

// evidenceService is a real evidence service over the InfluxDB at url.
func evidenceService(t *testing.T, url string, reg *registry.Registry, now func() time.Time) *evidence.Service {
	t.Helper()
	db, err := influx.New(influx.Options{URL: url, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store := db.EvidenceStore("") // the readings' database, its own retention policy
	for _, prepare := range []func(context.Context) error{db.Prepare, store.Prepare} {
		if err := prepare(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := evidence.NewService(db, store, reg, []evidence.RouteConfig{{ID: "b27", Name: "B 27", Devices: []string{"road-1"}}}, evidence.ServiceOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestOpenAPIConformance calls every operation of the document on a real
// server and checks each answer, its status, headers and body, against
// the document; then some error answers. It fails when an operation is
// not called.
func TestOpenAPIConformance(t *testing.T) {
	f := conformanceFixture(t)
	cf := newConformer(t, f)
	for _, c := range conformanceCalls(t, f) {
		t.Run(c.op+" "+c.method+" "+c.path, func(t *testing.T) { cf.check(t, f, c) })
	}
	// 401 from every operation that needs a key, asked without one.
	for _, o := range api.OpenAPIOperations() {
		if o.Scope == "" {
			continue
		}
		path := strings.NewReplacer("{id}", "x", "{type}", "sensors").Replace(o.Path)
		c := call{op: o.ID, method: o.Method, path: path, status: http.StatusUnauthorized}
		t.Run("no key "+o.ID, func(t *testing.T) { cf.check(t, f, c) })
	}
	// 429: a fixture whose read budget is one request.
	lf := newFixtureWith(t, "", func(o *api.Options) {
		o.RateLimits = map[string]api.RateLimit{api.ClassRead: {PerSecond: 0.001, Burst: 1}}
	})
	lcf := newConformer(t, lf) // spends the one request
	for _, c := range []call{{op: "listDevices", method: "GET", path: "/api/v1/devices", status: 429}, {op: "ogcGetCollections", method: "GET", path: "/ogcapi/collections", status: 429}} {
		t.Run("rate limited "+c.path, func(t *testing.T) { lcf.check(t, lf, c) })
	}

	// 503: a fixture without the alerts role.
	uf := newFixtureWith(t, "", func(o *api.Options) { o.Alerts, o.Rules = nil, nil })
	ucf := newConformer(t, uf)
	for _, c := range []call{{op: "listAlerts", method: "GET", path: "/api/v1/alerts", status: 503},
		{op: "listRules", method: "GET", path: "/api/v1/rules", hdr: []string{"Authorization", "Bearer " + testKeys["rules:read"]}, status: 503},
		{op: "listEvidenceSubjects", method: "GET", path: "/api/v1/evidence", hdr: []string{"Authorization", "Bearer " + testKeys["alerts:manage"]}, status: 503}} {
		t.Run("unavailable "+c.path, func(t *testing.T) { ucf.check(t, uf, c) })
	}
	t.Run("the check can fail", func(t *testing.T) {
		resp, body := f.get(t, "/api/v1/devices/air-1")
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/devices/air-1", nil)
		route, params, err := cf.router.FindRoute(req)
		if err != nil {
			t.Fatal(err)
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
		broken := strings.Replace(string(body), `"kind":`, `"sort":`, 1)
		out := (&openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header}).SetBodyBytes([]byte(broken))
		if err := openapi3filter.ValidateResponse(context.Background(), out); err == nil || broken == string(body) {
			t.Fatalf("a device without kind passed: %s", broken)
		}
	})
	for _, o := range api.OpenAPIOperations() {
		if !cf.ok[o.ID] {
			t.Errorf("operation %s (%s %s) was not called with success: add a call to conformanceCalls", o.ID, o.Method, o.Path)
		}
	}
	for _, code := range []int{400, 401, 403, 404, 405, 409, 415, 428, 429, 503} {
		if !cf.codes[code] && !lcf.codes[code] && !ucf.codes[code] {
			t.Errorf("no answer with status %d was checked", code)
		}
	}
}

// conformanceCalls are the calls of TestOpenAPIConformance, in order
// (later ones change what earlier ones read).
func conformanceCalls(t *testing.T, f *fixture) []call {
	t.Helper()
	auth := func(scope string) []string { return []string{"Authorization", "Bearer " + testKeys[scope]} }
	jsonBody := func(scope string) []string { return append(auth(scope), "Content-Type", "application/json") }
	resp, _ := f.get(t, "/api/v1/devices/noise-1")
	etag := resp.Header.Get("ETag")
	polygon := `{"type":"Polygon","coordinates":[[[9.17,48.77],[9.19,48.77],[9.19,48.79],[9.17,48.77]]]}`
	cs := []call{
		{op: "getHealth", path: "/healthz"},
		{op: "getReadiness", path: "/readyz"},
		{op: "getMetrics", path: "/metrics", hdr: auth("admin")},
		{op: "getDocs", path: "/docs"},
		{op: "getOpenAPI", path: "/api/v1/openapi.json"},
		{op: "listDeadLetters", path: "/api/v1/deadletters?from=-48h", hdr: auth("admin")},
		{op: "listDeadLetters", path: "/api/v1/deadletters?format=csv", hdr: auth("admin")},
		{op: "listDevices", path: "/api/v1/devices?kind=air_quality&limit=1"},
		{op: "listDevices", path: "/api/v1/devices", hdr: auth("data:internal")},
		{op: "listDevices", path: "/api/v1/devices?format=geojson&near=9.18,48.78&radius=5000"},
		{op: "listDevices", path: "/api/v1/devices?format=csv"},
		{op: "searchDevices", method: "POST", path: "/api/v1/devices/search", body: polygon, hdr: []string{"Content-Type", "application/geo+json"}},
		{op: "getDevice", path: "/api/v1/devices/air-1"},
		{op: "listNearestDevices", path: "/api/v1/nearest?lon=9.18&lat=48.78&k=2"},
		{op: "listLatestReadings", path: "/api/v1/latest?format=geojson"},
		{op: "listLatestReadings", path: "/api/v1/latest"},
		{op: "listDeviceReadings", path: "/api/v1/devices/air-1/readings?from=-2h"},
		{op: "listDeviceReadings", path: "/api/v1/devices/air-1/readings?from=-2h&qc=exclude-suspect&format=geojson"},
		{op: "listDeviceReadings", path: "/api/v1/devices/air-1/readings?qc=bad", status: 400},
		{op: "getDeviceQuality", path: "/api/v1/devices/air-1/quality"},
		{op: "listLatestReadings", path: "/api/v1/latest?qc=exclude-failed"},
		{op: "listDeviceReadings", path: "/api/v1/devices/air-1/readings?from=-2h&every=1h&fn=max&format=geojson"},
		{op: "listDeviceReadings", path: "/api/v1/devices/air-1/readings?from=-2h&format=csv"},
		{op: "pushDeviceReading", method: "POST", path: "/api/v1/devices/air-1/readings", body: `{"values":{"pm10":12}}`, hdr: jsonBody("admin")},
		{op: "pushAirrohr", method: "POST", path: "/api/v1/push/airrohr", body: `{"esp8266id":"3394227","sensordatavalues":[{"value_type":"SDS_P1","value":"4.30"}]}`,
			hdr: []string{"Content-Type", "application/json", "X-Sensor", "esp8266-3394227"}},
		{op: "createDevice", method: "POST", path: "/api/v1/devices", body: `{"id":"gauge-7","kind":"water_level","location":{"lon":9.18,"lat":48.78}}`, hdr: jsonBody("devices:write"), status: 201},
		{op: "replaceDevice", method: "PUT", path: "/api/v1/devices/noise-1", body: `{"kind":"noise","name":"Lärm Mitte"}`, hdr: append(jsonBody("devices:write"), "If-Match", etag)},
		{op: "deleteDevice", method: "DELETE", path: "/api/v1/devices/gauge-7", hdr: auth("devices:write"), status: 204},
		{op: "listDistricts", path: "/api/v1/districts"},
		{op: "listDistricts", path: "/api/v1/districts?format=json"},
		{op: "listDistricts", path: "/api/v1/districts?format=csv"},
		{op: "getDistrict", path: "/api/v1/districts/mitte"},
		{op: "listDistrictReadings", path: "/api/v1/districts/mitte/readings?kind=air_quality&field=pm10&from=-2h"},
		{op: "listDistrictReadings", path: "/api/v1/districts/mitte/readings?kind=air_quality&field=pm10&from=-2h&format=csv"},
		{op: "getAirQualityDevice", path: "/api/v1/airquality/devices/air-1/2026?daily=true"},
		{op: "getAirQualityDevice", path: "/api/v1/airquality/devices/air-1/2026?format=csv"},
		{op: "getAirQualityDistrict", path: "/api/v1/airquality/districts/ost/2026", hdr: auth("data:internal")},
		{op: "getUsage", path: "/api/v1/usage"},
		{op: "getUsage", path: "/api/v1/usage?format=csv"},
		{op: "getCatalog", path: "/api/v1/catalog"},
		{op: "getCatalog", path: "/api/v1/catalog", hdr: []string{"Accept", "text/turtle"}},
		{op: "getCatalogJSONLD", path: "/api/v1/catalog.jsonld"},
		{op: "getCatalogTurtle", path: "/api/v1/catalog.ttl"},
		{op: "getCatalogRDFXML", path: "/api/v1/catalog.rdf"},
		{op: "listAlerts", path: "/api/v1/alerts?state=firing"},
		{op: "getAlert", path: "/api/v1/alerts/pm-air-2"},
		{op: "streamAlerts", path: "/api/v1/alerts/stream"},
		{op: "acknowledgeAlert", method: "POST", path: "/api/v1/alerts/pm-air-2/ack", hdr: auth("alerts:manage")},
		{op: "acknowledgeAlert", method: "POST", path: "/api/v1/alerts/pm-air-2/ack", body: `{"note":"Streufahrzeug 3 ausgerückt 05:40"}`, hdr: jsonBody("alerts:manage")},
		{op: "listRules", path: "/api/v1/rules", hdr: auth("rules:read")},
		{op: "getRule", path: "/api/v1/rules/pm", hdr: auth("rules:read")},
		{op: "createRule", method: "POST", path: "/api/v1/rules", body: `{"id":"loud","kind":"noise","field":"laeq","condition":"threshold","op":">","threshold":70}`, hdr: jsonBody("rules:write"), status: 201},
		{op: "replaceRule", method: "PUT", path: "/api/v1/rules/loud", body: `{"kind":"noise","field":"laeq","condition":"threshold","op":">","threshold":75}`, hdr: jsonBody("rules:write")},
		{op: "deleteRule", method: "DELETE", path: "/api/v1/rules/loud", hdr: auth("rules:write"), status: 204},
		{op: "getSensorThingsRoot", path: "/sta/v1.1"},
		{op: "buildArchiveDay", method: "POST", path: "/api/v1/archive/days/2026-11-22", hdr: auth("admin"), status: 201},
	}
	cs = append(cs, evidenceCalls(auth)...)
	cs = append(cs, ogcCalls()...)
	return append(cs, errorCalls(auth, jsonBody)...)
}

// evidenceCalls build road-1's record of the day before, then read it.
func evidenceCalls(auth func(string) []string) []call {
	const recs = "/api/v1/evidence/sensors/road-1?from=2026-11-22&to=2026-11-22"
	return []call{
		{op: "buildEvidence", method: "POST", path: "/api/v1/evidence/sensors/road-1/build?day=2026-11-22", hdr: auth("alerts:manage")},
		{op: "buildEvidence", method: "POST", path: "/api/v1/evidence/routes/b27/build", hdr: auth("alerts:manage")},
		{op: "listEvidenceSubjects", path: "/api/v1/evidence", hdr: auth("alerts:manage")},
		{op: "getEvidenceRecords", path: recs, hdr: auth("alerts:manage")},
		{op: "getEvidenceRecords", path: recs + "&format=html", hdr: auth("alerts:manage")},
		{op: "getEvidenceRecords", path: recs + "&format=csv&download=1", hdr: auth("alerts:manage")},
		{op: "verifyEvidence", path: "/api/v1/evidence/sensors/road-1/verify", hdr: auth("alerts:manage")},
		{op: "getEvidenceRecords", path: "/api/v1/evidence/sensors/road-1?format=pdf", hdr: auth("alerts:manage"), status: 400},
		{op: "getEvidenceRecords", path: "/api/v1/evidence/routes/nope", hdr: auth("alerts:manage"), status: 404},
		{op: "verifyEvidence", path: "/api/v1/evidence/sensors/road-1/verify", hdr: auth("devices:write"), status: 403},
	}
}

func ogcCalls() []call {
	var cs []call
	for op, path := range map[string]string{
		"ogcGetLandingPage": "/ogcapi", "ogcGetConformance": "/ogcapi/conformance", "ogcGetAPI": "/ogcapi/api",
		"ogcGetCollections": "/ogcapi/collections", "ogcGetCollection": "/ogcapi/collections/air_quality",
		"ogcGetSchema": "/ogcapi/collections/air_quality/schema", "ogcGetFeatures": "/ogcapi/collections/air_quality/items?limit=1&bbox=9,48,10,49",
		"ogcGetFeature": "/ogcapi/collections/air_quality/items/air-1",
	} {
		cs = append(cs, call{op: op, path: path})
	}
	cs = append(cs, call{op: "ogcGetFeatures", path: "/ogcapi/collections/districts/items"}, call{op: "ogcGetFeatures", path: "/ogcapi/collections/alerts/items"})
	slices.SortFunc(cs, func(a, b call) int { return strings.Compare(a.path, b.path) })
	return cs
}

// errorCalls are error answers that are cheap to provoke.
func errorCalls(auth, jsonBody func(string) []string) []call {
	return []call{
		{op: "listDevices", path: "/api/v1/devices?bbox=1,2,3", status: 400},
		{op: "listDevices", path: "/api/v1/devices", hdr: []string{"Authorization", "Bearer wrong"}, status: 401},
		{op: "listRules", path: "/api/v1/rules", status: 401},
		{op: "listRules", path: "/api/v1/rules", hdr: auth("devices:write"), status: 403},
		{op: "getDevice", path: "/api/v1/devices/nope", status: 404},
		{op: "getAlert", path: "/api/v1/alerts/nope", status: 404},
		{op: "ogcGetCollection", path: "/ogcapi/collections/nope", status: 404},
		{op: "ogcGetFeatures", path: "/ogcapi/collections/air_quality/items?color=red", status: 400},
		{op: "listLatestReadings", method: "DELETE", path: "/api/v1/latest", status: 405},
		{op: "ogcGetCollections", method: "POST", path: "/ogcapi/collections", status: 405},
		{op: "createDevice", method: "POST", path: "/api/v1/devices", body: `{"id":"noise-1","kind":"noise"}`, hdr: jsonBody("devices:write"), status: 409},
		{op: "createDevice", method: "POST", path: "/api/v1/devices", body: `{"kind":"noise"}`, hdr: append(auth("devices:write"), "Content-Type", "text/plain"), status: 415},
		{op: "replaceDevice", method: "PUT", path: "/api/v1/devices/noise-1", body: `{"kind":"noise"}`, hdr: jsonBody("devices:write"), status: 428},
	}
}
