package influx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// Observations returns the values q selects, each as a Reading with one
// value and, where stored, its quality flag and the tests behind it
// ("qc.<field>", "qct.<field>"; see kessel.FlagPrefix). It returns
// EINVALID for a bad query and EUNAVAILABLE when InfluxDB cannot answer.
func (c *Client) Observations(ctx context.Context, q kessel.ObservationQuery) ([]kessel.Reading, error) {
	flux, err := c.observationsFlux(q)
	if err != nil {
		return nil, err
	}
	dir := "false"
	if q.Desc {
		dir = "true"
	}
	flux += fmt.Sprintf("  |> group()\n  |> sort(columns: [\"_time\", \"device\", \"_field\"], desc: %s)\n", dir)
	if q.Limit > 0 || q.Offset > 0 {
		limit := q.Limit
		if limit <= 0 {
			limit = 1 << 30
		}
		flux += fmt.Sprintf("  |> limit(n: %d, offset: %d)\n", limit, max(q.Offset, 0))
	}
	var out []kessel.Reading
	err = c.eachRecord(ctx, flux, "observations", func(rec map[string]any, t time.Time) error {
		dev, _ := rec["device"].(string)
		field, _ := rec["_field"].(string)
		v, ok := floatOf(rec["_value"])
		if ok && dev != "" && field != "" {
			out = append(out, kessel.Reading{Device: dev, Time: t, Values: map[string]float64{field: v}})
		}
		return nil
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	return out, c.addFlags(ctx, out)
}

// CountObservations counts the values q selects, ignoring Offset and
// Limit.
func (c *Client) CountObservations(ctx context.Context, q kessel.ObservationQuery) (int, error) {
	flux, err := c.observationsFlux(q)
	if err != nil {
		return 0, err
	}
	flux += "  |> group()\n  |> count()\n"
	n := 0
	err = c.eachRecord(ctx, flux, "observation count", func(rec map[string]any, _ time.Time) error {
		if f, ok := floatOf(rec["_value"]); ok {
			n += int(f)
		}
		return nil
	})
	return n, err
}

// excludeDevicesInline is how many excluded devices the query names one by
// one (a predicate the storage engine applies); more use contains().
const excludeDevicesInline = 100

func (c *Client) observationsFlux(q kessel.ObservationQuery) (string, error) {
	if !q.From.Before(q.To) {
		return "", kessel.Errorf(kessel.EINVALID, "from must be before to")
	}
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", q.From.UTC().Format(time.RFC3339Nano), q.To.UTC().Format(time.RFC3339Nano))
	// The stop again: InfluxDB 1.8's range() keeps a point at the stop.
	conds := []string{"r._time < " + q.To.UTC().Format(time.RFC3339Nano), `r._field != "lat"`, `r._field != "lon"`, `r._field != "empty"`}
	if q.Device != "" {
		if !kessel.ValidDeviceID(q.Device) {
			return "", kessel.Errorf(kessel.EINVALID, "invalid device id %q", q.Device)
		}
		conds = append(conds, "r.device == "+strconv.Quote(q.Device))
	}
	if q.Field != "" {
		if !kessel.ValidFieldName(q.Field) {
			return "", kessel.Errorf(kessel.EINVALID, "invalid field name %q", q.Field)
		}
		conds = append(conds, "r._field == "+strconv.Quote(q.Field))
	}
	quoted := make([]string, len(q.Exclude))
	for i, d := range q.Exclude {
		quoted[i] = strconv.Quote(d)
	}
	if len(quoted) > excludeDevicesInline {
		conds = append(conds, "not contains(value: r.device, set: ["+strings.Join(quoted, ", ")+"])")
	} else {
		for _, d := range quoted {
			conds = append(conds, "r.device != "+d)
		}
	}
	fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", strings.Join(conds, " and "))
	f.WriteString(valuesFilter) // measured values: never a quality flag or link data as an Observation
	f.WriteString("  |> keep(columns: [\"_time\", \"_value\", \"_field\", \"device\"])\n")
	return f.String(), nil
}

// eachRecord runs flux and calls fn with each record's columns and time.
func (c *Client) eachRecord(ctx context.Context, flux, what string, fn func(vals map[string]any, t time.Time) error) error {
	res, err := c.query.Query(ctx, flux)
	if err != nil {
		return fmt.Errorf("influx: %s: %w: %w", what, &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	for res.Next() {
		if err := fn(res.Record().Values(), res.Record().Time()); err != nil {
			return err
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("influx: %s: %w: %w", what, &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return nil
}

func floatOf(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	}
	return 0, false
}
