package api

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The SensorThings $filter language (OGC 18-088 §9.3.3.5, a subset of
// OData 4.0 expressions): comparisons eq ne gt ge lt le, and/or/not,
// arithmetic add sub mul div mod, parentheses, literals (numbers, 'text'
// with '' for a quote, true, false, null, ISO 8601 times, geography'WKT')
// and property paths such as Thing/name or properties/kind. Functions are
// listed in staFuncs; geo.distance answers metres, not degrees.

// Limits on what one $filter may ask.
const (
	staMaxFilter = 4096 // bytes
	staMaxDepth  = 64   // nesting of parentheses, not and calls
)

type (
	fLit  struct{ v any }
	fPath struct{ segs []string }
	fCall struct {
		fn   string
		args []fExpr
	}
	fUnary struct {
		op string // "not" or "-"
		x  fExpr
	}
	fBinary struct {
		op   string
		l, r fExpr
	}
)

// fExpr is a parsed $filter expression: one of the types above.
type fExpr any

// staFuncs names the functions $filter knows, with their arity.
var staFuncs = map[string]int{
	"substringof": 2, "startswith": 2, "endswith": 2, "length": 1, "tolower": 1, "toupper": 1, "trim": 1, "concat": 2, "indexof": 2,
	"year": 1, "month": 1, "day": 1, "hour": 1, "minute": 1, "second": 1,
	"round": 1, "floor": 1, "ceiling": 1,
	"geo.distance": 2, "geo.intersects": 2, "st_within": 2, "st_intersects": 2, "st_contains": 2, "geo.length": 1,
	"substring": 2, "date": 1, "time": 1, "fractionalseconds": 1, "totaloffsetminutes": 1, "now": 0, "mindatetime": 0, "maxdatetime": 0,
	"st_equals": 2, "st_disjoint": 2, "st_touches": 2, "st_overlaps": 2, "st_crosses": 2, "st_relate": 3,
}

// staUnserved are the standard's functions Kessel knows but does not answer.
var staUnserved = []string{"st_touches", "st_overlaps", "st_crosses", "st_relate"}

var binaryLevels = [][]string{{"or"}, {"and"}, {"eq", "ne", "gt", "ge", "lt", "le"}, {"add", "sub"}, {"mul", "div", "mod"}}

type fToken struct {
	kind string // "id", "str", "num", "time", "geo", "(", ")", ",", "end"
	text string
	v    any
	pos  int
}

type fParser struct {
	toks  []fToken
	i     int
	depth int
}

// parseFilter parses a $filter value; errors are EINVALID and say where.
func parseFilter(s string) (fExpr, error) {
	if len(s) > staMaxFilter {
		return nil, invalid("$filter is longer than %d bytes", staMaxFilter)
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &fParser{toks: toks}
	e, err := p.binary(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "end" {
		return nil, invalid("$filter: unexpected %q at position %d", t.text, t.pos)
	}
	return e, nil
}

func (p *fParser) peek() fToken { return p.toks[p.i] }

func (p *fParser) next() fToken {
	t := p.toks[p.i]
	if t.kind != "end" {
		p.i++
	}
	return t
}

func (p *fParser) binary(level int) (fExpr, error) {
	if level == len(binaryLevels) {
		return p.unary()
	}
	l, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != "id" || !contains(binaryLevels[level], t.text) {
			return l, nil
		}
		p.next()
		r, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		l = fBinary{op: t.text, l: l, r: r}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *fParser) unary() (fExpr, error) {
	if t := p.peek(); t.kind == "id" && (t.text == "not" || t.text == "-") {
		p.next()
		if p.depth++; p.depth > staMaxDepth {
			return nil, invalid("$filter nests deeper than %d", staMaxDepth)
		}
		x, err := p.unary()
		p.depth--
		return fUnary{op: t.text, x: x}, err
	}
	return p.primary()
}

func (p *fParser) primary() (fExpr, error) {
	t := p.next()
	switch t.kind {
	case "str", "num", "time", "geo":
		return fLit{t.v}, nil
	case "(":
		if p.depth++; p.depth > staMaxDepth {
			return nil, invalid("$filter nests deeper than %d", staMaxDepth)
		}
		e, err := p.binary(0)
		p.depth--
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != ")" {
			return nil, invalid("$filter: expected ) at position %d", c.pos)
		}
		return e, nil
	case "id":
		return p.identifier(t)
	case "end":
		return nil, invalid("$filter ends where a value was expected")
	}
	return nil, invalid("$filter: unexpected %q at position %d", t.text, t.pos)
}

func (p *fParser) identifier(t fToken) (fExpr, error) {
	switch t.text {
	case "true", "false":
		return fLit{t.text == "true"}, nil
	case "null":
		return fLit{nil}, nil
	}
	if p.peek().kind != "(" {
		if contains([]string{"and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "add", "sub", "mul", "div", "mod"}, t.text) {
			return nil, invalid("$filter: operator %q at position %d where a value was expected", t.text, t.pos)
		}
		return fPath{segs: strings.Split(t.text, "/")}, nil
	}
	arity, ok := staFuncs[t.text]
	if !ok {
		return nil, invalid("$filter: unknown function %q at position %d", t.text, t.pos)
	}
	if contains(staUnserved, t.text) {
		return nil, invalid("$filter: %s is not served; geo.distance, geo.length, geo.intersects, st_intersects, st_within, st_contains, st_equals and st_disjoint are", t.text)
	}
	p.next()
	if p.depth++; p.depth > staMaxDepth {
		return nil, invalid("$filter nests deeper than %d", staMaxDepth)
	}
	defer func() { p.depth-- }()
	var args []fExpr
	for p.peek().kind != ")" {
		if len(args) > 0 {
			if c := p.next(); c.kind != "," {
				return nil, invalid("$filter: expected , or ) at position %d", c.pos)
			}
		}
		a, err := p.binary(0)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	p.next()
	if len(args) != arity && !(t.text == "substring" && len(args) == 3) {
		return nil, invalid("$filter: %s takes %d arguments, got %d", t.text, arity, len(args))
	}
	return fCall{fn: t.text, args: args}, nil
}

// lexFilter splits a $filter into tokens.
func lexFilter(s string) ([]fToken, error) {
	var out []fToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, fToken{kind: string(c), text: string(c), pos: i})
			i++
		case c == '\'':
			str, n, err := lexString(s[i:], i)
			if err != nil {
				return nil, err
			}
			out = append(out, fToken{kind: "str", text: s[i : i+n], v: str, pos: i})
			i += n
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			t, n, err := lexNumberOrTime(s[i:], i)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
			i += n
		case c == '-':
			out = append(out, fToken{kind: "id", text: "-", pos: i})
			i++
		case isIdentStart(c):
			n := 1
			for n < len(s[i:]) && isIdentPart(s[i+n]) {
				n++
			}
			word := s[i : i+n]
			if (word == "geography" || word == "geometry") && i+n < len(s) && s[i+n] == '\'' {
				wkt, m, err := lexString(s[i+n:], i+n)
				if err != nil {
					return nil, err
				}
				g, err := parseWKT(wkt)
				if err != nil {
					return nil, err
				}
				out = append(out, fToken{kind: "geo", text: s[i : i+n+m], v: g, pos: i})
				i += n + m
				continue
			}
			out = append(out, fToken{kind: "id", text: word, pos: i})
			i += n
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, invalid("$filter: unexpected character %q at position %d", r, i)
		}
	}
	return append(out, fToken{kind: "end", pos: len(s)}), nil
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '@' || c == '$'
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '.' || c == '/'
}

// lexString reads a quoted literal (” is a quote) and its length.
func lexString(s string, pos int) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), i + 1, nil
	}
	return "", 0, invalid("$filter: the text starting at position %d has no closing quote", pos)
}

// timeOfDay is how time() and time-of-day literals are compared.
const timeOfDay = "15:04:05.999999999"

// lexNumberOrTime reads a number or an ISO 8601 time (2026-11-23T08:00:00Z).
func lexNumberOrTime(s string, pos int) (fToken, int, error) {
	n := 1
	for n < len(s) && strings.IndexByte("0123456789.:+-TZeE", s[n]) >= 0 {
		n++
	}
	word := s[:n]
	if f, err := strconv.ParseFloat(word, 64); err == nil {
		return fToken{kind: "num", text: word, v: f, pos: pos}, n, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, word); err == nil {
		return fToken{kind: "time", text: word, v: t, pos: pos}, n, nil
	}
	if t, err := time.Parse("2006-01-02", word); err == nil {
		return fToken{kind: "time", text: word, v: t, pos: pos}, n, nil
	}
	if t, err := time.Parse("15:04:05", word); err == nil { // a time of day, compared as text with time()
		return fToken{kind: "str", text: word, v: t.Format(timeOfDay), pos: pos}, n, nil
	}
	return fToken{}, 0, invalid("$filter: %q at position %d is neither a number nor an ISO 8601 time (2026-11-23T08:00:00Z)", word, pos)
}
