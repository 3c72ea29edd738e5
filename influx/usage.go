package influx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// UsageMeasurement holds API usage statistics.
const UsageMeasurement = "kessel_usage"

// maxUsageLabel is the longest endpoint or dataset LoadUsage returns.
const maxUsageLabel = 64

// SaveUsage writes usage counts, one point per instance, day, endpoint and
// dataset at the day's midnight (UTC): saving a day again overwrites it,
// so an instance saves its running totals.
func (c *Client) SaveUsage(ctx context.Context, us []kessel.UsageCount) error {
	if len(us) == 0 {
		return nil
	}
	var b []byte
	for _, u := range us {
		day, err := time.Parse(time.DateOnly, u.Day)
		if err != nil {
			return fmt.Errorf("influx: save usage: %w", kessel.Errorf(kessel.EINVALID, "day %q: %v", u.Day, err))
		}
		b = append(b, UsageMeasurement...)
		b = appendTag(b, "dataset", u.Dataset)
		b = appendTag(b, "endpoint", u.Endpoint)
		b = appendTag(b, "instance", u.Instance)
		b = append(b, " requests="...)
		b = strconv.AppendInt(b, int64(u.Requests), 10)
		b = append(b, "i "...)
		b = strconv.AppendInt(b, day.UnixNano(), 10)
		b = append(b, '\n')
	}
	return c.writeRecords(ctx, string(b))
}

// LoadUsage returns every instance's usage counts for the days since since.
func (c *Client) LoadUsage(ctx context.Context, since time.Time) ([]kessel.UsageCount, error) {
	var f strings.Builder
	f.WriteString(c.recordsFrom(fmt.Sprintf("range(start: %s, stop: 2262-01-01T00:00:00Z)", since.UTC().Truncate(24*time.Hour).Format(time.RFC3339)),
		fmt.Sprintf("filter(fn: (r) => r._measurement == %q and r._field == \"requests\")", UsageMeasurement), "dataset", "endpoint", "instance"))
	f.WriteString("  |> group()\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: load usage: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	var out []kessel.UsageCount
	seen := map[kessel.UsageCount]int{}
	for res.Next() {
		r := res.Record()
		n, _ := r.Value().(int64)
		tag := func(k string) string { s, _ := r.ValueByKey(k).(string); return s }
		if len(tag("dataset")) > maxUsageLabel || len(tag("endpoint")) > maxUsageLabel {
			continue // a raw query value an older version saved as a label
		}
		u := kessel.UsageCount{Day: r.Time().UTC().Format(time.DateOnly), Endpoint: tag("endpoint"), Dataset: tag("dataset"), Instance: tag("instance"), Requests: int(n)}
		key := u
		key.Requests = 0
		if i, dup := seen[key]; dup { // a day saved before and after the records moved: counts only grow
			out[i].Requests = max(out[i].Requests, u.Requests)
			continue
		}
		seen[key] = len(out)
		out = append(out, u)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: load usage: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return out, nil
}
