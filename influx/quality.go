package influx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// FlagCounts counts a device's quality flags per field, flag and window of
// length every ending at to, over [from, to): the raw material of the
// per-device quality shares. EINVALID for a bad device id or window;
// EUNAVAILABLE when the query fails.
func (c *Client) FlagCounts(ctx context.Context, device string, from, to time.Time, every time.Duration) ([]kessel.FlagCount, error) {
	if !kessel.ValidDeviceID(device) || !from.Before(to) || every <= 0 {
		return nil, kessel.Errorf(kessel.EINVALID, "flag counts: bad device, range or window")
	}
	offset := time.Duration(to.UnixNano() % int64(every)) // windows end at to
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r.device == %s and r._field =~ /^qc[.]/)\n", strconv.Quote(device))
	f.WriteString("  |> map(fn: (r) => ({r with flag: string(v: r._value)}))\n")
	f.WriteString("  |> group(columns: [\"_field\", \"flag\"])\n")
	fmt.Fprintf(&f, "  |> window(every: %dns, offset: %dns)\n  |> count()\n", every.Nanoseconds(), offset.Nanoseconds())
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: flag counts: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	var out []kessel.FlagCount
	for res.Next() {
		rec := res.Record()
		vals := rec.Values()
		field, _ := vals["_field"].(string)
		flag, _ := strconv.Atoi(fmt.Sprint(vals["flag"]))
		n, _ := vals["_value"].(int64)
		out = append(out, kessel.FlagCount{Field: strings.TrimPrefix(field, kessel.FlagPrefix), Flag: kessel.Flag(flag), Start: rec.Start(), Count: int(n)})
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: flag counts: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return out, nil
}
