package influx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// recordsFrom is the Flux source of Kessel's own records: rng (a range
// call) and filter applied to RecordBucket and, for records an earlier
// Kessel kept beside the readings, to Bucket as well. union() keeps the
// two buckets' tables apart, so the series are grouped again by the
// columns by (with _measurement and _field), for last() and the like.
func (c *Client) recordsFrom(rng, filter string, by ...string) string {
	if c.opts.RecordBucket == c.opts.Bucket {
		return fmt.Sprintf("from(bucket: %s)\n  |> %s\n  |> %s\n", strconv.Quote(c.opts.Bucket), rng, filter)
	}
	cols := []string{`"_measurement"`, `"_field"`}
	for _, b := range by {
		cols = append(cols, strconv.Quote(b))
	}
	return fmt.Sprintf("union(tables: [\n  from(bucket: %s) |> %s |> %s,\n  from(bucket: %s) |> %s |> %s,\n])\n  |> group(columns: [%s])\n  |> sort(columns: [\"_time\"])\n",
		strconv.Quote(c.opts.RecordBucket), rng, filter, strconv.Quote(c.opts.Bucket), rng, filter, strings.Join(cols, ", "))
}

// writeRecords stores Kessel's own records in RecordBucket, which keeps
// them forever whatever the raw readings' retention.
func (c *Client) writeRecords(ctx context.Context, lines string) error {
	return c.writeWith(ctx, c.writers[c.opts.RecordBucket], lines)
}
