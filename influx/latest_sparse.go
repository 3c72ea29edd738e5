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

// lastValue is a stored field's last value in a series and its time.
type lastValue struct {
	t int64
	v any
}

// series are the last values of one series' fields, with its tags.
type series struct {
	tags  map[string]any // the columns that are not fields (reservedColumns)
	lasts map[string]lastValue
}

// latestRows reads Latest's rows: the last value of each field per series,
// one row per series and time, as they would be with every flag stored.
// With sparse flags (see appendValues) the last flag of a value is the
// newer of its last stored flag and its last implied one: 1 at the last
// point that holds the value and the marker (qcMarker). That point is the
// value's last one where the marker's last point is that too (a device
// sending whole readings); else impliedAt asks for it.
func (c *Client) latestRows(ctx context.Context, from, to time.Time, where string) ([]kessel.Reading, error) {
	all := map[string]*series{}
	err := c.eachRecord(ctx, c.latestFlux(from, to, where), "latest", func(vals map[string]any, t time.Time) error {
		r, _, _ := decodeRow(vals, t)
		key := seriesOf(&r)
		s := all[key]
		if s == nil {
			s = &series{tags: map[string]any{}, lasts: map[string]lastValue{}}
			all[key] = s
		}
		for k, v := range vals {
			switch {
			case reservedColumns[k]:
				s.tags[k] = v
			case v != nil && t.UnixNano() >= s.lasts[k].t:
				s.lasts[k] = lastValue{t.UnixNano(), v}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []kessel.Reading
	for _, key := range slices.Sorted(maps.Keys(all)) {
		s := all[key]
		if err := c.impliedFlags(ctx, from, s); err != nil {
			return nil, err
		}
		out = append(out, s.rows()...)
	}
	return out, nil
}

// impliedFlags sets the last flag of each of s's values to 1 where its
// last implied flag is newer than its last stored one, and drops the
// marker.
func (c *Client) impliedFlags(ctx context.Context, from time.Time, s *series) error {
	m, ok := s.lasts[qcMarker]
	if !ok {
		return nil
	}
	delete(s.lasts, qcMarker)
	for _, f := range slices.Sorted(maps.Keys(s.lasts)) {
		if !kessel.Measured(f) || f == "lat" || f == "lon" || f == "empty" {
			continue
		}
		flag, flagged := s.lasts[kessel.FlagPrefix+f]
		hi := min(s.lasts[f].t, m.t) // the newest point that may hold f and the marker
		if flagged && flag.t >= hi {
			continue
		}
		t := hi
		if s.lasts[f].t != m.t {
			lo := from.UnixNano()
			if flagged {
				lo = flag.t + 1
			}
			var err error
			if t, err = c.impliedAt(ctx, s, f, lo, hi); err != nil {
				return err
			}
		}
		if t > 0 {
			s.lasts[kessel.FlagPrefix+f] = lastValue{t, int64(kessel.FlagPass)}
		}
	}
	return nil
}

// impliedAt returns the time of the newest point of s in [lo, hi] that
// holds field f and the marker, 0 for none: first in the hour up to hi,
// then in the rest.
func (c *Client) impliedAt(ctx context.Context, s *series, f string, lo, hi int64) (int64, error) {
	conds := []string{"r._measurement == " + strconv.Quote(fmt.Sprint(s.tags["_measurement"]))}
	for _, k := range kessel.TagKeys {
		if v, ok := s.tags[k].(string); ok && v != "" {
			conds = append(conds, "r."+k+" == "+strconv.Quote(v))
		} else {
			conds = append(conds, "not exists r."+k)
		}
	}
	for _, w := range [][2]int64{{max(lo, hi-int64(time.Hour)), hi + 1}, {lo, max(lo, hi-int64(time.Hour))}} {
		if w[0] >= w[1] {
			continue
		}
		var q strings.Builder
		fmt.Fprintf(&q, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
		fmt.Fprintf(&q, "  |> range(start: %s, stop: %s)\n", time.Unix(0, w[0]).UTC().Format(time.RFC3339Nano), time.Unix(0, w[1]).UTC().Format(time.RFC3339Nano))
		fmt.Fprintf(&q, "  |> filter(fn: (r) => %s and (r._field == %s or r._field == %s))\n", strings.Join(conds, " and "), strconv.Quote(f), strconv.Quote(qcMarker))
		q.WriteString("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n")
		fmt.Fprintf(&q, "  |> filter(fn: (r) => exists r[%s] and exists r[%s])\n", strconv.Quote(f), strconv.Quote(qcMarker))
		q.WriteString("  |> keep(columns: [\"_time\"])\n  |> group()\n  |> sort(columns: [\"_time\"], desc: true)\n  |> limit(n: 1)\n")
		var found int64
		err := c.eachRecord(ctx, q.String(), "latest flags", func(_ map[string]any, t time.Time) error {
			if n := t.UnixNano(); n < w[1] {
				found = n
			}
			return nil
		})
		if err != nil || found > 0 {
			return found, err
		}
	}
	return 0, nil
}

// rows are s's last values as pivoted rows, one per time, oldest first.
func (s *series) rows() []kessel.Reading {
	byTime := map[int64]map[string]any{}
	for k, l := range s.lasts {
		row := byTime[l.t]
		if row == nil {
			row = maps.Clone(s.tags)
			byTime[l.t] = row
		}
		row[k] = l.v
	}
	var out []kessel.Reading
	for _, t := range slices.Sorted(maps.Keys(byTime)) {
		if r, _, ok := decodeRow(byTime[t], time.Unix(0, t).UTC()); ok {
			out = append(out, r)
		}
	}
	return out
}

// seriesOf names a reading's series as InfluxDB orders them: its kind,
// then its tags in key order.
func seriesOf(r *kessel.Reading) string {
	return strings.Join([]string{r.Kind, r.Correction, r.Department, r.Device, r.District, r.Source}, "\x00")
}
