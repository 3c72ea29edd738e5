package influx

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// Latest returns the most recent reading of every device written in
// [from, to), one per device. It is used to fill the live state on start.
// Points that are not readings are skipped (see readingsFilter). Should
// the query over all devices fail all the same while the server answers,
// each kind is asked on its own, and a kind that fails device by device:
// a device whose data cannot be read is left out (and logged), never the
// others.
func (c *Client) Latest(ctx context.Context, from, to time.Time) ([]kessel.Reading, error) {
	rows, err := c.latestRows(ctx, from, to, "")
	if err != nil {
		c.opts.Logger.Warn("latest readings: the query over all devices failed; asking kind by kind", "err", err)
		rows, err = c.latestByKind(ctx, from, to, err)
	}
	if err != nil {
		return nil, err
	}
	return newestPerDevice(rows), nil
}

// latestFlux selects the last value of every field in [from, to); where
// narrows it (a Flux predicate over r) when not empty.
func (c *Client) latestFlux(from, to time.Time, where string) string {
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	if where != "" {
		fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", where)
	}
	f.WriteString(readingsFilter)
	f.WriteString("  |> last()\n")
	f.WriteString("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n")
	return f.String()
}

// latestByKind is Latest one measurement at a time, and one device at a
// time within a measurement whose query fails. first is the error of the
// query over all devices, returned when the server cannot even list the
// measurements.
func (c *Client) latestByKind(ctx context.Context, from, to time.Time, first error) ([]kessel.Reading, error) {
	kinds, err := c.tagValues(ctx, "v1.measurements(bucket: %s)", strconv.Quote(c.opts.Bucket))
	if err != nil {
		return nil, first
	}
	var rows []kessel.Reading
	var skipped []string
	for _, kind := range kinds {
		if kessel.ReservedKind(kind) {
			continue
		}
		rs, err := c.latestRows(ctx, from, to, "r._measurement == "+strconv.Quote(kind))
		if err == nil {
			rows = append(rows, rs...)
			continue
		}
		devices, err := c.tagValues(ctx, "v1.measurementTagValues(bucket: %s, measurement: %s, tag: \"device\")", strconv.Quote(c.opts.Bucket), strconv.Quote(kind))
		if err != nil {
			skipped = append(skipped, kind)
			continue
		}
		for _, d := range devices {
			rs, err := c.latestRows(ctx, from, to, "r._measurement == "+strconv.Quote(kind)+" and r.device == "+strconv.Quote(d))
			if err != nil {
				skipped = append(skipped, kind+"/"+d)
				continue
			}
			rows = append(rows, rs...)
		}
	}
	if ctx.Err() != nil {
		return nil, first
	}
	if len(skipped) > 0 {
		c.opts.Logger.Error("latest readings: data that cannot be read was left out", "kinds_or_devices", skipped)
	}
	return rows, nil
}

// tagValues runs a call of the influxdata/influxdb/v1 package that answers
// a list of strings.
func (c *Client) tagValues(ctx context.Context, call string, args ...any) ([]string, error) {
	res, err := c.query.Query(ctx, "import \"influxdata/influxdb/v1\"\n"+fmt.Sprintf(call, args...))
	if err != nil {
		return nil, err
	}
	defer res.Close()
	var out []string
	for res.Next() {
		if s, ok := res.Record().Value().(string); ok {
			out = append(out, s)
		}
	}
	return out, res.Err()
}

// newestPerDevice keeps the newest row per device, merging in fields whose
// last value is older; rows without a device are dropped.
func newestPerDevice(rows []kessel.Reading) []kessel.Reading {
	byDevice := map[string]*kessel.Reading{}
	for i := range rows {
		r := &rows[i]
		if r.Device == "" {
			continue
		}
		cur, ok := byDevice[r.Device]
		if !ok {
			byDevice[r.Device] = r
			continue
		}
		newer, older := r, cur
		if cur.Time.After(r.Time) {
			newer, older = cur, r
		}
		for k, v := range older.Values {
			if _, ok := newer.Values[k]; !ok {
				newer.Values[k] = v
			}
		}
		for k, v := range older.Link {
			if _, ok := newer.Link[k]; !ok {
				if newer.Link == nil {
					newer.Link = map[string]float64{}
				}
				newer.Link[k] = v
			}
		}
		byDevice[r.Device] = newer
	}
	out := make([]kessel.Reading, 0, len(byDevice))
	for _, r := range byDevice {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Device < out[j].Device })
	return out
}
