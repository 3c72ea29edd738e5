package influx_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
)

// clientFor returns a client of srv writing to its own database db.
func clientFor(t *testing.T, srv *influxtest.Server, db string) *influx.Client {
	t.Helper()
	c, err := influx.New(influx.Options{URL: srv.URL, Bucket: db + "/autogen"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPoisonedPointDoesNotEmptyOthers writes, past Kessel, one point whose
// field is named like a column of the store or a tag, next to two good
// devices, then restores the live state and reads the good devices'
// history: both must be complete, and the poisoned device's own history
// must still answer.
func TestPoisonedPointDoesNotEmptyOthers(t *testing.T) {
	srv := influxtest.Start(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, tc := range []struct{ name, line string }{
		{"_value", `air_quality,device=poison _value=1`},
		{"_start", `air_quality,device=poison _start=1`},
		{"_stop", `air_quality,device=poison _stop=1`},
		{"_time", `air_quality,device=poison _time=1`},
		{"_measurement", `air_quality,device=poison _measurement=1`},
		{"_field", `air_quality,device=poison _field=1`},
		{"result", `air_quality,device=poison result=1`},
		{"table", `air_quality,device=poison table=1`},
		{"device", `air_quality,device=poison device=1`},
		{"district", `air_quality,device=poison,district=x district=2`},
		{"department", `air_quality,device=poison department=1`},
		{"source", `air_quality,device=poison source=1`},
		{"text value", `air_quality,device=poison,source=native pm25="high"`},
		{"kind in Kessel's namespace", `kessel_rules,device=poison doc=1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := fmt.Sprintf("poison%d", i)
			c := clientFor(t, srv, db)
			var rs []kessel.Reading
			for j := range 5 {
				for _, d := range []string{"good-1", "good-2"} {
					rs = append(rs, kessel.Reading{Device: d, Kind: "air_quality", Time: base.Add(time.Duration(j) * time.Minute), Values: map[string]float64{"pm10": float64(j)}, Source: "native"})
				}
			}
			if err := c.WriteReadings(ctx, rs); err != nil {
				t.Fatal(err)
			}
			srv.WriteLines(t, db, fmt.Sprintf("%s %d\n", tc.line, base.Add(10*time.Minute).UnixNano()))

			latest, err := c.Latest(ctx, base.Add(-time.Hour), base.Add(time.Hour))
			if err != nil {
				t.Fatalf("latest: %v", err)
			}
			got := map[string]float64{}
			for _, r := range latest {
				if r.Device != "poison" {
					got[r.Device] = r.Values["pm10"]
				}
			}
			if len(got) != 2 || got["good-1"] != 4 || got["good-2"] != 4 {
				t.Errorf("latest of the good devices = %v (all: %+v)", got, latest)
			}
			for _, d := range []string{"good-1", "good-2"} {
				h, err := c.History(ctx, kessel.HistoryQuery{Device: d, From: base.Add(-time.Hour), To: base.Add(time.Hour)})
				if err != nil || len(h) != 5 {
					t.Errorf("history of %s: %d readings, %v", d, len(h), err)
				}
			}
			if _, err := c.History(ctx, kessel.HistoryQuery{Device: "poison", From: base.Add(-time.Hour), To: base.Add(time.Hour)}); err != nil {
				t.Errorf("history of the poisoned device: %v", err)
			}
		})
	}
}

// TestTagValuesThatNeedEscaping writes readings whose department holds
// what line protocol must escape (or cannot carry) to a real influxd:
// each write must succeed and the reading be read back.
func TestTagValuesThatNeedEscaping(t *testing.T) {
	srv := influxtest.Start(t)
	c := clientFor(t, srv, "escape")
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, tc := range []struct{ name, department, want string }{
		{"trailing backslash", `Tiefbau\`, "Tiefbau＼"},
		{"backslash before comma", `a\,b`, "a＼,b"},
		{"backslash before space", `a\ b`, "a＼ b"},
		{"inner backslash", `a\b`, `a\b`},
		{"comma, equals and space", "a,b=c d", "a,b=c d"},
		{"newline", "a\nb", `a\nb`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			device := fmt.Sprintf("esc-%d", i)
			r := kessel.Reading{Device: device, Kind: "air_quality", Time: base, Values: map[string]float64{"pm10": 1}, Department: tc.department}
			if err := c.WriteReadings(ctx, []kessel.Reading{r}); err != nil {
				t.Fatalf("write: %v", err)
			}
			h, err := c.History(ctx, kessel.HistoryQuery{Device: device, From: base.Add(-time.Minute), To: base.Add(time.Minute)})
			if err != nil || len(h) != 1 {
				t.Fatalf("history: %+v, %v", h, err)
			}
			if h[0].Department != tc.want {
				t.Errorf("department read back as %q, want %q", h[0].Department, tc.want)
			}
		})
	}
}

// TestWriteNamesRefusedReadings sends batches in which the server refuses
// some readings: the answer must name exactly those, and every other
// reading must be stored.
func TestWriteNamesRefusedReadings(t *testing.T) {
	srv := influxtest.Start(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, tc := range []struct {
		name   string
		poison string // written past Kessel first
		bad    kessel.Reading
	}{
		{"field type conflict", `weird,device=other pm10="text"`, kessel.Reading{Device: "bad", Kind: "weird", Values: map[string]float64{"pm10": 1}}},
		{"field named time", "", kessel.Reading{Device: "bad", Kind: "air_quality", Values: map[string]float64{"time": 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := fmt.Sprintf("refused%d", i)
			c := clientFor(t, srv, db)
			if tc.poison != "" {
				srv.WriteLines(t, db, fmt.Sprintf("%s %d\n", tc.poison, base.UnixNano()))
			}
			var rs []kessel.Reading
			var wantBad []int
			for j := range 20 {
				r := kessel.Reading{Device: fmt.Sprintf("good-%d", j), Kind: "air_quality", Time: base.Add(time.Second), Values: map[string]float64{"pm10": float64(j)}}
				if j%7 == 3 {
					r = tc.bad
					r.Time = base.Add(time.Duration(j) * time.Second)
					wantBad = append(wantBad, j)
				}
				rs = append(rs, r)
			}
			err := c.WriteReadings(ctx, rs)
			var pw *kessel.PartialWriteError
			if !errors.As(err, &pw) || kessel.ErrorCode(err) != kessel.EINVALID {
				t.Fatalf("got %v, want a PartialWriteError", err)
			}
			var gotBad []int
			for j := range pw.Rejected {
				gotBad = append(gotBad, j)
			}
			sort.Ints(gotBad)
			if fmt.Sprint(gotBad) != fmt.Sprint(wantBad) {
				t.Errorf("refused %v, want %v (%v)", gotBad, wantBad, pw)
			}
			latest, err := c.Latest(ctx, base.Add(-time.Hour), base.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			stored := 0
			for _, r := range latest {
				if r.Device != "bad" && r.Device != "other" {
					stored++
				}
			}
			if stored != len(rs)-len(wantBad) {
				t.Errorf("%d good devices stored, want %d", stored, len(rs)-len(wantBad))
			}
		})
	}
}
