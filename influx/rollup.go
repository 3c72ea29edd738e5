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

// RollupStats are the columns a rollup keeps per field, stored as fields
// named <field>_<stat> (a field name holds no other way to end in one
// of these, so the split at the last '_' is unambiguous). "excluded"
// counts the values quality control flagged and the others leave out.
var RollupStats = []string{"mean", "min", "max", "count", "excluded"}

// rollupKey is a rollup's series and window.
type rollupKey struct {
	kind, device, district, department string
	start                              int64
}

// rollupAcc accumulates the values of one field in one window: n values
// that passed quality control, excl values that did not.
type rollupAcc struct {
	sum, min, max float64
	n, excl       int64
}

func (a *rollupAcc) add(sum, lo, hi float64, n int64) {
	if n <= 0 {
		return
	}
	if a.n == 0 || lo < a.min {
		a.min = lo
	}
	if a.n == 0 || hi > a.max {
		a.max = hi
	}
	a.sum += sum
	a.n += n
}

// hourFlux reads every dot-free field of every reading in [from, to).
// Fields with a dot are Kessel's annotations (link.*, qc.*):
// valuesFilter leaves them out; the flags are read apart (failedValues). The statistics are computed in
// Go: Flux's window(), reduce() and aggregateWindow() on InfluxDB 1.8 take
// about 30 times as long as reading the points.
func (c *Client) hourFlux(from, to time.Time) string {
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), rangeStop(to))
	f.WriteString(valuesFilter)
	f.WriteString("  |> filter(fn: (r) => r._field != \"lat\" and r._field != \"lon\" and r._field != \"empty\")\n")
	f.WriteString("  |> keep(columns: [\"_time\", \"_value\", \"_field\", \"_measurement\", \"device\", \"district\", \"department\"])\n")
	return f.String()
}

