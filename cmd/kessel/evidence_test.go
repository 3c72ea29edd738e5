package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/evidence"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

const (
	winterKey = "kessel_winterdienst_leitstelle"
	otherKey  = "kessel_umweltschutz_alerts" // alerts:manage without data:internal
)

// evidenceConfig: two frost-scenario road sensors and a silent one, one
// route over all three, the shipped frost rule, a key of the winter
// service.
func evidenceConfig(t *testing.T) string {
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	os.WriteFile(cfg, []byte(`api_keys:
  - {name: leitstelle, department: winterdienst, scopes: [alerts:manage, data:internal], hash: "`+api.HashKey(winterKey)+`"}
  - {name: umwelt, department: umweltschutz, scopes: [alerts:manage], hash: "`+api.HashKey(otherKey)+`"}
devices:
  - {id: frost-road-0001, kind: road_surface, visibility: internal, department: winterdienst}
  - {id: frost-road-0002, kind: road_surface, visibility: internal, department: winterdienst}
  - {id: road-silent, kind: road_surface, visibility: internal, department: winterdienst}
routes:
  - {id: b27-nord, name: "B27 Nord", devices: [frost-road-0001, frost-road-0002, road-silent]}
rules:
  - {id: glaette, kind: road_surface, field: surface_temperature, condition: threshold, op: "<", threshold: 0, clear: 1, for: 10m, severity: critical, visibility: internal}
`), 0o644)
	return cfg
}

// transition is an alert's notified transition as GET /alerts/{id} lists it.
type transition struct {
	State string
	At    time.Time
}

