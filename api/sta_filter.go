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
	staLit      struct{ v any }
	staPath     struct{ segs []string }
	staCallExpr struct {
		fn   string
		args []staExpr
	}
	staUnary struct {
		op string // "not" or "-"
		x  staExpr
	}
	staBinary struct {
		op   string
		l, r staExpr
	}
)

// staExpr is a parsed $filter expression: one of the types above.
type staExpr any

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

var staLevels = [][]string{{"or"}, {"and"}, {"eq", "ne", "gt", "ge", "lt", "le"}, {"add", "sub"}, {"mul", "div", "mod"}}

type staToken struct {
	kind string // "id", "str", "num", "time", "geo", "(", ")", ",", "end"
	text string
	v    any
	pos  int
}

type staParser struct {
	toks  []staToken
	i     int
	depth int
}

// parseSTAFilter parses a $filter value; errors are EINVALID and say where.
func parseSTAFilter(s string) (staExpr, error) {
	if len(s) > staMaxFilter {
		return nil, invalid("$filter is longer than %d bytes", staMaxFilter)
	}
	toks, err := lexSTAFilter(s)
	if err != nil {
		return nil, err
	}
	p := &staParser{toks: toks}
	e, err := p.binary(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "end" {
		return nil, invalid("$filter: unexpected %q at position %d", t.text, t.pos)
	}
	return e, nil
}

func (p *staParser) peek() staToken { return p.toks[p.i] }

func (p *staParser) next() staToken {
	t := p.toks[p.i]
	if t.kind != "end" {
		p.i++
	}
	return t
}

func (p *staParser) binary(level int) (staExpr, error) {
	if level == len(staLevels) {
		return p.unary()
	}
	l, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != "id" || !staHas(staLevels[level], t.text) {
			return l, nil
		}
		p.next()
		r, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		l = staBinary{op: t.text, l: l, r: r}
	}
}

func staHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *staParser) unary() (staExpr, error) {
	if t := p.peek(); t.kind == "id" && (t.text == "not" || t.text == "-") {
		p.next()
		if p.depth++; p.depth > staMaxDepth {
			return nil, invalid("$filter nests deeper than %d", staMaxDepth)
		}
		x, err := p.unary()
		p.depth--
		return staUnary{op: t.text, x: x}, err
	}
	return p.primary()
}

func (p *staParser) primary() (staExpr, error) {
	t := p.next()
	switch t.kind {
	case "str", "num", "time", "geo":
		return staLit{t.v}, nil
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

func (p *staParser) identifier(t staToken) (staExpr, error) {
	switch t.text {
	case "true", "false":
		return staLit{t.text == "true"}, nil
	case "null":
		return staLit{nil}, nil
	}
	if p.peek().kind != "(" {
		if staHas([]string{"and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "add", "sub", "mul", "div", "mod"}, t.text) {
			return nil, invalid("$filter: operator %q at position %d where a value was expected", t.text, t.pos)
		}
		return staPath{segs: strings.Split(t.text, "/")}, nil
	}
	arity, ok := staFuncs[t.text]
	if !ok {
		return nil, invalid("$filter: unknown function %q at position %d", t.text, t.pos)
	}
	if staHas(staUnserved, t.text) {
		return nil, invalid("$filter: %s is not served; geo.distance, geo.length, geo.intersects, st_intersects, st_within, st_contains, st_equals and st_disjoint are", t.text)
	}
	p.next()
	if p.depth++; p.depth > staMaxDepth {
		return nil, invalid("$filter nests deeper than %d", staMaxDepth)
	}
	defer func() { p.depth-- }()
	var args []staExpr
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
	return staCallExpr{fn: t.text, args: args}, nil
}

// lexSTAFilter splits a $filter into tokens.
func lexSTAFilter(s string) ([]staToken, error) {
	var out []staToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, staToken{kind: string(c), text: string(c), pos: i})
			i++
		case c == '\'':
			str, n, err := staLexString(s[i:], i)
			if err != nil {
				return nil, err
			}
			out = append(out, staToken{kind: "str", text: s[i : i+n], v: str, pos: i})
			i += n
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			t, n, err := staLexNumber(s[i:], i)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
			i += n
		case c == '-':
			out = append(out, staToken{kind: "id", text: "-", pos: i})
			i++
		case staIdentStart(c):
			n := 1
			for n < len(s[i:]) && staIdentPart(s[i+n]) {
				n++
			}
			word := s[i : i+n]
			if (word == "geography" || word == "geometry") && i+n < len(s) && s[i+n] == '\'' {
				wkt, m, err := staLexString(s[i+n:], i+n)
				if err != nil {
					return nil, err
				}
				g, err := staParseWKT(wkt)
				if err != nil {
					return nil, err
				}
				out = append(out, staToken{kind: "geo", text: s[i : i+n+m], v: g, pos: i})
				i += n + m
				continue
			}
			out = append(out, staToken{kind: "id", text: word, pos: i})
			i += n
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, invalid("$filter: unexpected character %q at position %d", r, i)
		}
	}
	return append(out, staToken{kind: "end", pos: len(s)}), nil
}

func staIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '@' || c == '$'
}

func staIdentPart(c byte) bool {
	return staIdentStart(c) || c >= '0' && c <= '9' || c == '.' || c == '/'
}

// staLexString reads a quoted literal (” is a quote) and its length.
func staLexString(s string, pos int) (string, int, error) {
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

// staTimeOfDay is how time() and time-of-day literals are compared.
const staTimeOfDay = "15:04:05.999999999"

// staLexNumber reads a number or an ISO 8601 time (2026-11-23T08:00:00Z).
func staLexNumber(s string, pos int) (staToken, int, error) {
	n := 1
	for n < len(s) && strings.IndexByte("0123456789.:+-TZeE", s[n]) >= 0 {
		n++
	}
	word := s[:n]
	if f, err := strconv.ParseFloat(word, 64); err == nil {
		return staToken{kind: "num", text: word, v: f, pos: pos}, n, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, word); err == nil {
		return staToken{kind: "time", text: word, v: t, pos: pos}, n, nil
	}
	if t, err := time.Parse("2006-01-02", word); err == nil {
		return staToken{kind: "time", text: word, v: t, pos: pos}, n, nil
	}
	if t, err := time.Parse("15:04:05", word); err == nil { // a time of day, compared as text with time()
		return staToken{kind: "str", text: word, v: t.Format(staTimeOfDay), pos: pos}, n, nil
	}
	return staToken{}, 0, invalid("$filter: %q at position %d is neither a number nor an ISO 8601 time (2026-11-23T08:00:00Z)", word, pos)
}
