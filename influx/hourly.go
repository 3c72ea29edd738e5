package influx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// maxHourlyDevices bounds the devices of one HourlyMeans call: the device
// filter is a list in the Flux script.
const maxHourlyDevices = 1000

// HourlyMeans returns the hourly means of the given fields of each of the
// devices over [from, to): one Reading per device and clock hour that has
// readings, with Time the start of the hour (UTC) and Values the means of
// the fields measured in it. Hours the hourly rollups hold for good (from
// the watermark's Since to its Final) are read from them, the others from
// raw readings, so the answer outlives the raw retention. from and to are
// rounded down to the hour. EINVALID for bad ids, fields or span;
// EUNAVAILABLE when InfluxDB cannot answer.
func (c *Client) HourlyMeans(ctx context.Context, devices, fields []string, from, to time.Time) ([]kessel.Reading, error) {
	from, to = from.Truncate(time.Hour), to.Truncate(time.Hour)
	switch {
	case len(devices) == 0 || len(fields) == 0:
		return nil, nil
	case len(devices) > maxHourlyDevices:
		return nil, kessel.Errorf(kessel.EINVALID, "hourly means: at most %d devices at once, not %d", maxHourlyDevices, len(devices))
	case !from.Before(to):
		return nil, kessel.Errorf(kessel.EINVALID, "hourly means: from must be at least an hour before to")
	}
	devs := make([]string, len(devices))
	for i, d := range devices {
		if !kessel.ValidDeviceID(d) {
			return nil, kessel.Errorf(kessel.EINVALID, "invalid device id %q", d)
		}
		devs[i] = "r.device == " + strconv.Quote(d)
	}
	fs := make([]string, len(fields))
	for i, f := range fields {
		if !kessel.ValidFieldName(f) {
			return nil, kessel.Errorf(kessel.EINVALID, "invalid field name %q", f)
		}
		fs[i] = "r._field == " + strconv.Quote(f)
	}
	if lo, hi, err := c.finalHours(ctx, from, to); err != nil || lo.Before(hi) {
		return c.hourlyParts(ctx, devices, fields, from, to, lo, hi, err)
	}
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", strings.Join(devs, " or "))
	f.WriteString(readingsFilter)
	fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", strings.Join(fs, " or "))
	// One series per device and field, whatever tags changed meanwhile.
	f.WriteString("  |> group(columns: [\"device\", \"_field\"])\n")
	f.WriteString("  |> aggregateWindow(every: 1h, fn: mean, createEmpty: false, timeSrc: \"_start\")\n")
	f.WriteString("  |> keep(columns: [\"_time\", \"_value\", \"_field\", \"device\"])\n")
	return c.hourlyRows(ctx, f.String())
}

// hourlyRows reads one row per device, field and hour (not pivoted: a
// pivot costs InfluxDB more than the aggregation) into one Reading per
// device and hour, in the order the rows come.
func (c *Client) hourlyRows(ctx context.Context, flux string) ([]kessel.Reading, error) {
	res, err := c.query.Query(ctx, flux)
	if err != nil {
		return nil, fmt.Errorf("influx: hourly means: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	type key struct {
		device string
		hour   int64
	}
	at := map[key]int{}
	var out []kessel.Reading
	for res.Next() {
		rec := res.Record()
		device, _ := rec.ValueByKey("device").(string)
		v, ok := rec.Value().(float64)
		if !ok {
			continue
		}
		k := key{device, rec.Time().Unix()}
		i, seen := at[k]
		if !seen {
			i = len(out)
			at[k] = i
			out = append(out, kessel.Reading{Device: device, Time: rec.Time().UTC(), Values: map[string]float64{}})
		}
		out[i].Values[rec.Field()] = v
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: hourly means: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return out, nil
}
