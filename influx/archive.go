package influx

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// FieldKeys lists the fields stored for kind in [from, to), sorted. It
// returns EINVALID for a bad kind and EUNAVAILABLE when InfluxDB cannot
// answer.
func (c *Client) FieldKeys(ctx context.Context, kind string, from, to time.Time) ([]string, error) {
	if kind == "" || kessel.ValidateKind(kind) != nil {
		return nil, kessel.Errorf(kessel.EINVALID, "field keys: bad kind %q", kind)
	}
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement == %s)\n", strconv.Quote(kind))
	f.WriteString("  |> keep(columns: [\"_field\"])\n  |> group()\n  |> distinct(column: \"_field\")\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: field keys: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	var keys []string
	for res.Next() {
		if s, ok := res.Record().Value().(string); ok {
			keys = append(keys, s)
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: field keys: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	if !slices.Contains(keys, qcMarker) {
		slices.Sort(keys)
		return keys, nil
	}
	return c.sparseFieldKeys(ctx, kind, from, to, keys)
}

// sparseFieldKeys is FieldKeys where some points hold sparse flags (the
// marker qcMarker among keys): it lists "qc.<field>" for each field
// stored in a point with the marker too, as if its passing flags were
// stored (see appendValues), and leaves the marker out.
func (c *Client) sparseFieldKeys(ctx context.Context, kind string, from, to time.Time, keys []string) ([]string, error) {
	have := map[string]bool{}
	for _, k := range keys {
		have[k] = true
	}
	var cands, conds, parts []string
	for _, k := range keys {
		if kessel.Measured(k) && kessel.ValidFieldName(k) && !kessel.ReservedField(k) && !have[kessel.FlagPrefix+k] {
			cands = append(cands, k)
			conds = append(conds, "r._field == "+strconv.Quote(k))
			parts = append(parts, fmt.Sprintf("(if exists r[%q] then %q else \"\")", k, k+","))
		}
	}
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == qcMarker })
	if len(cands) > 0 { // which of them share a point with the marker
		var f strings.Builder
		fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
		fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
		fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement == %s and (r._field == %s or %s))\n", strconv.Quote(kind), strconv.Quote(qcMarker), strings.Join(conds, " or "))
		f.WriteString("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n")
		fmt.Fprintf(&f, "  |> filter(fn: (r) => exists r[%s])\n", strconv.Quote(qcMarker))
		fmt.Fprintf(&f, "  |> map(fn: (r) => ({r with _value: %s}))\n", strings.Join(parts, " + "))
		f.WriteString("  |> keep(columns: [\"_value\"])\n  |> group()\n  |> distinct(column: \"_value\")\n")
		shared := map[string]bool{}
		err := c.eachRecord(ctx, f.String(), "field keys", func(vals map[string]any, _ time.Time) error {
			s, _ := vals["_value"].(string)
			for _, k := range strings.Split(s, ",") {
				shared[k] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, k := range cands {
			if shared[k] {
				keys = append(keys, kessel.FlagPrefix+k)
			}
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// OldestReading returns the time of the oldest stored reading of any kind;
// found is false when there is none. It returns EUNAVAILABLE when
// InfluxDB cannot answer.
func (c *Client) OldestReading(ctx context.Context) (t time.Time, found bool, err error) {
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n  |> range(start: 1970-01-01T00:00:00Z)\n", strconv.Quote(c.opts.Bucket))
	f.WriteString(readingsFilter)
	f.WriteString("  |> first()\n  |> keep(columns: [\"_time\"])\n  |> group()\n  |> min(column: \"_time\")\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return t, false, fmt.Errorf("influx: oldest reading: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	for res.Next() {
		if rt := res.Record().Time(); !found || rt.Before(t) {
			t, found = rt, true
		}
	}
	if err := res.Err(); err != nil {
		return t, false, fmt.Errorf("influx: oldest reading: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return t, found, nil
}
