package influx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// rollupWindows aggregates the rollups rq selects into windows of every
// with fn, over every series it selects (all of a device's, or all
// devices of a district), oldest first, each labelled with its start, as
// windows aggregated from raw readings are. A rollup whose values
// quality control all left out (count 0) adds nothing.
func (c *Client) rollupWindows(ctx context.Context, rq kessel.RollupQuery, every time.Duration, fn string) ([]kessel.Reading, error) {
	flux, err := c.rollupsFlux(rq, rollupFns[fn])
	if err != nil {
		return nil, err
	}
	ws := windowSet{every: every, accs: map[int64]map[string]*rollupAcc{}}
	err = c.pairedRollups(ctx, flux+seriesTags(rq), fn, ws.add)
	if errors.Is(err, errUnpaired) { // not in InfluxDB's order: join them by series and time
		ws.accs = map[int64]map[string]*rollupAcc{}
		err = c.eachRollup(ctx, flux+bySeries, func(r kessel.Rollup) error {
			ws.add(r.Time.UnixNano(), r.Field, r.Sum(), r.Min, r.Max, r.Count)
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	return ws.readings(fn), nil
}

// seriesTags keeps, of a query of rollupsFlux, the tags that tell its
// series apart that rq does not fix: for one device, the district and
// department it was in. What InfluxDB sends costs in proportion to its
// size, and a year of a device's hours is 87,600 rows.
func seriesTags(rq kessel.RollupQuery) string {
	cols := []string{`"_time"`, `"_value"`, `"_field"`}
	for _, t := range []struct{ col, fixed string }{{"_measurement", rq.Kind}, {"device", rq.Device}, {"district", rq.District}, {"department", ""}} {
		if t.fixed == "" {
			cols = append(cols, `"`+t.col+`"`)
		}
	}
	return "  |> keep(columns: [" + strings.Join(cols, ", ") + "])\n"
}

// errUnpaired: a stats row came before the count of its series and window.
var errUnpaired = errors.New("influx: rollup stats before their count")

// pairedRollups reads a query of rollupsFlux with seriesTags, a table
// per stored series and stats field, as InfluxDB sends them: in series
// key order, so a series' <field>_count table comes before its other
// stats tables (count < max < mean < min). It calls add per series,
// field and window with its sum, min, max and count, holding only the
// counts of the series being read. It returns errUnpaired when a stats row
// has no count before it.
func (c *Client) pairedRollups(ctx context.Context, flux, fn string, add func(t int64, field string, sum, lo, hi float64, n int64)) error {
	p := newRollupPairer(fn, add)
	err := c.eachCSVRow(ctx, flux, p.row)
	if err != nil && !errors.Is(err, errUnpaired) {
		return fmt.Errorf("influx: rollups: %w", err)
	}
	return err
}

// rollupPairer pairs each stats row with the count of its series, field
// and window (see pairedRollups).
type rollupPairer struct {
	fn  string
	add func(t int64, field string, sum, lo, hi float64, n int64)

	series      string                     // the current table's tags
	counts      map[string]map[int64]int64 // of series, by field: the series before are done
	field, stat string

	wanted          bool // stat is what fn needs besides count
	n               map[int64]int64
	timeCol, valCol int
	tags            []int
}

func newRollupPairer(fn string, add func(t int64, field string, sum, lo, hi float64, n int64)) *rollupPairer {
	return &rollupPairer{fn: fn, add: add, counts: map[string]map[int64]int64{}}
}

func (p *rollupPairer) row(r *csvRow) error {
	if r.header { // a new series and field: read its key once
		if err := p.table(r); err != nil {
			return err
		}
	}
	v, ok := r.float(p.valCol)
	t, tok := r.time(p.timeCol)
	if !ok || !tok || p.stat == "" {
		return nil
	}
	switch p.stat {
	case "count":
		p.n[t] = int64(v)
		if p.fn == "count" {
			p.add(t, p.field, 0, 0, 0, int64(v))
		}
	case "mean", "min", "max":
		if !p.wanted {
			return nil
		}
		k, ok := p.n[t]
		if !ok {
			return errUnpaired
		}
		p.add(t, p.field, v*float64(k), v, v, k)
	}
	return nil
}

func (p *rollupPairer) table(r *csvRow) error {
	p.timeCol, p.valCol, p.tags = r.col("_time"), r.col("_value"), p.tags[:0]
	for _, col := range []string{"_measurement", "device", "district", "department"} {
		p.tags = append(p.tags, r.col(col))
	}
	name := r.str(r.col("_field"))
	i := strings.LastIndexByte(name, '_')
	if i <= 0 {
		p.stat = ""
		return nil
	}
	if series := tableTags(r, p.tags); series != p.series {
		p.series, p.counts = series, map[string]map[int64]int64{}
	}
	p.field, p.stat = name[:i], name[i+1:]
	p.wanted = slices.Contains(rollupFns[p.fn], p.stat)
	if p.stat == "count" {
		p.n = map[int64]int64{}
		p.counts[p.field] = p.n
	} else if p.n = p.counts[p.field]; p.n == nil {
		return errUnpaired
	}
	return nil
}

// tableTags joins the tag values of a row of seriesTags' query.
func tableTags(r *csvRow, cols []int) string {
	var b strings.Builder
	for _, i := range cols {
		b.WriteString(r.str(i))
		b.WriteByte(0)
	}
	return b.String()
}

// windowSet accumulates rollups into windows of every, per field.
type windowSet struct {
	every time.Duration
	accs  map[int64]map[string]*rollupAcc
}

func (ws windowSet) add(t int64, field string, sum, lo, hi float64, n int64) {
	if n <= 0 { // every value of the window excluded by quality control
		return
	}
	w := floorTo(time.Unix(0, t), ws.every).UnixNano()
	fields := ws.accs[w]
	if fields == nil {
		fields = make(map[string]*rollupAcc, 8)
		ws.accs[w] = fields
	}
	a := fields[field]
	if a == nil {
		a = &rollupAcc{}
		fields[field] = a
	}
	a.add(sum, lo, hi, n)
}

// readings returns the windows with fn's value per field, oldest first.
func (ws windowSet) readings(fn string) []kessel.Reading {
	starts := make([]int64, 0, len(ws.accs))
	for w := range ws.accs {
		starts = append(starts, w)
	}
	slices.Sort(starts)
	out := make([]kessel.Reading, 0, len(starts))
	for _, w := range starts {
		r := kessel.Reading{Time: time.Unix(0, w).UTC(), Values: make(map[string]float64, len(ws.accs[w]))}
		for f, a := range ws.accs[w] {
			r.Values[f] = a.value(fn)
		}
		out = append(out, r)
	}
	return out
}
func (a *rollupAcc) value(fn string) float64 {
	switch fn {
	case "min":
		return a.min
	case "max":
		return a.max
	case "count":
		return float64(a.n)
	case "sum":
		return a.sum
	}
	return a.sum / float64(a.n)
}
