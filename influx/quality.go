package influx

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// FlagCounts counts a device's quality flags per field, flag and window of
// length every ending at to, over [from, to): the raw material of the
// per-device quality shares. EINVALID for a bad device id or window;
// EUNAVAILABLE when the query fails.
func (c *Client) FlagCounts(ctx context.Context, device string, from, to time.Time, every time.Duration) ([]kessel.FlagCount, error) {
	if !kessel.ValidDeviceID(device) || !from.Before(to) || every <= 0 {
		return nil, kessel.Errorf(kessel.EINVALID, "flag counts: bad device, range or window")
	}
	offset := time.Duration(to.UnixNano() % int64(every)) // windows end at to
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r.device == %s and r._field =~ /^qc[.]/)\n", strconv.Quote(device))
	f.WriteString("  |> map(fn: (r) => ({r with flag: string(v: r._value)}))\n")
	f.WriteString("  |> group(columns: [\"_field\", \"flag\"])\n")
	fmt.Fprintf(&f, "  |> window(every: %dns, offset: %dns)\n  |> count()\n", every.Nanoseconds(), offset.Nanoseconds())
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: flag counts: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	var out []kessel.FlagCount
	for res.Next() {
		rec := res.Record()
		vals := rec.Values()
		field, _ := vals["_field"].(string)
		flag, _ := strconv.Atoi(fmt.Sprint(vals["flag"]))
		n, _ := vals["_value"].(int64)
		out = append(out, kessel.FlagCount{Field: strings.TrimPrefix(field, kessel.FlagPrefix), Flag: kessel.Flag(flag), Start: rec.Start(), Count: int(n)})
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: flag counts: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return c.impliedPasses(ctx, device, from, to, every, out)
}

// impliedPasses adds to counts the passing flags stored sparsely: each
// value in a point with the marker (qcMarker) and without a flag of its
// own passed (see appendValues), counted in the window of length every
// ending at to, clipped to from, that holds it.
func (c *Client) impliedPasses(ctx context.Context, device string, from, to time.Time, every time.Duration, counts []kessel.FlagCount) ([]kessel.FlagCount, error) {
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r.device == %s)\n", strconv.Quote(device))
	f.WriteString(fieldsFilter(`^([a-z0-9][a-z0-9_]{0,63}|qc\.[a-z0-9][a-z0-9_]{0,63}|` + qcMarkerNS + `\.rest)$`))
	f.WriteString("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n")
	fmt.Fprintf(&f, "  |> filter(fn: (r) => exists r[%s])\n", strconv.Quote(qcMarker))
	type window struct {
		field string
		start int64
	}
	passes := map[window]int{}
	err := c.eachRecord(ctx, f.String(), "flag counts", func(vals map[string]any, t time.Time) error {
		if !t.Before(to) {
			return nil // InfluxDB 1.8's range() keeps a point at the stop
		}
		start := to.Add(-(to.Sub(t)-1)/every*every - every)
		if start.Before(from) {
			start = from
		}
		for k, v := range vals {
			if v == nil || reservedColumns[k] || !kessel.Measured(k) || k == "lat" || k == "lon" || k == "empty" {
				continue
			}
			if vals[kessel.FlagPrefix+k] == nil {
				passes[window{k, start.UnixNano()}]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, fc := range counts { // the flags 1 stored as they were
		w := window{fc.Field, fc.Start.UnixNano()}
		if n, ok := passes[w]; ok && fc.Flag == kessel.FlagPass {
			counts[i].Count += n
			delete(passes, w)
		}
	}
	added := len(counts)
	for w, n := range passes {
		counts = append(counts, kessel.FlagCount{Field: w.field, Flag: kessel.FlagPass, Start: time.Unix(0, w.start).UTC(), Count: n})
	}
	slices.SortFunc(counts[added:], func(a, b kessel.FlagCount) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.Field, b.Field))
	})
	return counts, nil
}
