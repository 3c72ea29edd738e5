package influx

import (
	"context"
	"fmt"
	"strconv"
)

// recordsFrom is the Flux source of Kessel's own records: rng (a range
// call) and filter applied to RecordBucket and, for records an earlier
// Kessel kept beside the readings, to Bucket as well.
func (c *Client) recordsFrom(rng, filter string) string {
	if c.opts.RecordBucket == c.opts.Bucket {
		return fmt.Sprintf("from(bucket: %s)\n  |> %s\n  |> %s\n", strconv.Quote(c.opts.Bucket), rng, filter)
	}
	return fmt.Sprintf("union(tables: [\n  from(bucket: %s) |> %s |> %s,\n  from(bucket: %s) |> %s |> %s,\n])\n",
		strconv.Quote(c.opts.RecordBucket), rng, filter, strconv.Quote(c.opts.Bucket), rng, filter)
}

// writeRecords stores Kessel's own records in RecordBucket, which keeps
// them forever whatever the raw readings' retention.
func (c *Client) writeRecords(ctx context.Context, lines string) error {
	return c.writeWith(ctx, c.writers[c.opts.RecordBucket], lines)
}
