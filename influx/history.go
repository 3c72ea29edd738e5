package influx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kessel-city/kessel"
)

// rollupFns are the aggregates a rollup can serve, with the stats each
// needs besides count.
var rollupFns = map[string][]string{"mean": {"mean"}, "min": {"min"}, "max": {"max"}, "count": {}, "sum": {"mean"}}

// plan is how a history request is served: windows in [headFrom,
// headTo) from raw readings, then [rollFrom, rollTo) from the rollups of
// resolution res, then [rawFrom, rawTo) from raw readings; any part may
// be empty. The head holds what the rollups do not: readings stored
// before rolling up began, and a first window that starts before the
// request's from (a rollup would count the readings before from too).
type plan struct {
	res              string
	headFrom, headTo time.Time
	rollFrom, rollTo time.Time
	rawFrom, rawTo   time.Time
}

func (p plan) rolls() bool { return p.res != "" && p.rollFrom.Before(p.rollTo) }
func (p plan) heads() bool { return p.headFrom.Before(p.headTo) }
func (p plan) raws() bool  { return p.rawFrom.Before(p.rawTo) }

// served names the resolutions of p: "raw", "1h", "1d", or "1h+raw".
func (p plan) served() string {
	switch {
	case p.rolls() && (p.raws() || p.heads()):
		return p.res + "+" + kessel.ResolutionRaw
	case p.rolls() || p.res != "" && !p.raws() && !p.heads():
		return p.res
	}
	return kessel.ResolutionRaw
}

// Resolve says which stored resolution serves a history request (q.Device
// may be empty for a district series): "raw", "1h", "1d", or e.g.
// "1h+raw" when the newest windows are not rolled up yet and come from raw
// readings. It returns EINVALID when q.Resolution cannot serve q and
// EGONE when q needs raw readings older than the raw retention.
func (c *Client) Resolve(ctx context.Context, q kessel.HistoryQuery) (string, error) {
	p, err := c.plan(ctx, q)
	return p.served(), err
}

// rawEdge is the oldest instant raw readings are kept for; zero when kept forever.
func (c *Client) rawEdge() time.Time {
	if c.opts.RawRetention <= 0 {
		return time.Time{}
	}
	return time.Now().Add(-c.opts.RawRetention)
}

func (c *Client) rawPlan(q kessel.HistoryQuery, why string) (plan, error) {
	if edge := c.rawEdge(); !edge.IsZero() && q.From.Before(edge) {
		return plan{}, kessel.Errorf(kessel.EGONE, "raw readings are kept for %s (since %s) and from is older%s; older data is kept as hourly and daily rollups (mean, min, max, count): ask every=1h or every=1d with fn=mean, min, max, count or sum, or resolution=1h or 1d",
			fmtDays(c.opts.RawRetention), edge.UTC().Format(time.RFC3339), why)
	}
	return plan{rawFrom: q.From, rawTo: q.To}, nil
}

func fmtDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// plan chooses what serves q: a rollup when q.Every is a multiple of its
// window and q.Fn one it can serve (daily before hourly), raw readings
// otherwise and for windows newer than the rollups; q.Resolution
// overrides (a rollup resolution then serves only from the rollup).
func (c *Client) plan(ctx context.Context, q kessel.HistoryQuery) (plan, error) {
	fn := q.Fn
	if fn == "" {
		fn = "mean"
	}
	_, rollable := rollupFns[fn]
	can := func(res string) bool { return q.Every > 0 && rollable && q.Every%kessel.ResolutionWindow(res) == 0 }
	res := q.Resolution
	switch {
	case res != "" && !slices.Contains(kessel.Resolutions, res):
		return plan{}, kessel.Errorf(kessel.EINVALID, "resolution %q: use raw, 1h or 1d", res)
	case res == kessel.ResolutionRaw:
		return c.rawPlan(q, "")
	case res != "" && !can(res):
		return plan{}, kessel.Errorf(kessel.EINVALID, "resolution=%s needs every to be a multiple of %s and fn one of mean, min, max, count, sum", res, res)
	case res == "" && can(kessel.ResolutionDay):
		res = kessel.ResolutionDay
	case res == "" && can(kessel.ResolutionHour):
		res = kessel.ResolutionHour
	case res == "":
		why := ""
		if q.Every > 0 {
			why = fmt.Sprintf(" (every=%s fn=%s is not served by a rollup)", q.Every, fn)
		}
		return c.rawPlan(q, why)
	}
	mark, err := c.cachedMark(ctx)
	if err != nil {
		return plan{}, err
	}
	win := kessel.ResolutionWindow(res)
	covered := mark.Done.Truncate(win) // the daily rollup of the day Done is in is not whole yet
	if q.Resolution != "" {            // the rollups alone, as far as they go
		p := plan{res: res, rollFrom: floorTo(q.From, q.Every), rollTo: floorTo(minTime(q.To, covered), q.Every)}
		if mark.Done.IsZero() || !p.rollFrom.Before(p.rollTo) {
			p.rollTo = p.rollFrom
		}
		return p, nil
	}
	return c.mixedPlan(q, res, ceilTo(mark.Since, win), covered, !mark.Done.IsZero())
}