// ComputeHours rolls the raw readings of the UTC hours in [from, to)
// (rounded out to whole hours) up into HourBucket: per device, field and
// hour the mean, min, max and count, stamped at the hour's start and
// tagged with kind (the measurement), device, district and department. A
// window written again overwrites the earlier one, so running it twice
// stores the same points. Values quality control did not pass (flagged
// suspect, fail or missing) are left out of the statistics and counted
// as <field>_excluded. It returns the number of windows written.
func (c *Client) ComputeHours(ctx context.Context, from, to time.Time) (int, error) {
	from, to = from.UTC().Truncate(time.Hour), ceil(to.UTC(), time.Hour)
	failed, err := c.failedValues(ctx, "", from, to)
	if err != nil {
		return 0, fmt.Errorf("influx: hourly rollup: %w", err)
	}
	res, err := c.query.Query(ctx, c.hourFlux(from, to))
	if err != nil {
		return 0, fmt.Errorf("influx: hourly rollup: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	windows := map[rollupKey]map[string]*rollupAcc{}
	for res.Next() {
		rec := res.Record()
		var x float64
		switch v := rec.Value().(type) {
		case float64:
			x = v
		case int64:
			x = float64(v)
		default:
			continue // a point of another type written past Kessel
		}
		v := rec.Values()
		k := keyOf(v, rec.Time())
		_, bad := failed[valueKey{k, rec.Field()}]
		k.start = rec.Time().Truncate(time.Hour).UnixNano()
		fields := windows[k]
		if fields == nil {
			fields = map[string]*rollupAcc{}
			windows[k] = fields
		}
		a := fields[rec.Field()]
		if a == nil {
			a = &rollupAcc{}
			fields[rec.Field()] = a
		}
		if bad {
			a.excl++
			continue
		}
		a.add(x, x, x, 1)
	}
	if err := res.Err(); err != nil {
		return 0, fmt.Errorf("influx: hourly rollup: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return len(windows), c.writeRollups(ctx, c.opts.HourBucket, windows)
}

func keyOf(v map[string]any, start time.Time) rollupKey {
	k := rollupKey{start: start.UnixNano()}
	k.kind, _ = v["_measurement"].(string)
	k.device, _ = v["device"].(string)
	k.district, _ = v["district"].(string)
	k.department, _ = v["department"].(string)
	return k
}

// ComputeDays rolls the hourly rollups of the UTC days in [from, to)
// (rounded out to whole days) up into DayBucket, overwriting what was
// there. The mean is weighted by each hour's count, so it is the mean of
// the raw values that passed quality control; the excluded counts add up.
// It returns the number of windows written.
func (c *Client) ComputeDays(ctx context.Context, from, to time.Time) (int, error) {
	from, to = from.UTC().Truncate(24*time.Hour), ceil(to.UTC(), 24*time.Hour)
	windows := map[rollupKey]map[string]*rollupAcc{}
	err := c.Rollups(ctx, kessel.RollupQuery{Resolution: kessel.ResolutionHour, From: from, To: to}, func(r kessel.Rollup) error {
		k := rollupKey{kind: r.Kind, device: r.Device, district: r.District, department: r.Department, start: r.Time.Truncate(24 * time.Hour).UnixNano()}
		if windows[k] == nil {
			windows[k] = map[string]*rollupAcc{}
		}
		a := windows[k][r.Field]
		if a == nil {
			a = &rollupAcc{}
			windows[k][r.Field] = a
		}
		a.add(r.Sum(), r.Min, r.Max, r.Count)
		a.excl += r.Excluded
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("influx: daily rollup: %w", err)
	}
	return len(windows), c.writeRollups(ctx, c.opts.DayBucket, windows)
}

// writeRollups writes windows to bucket in batches of whole lines.
func (c *Client) writeRollups(ctx context.Context, bucket string, windows map[rollupKey]map[string]*rollupAcc) error {
	keys := make([]rollupKey, 0, len(windows))
	for k := range windows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].start < keys[j].start })
	var b []byte
	for i, k := range keys {
		b = appendRollup(b, k, windows[k])
		if len(b) > 1<<20 || i == len(keys)-1 {
			if err := c.writeWith(ctx, c.writers[bucket], string(b)); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	return nil
}

func appendRollup(b []byte, k rollupKey, fields map[string]*rollupAcc) []byte {
	b = appendEscaped(b, k.kind)
	b = appendTag(b, "department", k.department)
	b = appendTag(b, "device", k.device)
	b = appendTag(b, "district", k.district)
	b = append(b, ' ')
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for i, f := range names {
		a := fields[f]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEscaped(b, f)
		b = append(b, "_count="...)
		b = strconv.AppendInt(b, a.n, 10) // a float, as the other stats: a Flux table holds one type
		b = append(b, ',')
		b = appendEscaped(b, f)
		b = append(b, "_excluded="...)
		b = strconv.AppendInt(b, a.excl, 10)
		if a.n == 0 { // every value excluded: no statistics
			continue
		}
		b = append(b, ',')
		b = appendEscaped(b, f)
		b = append(b, "_max="...)
		b = strconv.AppendFloat(b, a.max, 'g', -1, 64)
		b = append(b, ',')
		b = appendEscaped(b, f)
		b = append(b, "_mean="...)
		b = strconv.AppendFloat(b, a.sum/float64(a.n), 'g', -1, 64)
		b = append(b, ',')
		b = appendEscaped(b, f)
		b = append(b, "_min="...)
		b = strconv.AppendFloat(b, a.min, 'g', -1, 64)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, k.start, 10)
	return append(b, '\n')
}

// ceil rounds t up to a multiple of d (d divides a day).
func ceil(t time.Time, d time.Duration) time.Time {
	if f := t.Truncate(d); !f.Equal(t) {
		return f.Add(d)
	}
	return t
}

// rangeStop renders the stop of a Flux range that excludes t: InfluxDB
// 1.8 includes a point at the stop itself (2.x does not), which would put
// the first point of the next window into this one.
func rangeStop(t time.Time) string {
	return t.Add(-time.Nanosecond).UTC().Format(time.RFC3339Nano)
}
