package archive

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

type feature struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Geometry   *point         `json:"geometry"`
	Properties map[string]any `json:"properties"`
}

type point struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"`
}

// writePositions writes the day's device positions as a GeoJSON
// FeatureCollection: each public device at its registered place, a mobile
// sensor at the last place it reported that day (never its track), and a
// device without a place with a null geometry. It returns how many
// devices it wrote.
func writePositions(w io.Writer, byKind map[string][]kessel.DeviceState, last map[string]kessel.Reading, day time.Time) (int, error) {
	var fs []feature
	for _, states := range byKind {
		for _, st := range states {
			d := st.Device
			props := map[string]any{"id": d.ID, "kind": d.Kind, "name": d.Name, "district": d.District, "day": day.Format(time.DateOnly)}
			r, seen := last[d.ID]
			props["readings_that_day"] = seen
			f := feature{Type: "Feature", ID: d.ID, Properties: props}
			if p := place(r, d); p != nil {
				f.Geometry = &point{Type: "Point", Coordinates: [2]float64{p[0], p[1]}}
				if seen && r.Location != nil {
					props["district"] = r.District
					props["position_time"] = r.Time.UTC().Format(time.RFC3339)
				}
			}
			fs = append(fs, f)
		}
	}
	slices.SortFunc(fs, func(x, y feature) int { return strings.Compare(x.ID, y.ID) })
	if fs == nil {
		fs = []feature{}
	}
	err := json.NewEncoder(w).Encode(map[string]any{"type": "FeatureCollection", "features": fs})
	return len(fs), err
}
