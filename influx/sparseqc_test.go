package influx_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
)

// sparseReadings are readings with mixed quality flags: all passing, one
// suspect, one failed (and a missing value flagged 9), none at all
// (stored without quality control), a reading with one field only, a
// field seen only without quality control (o3), and a value whose last
// passing flag is hours older than the value.
func sparseReadings(base time.Time) []kessel.Reading {
	at := func(dev string, min int, v map[string]float64) kessel.Reading {
		return kessel.Reading{Device: dev, Kind: "air_quality", District: "Mitte", Department: "umwelt",
			Time: base.Add(time.Duration(min) * time.Minute), Values: v, Location: &orb.Point{13.4, 52.5}}
	}
	return []kessel.Reading{
		at("aq1", 0, map[string]float64{"pm10": 12, "qc.pm10": 1, "pm25": 7, "qc.pm25": 1, "humidity": 50, "qc.humidity": 1}),
		at("aq1", 1, map[string]float64{"humidity": 51, "qc.humidity": 1}),
		at("aq1", 2, map[string]float64{"pm10": 80, "qc.pm10": 3, "qct.pm10": 4, "pm25": 8, "qc.pm25": 1, "humidity": 52, "qc.humidity": 1}),
		at("aq1", 3, map[string]float64{"pm10": 15, "qc.pm10": 1, "pm25": -5, "qc.pm25": 4, "qct.pm25": 1, "humidity": 53, "qc.humidity": 1, "noise": math.NaN(), "qc.noise": 9}),
		at("aq1", 4, map[string]float64{"pm10": 14, "pm25": 9, "humidity": 54}),
		at("aq2", 0, map[string]float64{"pm10": 20, "qc.pm10": 1, "pm25": 10, "qc.pm25": 1}),
		at("aq2", 1, map[string]float64{"pm10": 22, "qc.pm10": 1, "pm25": 11, "qc.pm25": 2}),
		at("aq3", 0, map[string]float64{"pm10": 30, "qc.pm10": 1, "humidity": 40, "qc.humidity": 1}),
		at("aq3", 1, map[string]float64{"humidity": 41, "qc.humidity": 1}),
		at("aq4", 0, map[string]float64{"o3": 60, "pm10": 5}),
		at("aq4", 1, map[string]float64{"pm10": 6, "qc.pm10": 1}),
		at("aq5", -150, map[string]float64{"pm10": 7, "qc.pm10": 1}),
		at("aq5", -60, map[string]float64{"pm10": 8}),
		at("aq5", 0, map[string]float64{"humidity": 42, "qc.humidity": 1}),
	}
}