// TestEvidenceFrostNight plays the simulator's frost scenario over
// yesterday through a real ingest, acknowledges the alert with a note
// through the API and builds the day's records: each sensor's record holds
// the alert's firing and resolving times exactly as the engine had them,
// the acknowledgement with who and the note, the frost hours; the silent
// sensor's day is one gap; the HTML and CSV exports carry the hashes and
// the verification; and a value changed in InfluxDB breaks verification
// at that day, in the command and the endpoint, while the record files
// still verify.
func TestEvidenceFrostNight(t *testing.T) {
	db := influxtest.Start(t)
	mqttAddr := testenv.FreePort(t)
	archive := t.TempDir()
	dir := filepath.Join(archive, ".evidence") // the record files' default place with --archive
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", evidenceConfig(t), "--archive", archive, "--evidence-build-at", "off")
	base := "http://" + h.HTTP + "/api/v1"
	day := evidence.DayOf(evidence.DayOf(time.Now()).Start.Add(-time.Hour))

	// The night until 05:30 local, the acknowledgement while the alert
	// fires, then the rest of the day.
	const before = 34 // 10-minute slots per device from midnight to 05:30 local
	frostSim(t, mqttAddr, day.Start, 2*before)
	store, err := influx.New(influx.Options{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	waitStored(t, store, day, 2*before)
	alertID := alert.Fingerprint("glaette", "frost-road-0001", nil)
	ackNote(t, base, alertID, store, day)
	frostSim(t, mqttAddr, day.Start.Add(before*10*time.Minute), 288-2*before)
	waitStored(t, store, day, 288)
	want := frostTransitions(t, base, alertID, day)

	for _, p := range []string{"sensors/frost-road-0001", "sensors/frost-road-0002", "sensors/road-silent", "routes/b27-nord"} {
		if st, _, body := do(t, "POST", base+"/evidence/"+p+"/build?day="+day.Date, winterKey, "", ""); st != 200 || !strings.Contains(body, `"count":1`) {
			t.Fatalf("build %s: %d %s", p, st, body)
		}
	}
	for _, p := range []string{"/archive/.evidence/", "/archive/.evidence/sensor/frost-road-0001/" + day.Date + ".json"} {
		if _, err := os.Stat(filepath.Join(dir, "sensor", "frost-road-0001", day.Date+".json")); err != nil {
			t.Fatalf("record file: %v", err)
		}
		if st, _, body := do(t, "GET", "http://"+h.HTTP+p, "", "", ""); st != 404 {
			t.Errorf("the public archive serves %s: %d %.200s", p, st, body)
		}
	}
	checkEvidenceErrors(t, base, day)
	checkFrostRecord(t, base, day, want)
	checkRouteExports(t, base, day)
	checkTampering(t, base, db, store, dir, day)
}

// frostSim plays the frost scenario for two road sensors from start, n
// readings every 10 minutes (simulated).
func frostSim(t *testing.T, mqttAddr string, start time.Time, n int) {
	t.Helper()
	_, simBin := binaries(t)
	if out, err := exec.Command(simBin, "--broker", "tcp://"+mqttAddr, "--kinds", "road_surface", "--devices", "2", "--interval", "10m",
		"--scenario", "frost", "--start", start.Format(time.RFC3339), "--speedup", "60000", "--count", strconv.Itoa(n), "--quiet").CombinedOutput(); err != nil {
		t.Fatalf("kessel-sim: %v\n%s", err, out)
	}
}

// waitStored waits until n readings of the frost sensors since the day's
// start are stored.
func waitStored(t *testing.T, store *influx.Client, day evidence.Day, n int) {
	t.Helper()
	until(t, 30*time.Second, func() (bool, string) {
		got := 0
		for _, dev := range []string{"frost-road-0001", "frost-road-0002"} {
			rs, _ := store.History(context.Background(), kessel.HistoryQuery{Device: dev, From: day.Start, To: time.Now().Add(time.Hour)})
			got += len(rs)
		}
		return got == n, fmt.Sprintf("%d of %d readings stored", got, n)
	})
}

// frostTransitions waits until the alert resolved in the morning and
// returns its transitions during day, as the engine has them.
func frostTransitions(t *testing.T, base, id string, day evidence.Day) []transition {
	t.Helper()
	var trs []transition
	until(t, 30*time.Second, func() (bool, string) {
		var one struct{ Transitions []transition }
		_, _, body := do(t, "GET", base+"/alerts/"+id, winterKey, "", "")
		json.Unmarshal([]byte(body), &one)
		trs = trs[:0]
		for _, tr := range one.Transitions {
			if !tr.At.Before(day.Start) && tr.At.Before(day.End) {
				trs = append(trs, tr)
			}
		}
		morning := localClock(day, 8, 0)
		n := len(trs)
		return n > 1 && trs[n-1].State == "resolved" && !trs[n-1].At.Before(morning) && trs[n-1].At.Before(morning.Add(30*time.Minute)),
			fmt.Sprintf("transitions of frost-road-0001 on %s: %+v, want the last one resolved at 08:00 local (%s)", day.Date, trs, body)
	})
	// The frost sets in at 01:00 local at the latest (the night may freeze
	// earlier): the alert fires within its 10-minute "for" and a reading.
	if n := len(trs); trs[n-2].State != "firing" || trs[n-2].At.After(localClock(day, 1, 20)) {
		t.Errorf("transitions %+v: want firing by 01:20 local", trs)
	}
	return trs
}

// localClock returns the time of day hh:mm local time on day.
func localClock(day evidence.Day, hh, mm int) time.Time {
	s := day.Start.In(evidence.Location())
	return time.Date(s.Year(), s.Month(), s.Day(), hh, mm, 0, 0, s.Location())
}

// ackNote acknowledges the alert with a note (a bad note is refused) and
// waits until the journal holds it.
func ackNote(t *testing.T, base, id string, store *influx.Client, day evidence.Day) {
	t.Helper()
	if st, _, body := do(t, "POST", base+"/alerts/"+id+"/ack", winterKey, "", `{"note":"bad\u0007note"}`); st != 400 || !strings.Contains(body, "control characters") {
		t.Errorf("a note with a control character: %d %s", st, body)
	}
	st, _, body := do(t, "POST", base+"/alerts/"+id+"/ack", winterKey, "", `{"note":"Streufahrzeug 3 ausgerückt 05:40"}`)
	if st != 200 || !strings.Contains(body, `"ack_note":"Streufahrzeug 3 ausgerückt 05:40"`) || !strings.Contains(body, `"acked_by":"leitstelle (winterdienst)"`) {
		t.Fatalf("ack with a note: %d %s", st, body)
	}
	until(t, 10*time.Second, func() (bool, string) {
		as, err := store.AlertHistory(context.Background(), day.Start.Add(-time.Hour), time.Now().Add(time.Hour))
		for _, a := range as {
			if a.ID == id && a.AckNote != "" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("the journal has no acknowledgement yet (%d states, %v)", len(as), err)
	})
}

type evidenceRecords struct {
	Verification evidence.Result
	Items        []evidence.Record
}

// checkFrostRecord: the sensor's record has the engine's alert times, the
// acknowledgement with its note, and the night's frost.
func checkFrostRecord(t *testing.T, base string, day evidence.Day, want []transition) {
	t.Helper()
	var got evidenceRecords
	st, _, body := do(t, "GET", base+"/evidence/sensors/frost-road-0001?from="+day.Date+"&to="+day.Date, winterKey, "", "")
	if json.Unmarshal([]byte(body), &got); st != 200 || len(got.Items) != 1 || !got.Verification.OK {
		t.Fatalf("records: %d %s", st, body)
	}
	sd := got.Items[0].Sensors[0]
	var times []transition
	for _, a := range sd.Alerts {
		times = append(times, transition{"firing", a.FiredAt})
		if !a.ResolvedAt.IsZero() {
			times = append(times, transition{"resolved", a.ResolvedAt})
		}
	}
	if fmt.Sprint(times) != fmt.Sprint(want) {
		t.Errorf("alert times in the record:\n%v\nthe engine's transitions:\n%v", times, want)
	}
	if len(sd.Acks) != 1 || sd.Acks[0].Note != "Streufahrzeug 3 ausgerückt 05:40" || sd.Acks[0].By != "leitstelle (winterdienst)" {
		t.Errorf("acks %+v, want the leitstelle's with its note", sd.Acks)
	}
	surface := sd.Stats["surface_temperature"]
	if surface.BelowZeroH == nil || *surface.BelowZeroH < 7 || surface.Min > -1 || sd.Readings < 140 || len(sd.Gaps) != 0 {
		t.Errorf("surface %+v, %d readings, gaps %v: want 7 h or more below 0 °C (01:00 to 08:00), no gap", surface, sd.Readings, sd.Gaps)
	}
}

// checkRouteExports: the route's HTML and CSV exports for a court.
func checkRouteExports(t *testing.T, base string, day evidence.Day) {
	t.Helper()
	st, hdr, page := do(t, "GET", base+"/evidence/routes/b27-nord?format=html&download=1&from="+day.Date+"&to="+day.Date, winterKey, "", "")
	if st != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("HTML report: %d %v", st, hdr)
	}
	for _, want := range []string{"Strecke b27-nord", "Unverändert", "Streufahrzeug 3 ausgerückt 05:40", "Sensor road-silent", "Keine Messwerte an diesem Tag", "Datenlücke"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	if regexp.MustCompile(`https?://`).MatchString(page) {
		t.Error("the report refers to another host")
	}
	if st, _, _ := do(t, "GET", base+"/evidence/routes/b27-nord?format=html", "", "", ""); st != 401 {
		t.Errorf("a report without a key: %d", st)
	}
	st, _, sheet := do(t, "GET", base+"/evidence/routes/b27-nord?format=csv&from="+day.Date+"&to="+day.Date, winterKey, "", "")
	rows, err := csv.NewReader(strings.NewReader(sheet)).ReadAll()
	if st != 200 || err != nil || len(rows) < 3 {
		t.Fatalf("CSV: %d %v", st, err)
	}
	if last := rows[len(rows)-1]; last[0] != "verification" || last[17] != "unverändert" || len(last[19]) != 64 {
		t.Errorf("CSV verification row %v", last)
	}
}

// checkTampering changes one stored value: the command and the endpoint
// name the day; the record files still verify.
func checkTampering(t *testing.T, base string, db *influxtest.Server, store *influx.Client, dir string, day evidence.Day) {
	t.Helper()
	const subject = "sensor:frost-road-0001"
	verify := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"evidence", "verify", "--subject", subject}, args...), func(string) string { return "" }, nil, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := verify("--influx-url", db.URL); err != nil || !strings.Contains(out, "unchanged") {
		t.Fatalf("verify before the change: %v %s", err, out)
	}
	es, err := store.EvidenceStore("").Evidence(context.Background(), subject, day.Start, day.End)
	if err != nil || len(es) != 1 {
		t.Fatalf("stored entries: %d %v", len(es), err)
	}
	changed := regexp.MustCompile(`"below_zero_h":[0-9.]+`).ReplaceAll(es[0].Doc, []byte(`"below_zero_h":0`))
	if bytes.Equal(changed, es[0].Doc) {
		t.Fatal("no frost hours to change")
	}
	escaped := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(string(changed))
	db.WriteLines(t, "kessel&rp=kessel_evidence", fmt.Sprintf("kessel_evidence,subject=%s doc=\"%s\" %d", subject, escaped, day.Start.UnixNano()))

	out, err := verify("--influx-url", db.URL)
	if err == nil || !strings.Contains(out, "BROKEN at "+day.Date) || !strings.Contains(out, "was changed") {
		t.Errorf("verify after the change: %v %s", err, out)
	}
	var res evidence.Result
	st, _, body := do(t, "GET", base+"/evidence/sensors/frost-road-0001/verify?to="+day.Date, winterKey, "", "")
	if json.Unmarshal([]byte(body), &res); st != 200 || res.OK || res.BrokenAt != day.Date {
		t.Errorf("GET verify after the change: %d %s", st, body)
	}
	if out, err := verify("--dir", dir); err != nil || !strings.Contains(out, "1 records") {
		t.Errorf("the record files: %v %s", err, out)
	}
}

// checkEvidenceErrors: bad requests get a specific problem.
func checkEvidenceErrors(t *testing.T, base string, day evidence.Day) {
	t.Helper()
	today := evidence.DayOf(time.Now()).Date
	for _, tc := range []struct {
		method, path, key string
		status            int
		detail            string
	}{
		{"GET", "/evidence", "", 401, "alerts:manage"},
		{"GET", "/evidence/sensors/frost-road-0001", otherKey, 404, "no evidence is kept"}, // internal sensors need data:internal
		{"GET", "/evidence/routes/b27-nord?format=html", otherKey, 404, "no evidence is kept"},
		{"GET", "/evidence/trucks/frost-road-0001", winterKey, 404, "sensors and routes"},
		{"GET", "/evidence/sensors/air-1", winterKey, 404, "no evidence is kept"},
		{"GET", "/evidence/sensors/frost-road-0001?from=29.11.2026", winterKey, 400, "YYYY-MM-DD"},
		{"GET", "/evidence/sensors/frost-road-0001?from=" + day.Date + "&to=2020-01-01", winterKey, 400, "before it starts"},
		{"GET", "/evidence/sensors/frost-road-0001?format=pdf", winterKey, 400, "format"},
		{"POST", "/evidence/sensors/frost-road-0001/build?day=" + today, winterKey, 400, "not over yet"},
	} {
		st, hdr, body := do(t, tc.method, base+tc.path, tc.key, "", "")
		if st != tc.status || !strings.Contains(body, tc.detail) || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s: %d %s; want %d naming %q", tc.method, tc.path, st, body, tc.status, tc.detail)
		}
	}
	var list struct{ Items []evidence.Subject }
	if st, _, body := do(t, "GET", base+"/evidence", winterKey, "", ""); st != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Items) != 4 {
		t.Errorf("subjects: %d %s; want 3 sensors and the route", st, body)
	}
	if st, _, body := do(t, "GET", base+"/evidence", otherKey, "", ""); st != 200 || !strings.Contains(body, `"count":0`) {
		t.Errorf("subjects without data:internal: %d %s; want none", st, body)
	}
}
