package influx

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

const csvHead = "#datatype,string,long,dateTime:RFC3339,double,string,string\n#group,false,false,false,false,true,true\n#default,_result,,,,,\n,result,table,_time,_value,_field,district\n"

// TestReadCSV: annotated CSV as InfluxDB answers, a row at a time, with
// each table's first row marked; a new schema block re-reads the header;
// the error table of a query that failed midway and a malformed answer
// are errors of the query.
func TestReadCSV(t *testing.T) {
	tests := []struct {
		name, csv string
		want      string // rows as table/field/value, "|" a new table
		err       string
	}{
		{"two tables", csvHead + ",,0,2026-01-01T00:00:00Z,1.5,a_count,M\n,,0,2026-01-01T01:00:00Z,2,a_count,M\n,,1,2026-01-01T00:00:00Z,3,a_mean,M\n", "|0/a_count/1.5 0/a_count/2 |1/a_mean/3 ", ""},
		{"new schema", csvHead + ",,0,2026-01-01T00:00:00Z,1,a_count,M\n\n#datatype,string,long,dateTime:RFC3339,double,string\n#group,false,false,false,false,true\n#default,_result,,,,\n,result,table,_time,_value,_field\n,,1,2026-01-01T00:00:00Z,4,b_count\n", "|0/a_count/1 |1/b_count/4 ", ""},
		{"empty", "", "", ""},
		{"error table", csvHead + ",,0,2026-01-01T00:00:00Z,1,a_count,M\n\n#datatype,string,string\n#group,true,true\n#default,,\n,error,reference\n,panic: out of memory,\n", "|0/a_count/1 ", "InfluxDB: panic: out of memory"},
		{"malformed", csvHead + ",,0,\"2026-01-01T00:00:00Z,1,a_count\n", "", "reading the answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got strings.Builder
			err := readCSV(strings.NewReader(tt.csv), func(r *csvRow) error {
				if r.header {
					got.WriteString("|")
				}
				got.WriteString(r.str(r.col("table")) + "/" + r.str(r.col("_field")) + "/" + r.str(r.col("_value")) + " ")
				return nil
			})
			var qe *queryError
			switch {
			case tt.err == "" && err != nil, tt.err != "" && (!errors.As(err, &qe) || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("err = %v, want %q", err, tt.err)
			case got.String() != tt.want:
				t.Errorf("rows %q, want %q", got.String(), tt.want)
			}
		})
	}
}

// TestRollupPairer: each stats row is paired with the count of its own
// series (tag set), field and window, count 0 adds nothing, and a stats
// table before its count is errUnpaired (the caller then joins them the
// slow way).
func TestRollupPairer(t *testing.T) {
	sorted := csvHead +
		",,0,2026-01-01T00:00:00Z,2,pm10_count,M\n,,0,2026-01-01T01:00:00Z,0,pm10_count,M\n" +
		",,1,2026-01-01T00:00:00Z,10,pm10_mean,M\n" +
		",,2,2026-01-01T00:00:00Z,3,pm10_count,N\n,,3,2026-01-01T00:00:00Z,20,pm10_mean,N\n"
	tests := []struct {
		name, csv, fn, want string
		err                 error
	}{
		{"mean of two series", sorted, "mean", "00:00 pm10 = 16 (n 5)", nil},
		{"count", sorted, "count", "00:00 pm10 = 5 (n 5)", nil},
		{"stats before count", csvHead + ",,0,2026-01-01T00:00:00Z,10,pm10_mean,M\n,,1,2026-01-01T00:00:00Z,2,pm10_count,M\n", "mean", "", errUnpaired},
		{"stats of a window without count", csvHead + ",,0,2026-01-01T00:00:00Z,2,pm10_count,M\n,,1,2026-01-01T02:00:00Z,10,pm10_mean,M\n", "mean", "", errUnpaired},
		{"count of another series", csvHead + ",,0,2026-01-01T00:00:00Z,2,pm10_count,M\n,,1,2026-01-01T00:00:00Z,10,pm10_mean,N\n", "mean", "", errUnpaired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := windowSet{every: 1 << 62, accs: map[int64]map[string]*rollupAcc{}}
			p := newRollupPairer(tt.fn, ws.add)
			err := readCSV(strings.NewReader(tt.csv), p.row)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			var got strings.Builder
			for _, r := range ws.readings(tt.fn) {
				for f, v := range r.Values {
					got.WriteString(r.Time.Format("15:04") + " " + f + " = " + strconvG(v))
				}
				for _, a := range ws.accs {
					got.WriteString(" (n " + strconvG(float64(a["pm10"].n)) + ")")
				}
			}
			if got.String() != tt.want {
				t.Errorf("got %q, want %q", got.String(), tt.want)
			}
		})
	}
}

func strconvG(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// TestRollupWindowsFallBack: when InfluxDB's answer has a stats table
// before its count (a fault injected here: InfluxDB sends series in key
// order), the windows are read again joined by series and time, and
// come out right.
func TestRollupWindowsFallBack(t *testing.T) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Query string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		queries = append(queries, body.Query)
		w.Header().Set("Content-Type", "text/csv")
		if strings.Contains(body.Query, "group(") { // the joined reading: a table per series
			io.WriteString(w, "#datatype,string,long,dateTime:RFC3339,double,string,string,string,string,string\n#group,false,false,false,false,false,true,true,true,true\n#default,_result,,,,,,,,\n,result,table,_time,_value,_field,_measurement,department,device,district\n"+
				",,0,2026-01-01T00:00:00Z,10,pm10_mean,air,env,a,M\n,,0,2026-01-01T00:00:00Z,2,pm10_count,air,env,a,M\n")
			return
		}
		io.WriteString(w, csvHead+",,0,2026-01-01T00:00:00Z,10,pm10_mean,M\n,,1,2026-01-01T00:00:00Z,2,pm10_count,M\n")
	}))
	defer srv.Close()
	c, err := New(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rs, err := c.rollupWindows(context.Background(), kessel.RollupQuery{Resolution: kessel.ResolutionHour, From: from, To: from.Add(time.Hour), Device: "a"}, time.Hour, "sum")
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) != 2 || len(rs) != 1 || rs[0].Values["pm10"] != 20 || !rs[0].Time.Equal(from) {
		t.Errorf("%d queries, windows %+v; want 2 queries and pm10 sum 20 at %s", len(queries), rs, from)
	}
}
