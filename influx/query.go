package influx

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// tag and bookkeeping columns of a pivoted Flux table, which are not values.
var reservedColumns = map[string]bool{
	"result": true, "table": true, "_start": true, "_stop": true, "_time": true,
	"_measurement": true, "device": true, "district": true, "department": true, "source": true, "correction": true,
}

// readingsFilter is a Flux filter that keeps the points of readings: not
// Kessel's own records (kessel.ReservedPrefix), with a device tag, and
// only fields a reading may have: measured values, the link data
// ("link.<name>"; see kessel.SplitAnnotation) and the quality annotations
// of values (qc., qct., cor.; see kessel.FlagPrefix) with the marker of
// sparse flags (qcMarker). A point written past Kessel
// with a field named like a column of the pivoted table (_value, result,
// device, …) would otherwise make every query that pivots it fail: one
// device's bad data must never empty another's history or live state.
var readingsFilter = fieldsFilter(`^([a-z0-9][a-z0-9_]{0,63}|` + kessel.LinkNamespace + `\.[a-z0-9_]{1,64}|(qc|qct|cor)\.[a-z0-9][a-z0-9_]{0,63}|` + qcMarkerNS + `\.rest)$`)

// valuesFilter is readingsFilter for the measured values alone, without
// any annotation: what aggregates (means, sums, …) are taken of.
var valuesFilter = fieldsFilter(`^[a-z0-9][a-z0-9_]{0,63}$`)

func fieldsFilter(fieldRE string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  |> filter(fn: (r) => r._measurement !~ /^(%s|_)/ and exists r.device and r._field =~ /%s/", kessel.ReservedPrefix, fieldRE)
	for _, c := range append([]string{"result", "table", "time"}, kessel.TagKeys...) {
		fmt.Fprintf(&b, " and r._field != %q", c)
	}
	b.WriteString(")\n")
	return b.String()
}

// History returns the device's readings in [From, To), oldest first, one
// Reading per timestamp; with Every, one per window, labelled with the
// window's start. Windows are served from the hourly or daily rollups where
// they can be (see Resolve) and from raw readings otherwise. It returns
// EINVALID for a bad query, EGONE for raw readings older than the raw
// retention and EUNAVAILABLE when InfluxDB cannot answer.
func (c *Client) History(ctx context.Context, q kessel.HistoryQuery) ([]kessel.Reading, error) {
	var out []kessel.Reading
	err := c.eachHistory(ctx, q, func(r kessel.Reading) error {
		out = append(out, r)
		if q.Limit > 0 && len(out) >= q.Limit {
			return errLimit
		}
		return nil
	})
	if errors.Is(err, errLimit) {
		err = nil
	}
	return out, err
}

// StreamHistory calls fn for each reading of History's result as InfluxDB
// sends it, holding none of them: for exports of any length. q.Limit is
// ignored. An error from fn stops the query and is returned.
func (c *Client) StreamHistory(ctx context.Context, q kessel.HistoryQuery, fn func(kessel.Reading) error) error {
	q.Limit = 0
	return c.eachHistory(ctx, q, fn)
}

func (c *Client) historyFlux(q kessel.HistoryQuery) (string, error) {
	if !kessel.ValidDeviceID(q.Device) {
		return "", kessel.Errorf(kessel.EINVALID, "invalid device id %q", q.Device)
	}
	if !q.From.Before(q.To) {
		return "", kessel.Errorf(kessel.EINVALID, "from must be before to")
	}
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", q.From.UTC().Format(time.RFC3339Nano), q.To.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r.device == %s)\n", strconv.Quote(q.Device))
	if q.Every > 0 && len(q.Fields) != 1 {
		f.WriteString(valuesFilter) // never an aggregate of link data
	} else { // (one field's aggregate: the field and its flag, below)
		f.WriteString(readingsFilter)
	}
	var rowConds []string // of a raw row: holds one of the fields asked for
	if len(q.Fields) > 0 {
		conds := make([]string, 0, len(q.Fields))
		for _, name := range q.Fields {
			if !kessel.ValidFieldName(name) {
				return "", kessel.Errorf(kessel.EINVALID, "invalid field name %q", name)
			}
			conds = append(conds, "r._field == "+strconv.Quote(name))
			switch {
			case q.Every == 0: // a raw value comes with its quality flag and corrected value
				rowConds = append(rowConds, "exists r["+strconv.Quote(name)+"]")
				for _, p := range annotationPrefixes {
					conds = append(conds, "r._field == "+strconv.Quote(p+name))
					rowConds = append(rowConds, "exists r["+strconv.Quote(p+name)+"]")
				}
			case len(q.Fields) == 1: // one field's aggregates: of its passing values
				conds = append(conds, "r._field == "+strconv.Quote(kessel.FlagPrefix+name))
			}
		}
		if q.Every == 0 { // and the marker of sparse flags, to put the passing flags back
			conds = append(conds, "r._field == "+strconv.Quote(qcMarker))
		}
		fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", strings.Join(conds, " or "))
	}
	if q.Every > 0 {
		// Aggregates are of measured values only, not of flags; of one
		// field, of its values that pass quality control.
		if len(q.Fields) == 1 {
			f.WriteString(passingOnly(q.Fields[0]))
		}
		f.WriteString("  |> filter(fn: (r) => r._field !~ /[.]/)\n")
		fn := q.Fn
		if fn == "" {
			fn = "mean"
		}
		if !kessel.ValidAggregate(fn) {
			return "", kessel.Errorf(kessel.EINVALID, "unknown aggregate fn %q; use one of %s", fn, strings.Join(kessel.Aggregates, ", "))
		}
		// Merge series that differ only in tags (a device that changed district) before aggregating.
		fmt.Fprintf(&f, "  |> group(columns: [\"_field\"])\n")
		// Each row is labelled with its window's start (a day's row with that day's date).
		// No toFloat(): the rows are read as numbers of either type, and
		// on 1.8 its map() took 70 of a 1-hour head's 85 ms.
		fmt.Fprintf(&f, "  |> aggregateWindow(every: %s, fn: %s, timeSrc: \"_start\", createEmpty: false)\n", fluxDuration(q.Every), fn)
	}
	f.WriteString("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n")
	if len(rowConds) > 0 { // not the marker of a point without the fields asked for
		fmt.Fprintf(&f, "  |> filter(fn: (r) => %s)\n", strings.Join(rowConds, " or "))
	}
	f.WriteString("  |> group()\n  |> sort(columns: [\"_time\"])\n")
	if q.Limit > 0 {
		fmt.Fprintf(&f, "  |> limit(n: %d)\n", q.Limit)
	}
	return f.String(), nil
}

