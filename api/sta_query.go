package api

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SensorThings paging: a collection answers at most staMaxTop entities
// per response ($top above it is lowered to it), staDefaultTop without
// $top; @iot.nextLink continues. An expanded collection is capped the same
// way and says where it continues in <Nav>@iot.nextLink.
const (
	staDefaultTop = 100
	staMaxTop     = 1000
)

// staQuery holds the query options of one collection or expansion.
type staQuery struct {
	top, skip int
	topSet    bool
	count     bool
	filter    staExpr
	raw       url.Values // $filter and $orderby as given, for next links
	orderby   []staOrder
	selects   []string
	expand    []staExpand
}

type staOrder struct {
	path []string
	desc bool
}

type staExpand struct {
	nav string
	q   *staQuery
}

// parseSTAQuery reads the $ options of a request; other parameters are
// left alone, an unknown $ option is an error.
func parseSTAQuery(v url.Values) (*staQuery, error) {
	q := &staQuery{top: staDefaultTop}
	for k, vals := range v {
		if !strings.HasPrefix(k, "$") {
			continue
		}
		if len(vals) != 1 {
			return nil, invalid("%s is given %d times; give it once", k, len(vals))
		}
		if err := q.set(k, vals[0], 0); err != nil {
			return nil, err
		}
	}
	return q, nil
}

func (q *staQuery) set(k, val string, depth int) error {
	var err error
	switch k {
	case "$top", "$skip":
		n, e := strconv.Atoi(val)
		if e != nil || n < 0 {
			return invalid("%s must be a whole number ≥ 0, got %q", k, val)
		}
		if k == "$skip" {
			q.skip = n
		} else {
			q.top, q.topSet = min(n, staMaxTop), true
		}
	case "$count":
		if val != "true" && val != "false" {
			return invalid("$count must be true or false, got %q", val)
		}
		q.count = val == "true"
	case "$filter":
		q.filter, err = parseSTAFilter(val)
		q.keep(k, val)
	case "$orderby":
		q.orderby, err = staParseOrderBy(val)
		q.keep(k, val)
	case "$select":
		for _, f := range staSplit(val, ',') {
			if f = strings.TrimSpace(f); f == "" {
				return invalid("$select has an empty entry")
			}
			q.selects = append(q.selects, f)
		}
	case "$expand":
		q.expand, err = staParseExpand(val, depth)
	case "$resultFormat":
		return invalid("$resultFormat is not served; results are JSON")
	default:
		return invalid("unknown query option %s; SensorThings knows $top, $skip, $count, $filter, $orderby, $select, $expand", k)
	}
	return err
}

func (q *staQuery) keep(k, val string) {
	if q.raw == nil {
		q.raw = url.Values{}
	}
	q.raw.Set(k, val)
}

func staParseOrderBy(val string) ([]staOrder, error) {
	var out []staOrder
	for _, item := range staSplit(val, ',') {
		f := strings.Fields(item)
		if len(f) == 0 || len(f) > 2 || len(f) == 2 && f[1] != "asc" && f[1] != "desc" {
			return nil, invalid("$orderby: %q is not \"property [asc|desc]\"", item)
		}
		out = append(out, staOrder{path: strings.Split(f[0], "/"), desc: len(f) == 2 && f[1] == "desc"})
	}
	return out, nil
}

// staParseExpand reads "Datastreams($top=2;$expand=Observations),Locations"
// and the path form "Datastreams/Observations".
func staParseExpand(val string, depth int) ([]staExpand, error) {
	if depth > 4 {
		return nil, invalid("$expand nests deeper than 5 levels")
	}
	var out []staExpand
	for _, item := range staSplit(val, ',') {
		item = strings.TrimSpace(item)
		name, opts := item, ""
		if i := strings.IndexByte(item, '('); i >= 0 {
			if !strings.HasSuffix(item, ")") {
				return nil, invalid("$expand: %q lacks its closing )", item)
			}
			name, opts = item[:i], item[i+1:len(item)-1]
		}
		first, rest, nested := strings.Cut(name, "/")
		sub := &staQuery{top: staDefaultTop}
		if nested {
			inner, err := staParseExpand(rest+staOptsSuffix(opts), depth+1)
			if err != nil {
				return nil, err
			}
			sub.expand = inner
		} else {
			for _, o := range staSplit(opts, ';') {
				k, v, ok := strings.Cut(o, "=")
				if !ok {
					return nil, invalid("$expand: option %q of %s is not $name=value", o, first)
				}
				if err := sub.set(strings.TrimSpace(k), v, depth+1); err != nil {
					return nil, err
				}
			}
		}
		if !isSTAName(first) {
			return nil, invalid("$expand: %q is not a navigation property", first)
		}
		out = append(out, staExpand{nav: first, q: sub})
	}
	return out, nil
}

func staOptsSuffix(opts string) string {
	if opts == "" {
		return ""
	}
	return "(" + opts + ")"
}

func isSTAName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// splitTop splits s at sep outside parentheses and quotes; "" gives none.
func staSplit(s string, sep byte) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// apply filters and orders ents; it returns the page and the count
// before paging.
func (q *staQuery) apply(m *staModel, ents []*staEntity) ([]*staEntity, int, error) {
	if q.filter != nil {
		kept := ents[:0:0]
		for _, e := range ents {
			v, err := evalSTAFilter(q.filter, func(p []string) (any, error) { return m.value(e, p) })
			if err != nil {
				return nil, 0, err
			}
			if b, _ := v.(bool); b {
				kept = append(kept, e)
			}
		}
		ents = kept
	}
	if len(q.orderby) > 0 {
		var err error
		slices.SortStableFunc(ents, func(a, b *staEntity) int {
			for _, o := range q.orderby {
				va, e1 := m.value(a, o.path)
				vb, e2 := m.value(b, o.path)
				if e1 != nil || e2 != nil {
					err = invalid("$orderby: %s is not a property", strings.Join(o.path, "/"))
					return 0
				}
				c := staOrderValues(va, vb)
				if o.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
		if err != nil {
			return nil, 0, err
		}
	}
	total := len(ents)
	from := min(q.skip, total)
	return ents[from : from+min(q.top, total-from)], total, nil
}

// orderValues orders any two values; null sorts first.
func staOrderValues(a, b any) int {
	if c, ok := staCompare(a, b); ok {
		return c
	}
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return 0
}

// staTimeBounds returns the window that comparisons of the time property
// prop (phenomenonTime, time), and of year() and date() of it, joined by
// "and" at the top of the filter narrow the store's readings to; zero
// times are open. Other terms do not narrow it.
func staTimeBounds(e staExpr, prop string) (from, to time.Time) {
	if b, ok := e.(staBinary); ok && b.op == "and" {
		f1, t1 := staTimeBounds(b.l, prop)
		f2, t2 := staTimeBounds(b.r, prop)
		return staLater(f1, f2), staEarlier(t1, t2)
	}
	from, to, _ = staTimeLeaf(e, prop)
	return from, to
}

func staLater(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}

func staEarlier(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}
