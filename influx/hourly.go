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
// values all failed has no mean. Hours the hourly rollups hold for good
// (from the watermark's Since to its Final) are read from them, the others
// from raw readings, so the answer outlives the raw retention.
// from and to are rounded down to the hour. EINVALID for bad ids, fields
// or span; EUNAVAILABLE when InfluxDB cannot answer.
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
	for _, f := range fields {
		if !kessel.ValidFieldName(f) {
			return nil, kessel.Errorf(kessel.EINVALID, "invalid field name %q", f)
		}
	}
	where := strings.Join(devs, " or ")
	lo, hi, err := c.finalHours(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("influx: hourly means: %w", err)
	}
	var out []kessel.Reading
	for _, part := range []struct {
		from, to time.Time
		read     func(context.Context, string, []string, time.Time, time.Time) ([]kessel.Reading, error)
	}{{from, lo, c.hourlyPassing}, {lo, hi, c.hourlyRollups}, {hi, to, c.hourlyPassing}} {
		if !part.from.Before(part.to) {
			continue
		}
		rs, err := part.read(ctx, where, fields, part.from, part.to)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
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
