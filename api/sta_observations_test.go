package api_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestSTAObservationPaging: Observations come from the store page by page
// (OGC 18-088 req/request-data/top, skip, count and @iot.nextLink); a
// filter or order the store cannot take is evaluated on the window.
func TestSTAObservationPaging(t *testing.T) {
	f := staFixture(t)
	internal := []string{"Authorization", "Bearer " + testKeys["data:internal"]}
	q := func(path string, opts ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(opts); i += 2 {
			v.Set(opts[i], opts[i+1])
		}
		return path + "?" + v.Encode()
	}
	for _, tc := range []struct {
		name, path string
		hdr        []string
		pages      int
		count      float64
		first      float64 // result of the first observation
	}{
		{"a Datastream's 24 hours in pages of 50", q("/sta/v1.1/Datastreams('air-1:pm10')/Observations", "$top", "50", "$count", "true"), nil, 3, 120, 0},
		{"newest first", q("/sta/v1.1/Datastreams('air-1:pm10')/Observations", "$top", "100", "$orderby", "phenomenonTime desc"), nil, 2, -1, 119},
		{"a window from year() and a comparison, pushed to the store", q("/sta/v1.1/Datastreams('air-1:pm10')/Observations", "$top", "30",
			"$filter", "year(phenomenonTime) eq 2026 and date(phenomenonTime) eq 2026-11-23 and phenomenonTime lt 2026-11-23T07:00:00Z", "$count", "true"), nil, 2, 60, 0},
		{"a FeatureOfInterest's, all fields of its device", q("/sta/v1.1/FeaturesOfInterest('air-1')/Observations", "$top", "100", "$count", "true"), nil, 2, 120, 0},
		{"every device, the last hour", q("/sta/v1.1/Observations", "$top", "20", "$count", "true"), nil, 3, 59, 61},
		{"every device with data:internal", q("/sta/v1.1/Observations", "$top", "20", "$count", "true", "$orderby", "phenomenonTime desc"), internal, 3, 60, 99},
		{"a filter on result, evaluated on the window", q("/sta/v1.1/Observations", "$top", "10", "$count", "true", "$filter", "result gt 100"), nil, 2, 19, 101},
		{"an order by result, evaluated on the window", q("/sta/v1.1/Observations", "$top", "50", "$orderby", "result desc"), nil, 2, -1, 119},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen, pages, next := map[string]bool{}, 0, tc.path
			for next != "" {
				status, doc := f.staJSON(t, strings.TrimPrefix(next, f.srv.URL), tc.hdr...)
				if status != 200 {
					t.Fatalf("GET %s: %d %v", next, status, doc)
				}
				if pages == 0 {
					vals := staList(doc, "value")
					if len(vals) == 0 || vals[0].(map[string]any)["result"] != tc.first {
						t.Errorf("first of %d observations %.300v, want result %v", len(vals), vals, tc.first)
					}
				}
				if tc.count >= 0 && doc["@iot.count"] != tc.count {
					t.Errorf("page %d: @iot.count %v, want %v", pages, doc["@iot.count"], tc.count)
				}
				for _, id := range staIDs(doc) {
					if seen[id] {
						t.Fatalf("%s on two pages", id)
					}
					seen[id] = true
				}
				next, _ = doc["@iot.nextLink"].(string)
				if pages++; pages > 10 {
					t.Fatal("more than 10 pages")
				}
			}
			if pages != tc.pages || tc.count >= 0 && float64(len(seen)) != tc.count {
				t.Errorf("%d observations in %d pages, want %v in %d", len(seen), pages, tc.count, tc.pages)
			}
		})
	}
}
