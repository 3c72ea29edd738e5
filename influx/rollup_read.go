package influx

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kessel-city/kessel"
)

// RollupMeasurement holds the rollup watermark (see RollupMark).
const RollupMeasurement = "kessel_rollups"

// rollupBucket returns the bucket of a rollup resolution.
func (c *Client) rollupBucket(res string) (string, error) {
	switch res {
	case kessel.ResolutionHour:
		return c.opts.HourBucket, nil
	case kessel.ResolutionDay:
		return c.opts.DayBucket, nil
	}
	return "", kessel.Errorf(kessel.EINVALID, "rollup resolution %q: use %s or %s", res, kessel.ResolutionHour, kessel.ResolutionDay)
}

// Rollups calls fn for each stored rollup that q selects, series by
// series, oldest first within a series. It is the read API of the
// hourly and daily rollups (for statistics and archives as well as the
// history API). A window whose values quality control all left out comes
// with Count 0 and its Excluded count. An error from fn stops the query and is returned; it
// returns EINVALID for a bad query and EUNAVAILABLE when InfluxDB cannot
// answer.
func (c *Client) Rollups(ctx context.Context, q kessel.RollupQuery, fn func(kessel.Rollup) error) error {
	flux, err := c.rollupsFlux(q, RollupStats)
	if err != nil {
		return err
	}
	return c.eachRollup(ctx, flux+bySeries, fn)
}

