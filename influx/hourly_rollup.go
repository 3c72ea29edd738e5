package influx

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// finalHours returns [lo, hi), the hours of [from, to) that the hourly
// rollups hold for good: rolled up after their grace period (before the
// watermark's Final) and not before rolling up began (Since). lo == hi
// == to when there are none.
func (c *Client) finalHours(ctx context.Context, from, to time.Time) (lo, hi time.Time, err error) {
	mark, err := c.cachedMark(ctx)
	if err != nil || mark.Final.IsZero() {
		return to, to, err
	}
	lo, hi = maxTime(from, ceil(mark.Since.UTC(), time.Hour)), minTime(to, mark.Final.Truncate(time.Hour))
	if !lo.Before(hi) {
		return to, to, nil
	}
	return lo, hi, nil
}

// hourlyRollups is HourlyMeans from the hourly rollups of the devices
// where selects, in [from, to): each rollup's mean is already of the
// values quality control passed. A device whose tags changed within an
// hour has two rollups of it, merged here weighted by their counts.
func (c *Client) hourlyRollups(ctx context.Context, where string, fields []string, from, to time.Time) ([]kessel.Reading, error) {
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.HourBucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), rangeStop(to))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement !~ /^(%s|_)/ and r._field =~ /^(%s)_(count|mean)$/)\n", kessel.ReservedPrefix, strings.Join(fields, "|"))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", where)
	f.WriteString(bySeries)
	accs := map[hour]map[string]*rollupAcc{}
	err := c.eachRollup(ctx, f.String(), func(r kessel.Rollup) error {
		if r.Count == 0 {
			return nil
		}
		accOf(accs, hour{r.Device, r.Time.UnixNano()}, r.Field).add(r.Sum(), r.Min, r.Max, r.Count)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("influx: hourly means: %w", err)
	}
	return hourReadings(accs), nil
}

// hour is one device's clock hour (its start in Unix nanoseconds).
type hour struct {
	device string
	t      int64
}

// accOf returns the accumulator of field in hour h, made when new.
func accOf(accs map[hour]map[string]*rollupAcc, h hour, field string) *rollupAcc {
	if accs[h] == nil {
		accs[h] = map[string]*rollupAcc{}
	}
	a := accs[h][field]
	if a == nil {
		a = &rollupAcc{}
		accs[h][field] = a
	}
	return a
}

// hourReadings turns accumulated hours into HourlyMeans' Readings (the
// means of the fields with values), ordered by device, then time.
func hourReadings(accs map[hour]map[string]*rollupAcc) []kessel.Reading {
	out := make([]kessel.Reading, 0, len(accs))
	for h, fs := range accs {
		r := kessel.Reading{Device: h.device, Time: time.Unix(0, h.t).UTC(), Values: make(map[string]float64, len(fs))}
		for name, a := range fs {
			if a.n > 0 {
				r.Values[name] = a.value("mean")
			}
		}
		if len(r.Values) > 0 {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b kessel.Reading) int {
		if c := strings.Compare(a.Device, b.Device); c != 0 {
			return c
		}
		return a.Time.Compare(b.Time)
	})
	return out
}

// hourlyPassing is HourlyMeans from the raw readings of the devices where
// selects, computed here: the values are streamed past the few that
// quality control did not pass (failedValues), which costs InfluxDB far
// less than pairing every value with its flag in Flux (pivot).
func (c *Client) hourlyPassing(ctx context.Context, where string, fields []string, from, to time.Time) ([]kessel.Reading, error) {
	failed, err := c.failedValues(ctx, where, from, to)
	if err != nil {
		return nil, fmt.Errorf("influx: hourly means: %w", err)
	}
	fs := make([]string, len(fields))
	for i, f := range fields {
		fs[i] = "r._field == " + strconv.Quote(f)
	}
	var f strings.Builder
	f.WriteString(c.devicesFrom(where, from, to))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", strings.Join(fs, " or "))
	f.WriteString("  |> keep(columns: [\"_time\", \"_value\", \"_field\", \"_measurement\", \"device\", \"district\", \"department\"])\n")
	accs := map[hour]map[string]*rollupAcc{}
	err = c.eachRecord(ctx, f.String(), "hourly means", func(rec map[string]any, t time.Time) error {
		if !t.Before(to) {
			return nil // InfluxDB 1.8's range() keeps a point at the stop
		}
		x, ok := floatOf(rec["_value"])
		field, _ := rec["_field"].(string)
		k := keyOf(rec, t)
		if _, bad := failed[valueKey{k, field}]; ok && !bad {
			accOf(accs, hour{k.device, t.Truncate(time.Hour).UnixNano()}, field).add(x, x, x, 1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return hourReadings(accs), nil
}
