package influx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// finalHours returns [lo, hi), the hours of [from, to) that the hourly
// rollups hold for good: rolled up after their grace period (before the
// watermark's Final) and not before rolling up began (Since). lo == hi
// when there are none.
func (c *Client) finalHours(ctx context.Context, from, to time.Time) (lo, hi time.Time, err error) {
	mark, err := c.cachedMark(ctx)
	if err != nil || mark.Final.IsZero() {
		return from, from, err
	}
	lo, hi = maxTime(from, ceil(mark.Since.UTC(), time.Hour)), minTime(to, mark.Final.Truncate(time.Hour))
	if !lo.Before(hi) {
		return from, from, nil
	}
	return lo, hi, nil
}

// hourlyParts answers HourlyMeans from raw readings in [from, lo), the
// hourly rollups in [lo, hi) and raw readings in [hi, to); err is passed
// through.
func (c *Client) hourlyParts(ctx context.Context, devices, fields []string, from, to, lo, hi time.Time, err error) ([]kessel.Reading, error) {
	if err != nil {
		return nil, err
	}
	var out []kessel.Reading
	if from.Before(lo) {
		if out, err = c.HourlyMeans(ctx, devices, fields, from, lo); err != nil {
			return nil, err
		}
	}
	rolled, err := c.hourlyRollups(ctx, devices, fields, lo, hi)
	if err != nil {
		return nil, err
	}
	out = append(out, rolled...)
	if hi.Before(to) {
		tail, err := c.HourlyMeans(ctx, devices, fields, hi, to)
		if err != nil {
			return nil, err
		}
		out = append(out, tail...)
	}
	return out, nil
}

// hourlyRollups reads the hourly means of fields of devices in [from, to)
// (whole hours) from the hourly rollups. A device that changed district
// or department within an hour has a rollup per series for it: their
// means are merged, weighted by count, as the raw query's means are.
// Devices and fields are validated by the caller.
func (c *Client) hourlyRollups(ctx context.Context, devices, fields []string, from, to time.Time) ([]kessel.Reading, error) {
	devs := make([]string, len(devices))
	for i, d := range devices {
		devs[i] = "r.device == " + strconv.Quote(d)
	}
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.HourBucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), rangeStop(to))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", strings.Join(devs, " or "))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement !~ /^(%s|_)/ and r._field =~ /^(%s)_(count|mean)$/)\n", kessel.ReservedPrefix, strings.Join(fields, "|"))
	f.WriteString("  |> keep(columns: [\"_time\", \"_value\", \"_field\", \"_measurement\", \"device\", \"district\", \"department\"])\n")
	f.WriteString("  |> group(columns: [\"_measurement\", \"device\", \"district\", \"department\"])\n")
	type key struct {
		device string
		hour   int64
	}
	at := map[key]int{}
	var out []kessel.Reading
	sums := map[key]map[string]*rollupAcc{}
	err := c.eachRollup(ctx, f.String(), func(r kessel.Rollup) error {
		k := key{r.Device, r.Time.UnixNano()}
		if _, seen := at[k]; !seen {
			at[k] = len(out)
			out = append(out, kessel.Reading{Device: r.Device, Time: r.Time, Values: map[string]float64{}})
			sums[k] = map[string]*rollupAcc{}
		}
		a := sums[k][r.Field]
		if a == nil {
			a = &rollupAcc{}
			sums[k][r.Field] = a
		}
		a.add(r.Sum(), r.Mean, r.Mean, r.Count)
		out[at[k]].Values[r.Field] = a.sum / float64(a.n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("influx: hourly means: %w", err)
	}
	return out, nil
}
