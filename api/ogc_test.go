package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/geo"
	"github.com/kessel-city/kessel/internal/testenv"
	"github.com/kessel-city/kessel/registry"
)

// fakeAlerts serves a fixed list of alerts.
type fakeAlerts []kessel.Alert

func (f fakeAlerts) List(q kessel.AlertQuery) []kessel.Alert {
	var out []kessel.Alert
	for _, a := range f {
		if a.Visibility == kessel.Public || q.IncludeInternal {
			out = append(out, a)
		}
	}
	return out
}
func (f fakeAlerts) Get(id string) (kessel.Alert, bool) { return kessel.Alert{}, false }
func (f fakeAlerts) Ack(context.Context, string, string, string) (kessel.Alert, error) {
	return kessel.Alert{}, kessel.Errorf(kessel.ENOTFOUND, "no")
}
func (f fakeAlerts) Subscribe(int64) ([]kessel.AlertEvent, <-chan kessel.AlertEvent, func()) {
	return nil, nil, func() {}
}
func (f fakeAlerts) Transitions(string) []kessel.AlertEvent { return nil }

const ogcAirDevices = 250 // public air_quality devices: more than the default page of 100

var ogcBase = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// ogcDevice is where air-%04d stands and when it last reported.
func ogcDevice(i int) (orb.Point, time.Time) {
	return orb.Point{9.17 + float64(i%25)*0.002, 48.77 + float64(i/25)*0.002}, ogcBase.Add(time.Duration(i) * time.Minute)
}

// newOGCServer serves the API over a registry of 250 public air_quality
// devices on a grid, 3 internal ones (one of a kind only they have), 5
// noise devices without readings, one device of kind "alerts" and alerts
// in every state and visibility.
func newOGCServer(t *testing.T) *httptest.Server {
	t.Helper()
	ds, err := geo.LoadDistricts(strings.NewReader(twoDistricts), "name", nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := registry.New(registry.Options{Locator: ds})
	put := func(d kessel.Device) {
		if err := reg.Put(d); err != nil {
			t.Fatal(err)
		}
	}
	var rs []kessel.Reading
	for i := 0; i < ogcAirDevices; i++ {
		p, at := ogcDevice(i)
		id := fmt.Sprintf("air-%04d", i)
		put(kessel.Device{ID: id, Kind: "air_quality", Name: "Air " + id, Location: &p, Visibility: kessel.Public})
		rs = append(rs, kessel.Reading{Device: id, Kind: "air_quality", Time: at, Values: map[string]float64{"pm10": float64(i), "pm25": 1.5}, Units: map[string]string{"pm10": "ug/m3"}})
	}
	for i, kind := range []string{"air_quality", "air_quality", "secret_kind"} {
		id := fmt.Sprintf("secret-%d", i)
		put(kessel.Device{ID: id, Kind: kind, Location: &orb.Point{9.18, 48.78}, Visibility: kessel.Internal})
		rs = append(rs, kessel.Reading{Device: id, Kind: kind, Time: ogcBase, Values: map[string]float64{"pm10": 999, "secret_field": 1}})
	}
	for i := 0; i < 5; i++ {
		put(kessel.Device{ID: fmt.Sprintf("noise-%d", i), Kind: "noise", Location: &orb.Point{9.21, 48.78}, Visibility: kessel.Public})
	}
	put(kessel.Device{ID: "odd-1", Kind: "alerts", Visibility: kessel.Public})
	reg.Observe(rs)
	alerts := fakeAlerts{
		{ID: "a1", RuleID: "feinstaub", Subject: "air-0001", Kind: "air_quality", State: kessel.Firing, Value: 55, Severity: "warning", Visibility: kessel.Public, ActiveAt: ogcBase, FiredAt: ogcBase},
		{ID: "a2", RuleID: "area", Subject: "district:Ost", State: kessel.Pending, Value: 41, Severity: "info", Visibility: kessel.Public, ActiveAt: ogcBase.Add(time.Hour)},
		{ID: "a3", RuleID: "feinstaub", Subject: "air-0002", State: kessel.Inactive, Severity: "warning", Visibility: kessel.Public, ActiveAt: ogcBase, ResolvedAt: ogcBase.Add(time.Hour)},
		{ID: "a4", RuleID: "frost", Subject: "secret-0", State: kessel.Firing, Severity: "critical", Visibility: kessel.Internal, ActiveAt: ogcBase},
	}
	keys := []api.Key{
		{Name: "internal", Department: "test", Scopes: []string{api.ScopeDataInternal}, Hash: api.HashKey(testKeys["data:internal"])},
		{Name: "alerts", Department: "test", Scopes: []string{api.ScopeAlertsManage}, Hash: api.HashKey(testKeys["alerts:manage"])},
	}
	h, err := api.NewServer(reg, ds, nil, api.Options{Registerer: prometheus.NewRegistry(), Now: func() time.Time { return ogcBase.Add(6 * time.Hour) },
		Keys: keys, RateLimits: map[string]api.RateLimit{}, Alerts: alerts})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type ogcLink struct{ Href, Rel, Type string }

type ogcFeature struct {
	Type       string
	ID         string
	Geometry   *struct{ Type string }
	Properties map[string]any
	Links      []ogcLink
}

type ogcItems struct {
	Type           string
	Features       []ogcFeature
	Links          []ogcLink
	NumberMatched  int
	NumberReturned int
	TimeStamp      string
}

func linkOf(links []ogcLink, rel string) *ogcLink {
	for i := range links {
		if links[i].Rel == rel {
			return &links[i]
		}
	}
	return nil
}

// ogcGet fetches a URL (absolute, or a path on srv) and decodes the answer
// into v when it is a 200.
func ogcGet(t *testing.T, srv *httptest.Server, path, key string, v any) (*http.Response, []byte) {
	t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = srv.URL + path
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %d, body is not JSON: %v", path, resp.StatusCode, err)
	}
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp, body
}

func ids(fs []ogcFeature) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

type ogcCheck func(t *testing.T, body []byte)

func decodeJSON(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatal(err)
	}
}