// eachRollup runs a query of rollupsFlux and calls fn per field and
// window. The query answers a table per series (every stats field of a
// device together), so one series is held at a time; pivot() would do
// the same in Flux, many times slower on 1.8.
func (c *Client) eachRollup(ctx context.Context, flux string, fn func(kessel.Rollup) error) error {
	res, err := c.query.Query(ctx, flux)
	if err != nil {
		return fmt.Errorf("influx: rollups: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	type cell struct {
		t     int64
		field string
	}
	var series rollupKey
	cells := map[cell]*kessel.Rollup{}
	flush := func() error {
		rs := make([]*kessel.Rollup, 0, len(cells))
		for _, r := range cells {
			if r.Count > 0 || r.Excluded > 0 {
				rs = append(rs, r)
			}
		}
		sort.Slice(rs, func(i, j int) bool {
			return rs[i].Time.Before(rs[j].Time) || rs[i].Time.Equal(rs[j].Time) && rs[i].Field < rs[j].Field
		})
		clear(cells)
		for _, r := range rs {
			if err := fn(*r); err != nil {
				return err
			}
		}
		return nil
	}
	for res.Next() {
		rec := res.Record()
		k := keyOf(rec.Values(), time.Time{})
		if k != series {
			if err := flush(); err != nil {
				return err
			}
			series = k
		}
		i := strings.LastIndexByte(rec.Field(), '_')
		if i <= 0 {
			continue
		}
		ce := cell{rec.Time().UnixNano(), rec.Field()[:i]}
		r := cells[ce]
		if r == nil {
			r = &kessel.Rollup{Time: rec.Time().UTC(), Kind: k.kind, Device: k.device, District: k.district, Department: k.department, Field: ce.field}
			cells[ce] = r
		}
		switch x := rec.Value().(type) {
		case float64:
			switch rec.Field()[i+1:] {
			case "count":
				r.Count = int64(x)
			case "excluded":
				r.Excluded = int64(x)
			case "mean":
				r.Mean = x
			case "min":
				r.Min = x
			case "max":
				r.Max = x
			}
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("influx: rollups: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return flush()
}

// rollupsFlux selects the stats fields of q's rollups, with count, a
// table per stored series and field.
func (c *Client) rollupsFlux(q kessel.RollupQuery, stats []string) (string, error) {
	bucket, err := c.rollupBucket(q.Resolution)
	if err != nil {
		return "", err
	}
	if !q.From.Before(q.To) {
		return "", kessel.Errorf(kessel.EINVALID, "rollups: from must be before to")
	}
	conds := []string{"r._measurement !~ /^(" + kessel.ReservedPrefix + "|_)/"}
	for _, t := range []struct{ col, val string }{{"_measurement", q.Kind}, {"device", q.Device}, {"district", q.District}} {
		if t.val != "" {
			conds = append(conds, "r."+t.col+" == "+strconv.Quote(t.val))
		}
	}
	fields := "[a-z0-9][a-z0-9_]{0,63}"
	if len(q.Fields) > 0 {
		for _, name := range q.Fields {
			if !kessel.ValidFieldName(name) {
				return "", kessel.Errorf(kessel.EINVALID, "invalid field name %q", name)
			}
		}
		fields = "(" + strings.Join(q.Fields, "|") + ")"
	}
	// "count" is always read: it tells which fields a window holds.
	conds = append(conds, "r._field =~ /^"+fields+"_(count|"+strings.Join(stats, "|")+")$/")
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", q.From.UTC().Format(time.RFC3339Nano), rangeStop(q.To))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", strings.Join(conds, " and "))
	return f.String(), nil
}

// bySeries makes a query of rollupsFlux answer a table per series (every
// stats field of a device together), as eachRollup reads it (InfluxDB
// orders tables by field first).
const bySeries = `  |> keep(columns: ["_time", "_value", "_field", "_measurement", "device", "district", "department"])
  |> group(columns: ["_measurement", "device", "district", "department"])
`

// RollupMark returns the rollup watermark: every hour before Final was
// rolled up after its grace period (late readings included), every hour
// before Done at least once, none before Since; zero times when rollups
// were never computed (Since zero: not known).
func (c *Client) RollupMark(ctx context.Context) (kessel.RollupMark, error) {
	var f strings.Builder
	f.WriteString(c.recordsFrom("range(start: 1970-01-01T00:00:00Z, stop: 1970-01-01T00:00:02Z)",
		fmt.Sprintf("filter(fn: (r) => r._measurement == %q)", RollupMeasurement)))
	f.WriteString("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return kessel.RollupMark{}, fmt.Errorf("influx: rollup mark: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	var m kessel.RollupMark
	for res.Next() {
		v := res.Record().Values()
		if n, ok := v["final"].(int64); ok && n > 0 {
			m.Final = time.Unix(0, n).UTC()
		}
		if n, ok := v["done"].(int64); ok && n > 0 {
			m.Done = time.Unix(0, n).UTC()
		}
		if n, ok := v["since"].(int64); ok && n > 0 {
			m.Since = time.Unix(0, n).UTC()
		}
	}
	if err := res.Err(); err != nil {
		return kessel.RollupMark{}, fmt.Errorf("influx: rollup mark: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return m, nil
}

// SaveRollupMark stores the rollup watermark (one point, overwritten).
func (c *Client) SaveRollupMark(ctx context.Context, m kessel.RollupMark) error {
	since := ""
	if !m.Since.IsZero() {
		since = fmt.Sprintf(",since=%di", m.Since.UnixNano())
	}
	line := fmt.Sprintf("%s final=%di,done=%di%s 1000000000\n", RollupMeasurement, m.Final.UnixNano(), m.Done.UnixNano(), since)
	if err := c.writeRecords(ctx, line); err != nil {
		return err
	}
	c.marks.set(m, time.Now())
	return nil
}

// markCache keeps the watermark the read side last saw for a while, so
// that a history request does not cost a second query.
type markCache struct {
	mu   sync.Mutex
	m    kessel.RollupMark
	at   time.Time
	have bool
}

// markTTL is how long the read side trusts a cached watermark.
const markTTL = 30 * time.Second

func (mc *markCache) set(m kessel.RollupMark, now time.Time) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.m, mc.at, mc.have = m, now, true
}

// cachedMark returns the watermark, from the cache when fresh.
func (c *Client) cachedMark(ctx context.Context) (kessel.RollupMark, error) {
	c.marks.mu.Lock()
	m, at, have := c.marks.m, c.marks.at, c.marks.have
	c.marks.mu.Unlock()
	if have && time.Since(at) < markTTL {
		return m, nil
	}
	m, err := c.RollupMark(ctx)
	if err != nil {
		return m, err
	}
	c.marks.set(m, time.Now())
	return m, nil
}
