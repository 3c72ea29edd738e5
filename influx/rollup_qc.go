package influx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// valueKey is one stored value: its series, its time (rollupKey.start,
// in nanoseconds) and its field.
type valueKey struct {
	rollupKey
	field string
}

// failedValues returns the values in [from, to) that quality control did
// not pass: those whose flag "qc.<field>" is above 2 (suspect, fail,
// missing; see kessel.Flag.Passing). Flags are rare above 2, so the set
// is small and the values themselves can be streamed past it; pairing
// every value with its flag in Flux (pivot) would cost far more.
//
// where, a Flux predicate over r, narrows the points read ("" for all).
func (c *Client) failedValues(ctx context.Context, where string, from, to time.Time) (map[valueKey]struct{}, error) {
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), rangeStop(to))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement !~ /^(%s|_)/ and exists r.device and r._field =~ /^qc\\.[a-z0-9][a-z0-9_]{0,63}$/)\n", kessel.ReservedPrefix)
	if where != "" {
		fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", where)
	}
	f.WriteString("  |> filter(fn: (r) => r._value > 2)\n")
	f.WriteString("  |> keep(columns: [\"_time\", \"_value\", \"_field\", \"_measurement\", \"device\", \"district\", \"department\"])\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("flags: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	out := map[valueKey]struct{}{}
	for res.Next() {
		rec := res.Record()
		out[valueKey{keyOf(rec.Values(), rec.Time()), strings.TrimPrefix(rec.Field(), kessel.FlagPrefix)}] = struct{}{}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("flags: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return out, nil
}