// wantItems checks a page: req/core/fc-response, fc-links, fc-numberMatched,
// fc-numberReturned and fc-timeStamp.
func wantItems(matched, returned int, first string, next bool) ogcCheck {
	return func(t *testing.T, body []byte) {
		var fc ogcItems
		decodeJSON(t, body, &fc)
		if fc.Type != "FeatureCollection" || fc.NumberMatched != matched || fc.NumberReturned != returned || len(fc.Features) != returned {
			t.Errorf("type %q, numberMatched %d, numberReturned %d, %d features; want %d matched, %d returned", fc.Type, fc.NumberMatched, fc.NumberReturned, len(fc.Features), matched, returned)
		}
		if returned > 0 && fc.Features[0].ID != first {
			t.Errorf("first feature %s, want %s", fc.Features[0].ID, first)
		}
		if (linkOf(fc.Links, "next") != nil) != next || linkOf(fc.Links, "self") == nil || linkOf(fc.Links, "collection") == nil {
			t.Errorf("links %+v: want self, collection and next=%v", fc.Links, next)
		}
		if fc.TimeStamp != "2026-11-23T14:00:00Z" {
			t.Errorf("timeStamp %q, want the server's now", fc.TimeStamp)
		}
	}
}

// wantCollections checks req/core/fc-md-success and fc-md-items: the ids in
// order, each with items and describedby links and a spatial extent.
func wantCollections(want ...string) ogcCheck {
	return func(t *testing.T, body []byte) {
		var cs struct {
			Links       []ogcLink
			Collections []struct {
				ID     string
				Links  []ogcLink
				Extent struct{ Spatial struct{ BBox [][]float64 } }
			}
		}
		decodeJSON(t, body, &cs)
		var got []string
		for _, c := range cs.Collections {
			got = append(got, c.ID)
			items, schema := linkOf(c.Links, "items"), linkOf(c.Links, "describedby")
			if items == nil || items.Type != "application/geo+json" || schema == nil || schema.Type != "application/schema+json" || len(c.Extent.Spatial.BBox) != 1 {
				t.Errorf("collection %s: links %+v extent %+v", c.ID, c.Links, c.Extent)
			}
		}
		if !slices.Equal(got, want) || linkOf(cs.Links, "self") == nil {
			t.Errorf("collections %v, want %v", got, want)
		}
	}
}

