package api

import (
	"context"
	"time"

	"github.com/kessel-city/kessel"
)

// Observations straight from the store: the top-level /Observations, a
// Datastream's and a fixed device's FeatureOfInterest's Observations are
// read from InfluxDB page by page when
// $filter is made only of phenomenonTime comparisons (and year() or
// date() of it) joined by and, and $orderby is phenomenonTime or absent:
// $top, $skip and $count are then InfluxDB's limit, offset and count, so a
// client pages through any length of history with @iot.nextLink. Any
// other $filter or $orderby is evaluated here on the window, which may
// then hold at most Options.MaxPoints observations (400 above).

// staObservationQuerier is what the paged reads need of the store.
type staObservationQuerier interface {
	Observations(ctx context.Context, q kessel.ObservationQuery) ([]kessel.Reading, error)
	CountObservations(ctx context.Context, q kessel.ObservationQuery) (int, error)
}

// staTopWindow is the default window of the top-level /Observations (a
// Datastream's is 24 hours): every device's values, newest hour.
const staTopWindow = time.Hour

// observationCollection answers the Observations of st's field, or with
// st nil those of every device the request may see.
func (m *staModel) observationCollection(st *kessel.DeviceState, field string, q *staQuery, link string) (any, string, error) {
	store, ok := m.s.readings.(staObservationQuerier)
	if !ok {
		return nil, "", kessel.Errorf(kessel.EUNAVAILABLE, "stored readings are not available on this instance")
	}
	from, to := m.window(q, "phenomenonTime")
	if st == nil && staTimeBoundsFrom(q).IsZero() {
		from = to.Add(-staTopWindow)
	}
	oq := kessel.ObservationQuery{From: from, To: to}
	if st != nil {
		oq.Device, oq.Field = st.Device.ID, field
	} else if !m.s.canSeeInternal(m.r) {
		oq.Exclude = m.hidden()
	}
	if !from.Before(to) {
		return m.collection(nil, q, link)
	}
	desc, pushable := staPushable(q)
	if !pushable {
		max := m.s.opts.MaxPoints
		oq.Limit = max + 1
		rs, err := store.Observations(m.r.Context(), oq)
		if err != nil {
			return nil, "", err
		}
		if len(rs) > max {
			return nil, "", invalid("more than %d observations between %s and %s to filter or order; narrow phenomenonTime in $filter, or filter and order by phenomenonTime alone to page through them",
				max, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
		}
		return m.collection(m.observationEntities(rs), q, link)
	}
	out := map[string]any{}
	var page []*staEntity
	if q.top > 0 {
		oq.Desc, oq.Offset, oq.Limit = desc, q.skip, q.top+1
		rs, err := store.Observations(m.r.Context(), oq)
		if err != nil {
			return nil, "", err
		}
		if len(rs) > q.top {
			rs = rs[:q.top]
			out["@iot.nextLink"] = m.nextLink(link, q, m.r.URL.Query())
		}
		page = m.observationEntities(rs)
	}
	if q.count {
		oq.Offset, oq.Limit = 0, 0
		n, err := store.CountObservations(m.r.Context(), oq)
		if err != nil {
			return nil, "", err
		}
		out["@iot.count"] = n
	}
	vals := make([]any, len(page))
	for i, e := range page {
		var err error
		if vals[i], err = m.render(e, q); err != nil {
			return nil, "", err
		}
	}
	out["value"] = vals
	return out, "", nil
}

func staTimeBoundsFrom(q *staQuery) time.Time {
	from, _ := staTimeBounds(q.filter, "phenomenonTime")
	return from
}

// observationEntities are rs's values as Observations; values of devices
// the request may not see are left out.
func (m *staModel) observationEntities(rs []kessel.Reading) []*staEntity {
	out := make([]*staEntity, 0, len(rs))
	for _, r := range rs {
		st := m.device(r.Device)
		if st == nil {
			continue
		}
		for f := range r.Values {
			if kessel.Measured(f) {
				out = append(out, m.observation(st, f, r.Time, r.Values, nil))
			}
		}
	}
	return out
}

// hidden lists the registry's devices the request may not see.
func (m *staModel) hidden() []string {
	var out []string
	for _, st := range m.s.devices.Query(kessel.DeviceQuery{IncludeInternal: true}) {
		if m.device(st.Device.ID) == nil {
			out = append(out, st.Device.ID)
		}
	}
	return out
}

// staPushable reports whether q's $filter and $orderby can be left to the
// store, and whether the order is newest first.
func staPushable(q *staQuery) (desc, ok bool) {
	if q.filter != nil && !staTimeOnly(q.filter) {
		return false, false
	}
	switch {
	case len(q.orderby) == 0:
		return false, true
	case len(q.orderby) == 1 && len(q.orderby[0].path) == 1 && q.orderby[0].path[0] == "phenomenonTime":
		return q.orderby[0].desc, true
	}
	return false, false
}

// staTimeOnly: e is phenomenonTime comparisons joined by and, each of
// which staTimeLeaf turns into a window exactly.
func staTimeOnly(e staExpr) bool {
	if b, ok := e.(staBinary); ok && b.op == "and" {
		return staTimeOnly(b.l) && staTimeOnly(b.r)
	}
	_, _, ok := staTimeLeaf(e, "phenomenonTime")
	return ok
}

// staTimeLeaf turns one comparison of prop, or of year(prop) or
// date(prop), with a literal into the window [from, to) it selects
// exactly (zero: open); ok is false for anything else.
func staTimeLeaf(e staExpr, prop string) (from, to time.Time, ok bool) {
	b, isBin := e.(staBinary)
	if !isBin {
		return
	}
	op, l, r := b.op, b.l, b.r
	if _, litLeft := l.(staLit); litLeft { // 2026-11-23T00:00:00Z lt phenomenonTime
		l, r = r, l
		op = map[string]string{"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq"}[op]
	}
	lit, okl := r.(staLit)
	lo, hi, okv := staTimeSpan(l, lit.v, prop)
	if !okl || !okv {
		return
	}
	switch op { // value in [lo, hi) compared with the literal
	case "eq":
		return lo, hi, true
	case "ge":
		return lo, time.Time{}, true
	case "gt":
		return hi, time.Time{}, true
	case "lt":
		return time.Time{}, lo, true
	case "le":
		return time.Time{}, hi, true
	}
	return
}

// staTimeSpan is the span of times [lo, hi) at which the expression x
// (prop, year(prop) or date(prop)) equals the literal v.
func staTimeSpan(x staExpr, v any, prop string) (lo, hi time.Time, ok bool) {
	isProp := func(e staExpr) bool { p, ok := e.(staPath); return ok && len(p.segs) == 1 && p.segs[0] == prop }
	if isProp(x) {
		t, ok := v.(time.Time)
		return t, t.Add(time.Nanosecond), ok
	}
	c, isCall := x.(staCallExpr)
	if !isCall || len(c.args) != 1 || !isProp(c.args[0]) {
		return
	}
	switch c.fn {
	case "year":
		y, ok := v.(float64)
		if !ok || y != float64(int(y)) || y < 1 || y > 9999 {
			return lo, hi, false
		}
		lo = time.Date(int(y), 1, 1, 0, 0, 0, 0, time.UTC)
		return lo, lo.AddDate(1, 0, 0), true
	case "date":
		t, ok := v.(time.Time)
		if !ok || t != time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) {
			return lo, hi, false
		}
		return t, t.AddDate(0, 0, 1), true
	}
	return
}

// latestObservation answers the newest Observation of a Datastream from
// the live state, without a store read, when that is all q asks for
// ($top=1, $orderby=phenomenonTime desc, no $filter, $skip or $count: what
// dashboards expand on every Datastream); nil otherwise.
func (m *staModel) latestObservation(e *staEntity, target string, q *staQuery) *staEntity {
	latest := q.top == 1 && q.skip == 0 && !q.count && q.filter == nil && len(q.orderby) == 1 && q.orderby[0].desc &&
		len(q.orderby[0].path) == 1 && q.orderby[0].path[0] == "phenomenonTime"
	if !latest || target != "Observations" || e.set != "Datastreams" || e.st.Latest == nil {
		return nil
	}
	if _, ok := e.st.Latest.Values[e.field]; !ok {
		return nil
	}
	return m.observation(e.st, e.field, e.st.Latest.Time, e.st.Latest.Values, e.st.Latest.Location)
}
