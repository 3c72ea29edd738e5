package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestDeviceJSONMatchesEncodingJSON holds the hand-written device (and history) encoders
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
		d := deviceJSON{ID: pick(), Kind: pick(), Name: pick(), District: pick(), Department: pick(), Visibility: kessel.Visibility(pick()), Class: kessel.MeasurementClass(pick()), CreatedAt: tm(), UpdatedAt: tm()}
		if rng.IntN(2) == 0 {
			d.Location = &lonLat{pickF(), pickF()}
		}
		if rng.IntN(2) == 0 {
			d.Labels = map[string]string{pick(): pick(), pick(): pick()}
		}
		if rng.IntN(3) == 0 {
			d.Units = map[string]string{"no2": "ppb", pick(): pick()}
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
			if rng.IntN(2) == 0 {
				d.Latest.Units = map[string]unitJSON{"pm10": {"µg/m³", "ug/m3"}, pick(): {pick(), pick()}}
			}
			if rng.IntN(3) == 0 {
				d.Latest.Link = map[string]float64{"rssi": pickF(), pick(): pickF()}
			}
			if rng.IntN(4) == 0 {
				d.Latest.Values["name"], d.Latest.Values["pm10_unit"] = pickF(), pickF() // collide with a property, a unit column
			}
			if rng.IntN(10) == 0 {
				d.Latest.Values = nil
			}
			if rng.IntN(2) == 0 {
				d.Latest.QC = map[string]int{"pm10": 1 + rng.IntN(4), pick(): 9}
				d.Latest.QCTests = map[string][]string{"pm10": {"spike", pick()}}
				d.Latest.Corrected = map[string]float64{"pm10": pickF()}
				d.Latest.Correction = pick()
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
	for _, next := range []pageLinks{{}, {"c2", "/api/v1/latest?cursor=c2&limit=3"}} {
		want := encode(listJSON{Items: items, Count: len(items), Total: 1234, NextCursor: next.cursor, Next: next.url})
		if got := string(appendDeviceList(nil, items, 1234, next)); got != want {
			t.Fatalf("list differs at byte %d:\ngot  …%s\nwant …%s", diffAt(got, want), around(got, diffAt(got, want)), around(want, diffAt(got, want)))
		}
		fc := featureCollection{Type: "FeatureCollection", Features: []feature{}, Links: nextLinks(next.url), NextCursor: next.cursor}
		for _, d := range items {
			var geom any
			if d.Location != nil {
				geom = pointGeometry{Type: "Point", Coordinates: [2]float64{d.Location.Lon, d.Location.Lat}}
			}
			d.Location = nil
			fc.Features = append(fc.Features, feature{Type: "Feature", ID: d.ID, Geometry: geom, Properties: flatProps(d)})
		}
		want = encode(fc)
		if got := string(appendFeatureCollection(nil, items, next)); got != want {
			t.Fatalf("GeoJSON differs at byte %d:\ngot  …%s\nwant …%s", diffAt(got, want), around(got, diffAt(got, want)), around(want, diffAt(got, want)))
		}
	}
	var latest []readingJSON
	for _, d := range items {
		if d.Latest != nil {
			latest = append(latest, *d.Latest)
		}
	}
	for _, h := range []historyJSON{{pick(), pick(), "1h+raw", latest, len(latest)}, {"a", "b", "raw", []readingJSON{}, 0}, {}} {
		want := encode(h)
		if got := string(appendHistory(nil, h)); got != want {
			t.Fatalf("history differs at byte %d:\ngot  …%s\nwant …%s", diffAt(got, want), around(got, diffAt(got, want)), around(want, diffAt(got, want)))
		}
	}
	if got, want := string(appendDeviceList(nil, nil, 0, pageLinks{})), encode(listJSON{Items: []deviceJSON{}}); got != want {
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

// flatProps is appendFlatDevice's reference: d's properties by
// encoding/json, then the latest values flat with their units.
func flatProps(d deviceJSON) json.RawMessage {
	enc := func(v any) string {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		_ = e.Encode(v)
		return strings.TrimSuffix(buf.String(), "\n")
	}
	latest := d.Latest
	d.Latest = nil
	var m map[string]json.RawMessage
	_ = json.Unmarshal([]byte(enc(d)), &m)
	var props []string
	add := func(k string, v any) { props = append(props, enc(k)+":"+enc(v)) }
	for _, k := range []string{"id", "kind", "name", "district", "department", "visibility", "measurement_class", "labels", "units", "created_at", "updated_at", "last_seen", "distance_m"} {
		if v, ok := m[k]; ok {
			add(k, v)
		}
	}
	if latest != nil {
		add("observed_at", latest.Time)
		for _, f := range sortedKeys(latest.Values) {
			p := f
			if deviceFixed[f] {
				p = "value_" + f
			}
			add(p, latest.Values[f])
			_, taken := latest.Values[f+"_unit"]
			if u := latest.Units[f]; u.Symbol != "" && !taken {
				add(p+"_unit", u.Symbol)
			}
			if q, ok := latest.QC[f]; ok {
				add(p+"_qc", q)
			}
		}
	}
	return json.RawMessage("{" + strings.Join(props, ",") + "}")
}