// wantProps checks a feature (req/core/f-success, f-links).
func wantProps(want map[string]any) ogcCheck {
	return func(t *testing.T, body []byte) {
		var f ogcFeature
		decodeJSON(t, body, &f)
		for k, v := range want {
			if f.Properties[k] != v {
				t.Errorf("property %s = %v, want %v (all: %v)", k, f.Properties[k], v, f.Properties)
			}
		}
		if linkOf(f.Links, "self") == nil || linkOf(f.Links, "collection") == nil {
			t.Errorf("feature links %+v: want self and collection", f.Links)
		}
	}
}

func wantFeatureIDs(want ...string) ogcCheck {
	return func(t *testing.T, body []byte) {
		var fc ogcItems
		decodeJSON(t, body, &fc)
		if got := ids(fc.Features); !slices.Equal(got, want) || fc.NumberMatched != len(want) {
			t.Errorf("features %v (numberMatched %d), want %v", got, fc.NumberMatched, want)
		}
	}
}

func wantProblem(t *testing.T, body []byte) {
	var p struct{ Detail string }
	decodeJSON(t, body, &p)
	if p.Detail == "" {
		t.Error("problem without detail")
	}
}

// wantLanding checks req/core/root-success: absolute links to the API
// definition, the conformance declaration and the collections.
func wantLanding(base string) ogcCheck {
	return func(t *testing.T, body []byte) {
		var lp struct{ Links []ogcLink }
		decodeJSON(t, body, &lp)
		for rel, typ := range map[string]string{"self": "application/json", "service-desc": "application/vnd.oai.openapi+json;version=3.0", "conformance": "application/json", "data": "application/json"} {
			l := linkOf(lp.Links, rel)
			if l == nil || l.Type != typ || !strings.HasPrefix(l.Href, base+"/") {
				t.Errorf("link %s = %+v, want an absolute link of type %s", rel, l, typ)
			}
		}
	}
}

func wantConformance(t *testing.T, body []byte) {
	var c struct{ ConformsTo []string }
	decodeJSON(t, body, &c)
	for _, cls := range []string{"core", "geojson", "oas30"} {
		if !slices.Contains(c.ConformsTo, "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"+cls) {
			t.Errorf("conformsTo %v lacks %s", c.ConformsTo, cls)
		}
	}
}

func wantAPIDefinition(t *testing.T, body []byte) {
	var doc struct {
		OpenAPI string
		Paths   map[string]map[string]struct{ Parameters []map[string]any }
	}
	decodeJSON(t, body, &doc)
	ps := doc.Paths["/collections/{collectionId}/items"]["get"].Parameters
	if doc.OpenAPI != "3.0.3" || !slices.ContainsFunc(ps, func(p map[string]any) bool {
		return p["name"] == "limit" && p["schema"].(map[string]any)["maximum"] == float64(api.OGCMaxLimit)
	}) {
		t.Errorf("openapi %q, items parameters %v: want limit with its maximum", doc.OpenAPI, ps)
	}
}

func wantCollection(id string) ogcCheck {
	return func(t *testing.T, body []byte) {
		var c struct{ ID, ItemType string }
		decodeJSON(t, body, &c)
		if c.ID != id || c.ItemType != "feature" {
			t.Errorf("collection %+v, want %s of features", c, id)
		}
	}
}

