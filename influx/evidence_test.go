package influx_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/evidence"
	"github.com/kessel-city/kessel/influx"
)

var _ evidence.Store = (*influx.EvidenceStore)(nil)
var _ evidence.Source = (*influx.Client)(nil)

// TestEvidenceStore: entries go to their own retention policy, created
// with an infinite duration (records outlive the readings' retention),
// read back oldest first per subject; the newest is found; a day written
// again replaces its point.
func TestEvidenceStore(t *testing.T) {
	c, srv := newClient(t)
	ctx := context.Background()
	s := c.EvidenceStore("")
	if err := s.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	influxQL := func(q string) string {
		resp, err := http.Post(srv.URL+"/query", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"q": {q}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	if body := influxQL(`SHOW RETENTION POLICIES ON "kessel"`); !strings.Contains(body, `["kessel_evidence","0s"`) {
		t.Errorf("retention policies: %s; want kessel_evidence with an infinite duration", body)
	}
	influxQL(`ALTER RETENTION POLICY "kessel_evidence" ON "kessel" DURATION 1100d`) // an operator's three years and a bit
	if err := s.Prepare(ctx); err != nil {
		t.Fatalf("prepared again after the operator changed the policy: %v", err)
	}
	if body := influxQL(`SHOW RETENTION POLICIES ON "kessel"`); !strings.Contains(body, `["kessel_evidence","26400h0m0s"`) {
		t.Errorf("retention policies: %s; want the operator's duration kept", body)
	}
	day, _ := evidence.ParseDay("2026-11-28")
	var want []kessel.EvidenceEntry
	for i, sub := range []string{"sensor:road-1", "sensor:road-1", "route:b27", "sensor:road-1"} {
		e := kessel.EvidenceEntry{Subject: sub, Day: day.Date, Start: day.Start, Hash: strings.Repeat(string(rune('a'+i)), 64), Prev: "", Doc: []byte(`{"day":"` + day.Date + `","note":"a \"quoted\" \\ note"}`)}
		if err := s.SaveEvidence(ctx, e); err != nil {
			t.Fatal(err)
		}
		if sub == "sensor:road-1" {
			want = append(want, e)
		}
		day = day.Next()
	}
	got, err := s.Evidence(ctx, "sensor:road-1", time.Unix(0, 0), day.Start)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d entries, %v; want 3", len(got), err)
	}
	for i := range got {
		if got[i].Day != want[i].Day || got[i].Hash != want[i].Hash || string(got[i].Doc) != string(want[i].Doc) || !got[i].Start.Equal(want[i].Start) {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	last, found, err := s.LastEvidence(ctx, "sensor:road-1")
	if err != nil || !found || last.Day != "2026-12-01" {
		t.Errorf("last: %+v %v %v", last, found, err)
	}
	if _, found, err := s.LastEvidence(ctx, "route:none"); found || err != nil {
		t.Errorf("a chain never started: found %v, %v", found, err)
	}
	huge := kessel.EvidenceEntry{Subject: "route:huge", Day: "2026-12-01", Start: day.Start, Hash: "h", Doc: []byte(strings.Repeat("x", 70000))}
	if err := s.SaveEvidence(ctx, huge); kessel.ErrorCode(err) != kessel.EINVALID || !strings.Contains(kessel.ErrorMessage(err), "split the route") {
		t.Errorf("a record over 64 KB: %v", err)
	}
	again := want[0]
	again.Hash = strings.Repeat("f", 64)
	if err := s.SaveEvidence(ctx, again); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Evidence(ctx, "sensor:road-1", want[0].Start, want[0].Start.Add(time.Hour)); len(got) != 1 || got[0].Hash != again.Hash {
		t.Errorf("a day written again: %+v", got)
	}
}
