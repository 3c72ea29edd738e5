package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx/influxtest"
)

// TestQualityInOutputs stores readings with quality flags and a corrected
// value and reads them through every output: JSON, GeoJSON, CSV,
// SensorThings, the qc filter and the per-device quality shares.
func TestQualityInOutputs(t *testing.T) {
	db := influxtest.Start(t)
	f := newFixture(t, db.URL)
	if err := f.store.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rs []kessel.Reading
	// 20 readings in the last day: pm10 flags pass ×17, suspect ×2 (i=5, 6), fail ×1 (i=7);
	// and 10 a week ago, all passing.
	for i := range 20 {
		flag := 1.0
		switch i {
		case 5, 6:
			flag = 3
		case 7:
			flag = 4
		}
		rs = append(rs, kessel.Reading{Device: "air-1", Kind: "air_quality", Time: f.now.Add(-time.Duration(20-i) * time.Minute), Correction: "sds011_rh/v1",
			Values: map[string]float64{"pm10": float64(i), "qc.pm10": flag, "cor.pm10": float64(i) / 2}})
	}
	rs[7].Values["qct.pm10"] = 1 // gross range
	for i := range 10 {
		rs = append(rs, kessel.Reading{Device: "air-1", Kind: "air_quality", Time: f.now.Add(-6*24*time.Hour + time.Duration(i)*time.Minute),
			Values: map[string]float64{"pm10": 1, "qc.pm10": 1}})
	}
	if err := f.store.WriteReadings(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	hist := "/api/v1/devices/air-1/readings?from=-1h"
	for _, tc := range []struct {
		name, path, accept string
		check              func(t *testing.T, body string)
	}{
		{"JSON: values raw, qc, tests and corrected beside them", hist, "", func(t *testing.T, body string) {
			var doc struct{ Items []map[string]any }
			mustJSON(t, body, &doc)
			it := doc.Items[7]
			if len(doc.Items) != 20 || it["values"].(map[string]any)["pm10"] != 7.0 || it["qc"].(map[string]any)["pm10"] != 4.0 ||
				it["corrected"].(map[string]any)["pm10"] != 3.5 || it["correction"] != "sds011_rh/v1" || !strings.Contains(body, `"qc_tests":{"pm10":["gross_range"]}`) {
				t.Errorf("reading 7: %v", it)
			}
			if _, ok := it["values"].(map[string]any)["qc.pm10"]; ok {
				t.Errorf("an annotation among the values: %v", it)
			}
		}},
		{"qc=exclude-suspect drops suspect and failed values, keeps their flags", hist + "&qc=exclude-suspect", "", func(t *testing.T, body string) {
			var doc struct{ Items []map[string]any }
			mustJSON(t, body, &doc)
			for i, it := range doc.Items {
				_, has := it["values"].(map[string]any)["pm10"]
				if has == (i >= 5 && i <= 7) || it["qc"] == nil {
					t.Errorf("reading %d: %v", i, it)
				}
			}
		}},
		{"qc=exclude-failed keeps suspect values", hist + "&qc=exclude-failed", "", func(t *testing.T, body string) {
			if n := strings.Count(body, `"values":{"pm10"`); n != 19 {
				t.Errorf("%d readings with pm10, want 19", n)
			}
		}},
		{"CSV: a flag and a corrected column per field", hist, "text/csv", func(t *testing.T, body string) {
			lines := strings.Split(body, "\n")
			if lines[0] != "time,pm10,pm10_unit,pm10_qc,pm10_cor" || !strings.HasSuffix(lines[8], ",7,µg/m³,4,3.5") {
				t.Errorf("CSV: %q / %q", lines[0], lines[8])
			}
		}},
		{"GeoJSON: flat pm10_qc and pm10_cor properties", hist, "application/geo+json", func(t *testing.T, body string) {
			if !strings.Contains(body, `"pm10":7,"pm10_unit":"µg/m³","pm10_qc":4,"pm10_cor":3.5`) {
				t.Errorf("GeoJSON: %.400s", body)
			}
		}},
		{"quality shares over day, week and month", "/api/v1/devices/air-1/quality", "", func(t *testing.T, body string) {
			var doc struct {
				Periods map[string]struct {
					Values  int
					Passing float64
					Flags   map[string]int
				}
			}
			mustJSON(t, body, &doc)
			day, week := doc.Periods["day"], doc.Periods["week"]
			if day.Values != 20 || day.Passing != 17.0/20 || day.Flags["3"] != 2 || day.Flags["4"] != 1 || week.Values != 30 || week.Passing != 27.0/30 {
				t.Errorf("quality: %s", body)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.accept != "" {
				hdr = []string{"Accept", tc.accept}
			}
			resp, body := f.get(t, tc.path, hdr...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d: %s", resp.StatusCode, body)
			}
			tc.check(t, string(body))
		})
	}
	resp, body := f.get(t, hist+"&qc=good-only")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "exclude-suspect") {
		t.Errorf("bad qc: %d %s", resp.StatusCode, body)
	}
}

// TestQualityLatest: the live state shows flags beside the latest values,
// and district means leave out values that are not passing.
func TestQualityLatest(t *testing.T) {
	f := newFixture(t, "")
	f.reg.Observe([]kessel.Reading{
		{Device: "air-1", Kind: "air_quality", Time: f.now.Add(time.Minute), Values: map[string]float64{"pm10": 500, "qc.pm10": 3, "qct.pm10": 4}},
	})
	_, body := f.get(t, "/api/v1/devices/air-1")
	if !strings.Contains(string(body), `"values":{"pm10":500},"qc":{"pm10":3},"qc_tests":{"pm10":["spike"]}`) {
		t.Errorf("latest: %s", body)
	}
	_, body = f.get(t, "/api/v1/latest?qc=exclude-suspect")
	if !strings.Contains(string(body), `"id":"air-1"`) || strings.Contains(string(body), `"pm10":500`) || !strings.Contains(string(body), `"qc":{"pm10":3}`) {
		t.Errorf("latest without suspect values: %s", body)
	}
	_, body = f.get(t, "/api/v1/latest")
	if !strings.Contains(string(body), `"pm10":500`) {
		t.Errorf("latest lost a suspect value without the filter (the live state was changed?): %s", body)
	}
	resp, body := f.get(t, "/api/v1/districts/mitte")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"air_quality":1`) || strings.Contains(string(body), "500") {
		t.Errorf("a suspect value in the district's figures: %s", body)
	}
}

func mustJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %.300s", err, body)
	}
}
