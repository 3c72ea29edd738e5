package api

import (
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/kessel-city/kessel"
)

// staSample is the entity the filter tests evaluate against.
var staSample = map[string]any{
	"name":           "air-1",
	"result":         42.5,
	"phenomenonTime": time.Date(2026, 11, 23, 7, 5, 30, 0, time.UTC),
	"resultTime":     nil,
	"location":       geojson.NewGeometry(orb.Point{9.18, 48.78}),
	"properties":     map[string]any{"kind": "air_quality", "district": "Mitte"},
	"ok":             true,
}

func staSampleGet(path []string) (any, error) {
	if path[0] == "$now" {
		return time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), nil
	}
	v, ok := staSample[path[0]]
	if !ok {
		return nil, invalid("no property %s", strings.Join(path, "/"))
	}
	for _, k := range path[1:] {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v, nil
}

// TestSTAFilterEval follows OGC 18-088 Table 24 (built-in operators) and
// Table 25 (built-in query functions), evaluating against staSample.
func TestSTAFilterEval(t *testing.T) {
	cases := []struct {
		filter string
		want   bool
	}{
		{"result eq 42.5", true},
		{"result ne 42.5", false},
		{"result gt 42", true},
		{"result ge 42.5", true},
		{"result lt 42.5", false},
		{"result le 42.5", true},
		{"result gt 40 and result lt 50", true},
		{"result gt 50 or name eq 'air-1'", true},
		{"not (result gt 50)", true},
		{"not result gt 40", false}, // not binds tighter than gt: (not result) gt 40 is a type mismatch
		{"result add 7.5 eq 50", true},
		{"result sub 2.5 eq 40 and result mul 2 eq 85 and result div 2 eq 21.25 and result mod 10 eq 2.5", true},
		{"-result lt 0", true},
		{"name eq 'air-1'", true},
		{"name eq 'it''s'", false},
		{"properties/kind eq 'air_quality'", true},
		{"properties/missing eq null", true},
		{"resultTime eq null", true},
		{"resultTime ne null", false},
		{"result eq null", false},
		{"name gt 5", false}, // different types never compare
		{"phenomenonTime gt 2026-11-23T07:00:00Z", true},
		{"phenomenonTime lt 2026-11-23T08:00:00+01:00", false},
		{"phenomenonTime ge 2026-11-23", true},
		{"phenomenonTime eq '2026-11-23T07:05:30Z'", true},
		{"year(phenomenonTime) eq 2026 and month(phenomenonTime) eq 11 and day(phenomenonTime) eq 23", true},
		{"hour(phenomenonTime) eq 7 and minute(phenomenonTime) eq 5 and second(phenomenonTime) eq 30", true},
		{"substringof('ir', name)", true},
		{"startswith(name, 'air') and endswith(name, '-1')", true},
		{"length(name) eq 5 and indexof(name, 'r') eq 2", true},
		{"tolower('AIR-1') eq name and toupper(name) eq 'AIR-1' and trim(' x ') eq 'x' and concat(name, 'x') eq 'air-1x'", true},
		{"round(result) eq 43 and floor(result) eq 42 and ceiling(result) eq 43", true},
		{"geo.distance(location, geography'POINT(9.18 48.78)') eq 0", true},
		{"geo.distance(location, geography'POINT(9.18 48.789)') gt 990 and geo.distance(location, geography'POINT(9.18 48.789)') lt 1010", true},
		{"st_within(location, geography'POLYGON((9.17 48.77, 9.19 48.77, 9.19 48.79, 9.17 48.79, 9.17 48.77))')", true},
		{"st_within(location, geography'POLYGON((9.19 48.77, 9.23 48.77, 9.23 48.79, 9.19 48.79, 9.19 48.77))')", false},
		{"geo.intersects(geography'POLYGON((9.17 48.77, 9.19 48.77, 9.19 48.79, 9.17 48.79, 9.17 48.77))', location)", true},
		{"st_contains(geography'POLYGON((9.17 48.77, 9.19 48.77, 9.19 48.79, 9.17 48.79, 9.17 48.77))', location)", true},
		{"geo.length(geography'LINESTRING(9.18 48.78, 9.18 48.789)') gt 990", true},
		{"geo.intersects(location, geography'SRID=4326;POINT(9.18 48.78)')", true},
		{"ok eq true and ok ne false", true},
		{"((result gt 1))", true},
		{"substring(name, 1) eq 'ir-1' and substring(name, 1, 2) eq 'ir' and substring(name, 9) eq ''", true},
		{"date(phenomenonTime) eq 2026-11-23 and time(phenomenonTime) eq 07:05:30 and time(phenomenonTime) lt 07:05:31", true},
		{"fractionalseconds(2026-11-23T07:05:30.25Z) eq 0.25 and totaloffsetminutes(2026-11-23T07:05:30+01:30) eq 90", true},
		{"phenomenonTime gt mindatetime() and phenomenonTime lt maxdatetime() and phenomenonTime lt now()", true},
		{"st_equals(location, geography'POINT(9.18 48.78)') and not st_disjoint(location, geography'POINT(9.18 48.78)')", true},
		{"st_disjoint(location, geography'POLYGON((9.19 48.77, 9.23 48.77, 9.23 48.79, 9.19 48.79, 9.19 48.77))')", true},
	}
	for _, tc := range cases {
		t.Run(tc.filter, func(t *testing.T) {
			e, err := parseSTAFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			got, err := evalSTAFilter(e, staSampleGet)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s = %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
}

// TestSTAFilterErrors: every malformed $filter is EINVALID with a message
// that points at the problem.
func TestSTAFilterErrors(t *testing.T) {
	cases := []struct{ filter, says string }{
		{"", "ends where a value was expected"},
		{"name eq", "ends where a value was expected"},
		{"name eq 'open", "no closing quote"},
		{"(name eq 'x'", "expected )"},
		{"name eq 'x')", "unexpected \")\""},
		{"name eq eq", "operator \"eq\""},
		{"frobnicate(name)", "unknown function \"frobnicate\""},
		{"startswith(name)", "takes 2 arguments, got 1"},
		{"name eq 2026-13-45T00:00:00Z", "neither a number nor an ISO 8601 time"},
		{"name eq #", "unexpected character"},
		{"geo.intersects(location, geography'CIRCLE(1 2)')", "not served"},
		{"geo.intersects(location, geography'POLYGON((1 2, 3 4))')", "at least 4"},
		{"geo.intersects(location, geography'POINT(200 2)')", "one lon lat pair"},
		{"st_touches(location, location)", "not served"},
		{"substring(name)", "takes 2 arguments, got 1"},
		{strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), "nests deeper"},
		{strings.Repeat("not ", 100) + "true", "nests deeper"},
		{strings.Repeat("x", staMaxFilter+1), "longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.filter[:min(len(tc.filter), 40)], func(t *testing.T) {
			_, err := parseSTAFilter(tc.filter)
			if kessel.ErrorCode(err) != kessel.EINVALID || !strings.Contains(kessel.ErrorMessage(err), tc.says) {
				t.Errorf("error %v, want EINVALID saying %q", err, tc.says)
			}
		})
	}
}

// TestSTAFilterBounds: the phenomenonTime window taken to the store.
func TestSTAFilterBounds(t *testing.T) {
	t7 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	t8 := t7.Add(time.Hour)
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	y26, y27 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		filter   string
		from, to time.Time
		exact    bool // the store's window is the whole filter (limit and offset go to the store)
	}{
		{"phenomenonTime ge 2026-11-23T07:00:00Z and phenomenonTime lt 2026-11-23T08:00:00Z", t7, t8, true},
		{"phenomenonTime gt 2026-11-23T07:00:00Z and result gt 3", t7.Add(time.Nanosecond), time.Time{}, false},
		{"2026-11-23T08:00:00Z gt phenomenonTime", time.Time{}, t8, true},
		{"date(phenomenonTime) eq 2026-11-23", day, day.AddDate(0, 0, 1), true},
		{"year(phenomenonTime) eq 2026 and phenomenonTime lt 2026-11-23T08:00:00Z", y26, t8, true},
		{"year(phenomenonTime) gt 2025 and year(phenomenonTime) le 2026", y26, y27, true},
		{"date(phenomenonTime) lt 2026-11-23", time.Time{}, day, true},
		{"date(phenomenonTime) eq 2026-11-23T07:00:00Z", time.Time{}, time.Time{}, false}, // never true: no window
		{"hour(phenomenonTime) eq 7", time.Time{}, time.Time{}, false},
		{"phenomenonTime le 2026-11-23T07:00:00Z", time.Time{}, t7.Add(time.Nanosecond), true},
		{"phenomenonTime eq 2026-11-23T07:00:00Z", t7, t7.Add(time.Nanosecond), true},
		{"phenomenonTime gt 2026-11-23T07:00:00Z or result gt 3", time.Time{}, time.Time{}, false}, // or: no bound is safe
		{"not (phenomenonTime gt 2026-11-23T07:00:00Z)", time.Time{}, time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.filter, func(t *testing.T) {
			e, err := parseSTAFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if from, to := staTimeBounds(e, "phenomenonTime"); !from.Equal(tc.from) || !to.Equal(tc.to) {
				t.Errorf("bounds %v..%v, want %v..%v", from, to, tc.from, tc.to)
			}
			if got := staTimeOnly(e); got != tc.exact {
				t.Errorf("exact %v, want %v", got, tc.exact)
			}
		})
	}
}

// FuzzSTAFilter parses and evaluates any $filter: no panic, every error
// EINVALID. Seeds: the cases above plus testdata/fuzz/FuzzSTAFilter.
func FuzzSTAFilter(f *testing.F) {
	f.Add("result gt 40 and (name eq 'a''b' or not ok)")
	f.Add("geo.distance(location, geography'POINT(9.18 48.78)') lt 100")
	f.Add("year(phenomenonTime) eq 2026 and phenomenonTime ge 2026-11-23T07:00:00.5+01:00")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseSTAFilter(s)
		if err != nil {
			if kessel.ErrorCode(err) != kessel.EINVALID {
				t.Fatalf("%q: %v is not EINVALID", s, err)
			}
			return
		}
		if _, err := evalSTAFilter(e, staSampleGet); err != nil && kessel.ErrorCode(err) != kessel.EINVALID {
			t.Fatalf("%q: eval %v is not EINVALID", s, err)
		}
		staTimeBounds(e, "phenomenonTime")
	})
}