func (c *Client) readings(ctx context.Context, flux, what string) ([]kessel.Reading, error) {
	var out []kessel.Reading
	err := c.eachReading(ctx, flux, what, func(r kessel.Reading) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

func (c *Client) eachReading(ctx context.Context, flux, what string, fn func(kessel.Reading) error) error {
	return c.eachRow(ctx, flux, what, func(r kessel.Reading, marked, alone bool) error {
		if alone {
			return nil // the marker of a point whose fields were not asked for
		}
		if marked {
			expandFlags(r.Values)
		}
		return fn(r)
	})
}

// DistrictSeries aggregates one field of one kind over every device in a
// district into windows of q.Every with q.Fn (mean, min, max, sum, count,
// last), oldest first, from the rollups where they serve (see Resolve;
// q.Resolution overrides) and raw readings otherwise. q.Device and
// q.Fields are ignored.
func (c *Client) DistrictSeries(ctx context.Context, district, kind, field string, q kessel.HistoryQuery) ([]kessel.Reading, error) {
	from, to, every, fn := q.From, q.To, q.Every, fnOr(q.Fn)
	switch {
	case kessel.ValidateKind(kind) != nil || kind == "" || !kessel.ValidFieldName(field):
		return nil, kessel.Errorf(kessel.EINVALID, "kind and field must be names such as air_quality and pm10")
	case !kessel.ValidAggregate(fn):
		return nil, kessel.Errorf(kessel.EINVALID, "unknown aggregate fn %q", fn)
	case !from.Before(to) || every <= 0:
		return nil, kessel.Errorf(kessel.EINVALID, "from must be before to, and every positive")
	}
	q.Device, q.Fields = "", []string{field}
	p, err := c.plan(ctx, q)
	if err != nil {
		return nil, err
	}
	out, err := c.districtRollups(ctx, p, district, kind, field, q)
	if err != nil || !p.raws() {
		return out, err
	}
	from, to = p.rawFrom, p.rawTo
	where := fmt.Sprintf("r._measurement == %s and r.district == %s", strconv.Quote(kind), strconv.Quote(district))
	flagged, err := c.anyFlagged(ctx, where, from, to, field)
	if err != nil {
		return nil, err
	}
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	if flagged { // values to leave out: pair each value with its flag (costly)
		fmt.Fprintf(&f, "  |> filter(fn: (r) => %s and (r._field == %s or r._field == %s))\n", where, strconv.Quote(field), strconv.Quote("qc."+field))
		f.WriteString(passingOnly(field))
	} else {
		fmt.Fprintf(&f, "  |> filter(fn: (r) => %s and r._field == %s)\n", where, strconv.Quote(field))
	}
	f.WriteString("  |> group(columns: [\"_field\"])\n")
	fmt.Fprintf(&f, "  |> aggregateWindow(every: %s, fn: %s, timeSrc: \"_start\", createEmpty: false)\n", fluxDuration(every), fn) // no toFloat(), as in historyFlux
	f.WriteString("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n  |> group()\n  |> sort(columns: [\"_time\"])\n")
	raw, err := c.readings(ctx, f.String(), "district series")
	for i := range raw { // a window from cuts into is labelled with its start too
		raw[i].Time = floorTo(raw[i].Time, every)
	}
	return append(out, raw...), err
}

// anyFlagged reports whether any value of the fields in the points where
// selects (a Flux predicate over r) in [from, to) is flagged suspect or
// worse: only then must the values be paired with their flags.
func (c *Client) anyFlagged(ctx context.Context, where string, from, to time.Time, fields ...string) (bool, error) {
	fs := make([]string, len(fields))
	for i, field := range fields {
		fs[i] = "r._field == " + strconv.Quote(kessel.FlagPrefix+field)
	}
	flux := fmt.Sprintf("from(bucket: %s)\n  |> range(start: %s, stop: %s)\n  |> filter(fn: (r) => (%s) and (%s))\n  |> filter(fn: (r) => r._value > 2)\n  |> group()\n  |> limit(n: 1)\n",
		strconv.Quote(c.opts.Bucket), from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano), where, strings.Join(fs, " or "))
	res, err := c.query.Query(ctx, flux)
	if err != nil {
		return false, fmt.Errorf("influx: flags: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	found := res.Next()
	if err := res.Err(); err != nil {
		return false, fmt.Errorf("influx: flags: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return found, nil
}

// annotationPrefixes start the annotation fields stored beside a value:
// its quality flag, the tests behind it and its corrected value.
var annotationPrefixes = []string{"qc.", "qct.", "cor."}

// passingOnly is Flux that keeps, of rows of field and its flag "qc.field",
// the values of field whose flag passes (1 or 2) or that have none
// (stored before quality control), as rows of _field and _value again.
func passingOnly(field string) string {
	fq, qq := strconv.Quote(field), strconv.Quote("qc."+field)
	return "  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n" +
		fmt.Sprintf("  |> filter(fn: (r) => exists r[%s] and (not exists r[%s] or r[%s] <= 2))\n", fq, qq, qq) +
		fmt.Sprintf("  |> map(fn: (r) => ({r with _field: %s, _value: float(v: r[%s])}))\n", fq, fq) +
		fmt.Sprintf("  |> drop(fn: (column) => column == %s or column == %s)\n", fq, qq)
}

// fluxDuration renders d as a Flux duration literal such as 1h30m or 90s.
func fluxDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

// DeadLetters returns dead letters in [From, To), newest first.
func (c *Client) DeadLetters(ctx context.Context, q kessel.DeadLetterQuery) ([]kessel.DeadLetter, error) {
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", q.From.UTC().Format(time.RFC3339Nano), q.To.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement == %q)\n", DeadLetterMeasurement)
	if q.Reason != "" {
		fmt.Fprintf(&f, "  |> filter(fn: (r) => r.reason == %s)\n", strconv.Quote(q.Reason))
	}
	f.WriteString("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n")
	fmt.Fprintf(&f, "  |> group()\n  |> sort(columns: [\"_time\"], desc: true)\n  |> limit(n: %d)\n", q.Limit)
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: dead letters: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	var out []kessel.DeadLetter
	for res.Next() {
		v := res.Record().Values()
		d := kessel.DeadLetter{Time: res.Record().Time()}
		d.Reason, _ = v["reason"].(string)
		d.Topic, _ = v["topic"].(string)
		d.Device, _ = v["device"].(string)
		d.Detail, _ = v["detail"].(string)
		d.Payload, _ = v["payload"].(string)
		out = append(out, d)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: dead letters: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return out, nil
}

// Recent returns one field of every device of a kind in [from, to),
// averaged into windows of every (per device), for refilling alert windows
// on start.
func (c *Client) Recent(ctx context.Context, kind, field string, from, to time.Time, every time.Duration) ([]kessel.Reading, error) {
	if kessel.ValidateKind(kind) != nil || kind == "" || !kessel.ValidFieldName(field) || every <= 0 {
		return nil, kessel.Errorf(kessel.EINVALID, "recent: bad kind, field or window")
	}
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement == %s and (r._field == %s or r._field == %s))\n", strconv.Quote(kind), strconv.Quote(field), strconv.Quote("qc."+field))
	f.WriteString(passingOnly(field))
	f.WriteString("  |> group(columns: [\"device\", \"_field\"])\n")
	fmt.Fprintf(&f, "  |> aggregateWindow(every: %s, fn: mean, createEmpty: false)\n", fluxDuration(every)) // no toFloat(), as in historyFlux
	f.WriteString("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n")
	rs, err := c.readings(ctx, f.String(), "recent")
	for i := range rs {
		rs[i].Kind = kind
	}
	return rs, err
}