// mixedPlan serves q's windows that lie wholly in [since, covered) from
// the rollups of res, and the rest from raw readings where they are still
// kept. A first window that begins before q.From or since comes from raw
// readings too, unless they have expired (then its rollup serves it
// whole: the best there is).
func (c *Client) mixedPlan(q kessel.HistoryQuery, res string, since, covered time.Time, rolled bool) (plan, error) {
	edge := c.rawEdge()
	start := maxTime(q.From, since)
	rollFrom := ceilTo(start, q.Every)
	if !edge.IsZero() && start.Before(edge) {
		rollFrom = floorTo(start, q.Every)
	}
	rollTo := floorTo(minTime(q.To, covered), q.Every)
	if !rolled || !rollFrom.Before(rollTo) {
		return c.rawPlan(q, "")
	}
	p := plan{res: res, rollFrom: rollFrom, rollTo: rollTo}
	if from := maxTime(q.From, edge); from.Before(rollFrom) {
		p.headFrom, p.headTo = from, rollFrom
	}
	if from := maxTime(rollTo, edge); from.Before(q.To) {
		p.rawFrom, p.rawTo = from, q.To
	}
	return p, nil
}

// ceilTo rounds t up to a multiple of d since the Unix epoch (see floorTo).
func ceilTo(t time.Time, d time.Duration) time.Time {
	if f := floorTo(t, d); f.Before(t) {
		return f.Add(d)
	}
	return t
}

// floorTo rounds t down to a multiple of d since the Unix epoch, as
// Flux's aggregateWindow aligns its windows.
func floorTo(t time.Time, d time.Duration) time.Time {
	if t.IsZero() { // not representable in nanoseconds: "no time"
		return t
	}
	ns := t.UnixNano()
	m := ns % int64(d)
	if m < 0 {
		m += int64(d)
	}
	return time.Unix(0, ns-m).UTC()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// errLimit stops a history stream at its limit.
var errLimit = errors.New("limit reached")

// eachHistory streams q's windows or readings as its plan says.
func (c *Client) eachHistory(ctx context.Context, q kessel.HistoryQuery, fn func(kessel.Reading) error) error {
	if _, err := c.historyFlux(q); err != nil {
		return err
	}
	p, err := c.plan(ctx, q)
	if err != nil {
		return err
	}
	if !p.rolls() {
		if p.heads() {
			if err := c.eachRaw(ctx, q, p.headFrom, p.headTo, fn); err != nil {
				return err
			}
		}
		if !p.raws() {
			return nil
		}
		return c.eachRaw(ctx, q, p.rawFrom, p.rawTo, fn)
	}
	return c.eachMixed(ctx, q, p, fn)
}

// eachMixed streams a plan that reads the rollups: the raw head (a first
// window cut by from, windows before the rollups began) and the raw tail
// (windows not rolled up yet) are read while the rollups are, each into
// memory (whole windows of at least an hour: a few rows), and passed to
// fn in time order. On InfluxDB 1.8 each query costs about as much as
// the others, so this takes one query's time instead of three.
func (c *Client) eachMixed(ctx context.Context, q kessel.HistoryQuery, p plan, fn func(kessel.Reading) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	collect := func(from, to time.Time, out *[]kessel.Reading) func() error {
		return func() error {
			return c.eachRaw(ctx, q, from, to, func(r kessel.Reading) error { *out = append(*out, r); return nil })
		}
	}
	var head, tail []kessel.Reading
	var g errgroup.Group
	if p.heads() {
		g.Go(collect(p.headFrom, p.headTo, &head))
	}
	if p.raws() {
		g.Go(collect(p.rawFrom, p.rawTo, &tail))
	}
	rs, err := c.rollupWindows(ctx, kessel.RollupQuery{Resolution: p.res, From: p.rollFrom, To: p.rollTo, Device: q.Device, Fields: q.Fields}, q.Every, fnOr(q.Fn))
	if err != nil {
		cancel()
		_ = g.Wait()
		return fmt.Errorf("influx: history: %w", err)
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, part := range [][]kessel.Reading{head, rs, tail} {
		for _, r := range part {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// eachRaw streams q's windows or readings in [from, to) from raw
// readings. A window is labelled with its start, as a rollup's is, also
// when from cuts into it (InfluxDB labels it with from).
func (c *Client) eachRaw(ctx context.Context, q kessel.HistoryQuery, from, to time.Time, fn func(kessel.Reading) error) error {
	q.From, q.To = from, to
	flux, err := c.historyFlux(q)
	if err != nil {
		return err
	}
	if q.Every <= 0 {
		return c.eachReading(ctx, flux, "history", fn)
	}
	return c.eachReading(ctx, flux, "history", func(r kessel.Reading) error {
		r.Time = floorTo(r.Time, q.Every)
		return fn(r)
	})
}

func fnOr(fn string) string {
	if fn == "" {
		return "mean"
	}
	return fn
}

// districtRollups serves a district series' head (from raw readings)
// and rollup part.
func (c *Client) districtRollups(ctx context.Context, p plan, district, kind, field string, q kessel.HistoryQuery) ([]kessel.Reading, error) {
	var out []kessel.Reading
	if p.heads() {
		hq := q
		hq.From, hq.To, hq.Resolution = p.headFrom, p.headTo, kessel.ResolutionRaw
		head, err := c.DistrictSeries(ctx, district, kind, field, hq)
		if err != nil {
			return nil, err
		}
		out = head
	}
	if !p.rolls() {
		return out, nil
	}
	rs, err := c.rollupWindows(ctx, kessel.RollupQuery{Resolution: p.res, From: p.rollFrom, To: p.rollTo, Kind: kind, District: district, Fields: []string{field}}, q.Every, fnOr(q.Fn))
	if err != nil {
		return nil, fmt.Errorf("influx: district series: %w", err)
	}
	return append(out, rs...), nil
}
