package influx

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// addFlags adds to each of rs (one value per Reading, as Observations
// reads them) the quality flag and tests stored with its value. The
// values are read without them, so that InfluxDB's limit and offset
// count values; the flags of a page are then read in one query over the
// page's span of time, devices and fields, and matched by device, time
// and field.
func (c *Client) addFlags(ctx context.Context, rs []kessel.Reading) error {
	type at struct {
		device, field string
		t             int64
	}
	from, to := rs[0].Time, rs[0].Time
	devices, fields := map[string]bool{}, map[string]bool{}
	byKey := make(map[at]*kessel.Reading, len(rs))
	for i := range rs {
		r := &rs[i]
		from, to = minTime(from, r.Time), maxTime(to, r.Time)
		devices[r.Device] = true
		for f := range r.Values {
			fields[f] = true
			byKey[at{r.Device, f, r.Time.UnixNano()}] = r
		}
	}
	devs := make([]string, 0, len(devices))
	for _, d := range slices.Sorted(maps.Keys(devices)) {
		devs = append(devs, strconv.Quote(d))
	}
	devCond := "contains(value: r.device, set: [" + strings.Join(devs, ", ") + "])"
	if len(devs) <= excludeDevicesInline {
		devCond = "r.device == " + strings.Join(devs, " or r.device == ")
	}
	names := slices.Sorted(maps.Keys(fields))
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.Add(time.Nanosecond).UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._field =~ /^(qc|qct)\\.(%s)$/ or r._field == %s)\n  |> filter(fn: (r) => %s)\n", strings.Join(names, "|"), strconv.Quote(qcMarker), devCond)
	f.WriteString("  |> keep(columns: [\"_time\", \"_value\", \"_field\", \"device\"])\n")
	type point struct {
		device string
		t      int64
	}
	marked := map[point]bool{} // points with sparse flags (qcMarker)
	err := c.eachRecord(ctx, f.String(), "observation flags", func(rec map[string]any, t time.Time) error {
		dev, _ := rec["device"].(string)
		field, _ := rec["_field"].(string)
		if field == qcMarker {
			marked[point{dev, t.UnixNano()}] = true
			return nil
		}
		v, ok := floatOf(rec["_value"])
		_, name, _ := kessel.SplitAnnotation(field)
		if r := byKey[at{dev, name, t.UnixNano()}]; ok && r != nil {
			r.Values[field] = v
		}
		return nil
	})
	for i := range rs {
		if marked[point{rs[i].Device, rs[i].Time.UnixNano()}] {
			expandFlags(rs[i].Values)
		}
	}
	return err
}