// TestOGCResources checks each resource against the requirements of OGC API
// – Features Part 1 (17-069r4) Core and GeoJSON that name it.
func TestOGCResources(t *testing.T) {
	srv := newOGCServer(t)
	internal := testKeys["data:internal"]
	const items0 = "/ogcapi/collections/air_quality/items"
	cases := []struct {
		name, path, key string
		status          int
		ctype           string
		check           ogcCheck
	}{
		{"landing page (req/core/root-success)", "/ogcapi", "", 200, "application/json", wantLanding(srv.URL)},
		{"landing page with a slash", "/ogcapi/", "", 200, "application/json", nil},
		{"conformance (req/core/conformance-success)", "/ogcapi/conformance", "", 200, "application/json", wantConformance},
		{"API definition (req/oas30/oas-definition-1)", "/ogcapi/api", "", 200, "application/vnd.oai.openapi+json;version=3.0", wantAPIDefinition},
		{"collections (req/core/fc-md-success), anonymous", "/ogcapi/collections", "", 200, "application/json", wantCollections("air_quality", "devices_alerts", "noise", "districts", "alerts")},
		{"collections with data:internal", "/ogcapi/collections", internal, 200, "application/json", wantCollections("air_quality", "devices_alerts", "noise", "secret_kind", "districts", "alerts")},
		{"one collection (req/core/sfc-md-success)", "/ogcapi/collections/noise", "", 200, "application/json", wantCollection("noise")},
		{"unknown collection", "/ogcapi/collections/nope", "", 404, "application/problem+json", wantProblem},
		{"internal-only kind is unknown to the public", "/ogcapi/collections/secret_kind/items", "", 404, "application/problem+json", wantProblem},
		{"items: first page of the default 100 (req/core/fc-response)", items0, "", 200, "application/geo+json", wantItems(ogcAirDevices, 100, "air-0000", true)},
		{"items: limit 7", items0 + "?limit=7", "", 200, "application/geo+json", wantItems(ogcAirDevices, 7, "air-0000", true)},
		{"items: a limit above the maximum is served as the maximum", items0 + "?limit=20000", "", 200, "application/geo+json", wantItems(ogcAirDevices, ogcAirDevices, "air-0000", false)},
		{"items: internal devices with data:internal", items0 + "?limit=1000", internal, 200, "application/geo+json", wantItems(ogcAirDevices+2, ogcAirDevices+2, "air-0000", false)},
		{"items: bbox (req/core/fc-bbox-response)", items0 + "?bbox=9.1739,48.7719,9.1761,48.7741", "", 200, "application/geo+json", wantFeatureIDs("air-0027", "air-0028", "air-0052", "air-0053")},
		{"items: bbox with heights", items0 + "?bbox=9.1739,48.7719,0,9.1761,48.7741,100", "", 200, "application/geo+json", wantFeatureIDs("air-0027", "air-0028", "air-0052", "air-0053")},
		{"items: bbox on the edge includes the device", items0 + "?bbox=9.16,48.76,9.17,48.77", "", 200, "application/geo+json", wantFeatureIDs("air-0000")},
		{"items: datetime instant (req/core/fc-time-response)", items0 + "?datetime=2026-11-23T08:03:00Z", "", 200, "application/geo+json", wantFeatureIDs("air-0003")},
		{"items: datetime closed interval", items0 + "?datetime=2026-11-23T08:01:00Z/2026-11-23T08:02:30Z", "", 200, "application/geo+json", wantFeatureIDs("air-0001", "air-0002")},
		{"items: datetime open start", items0 + "?datetime=../2026-11-23T08:01:00Z", "", 200, "application/geo+json", wantFeatureIDs("air-0000", "air-0001")},
		{"items: datetime open end", items0 + "?datetime=2026-11-23T12:08:00Z/..", "", 200, "application/geo+json", wantFeatureIDs("air-0248", "air-0249")},
		{"items: bbox and datetime together", items0 + "?bbox=9.1739,48.7719,9.1761,48.7741&datetime=2026-11-23T08:28:00Z/..", "", 200, "application/geo+json", wantFeatureIDs("air-0028", "air-0052", "air-0053")},
		{"items: devices without readings have no values and no time", "/ogcapi/collections/noise/items?datetime=../..", "", 200, "application/geo+json", wantFeatureIDs()},
		{"items: a kind named like a collection is devices_<kind>", "/ogcapi/collections/devices_alerts/items", "", 200, "application/geo+json", wantFeatureIDs("odd-1")},
		{"districts intersecting a box", "/ogcapi/collections/districts/items?bbox=9.195,48.775,9.2,48.776", "", 200, "application/geo+json", wantFeatureIDs("ost")},
		{"districts ignore datetime (no time)", "/ogcapi/collections/districts/items?datetime=2020-01-01T00:00:00Z", "", 200, "application/geo+json", wantFeatureIDs("mitte", "ost")},
		{"alerts: active public ones", "/ogcapi/collections/alerts/items", "", 200, "application/geo+json", wantFeatureIDs("a1", "a2")},
		{"alerts: internal ones with alerts:manage", "/ogcapi/collections/alerts/items", testKeys["alerts:manage"], 200, "application/geo+json", wantFeatureIDs("a1", "a2", "a4")},
		{"alerts: active during an interval", "/ogcapi/collections/alerts/items?datetime=2026-11-23T08:30:00Z/2026-11-23T08:40:00Z", "", 200, "application/geo+json", wantFeatureIDs("a1")},
		{"feature (req/core/f-success)", "/ogcapi/collections/air_quality/items/air-0007", "", 200, "application/geo+json",
			wantProps(map[string]any{"pm10": 7.0, "pm10_unit": "µg/m³", "pm25": 1.5, "pm25_unit": "µg/m³", "observed_at": "2026-11-23T08:07:00Z", "kind": "air_quality", "name": "Air air-0007"})},
		{"district feature with aggregates", "/ogcapi/collections/districts/items/mitte", "", 200, "application/geo+json", wantProps(map[string]any{"name": "Mitte", "air_quality_pm25_mean": 1.5})},
		{"alert feature", "/ogcapi/collections/alerts/items/a1", "", 200, "application/geo+json", wantProps(map[string]any{"rule_id": "feinstaub", "state": "firing", "value": 55.0})},
		{"unknown feature", "/ogcapi/collections/air_quality/items/air-9999", "", 404, "application/problem+json", wantProblem},
		{"internal feature, anonymous", "/ogcapi/collections/air_quality/items/secret-0", "", 404, "application/problem+json", wantProblem},
		{"internal feature with data:internal", "/ogcapi/collections/air_quality/items/secret-0", internal, 200, "application/geo+json", wantProps(map[string]any{"pm10": 999.0, "visibility": "internal"})},
		{"resolved alert is not a feature", "/ogcapi/collections/alerts/items/a3", "", 404, "application/problem+json", wantProblem},
		{"unknown parameter (req/core/query-param-unknown)", items0 + "?colour=red", "", 400, "application/problem+json", wantProblem},
		{"limit 0 (req/core/query-param-invalid)", items0 + "?limit=0", "", 400, "application/problem+json", wantProblem},
		{"limit not a number", items0 + "?limit=ten", "", 400, "application/problem+json", wantProblem},
		{"bbox of 3 numbers", items0 + "?bbox=1,2,3", "", 400, "application/problem+json", wantProblem},
		{"bbox upside down", items0 + "?bbox=9,49,10,48", "", 400, "application/problem+json", wantProblem},
		{"datetime not RFC 3339", items0 + "?datetime=yesterday", "", 400, "application/problem+json", wantProblem},
		{"datetime interval backwards", items0 + "?datetime=2026-11-24T00:00:00Z/2026-11-23T00:00:00Z", "", 400, "application/problem+json", wantProblem},
		{"bad cursor", items0 + "?cursor=zzz", "", 400, "application/problem+json", wantProblem},
		{"HTML is not served", "/ogcapi/collections?f=html", "", 400, "application/problem+json", wantProblem},
		{"a parameter of items is unknown on the landing page", "/ogcapi?limit=3", "", 400, "application/problem+json", wantProblem},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ogcGet(t, srv, tc.path, tc.key, nil)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.ctype {
				t.Fatalf("GET %s: %d %s, want %d %s\n%s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.ctype, body)
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
}

// TestOGCPaging follows the next links of the body (req/core/fc-links,
// rec/core/fc-next-1) from the first page to the last and back one with
// prev: every device arrives once, in id order, with the filters kept.
func TestOGCPaging(t *testing.T) {
	srv := newOGCServer(t)
	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"all", "limit=37", ogcAirDevices},
		{"with a bbox", "limit=9&bbox=9.17,48.77,9.1761,48.7821", 4 * 7},
		{"with a datetime", "limit=10&datetime=2026-11-23T09:00:00Z/..", ogcAirDevices - 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := "/ogcapi/collections/air_quality/items?" + tc.query
			var got []string
			var pages []ogcItems
			for next != "" && len(pages) <= ogcAirDevices {
				var fc ogcItems
				if resp, body := ogcGet(t, srv, next, "", &fc); resp.StatusCode != 200 {
					t.Fatalf("GET %s: %d %s", next, resp.StatusCode, body)
				}
				if fc.NumberMatched != tc.want || fc.NumberReturned != len(fc.Features) {
					t.Fatalf("page %d: numberMatched %d numberReturned %d with %d features, want %d matched", len(pages), fc.NumberMatched, fc.NumberReturned, len(fc.Features), tc.want)
				}
				got = append(got, ids(fc.Features)...)
				pages = append(pages, fc)
				next = ""
				if l := linkOf(fc.Links, "next"); l != nil {
					if l.Type != "application/geo+json" {
						t.Errorf("next link type %q", l.Type)
					}
					next = l.Href
				}
			}
			if len(got) != tc.want || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Fatalf("%d features over %d pages (sorted %v), want %d distinct", len(got), len(pages), slices.IsSorted(got), tc.want)
			}
			if len(pages) < 2 {
				t.Fatalf("only %d page", len(pages))
			}
			if linkOf(pages[0].Links, "prev") != nil {
				t.Error("the first page has a prev link")
			}
			var back ogcItems
			ogcGet(t, srv, linkOf(pages[1].Links, "prev").Href, "", &back)
			if !slices.Equal(ids(back.Features), ids(pages[0].Features)) {
				t.Errorf("prev of page 2 = %v, want page 1 %v", ids(back.Features), ids(pages[0].Features))
			}
		})
	}
}

