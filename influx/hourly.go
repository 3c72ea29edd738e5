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
// the fields measured in it. Only values quality control passed count
// (flag 1, 2 or none, as in the rollups and district means): an hour whose
// values all failed has no mean. It reads the raw readings; an hourly
// rollup can serve the same answer later. from and to are rounded down to
// the hour. EINVALID for bad ids, fields or span; EUNAVAILABLE when
// InfluxDB cannot answer.
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
	where := strings.Join(devs, " or ")
	flagged, err := c.anyFlagged(ctx, where, from, to, fields...)
	if err != nil {
		return nil, fmt.Errorf("influx: hourly means: %w", err)
	}
	var f strings.Builder
	if flagged {
		f.WriteString(c.passingFlux(where, fields, from, to))
	} else {
		f.WriteString(c.devicesFrom(where, from, to))
		fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", strings.Join(fs, " or "))
	}
	// One series per device and field, whatever tags changed meanwhile.
	f.WriteString("  |> group(columns: [\"device\", \"_field\"])\n")
	f.WriteString("  |> aggregateWindow(every: 1h, fn: mean, createEmpty: false, timeSrc: \"_start\")\n")
	f.WriteString("  |> keep(columns: [\"_time\", \"_value\", \"_field\", \"device\"])\n")
	return c.hourlyRows(ctx, f.String())
}

// devicesFrom is Flux reading the readings of the devices where selects in
// [from, to).
func (c *Client) devicesFrom(where string, from, to time.Time) string {
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", where)
	f.WriteString(readingsFilter)
	return f.String()
}

// passingFlux is Flux reading the values of fields that quality control
// passed, of the devices where selects in [from, to): per field, the
// values are paired with their flags (passingOnly), and the fields'
// streams are joined again by union().
func (c *Client) passingFlux(where string, fields []string, from, to time.Time) string {
	parts := make([]string, len(fields))
	for i, field := range fields {
		var f strings.Builder
		f.WriteString(c.devicesFrom(where, from, to))
		fmt.Fprintf(&f, "  |> filter(fn: (r) => r._field == %s or r._field == %s)\n", strconv.Quote(field), strconv.Quote(kessel.FlagPrefix+field))
		f.WriteString(passingOnly(field))
		parts[i] = f.String()
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "union(tables: [\n" + strings.Join(parts, ",\n") + "])\n"
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
