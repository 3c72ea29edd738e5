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

// seriesOf names a reading's series: its kind and tags.
func seriesOf(r *kessel.Reading) string {
	return strings.Join([]string{r.Kind, r.Device, r.District, r.Department, r.Source, r.Correction}, "\x00")
}

// latestRows reads Latest's rows (the last value of each field, one row
// per series and time) and puts back the passing flags of sparse flags.
// A row holds the marker (qcMarker) only when its time is the marker's
// last one; a row without it whose series has the marker elsewhere and
// which holds values without a flag cannot tell whether its point had the
// marker. The rows of such a row's device are then replayed from every
// point (replayLatest), as they would have been with every flag stored.
func (c *Client) latestRows(ctx context.Context, from, to time.Time, where string) ([]kessel.Reading, error) {
	type row struct {
		r      kessel.Reading
		marked bool
	}
	var rows []row
	markedSeries := map[string]bool{}
	err := c.eachRow(ctx, c.latestFlux(from, to, where), "latest", func(r kessel.Reading, marked, alone bool) error {
		if marked {
			markedSeries[seriesOf(&r)] = true
		}
		if !alone {
			rows = append(rows, row{r, marked})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	replay := map[string]bool{}
	out := make([]kessel.Reading, 0, len(rows))
	for _, x := range rows {
		if x.marked {
			expandFlags(x.r.Values)
		} else if markedSeries[seriesOf(&x.r)] && unflagged(x.r.Values) {
			replay[x.r.Device] = true
		}
		out = append(out, x.r)
	}
	for _, d := range slices.Sorted(maps.Keys(replay)) {
		rs, err := c.replayLatest(ctx, from, to, where, d)
		if err != nil {
			return nil, err
		}
		out = slices.DeleteFunc(out, func(r kessel.Reading) bool { return r.Device == d })
		out = append(out, rs...)
	}
	return out, nil
}

// unflagged reports whether values hold a measured value without a flag.
func unflagged(values map[string]float64) bool {
	for k := range values {
		if _, ok := values[kessel.FlagPrefix+k]; kessel.Measured(k) && !ok {
			return true
		}
	}
	return false
}

// replayLatest is Latest's rows of one device computed from each of its
// points in [from, to), their passing flags put back: the last value of
// each field (flags included) per series, one row per series and time.
func (c *Client) replayLatest(ctx context.Context, from, to time.Time, where, device string) ([]kessel.Reading, error) {
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r.device == %s)\n", strconv.Quote(device))
	if where != "" {
		fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", where)
	}
	f.WriteString(readingsFilter)
	f.WriteString("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n")
	type last struct {
		t int64
		v any
	}
	tags := map[string]map[string]any{}   // series -> its tag columns
	lasts := map[string]map[string]last{} // series -> column -> last value
	err := c.eachRecord(ctx, f.String(), "latest", func(vals map[string]any, t time.Time) error {
		r, marked, _ := decodeRow(vals, t)
		s := seriesOf(&r)
		if tags[s] == nil {
			tags[s], lasts[s] = map[string]any{}, map[string]last{}
			for k, v := range vals {
				if reservedColumns[k] {
					tags[s][k] = v
				}
			}
		}
		if marked {
			for k := range r.Values {
				if kessel.Measured(k) && vals[kessel.FlagPrefix+k] == nil {
					vals[kessel.FlagPrefix+k] = int64(kessel.FlagPass)
				}
			}
		}
		for k, v := range vals {
			if v != nil && !reservedColumns[k] && k != qcMarker && t.UnixNano() >= lasts[s][k].t {
				lasts[s][k] = last{t.UnixNano(), v}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []kessel.Reading
	for _, s := range slices.Sorted(maps.Keys(lasts)) {
		byTime := map[int64]map[string]any{}
		for k, l := range lasts[s] {
			if byTime[l.t] == nil {
				byTime[l.t] = map[string]any{}
				for tk, tv := range tags[s] {
					byTime[l.t][tk] = tv
				}
			}
			byTime[l.t][k] = l.v
		}
		for _, t := range slices.Sorted(maps.Keys(byTime)) {
			if r, _, ok := decodeRow(byTime[t], time.Unix(0, t).UTC()); ok {
				out = append(out, r)
			}
		}
	}
	return out, nil
}
