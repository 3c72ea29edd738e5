package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestDeviceJSONMatchesEncodingJSON holds the hand-written device encoders
// to encoding/json's output (SetEscapeHTML(false), as the answers are
// encoded elsewhere) over random devices with awkward strings, floats,
// times and missing parts.
func TestDeviceJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	strs := []string{"", "air-0001", "Stuttgart-Mitte", "Königsbau <&> \"quoted\"", "tab\there", "line\u2028sep", "bad\xffutf8", "back\\slash", "ctl\x01"}
	floats := []float64{0, -0.0, 1, 9.18, 48.7784, 1e-7, -3.2e-9, 1e21, 123456789012345678901234.0, 0.1 + 0.2, -17.25, 5e-324, math.MaxFloat64}
	pick := func() string { return strs[rng.IntN(len(strs))] }
	pickF := func() float64 {
		f := floats[rng.IntN(len(floats))]
		if g := f * float64(1+rng.IntN(3)); !math.IsInf(g, 0) {
			return g
		}
		return f
	}
	tm := func() time.Time {
		return time.Date(2000+rng.IntN(30), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(3)*123456789, time.UTC)
	}
	var items []deviceJSON
	for range 500 {
		d := deviceJSON{ID: pick(), Kind: pick(), Name: pick(), District: pick(), Department: pick(), Visibility: kessel.Visibility(pick()), CreatedAt: tm(), UpdatedAt: tm()}
		if rng.IntN(2) == 0 {
			d.Location = &lonLat{pickF(), pickF()}
		}
		if rng.IntN(2) == 0 {
			d.Labels = map[string]string{pick(): pick(), pick(): pick()}
		}
		if rng.IntN(2) == 0 {
			ls := tm()
			d.LastSeen = &ls
		}
		if rng.IntN(3) == 0 {
			f := pickF()
			d.Distance = &f
		}
		if rng.IntN(2) == 0 {
			d.Latest = &readingJSON{Time: tm(), Values: map[string]float64{pick(): pickF(), "pm10": pickF(), "pm25": pickF()}}
			if rng.IntN(2) == 0 {
				d.Latest.Location = &lonLat{pickF(), pickF()}
			}
			if rng.IntN(10) == 0 {
				d.Latest.Values = nil
			}
		}
		items = append(items, d)
	}
	encode := func(v any) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	for _, next := range []string{"", "c2"} {
		want := encode(listJSON{Items: items, Count: len(items), Total: 1234, NextCursor: next})
		if got := string(appendDeviceList(nil, items, 1234, next)); got != want {
			t.Fatalf("list differs at byte %d:\ngot  …%s\nwant …%s", diffAt(got, want), around(got, diffAt(got, want)), around(want, diffAt(got, want)))
		}
		fc := featureCollection{Type: "FeatureCollection", Features: []feature{}, NextCursor: next}
		for _, d := range items {
			var geom any
			if d.Location != nil {
				geom = pointGeometry{Type: "Point", Coordinates: [2]float64{d.Location.Lon, d.Location.Lat}}
			}
			d.Location = nil
			fc.Features = append(fc.Features, feature{Type: "Feature", ID: d.ID, Geometry: geom, Properties: d})
		}
		want = encode(fc)
		if got := string(appendFeatureCollection(nil, items, next)); got != want {
			t.Fatalf("GeoJSON differs at byte %d:\ngot  …%s\nwant …%s", diffAt(got, want), around(got, diffAt(got, want)), around(want, diffAt(got, want)))
		}
	}
	if got, want := string(appendDeviceList(nil, nil, 0, "")), encode(listJSON{Items: []deviceJSON{}}); got != want {
		t.Errorf("empty list: %s, want %s", got, want)
	}
}

func diffAt(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func around(s string, i int) string {
	return fmt.Sprintf("%q", s[max(0, i-60):min(len(s), i+60)])
}
