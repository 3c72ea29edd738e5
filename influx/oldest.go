package influx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// Oldest returns, per device, the time of its oldest stored reading of
// kind: the start of the open-data catalogue's temporal extent. It returns
// EINVALID for a bad kind and EUNAVAILABLE when InfluxDB cannot answer.
func (c *Client) Oldest(ctx context.Context, kind string) (map[string]time.Time, error) {
	if kind == "" || kessel.ValidateKind(kind) != nil {
		return nil, kessel.Errorf(kessel.EINVALID, "oldest: bad kind %q", kind)
	}
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	f.WriteString("  |> range(start: 1970-01-01T00:00:00Z)\n")
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement == %s)\n", strconv.Quote(kind))
	f.WriteString(readingsFilter)
	f.WriteString("  |> first()\n  |> keep(columns: [\"device\", \"_time\"])\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: oldest: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	out := map[string]time.Time{}
	for res.Next() {
		dev, _ := res.Record().ValueByKey("device").(string)
		t := res.Record().Time()
		if old, ok := out[dev]; dev != "" && (!ok || t.Before(old)) {
			out[dev] = t
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: oldest: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return out, nil
}