// TestOGCFeaturesFollowSchema checks every feature of every collection
// against its describedby schema: each property is declared there with its
// JSON type, required ones are present, numbers are written as reals.
func TestOGCFeaturesFollowSchema(t *testing.T) {
	srv := newOGCServer(t)
	for _, coll := range []string{"air_quality", "noise", "devices_alerts", "districts", "alerts"} {
		t.Run(coll, func(t *testing.T) {
			var schema struct {
				Properties struct {
					Properties struct {
						Required   []string
						Properties map[string]struct{ Type, Format string }
					}
				}
			}
			if resp, body := ogcGet(t, srv, "/ogcapi/collections/"+coll+"/schema", "", &schema); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/schema+json" {
				t.Fatalf("schema: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			declared := schema.Properties.Properties
			var fc ogcItems
			_, raw := ogcGet(t, srv, "/ogcapi/collections/"+coll+"/items?limit=10000", "", &fc)
			if len(fc.Features) == 0 {
				t.Fatal("no features")
			}
			for _, f := range fc.Features {
				for _, r := range declared.Required {
					if _, ok := f.Properties[r]; !ok {
						t.Errorf("%s lacks required %s", f.ID, r)
					}
				}
				for k, v := range f.Properties {
					d, ok := declared.Properties[k]
					if !ok {
						t.Errorf("%s: property %s is not in the schema", f.ID, k)
						continue
					}
					if !typeMatches(d.Type, d.Format, v) {
						t.Errorf("%s: %s = %v (%T) is not %s %s", f.ID, k, v, v, d.Type, d.Format)
					}
				}
			}
			if coll == "air_quality" && !strings.Contains(string(raw), `"pm10":0.0,`) {
				t.Errorf("pm10 of air-0000 is not written as a real: %.300s", raw)
			}
		})
	}
}

func typeMatches(typ, format string, v any) bool {
	switch typ {
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "string":
		s, ok := v.(string)
		if ok && format == "date-time" {
			_, err := time.Parse(time.RFC3339, s)
			return err == nil
		}
		return ok
	}
	return false
}

// TestOGCHeadAndMethods: HEAD answers every GET route with its headers and
// no body (rec/core/head); another method is a 405 naming the allowed ones.
func TestOGCHeadAndMethods(t *testing.T) {
	srv := newOGCServer(t)
	for _, path := range []string{"/ogcapi", "/ogcapi/", "/ogcapi/conformance", "/ogcapi/api", "/ogcapi/collections", "/ogcapi/collections/air_quality",
		"/ogcapi/collections/air_quality/schema", "/ogcapi/collections/air_quality/items", "/ogcapi/collections/air_quality/items/air-0001"} {
		t.Run(path, func(t *testing.T) {
			get, _ := ogcGet(t, srv, path, "", nil)
			resp, err := http.Head(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.ContentLength != get.ContentLength || resp.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
				t.Errorf("HEAD: %d %s length %d; GET: %s length %d", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength, get.Header.Get("Content-Type"), get.ContentLength)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("{}"))
			post, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			post.Body.Close()
			if allow := post.Header.Get("Allow"); post.StatusCode != http.StatusMethodNotAllowed || !strings.HasPrefix(allow, "GET, HEAD") {
				t.Errorf("POST: %d Allow %q, want 405 allowing GET and HEAD", post.StatusCode, allow)
			}
		})
	}
}

// TestOGCOpenAPIIsValid checks the OGC API's own definition (conformance
// class oas30) with the OpenAPI validator TestOpenAPIIsValid uses.
func TestOGCOpenAPIIsValid(t *testing.T) {
	srv := newOGCServer(t)
	resp, doc := ogcGet(t, srv, "/ogcapi/api", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /ogcapi/api: %d", resp.StatusCode)
	}
	out, err := api.ValidateOpenAPI(t, doc)
	if err != nil || !strings.HasPrefix(out, "valid:") {
		t.Fatalf("OGC API definition rejected: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(out))
}

// TestOGCFeaturesValidate checks every feature of every collection against
// its describedby schema with a real JSON Schema validator (ajv, draft
// 2019-09, from the OpenAPI validator's packages).
func TestOGCFeaturesValidate(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node not found")
	}
	dir, _ := filepath.Abs("testdata/validator")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ajv", "dist", "2019.js")); err != nil {
		testenv.Missing(t, "ajv is not installed (npm ci --prefix api/testdata/validator)")
	}
	srv := newOGCServer(t)
	run := func(schema, items []byte) (string, error) {
		tmp := t.TempDir()
		sf, ff := filepath.Join(tmp, "schema.json"), filepath.Join(tmp, "items.json")
		os.WriteFile(sf, schema, 0o644)
		os.WriteFile(ff, items, 0o644)
		out, err := exec.Command(node, filepath.Join(dir, "features.mjs"), sf, ff).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	for _, tc := range []struct{ coll, key string }{
		{"air_quality", ""}, {"air_quality", testKeys["data:internal"]}, {"noise", ""}, {"devices_alerts", ""}, {"districts", ""}, {"alerts", testKeys["alerts:manage"]},
	} {
		t.Run(tc.coll, func(t *testing.T) {
			_, schema := ogcGet(t, srv, "/ogcapi/collections/"+tc.coll+"/schema", tc.key, nil)
			_, items := ogcGet(t, srv, "/ogcapi/collections/"+tc.coll+"/items?limit=10000", tc.key, nil)
			out, err := run(schema, items)
			if err != nil || !strings.HasPrefix(out, "valid:") {
				t.Fatalf("features do not follow the schema: %v\n%s", err, out)
			}
			t.Log(out)
		})
	}
	// The validator itself must be able to fail.
	_, schema := ogcGet(t, srv, "/ogcapi/collections/air_quality/schema", "", nil)
	_, items := ogcGet(t, srv, "/ogcapi/collections/air_quality/items?limit=3", "", nil)
	if out, err := run(schema, []byte(strings.Replace(string(items), `"pm10":0.0`, `"pm10":"0"`, 1))); err == nil {
		t.Fatalf("a string pm10 passed: %s", out)
	}
}

// TestOGCCaching: anonymous answers are publicly cacheable, keyed ones (which
// may hold internal devices) private, and every one varies with the key.
func TestOGCCaching(t *testing.T) {
	srv := newOGCServer(t)
	for _, tc := range []struct{ name, key, cache string }{
		{"anonymous", "", "public, max-age=10"},
		{"with data:internal", testKeys["data:internal"], "private, max-age=10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := ogcGet(t, srv, "/ogcapi/collections/air_quality/items", tc.key, nil)
			if cc, vary := resp.Header.Get("Cache-Control"), resp.Header.Get("Vary"); cc != tc.cache || !strings.Contains(vary, "Authorization") {
				t.Errorf("Cache-Control %q, Vary %q; want %q and Vary naming Authorization", cc, vary, tc.cache)
			}
		})
	}
}
