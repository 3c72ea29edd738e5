package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/query"

	"github.com/kessel-city/kessel"
)

// AlertMeasurement holds alert transitions.
const AlertMeasurement = "kessel_alerts"

// SaveAlerts appends alert states, one point per transition: the rule is
// the only tag, the alert id, its status and its wire form (kessel.Alert's
// JSON, which includes the evaluation timers) are fields, to keep
// cardinality low.
func (c *Client) SaveAlerts(ctx context.Context, as []kessel.Alert) error {
	var b []byte
	now := time.Now()
	for i := range as {
		a := &as[i]
		doc, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("influx: save alert %s: %w", a.ID, err)
		}
		b = append(b, AlertMeasurement...)
		b = appendTag(b, "rule", a.RuleID)
		b = append(b, ' ')
		b = appendString(b, "id", a.ID)
		b = append(b, ',')
		b = appendString(b, "state", a.Status())
		b = append(b, ',')
		b = appendString(b, "doc", string(doc))
		b = append(b, ",value="...)
		b = strconv.AppendFloat(b, a.Value, 'g', -1, 64)
		b = append(b, ' ')
		b = strconv.AppendInt(b, now.UnixNano()+int64(i), 10)
		b = append(b, '\n')
	}
	return c.writeRecords(ctx, string(b))
}

// LoadAlerts returns the last saved state of every alert since `since`.
// It reads records of every version of the wire form (older ones stored
// "inactive" for a resolved alert); a record it cannot read is skipped.
func (c *Client) LoadAlerts(ctx context.Context, since time.Time) ([]kessel.Alert, error) {
	var f strings.Builder
	f.WriteString(c.recordsFrom(fmt.Sprintf("range(start: %s, stop: 2262-01-01T00:00:00Z)", since.UTC().Format(time.RFC3339Nano)),
		fmt.Sprintf("filter(fn: (r) => r._measurement == %q and r._field == \"doc\")", AlertMeasurement)))
	f.WriteString("  |> group()\n  |> sort(columns: [\"_time\"])\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: load alerts: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	latest := map[string]kessel.Alert{}
	for res.Next() {
		s, _ := res.Record().Value().(string)
		var a kessel.Alert
		if json.Unmarshal([]byte(s), &a) != nil {
			continue
		}
		latest[a.ID] = a
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: load alerts: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	out := make([]kessel.Alert, 0, len(latest))
	for _, a := range latest {
		out = append(out, a)
	}
	return out, nil
}

// WindowAggregates returns, per device (and district and department tag)
// and bucket of width every aligned to the Unix epoch, the count and one
// more aggregate, fn (sum, min, max or first), of one field of one kind,
// over readings with times in [from, to): what the alert engine needs to
// refill its windows exactly. The device's newest reading in the range is
// in Last and LastAt of its bucket's aggregate. EINVALID for a bad kind,
// field, fn or width; EUNAVAILABLE when the query fails.
func (c *Client) WindowAggregates(ctx context.Context, kind, field, fn string, from, to time.Time, every time.Duration) ([]kessel.WindowAggregate, error) {
	if !kessel.ValidFieldName(kind) || !kessel.ValidFieldName(field) || !slices.Contains([]string{"sum", "min", "max", "first"}, fn) || every <= 0 {
		return nil, kessel.Errorf(kessel.EINVALID, "window aggregates: bad kind, field, aggregate or width")
	}
	res, err := c.query.Query(ctx, c.windowAggregatesFlux(kind, field, fn, from, to, every))
	if err != nil {
		return nil, fmt.Errorf("influx: window aggregates: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	agg := aggregates{every: int64(every), byKey: map[aggregateKey]*kessel.WindowAggregate{}}
	for res.Next() {
		agg.add(res.Record())
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: window aggregates: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return agg.result(), nil
}

type aggregateKey struct {
	device, district, department string
	start                        int64 // unix nanos
}

// aggregates collects the rows of the window aggregates' query.
type aggregates struct {
	every int64 // bucket width, nanoseconds
	byKey map[aggregateKey]*kessel.WindowAggregate
	lasts []newestReading
}

type newestReading struct {
	k  aggregateKey
	v  float64
	at time.Time
}

// add takes one row: an aggregate of a bucket, or a device's newest reading.
func (g *aggregates) add(rec *query.FluxRecord) {
	vals := rec.Values()
	// A bucket's _start is clipped to the range; the bucket starts at its
	// window's start. The newest reading belongs to the bucket of its time.
	t := rec.Start()
	if vals["agg"] == "last" {
		t = rec.Time()
	}
	k := aggregateKey{start: t.UnixNano() - t.UnixNano()%g.every}
	k.device, _ = vals["device"].(string)
	k.district, _ = vals["district"].(string)
	k.department, _ = vals["department"].(string)
	v, _ := vals["_value"].(float64)
	if vals["agg"] == "last" {
		g.lasts = append(g.lasts, newestReading{k, v, rec.Time()})
		return
	}
	a := g.byKey[k]
	if a == nil {
		a = &kessel.WindowAggregate{Device: k.device, District: k.district, Department: k.department, Start: time.Unix(0, k.start).UTC()}
		g.byKey[k] = a
	}
	switch vals["agg"] {
	case "count":
		a.Count = int(v)
	case "sum":
		a.Sum = v
	case "min":
		a.Min = v
	case "max":
		a.Max = v
	case "first":
		a.First = v
	}
}

// result puts each newest reading on its bucket's aggregate.
func (g *aggregates) result() []kessel.WindowAggregate {
	for _, l := range g.lasts {
		if a := g.byKey[l.k]; a != nil {
			a.Last, a.LastAt = l.v, l.at
		}
	}
	out := make([]kessel.WindowAggregate, 0, len(g.byKey))
	for _, a := range g.byKey {
		out = append(out, *a)
	}
	return out
}

// windowAggregatesFlux groups the readings by device (and its tags), counts
// them and applies fn per epoch-aligned window, and adds each group's
// newest reading (a last() InfluxDB answers from its index); the tables
// are told apart by the column "agg".
func (c *Client) windowAggregatesFlux(kind, field, fn string, from, to time.Time, every time.Duration) string {
	var f strings.Builder
	fmt.Fprintf(&f, "data = from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement == %s and (r._field == %s or r._field == %s))\n", strconv.Quote(kind), strconv.Quote(field), strconv.Quote("qc."+field))
	f.WriteString(passingOnly(field)) // alert rules see passing values only (see alert)
	f.WriteString("  |> group(columns: [\"device\", \"district\", \"department\"])\n")
	fmt.Fprintf(&f, "windows = data |> window(every: %dns)\n", every.Nanoseconds())
	f.WriteString("union(tables: [\n")
	f.WriteString("  windows |> count() |> toFloat() |> set(key: \"agg\", value: \"count\"),\n")
	fmt.Fprintf(&f, "  windows |> %s() |> toFloat() |> set(key: \"agg\", value: %q),\n", fn, fn)
	f.WriteString("  data |> last() |> toFloat() |> set(key: \"agg\", value: \"last\"),\n")
	f.WriteString("])\n")
	return f.String()
}
