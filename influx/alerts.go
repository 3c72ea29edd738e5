package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// AlertMeasurement holds alert transitions.
const AlertMeasurement = "kessel_alerts"

// SaveAlerts appends alert states (one point per transition; the rule is
// the only tag, the alert id a field, to keep cardinality low).
func (c *Client) SaveAlerts(ctx context.Context, as []kessel.Alert) error {
	var b []byte
	now := time.Now()
	for i := range as {
		a := &as[i]
		doc, _ := json.Marshal(struct {
			kessel.Alert
			StateName       string    `json:"state"`
			LastTrue        time.Time `json:"last_true"`
			KeepFiringSince time.Time `json:"keep_firing_since"`
		}{*a, a.State.String(), a.LastTrue, a.KeepFiringSince})
		b = append(b, AlertMeasurement...)
		b = appendTag(b, "rule", a.RuleID)
		b = append(b, ' ')
		b = appendString(b, "id", a.ID)
		b = append(b, ',')
		b = appendString(b, "state", a.State.String())
		b = append(b, ',')
		b = appendString(b, "doc", string(doc))
		b = append(b, ",value="...)
		b = strconv.AppendFloat(b, a.Value, 'g', -1, 64)
		b = append(b, ' ')
		b = strconv.AppendInt(b, now.UnixNano()+int64(i), 10)
		b = append(b, '\n')
	}
	return c.writeLines(ctx, string(b))
}

// LoadAlerts returns the last saved state of every alert since `since`.
func (c *Client) LoadAlerts(ctx context.Context, since time.Time) ([]kessel.Alert, error) {
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: 2262-01-01T00:00:00Z)\n", since.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement == %q and r._field == \"doc\")\n", AlertMeasurement)
	f.WriteString("  |> group()\n  |> sort(columns: [\"_time\"])\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: load alerts: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	latest := map[string]kessel.Alert{}
	for res.Next() {
		s, _ := res.Record().Value().(string)
		var doc struct {
			kessel.Alert
			StateName       string    `json:"state"`
			LastTrue        time.Time `json:"last_true"`
			KeepFiringSince time.Time `json:"keep_firing_since"`
		}
		if json.Unmarshal([]byte(s), &doc) != nil {
			continue
		}
		a := doc.Alert
		a.LastTrue, a.KeepFiringSince = doc.LastTrue, doc.KeepFiringSince
		switch doc.StateName {
		case "pending":
			a.State = kessel.Pending
		case "firing":
			a.State = kessel.Firing
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
