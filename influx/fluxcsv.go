package influx

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/kessel-city/kessel"
)

// csvRow is one data row of a Flux query's annotated CSV answer, valid
// until the next row is read. Columns are looked up by name once per
// table (col), then read by index.
type csvRow struct {
	cols   map[string]int // of the table's header
	rec    []string
	table  int  // the table column's value
	header bool // this row is the first after a new header
}

// col returns the index of the named column in the current table, or -1.
func (r *csvRow) col(name string) int {
	if i, ok := r.cols[name]; ok {
		return i
	}
	return -1
}

// str returns the cell at index i ("" for -1).
func (r *csvRow) str(i int) string {
	if i < 0 || i >= len(r.rec) {
		return ""
	}
	return r.rec[i]
}

// float returns the cell at index i as a number.
func (r *csvRow) float(i int) (float64, bool) {
	v, err := strconv.ParseFloat(r.str(i), 64)
	return v, err == nil
}

// time returns the cell at index i as an RFC 3339 time in Unix nanoseconds.
func (r *csvRow) time(i int) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, r.str(i))
	return t.UnixNano(), err == nil
}

// eachCSVRow runs flux and calls fn for each data row as InfluxDB sends
// it. It reads the CSV itself, a row at a time, instead of through the
// client library's records, which build a map of parsed values for
// every row: for a year of a device's hourly rollups (87,600 rows) that
// was 60 of 120 ms. An error from fn stops the query and is returned
// as it is; a failed query returns an error wrapping EUNAVAILABLE.
func (c *Client) eachCSVRow(ctx context.Context, flux string, fn func(*csvRow) error) error {
	body, err := json.Marshal(map[string]any{"query": flux, "type": "flux", "dialect": map[string]any{
		"annotations": []string{"datatype", "group", "default"}, "delimiter": ",", "header": true}})
	if err != nil {
		return fmt.Errorf("influx: query: %w", err)
	}
	var fnErr error
	u := c.client.HTTPService().ServerAPIURL() + "query?org=" + url.QueryEscape(c.opts.Org)
	herr := c.client.HTTPService().DoPostRequest(ctx, u, bytes.NewReader(body), func(req *http.Request) {
		req.Header.Set("Content-Type", "application/json")
	}, func(resp *http.Response) error {
		defer resp.Body.Close()
		fnErr = readCSV(resp.Body, fn)
		return nil
	})
	if herr != nil {
		return queryFailed(herr)
	}
	var qe *queryError
	if errors.As(fnErr, &qe) {
		return queryFailed(fnErr)
	}
	return fnErr
}

// queryError is an error InfluxDB reported in the CSV answer, or a
// malformed answer.
type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

// readCSV parses an annotated CSV answer: annotation rows (#…), a header
// row per table schema, data rows, and the error table a query that
// failed midway sends.
func readCSV(r io.Reader, fn func(*csvRow) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	row := csvRow{cols: map[string]int{}}
	expectHeader, tableCol, errCol := false, -1, -1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &queryError{"reading the answer: " + err.Error()}
		}
		switch {
		case len(rec) == 0 || len(rec) == 1 && rec[0] == "":
			continue // between tables
		case rec[0] != "" && rec[0][0] == '#':
			expectHeader = true
			continue
		case expectHeader:
			expectHeader = false
			clear(row.cols)
			for i, name := range rec {
				row.cols[name] = i
			}
			tableCol, errCol, row.header, row.table = row.col("table"), row.col("error"), true, -1
			continue
		}
		row.rec = rec
		if errCol >= 0 {
			return &queryError{"InfluxDB: " + row.str(errCol)}
		}
		if t, err := strconv.Atoi(row.str(tableCol)); err == nil && t != row.table {
			row.table, row.header = t, true
		}
		if err := fn(&row); err != nil {
			return err
		}
		row.header = false
	}
}

// queryFailed wraps an error of InfluxDB's answer as EUNAVAILABLE.
func queryFailed(err error) error {
	return fmt.Errorf("%w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
}
