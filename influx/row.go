package influx

import (
	"context"
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// eachRow calls fn with each pivoted row of flux as a Reading, as stored:
// marked says whether the row holds the marker of sparse flags (see
// expandFlags); alone says it holds the marker and no other field.
func (c *Client) eachRow(ctx context.Context, flux, what string, fn func(r kessel.Reading, marked, alone bool) error) error {
	res, err := c.query.Query(ctx, flux)
	if err != nil {
		return fmt.Errorf("influx: %s: %w: %w", what, &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	for res.Next() {
		r, marked, ok := decodeRow(res.Record().Values(), res.Record().Time())
		if err := fn(r, marked, !ok); err != nil {
			return err
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("influx: %s: %w: %w", what, &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return nil
}

// decodeRow reads a pivoted row of a reading's fields; marked says
// whether it holds the marker of sparse flags, ok is false for a row with
// the marker alone.
func decodeRow(vals map[string]any, t time.Time) (r kessel.Reading, marked, ok bool) {
	r = kessel.Reading{Time: t, Values: map[string]float64{}}
	r.Kind, _ = vals["_measurement"].(string)
	r.Device, _ = vals["device"].(string)
	r.District, _ = vals["district"].(string)
	r.Department, _ = vals["department"].(string)
	r.Source, _ = vals["source"].(string)
	r.Correction, _ = vals["correction"].(string)
	var lat, lon *float64
	fields := 0
	for k, v := range vals {
		if reservedColumns[k] {
			continue
		}
		var x float64
		switch v := v.(type) {
		case float64:
			x = v
		case int64:
			x = float64(v)
		case bool:
			if v {
				x = 1
			}
		default:
			continue // nil (field absent in this row) or text
		}
		if k == qcMarker {
			marked = true
			continue
		}
		fields++
		if ns, name, ok := kessel.SplitAnnotation(k); ok {
			switch ns {
			case kessel.LinkNamespace:
				if r.Link == nil {
					r.Link = map[string]float64{}
				}
				r.Link[name] = x
			case "qc", "qct", "cor": // a value's quality annotations stay beside it
				r.Values[k] = x
			} // other namespaces: not asked for
			continue
		}
		switch k {
		case "lat":
			lat = &x
		case "lon":
			lon = &x
		case "empty":
		default:
			r.Values[k] = x
		}
	}
	if lat != nil && lon != nil {
		r.Location = &orb.Point{*lon, *lat}
	}
	return r, marked, fields > 0 || !marked
}