// denseLine is r in line protocol as Kessel stored readings before flags
// were stored sparsely: every flag beside its value, no marker.
func denseLine(r kessel.Reading) string {
	var fields []string
	for k, v := range r.Values {
		switch {
		case math.IsNaN(v):
		case strings.HasPrefix(k, kessel.FlagPrefix) || strings.HasPrefix(k, kessel.TestsPrefix):
			fields = append(fields, fmt.Sprintf("%s=%di", k, int64(v)))
		default:
			fields = append(fields, k+"="+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	slices.Sort(fields)
	fields = append(fields, fmt.Sprintf("lat=%g,lon=%g", r.Location[1], r.Location[0]))
	return fmt.Sprintf("%s,department=%s,device=%s,district=%s %s %d\n", r.Kind, r.Department, r.Device, r.District, strings.Join(fields, ","), r.Time.UnixNano())
}

// storedPoints reads the raw points of air_quality in database db with
// InfluxQL: each point's fields that are set.
func storedPoints(t *testing.T, srv *influxtest.Server, db string) []map[string]any {
	t.Helper()
	resp, err := http.PostForm(srv.URL+"/query", url.Values{"db": {db}, "q": {"SELECT * FROM air_quality"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Results []struct {
			Series []struct {
				Columns []string
				Values  [][]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Results) != 1 || len(body.Results[0].Series) != 1 {
		t.Fatalf("raw points: %v %+v", err, body)
	}
	s := body.Results[0].Series[0]
	var out []map[string]any
	for _, row := range s.Values {
		p := map[string]any{}
		for i, c := range s.Columns {
			if row[i] != nil && !slices.Contains([]string{"time", "department", "device", "district"}, c) {
				p[c] = row[i]
			}
		}
		out = append(out, p)
	}
	return out
}

// TestSparseFlagsReadAsDense writes readings with mixed flags through the
// write path (flags stored sparsely) into one database and the same
// readings as they were stored before (every flag stored) into another,
// checks the points stored, and that every read path answers the same
// from both.
func TestSparseFlagsReadAsDense(t *testing.T) {
	srv := influxtest.Start(t)
	ctx := context.Background()
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Hour)
	rs := sparseReadings(base)
	sparse, dense := clientFor(t, srv, "sparse"), clientFor(t, srv, "dense")
	if err := sparse.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for _, r := range rs {
		lines.WriteString(denseLine(r))
	}
	srv.WriteLines(t, "dense", lines.String())

	sp, dp := storedPoints(t, srv, "sparse"), storedPoints(t, srv, "dense")
	nSparse, nDense, marked := 0, 0, 0
	for _, p := range sp {
		nSparse += len(p)
		for k, v := range p {
			if strings.HasPrefix(k, kessel.FlagPrefix) && p[strings.TrimPrefix(k, kessel.FlagPrefix)] != nil && v == 1.0 {
				t.Errorf("stored point holds %s = 1 beside its value: %v", k, p)
			}
		}
		if p["qcpass.rest"] != nil {
			marked++
		}
	}
	for _, p := range dp {
		nDense += len(p)
	}
	if len(sp) != len(rs) || marked != len(rs)-3 { // all but the three readings without quality control
		t.Errorf("%d points stored, %d with the marker: %v", len(sp), marked, sp)
	}
	t.Logf("fields per point: %.2f with every flag stored, %.2f sparse", float64(nDense)/float64(len(dp)), float64(nSparse)/float64(len(sp)))

	to := base.Add(time.Hour)
	hist := func(q kessel.HistoryQuery) func(*influx.Client) (any, error) {
		q.From, q.To = base, to
		return func(c *influx.Client) (any, error) { return c.History(ctx, q) }
	}
	filtered := func(qf kessel.QCFilter) func(*influx.Client) (any, error) {
		return func(c *influx.Client) (any, error) {
			got, err := c.History(ctx, kessel.HistoryQuery{Device: "aq1", From: base, To: to})
			for i := range got {
				got[i].Values = qf.Filter(got[i].Values)
			}
			return got, err
		}
	}
	for _, tc := range []struct {
		name string
		read func(*influx.Client) (any, error)
	}{
		{"history", hist(kessel.HistoryQuery{Device: "aq1"})},
		{"history of one field", hist(kessel.HistoryQuery{Device: "aq1", Fields: []string{"pm10"}})},
		{"history of one field, limited", hist(kessel.HistoryQuery{Device: "aq1", Fields: []string{"pm10"}, Limit: 2})},
		{"history of two fields", hist(kessel.HistoryQuery{Device: "aq3", Fields: []string{"pm10", "pm25"}})},
		{"history of a partial reading's device", hist(kessel.HistoryQuery{Device: "aq3"})},
		{"hourly max of passing values", hist(kessel.HistoryQuery{Device: "aq1", Fields: []string{"pm10"}, Every: time.Hour, Fn: "max"})},
		{"hourly means", hist(kessel.HistoryQuery{Device: "aq1", Every: time.Hour})},
		{"exclude-suspect", filtered(kessel.QCExcludeSuspect)},
		{"exclude-failed", filtered(kessel.QCExcludeFailed)},
		{"flag counts", func(c *influx.Client) (any, error) {
			fc, err := c.FlagCounts(ctx, "aq1", to.Add(-30*24*time.Hour), to, 24*time.Hour)
			slices.SortFunc(fc, func(a, b kessel.FlagCount) int {
				return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.Field, b.Field), cmp.Compare(a.Flag, b.Flag))
			})
			return fc, err
		}},
		{"observations", func(c *influx.Client) (any, error) {
			return c.Observations(ctx, kessel.ObservationQuery{From: base, To: to})
		}},
		{"observations of a field, a page", func(c *influx.Client) (any, error) {
			return c.Observations(ctx, kessel.ObservationQuery{Field: "pm25", From: base, To: to, Offset: 1, Limit: 3})
		}},
		{"latest", func(c *influx.Client) (any, error) { return c.Latest(ctx, base.Add(-3*time.Hour), to) }},
		{"field keys", func(c *influx.Client) (any, error) { return c.FieldKeys(ctx, "air_quality", base, to) }},
		{"district means", func(c *influx.Client) (any, error) {
			return c.DistrictSeries(ctx, "Mitte", "air_quality", "pm25", kessel.HistoryQuery{From: base, To: to, Every: time.Hour, Resolution: "raw"})
		}},
		{"hourly means of devices", func(c *influx.Client) (any, error) {
			return c.HourlyMeans(ctx, []string{"aq1", "aq2", "aq3"}, []string{"pm10", "pm25"}, base, to)
		}},
		{"alert refill", func(c *influx.Client) (any, error) { return c.Recent(ctx, "air_quality", "pm10", base, to, time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := tc.read(dense)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.read(sparse)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.ValueOf(want).Len() == 0 {
				t.Fatalf("nothing read from the readings stored with every flag")
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("sparse flags read back\n%+v\nwant (every flag stored)\n%+v", got, want)
			}
		})
	}
	got, err := sparse.History(ctx, kessel.HistoryQuery{Device: "aq1", From: base, To: to})
	if err != nil || len(got) != 5 {
		t.Fatalf("history: %v %+v", err, got)
	}
	for i, want := range []map[string]float64{{"qc.pm10": 1, "qc.humidity": 1}, {"qc.humidity": 1}, {"qc.pm10": 3, "qc.pm25": 1}, {"qc.pm25": 4, "qc.noise": 9}, {}} {
		for k, v := range want {
			if got[i].Values[k] != v {
				t.Errorf("reading %d: %s = %v, want %v: %v", i, k, got[i].Values[k], v, got[i].Values)
			}
		}
		if _, ok := got[i].Values["qc.pm10"]; i == 4 && ok {
			t.Errorf("reading stored without quality control has a flag: %v", got[i].Values)
		}
	}
}

// TestSparseFlagRefusal writes, past Kessel, a flag of another type, then
// readings whose flags are partly left out: only the readings that carry
// the flag are refused, the passing ones (flag not written) are stored.
func TestSparseFlagRefusal(t *testing.T) {
	srv := influxtest.Start(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	c := clientFor(t, srv, "refused")
	srv.WriteLines(t, "refused", fmt.Sprintf("weird,device=other qc.pm10=\"text\" %d\n", base.UnixNano()))
	var rs []kessel.Reading
	for j, tc := range []struct {
		flag float64
		bad  bool
	}{{1, false}, {3, true}, {1, false}, {4, true}, {2, true}} {
		rs = append(rs, kessel.Reading{Device: fmt.Sprintf("d%d", j), Kind: "weird", Time: base.Add(time.Second),
			Values: map[string]float64{"pm10": float64(j), "qc.pm10": tc.flag}})
	}
	err := c.WriteReadings(ctx, rs)
	var pw *kessel.PartialWriteError
	if !errors.As(err, &pw) {
		t.Fatalf("got %v, want a PartialWriteError", err)
	}
	var got []int
	for j := range pw.Rejected {
		got = append(got, j)
	}
	slices.Sort(got)
	if fmt.Sprint(got) != "[1 3 4]" {
		t.Errorf("refused %v, want [1 3 4] (%v)", got, pw)
	}
	latest, err := c.Latest(ctx, base.Add(-time.Hour), base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, r := range latest {
		if r.Device != "other" {
			stored = append(stored, fmt.Sprintf("%s:%v", r.Device, r.Values["qc.pm10"]))
		}
	}
	if fmt.Sprint(stored) != "[d0:1 d2:1]" {
		t.Errorf("stored %v, want the passing readings with their flags", stored)
	}
}
