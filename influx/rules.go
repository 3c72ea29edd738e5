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

// RuleMeasurement holds the alert rule set as changed through the API.
const RuleMeasurement = "kessel_rules"

// SaveRules stores the whole rule set.
func (c *Client) SaveRules(ctx context.Context, rules []kessel.Rule) error {
	doc, err := json.Marshal(rules)
	if err != nil {
		return fmt.Errorf("influx: save rules: %w", err)
	}
	b := append([]byte(RuleMeasurement+" "), appendString(nil, "doc", string(doc))...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, time.Now().UnixNano(), 10)
	return c.writeRecords(ctx, string(b))
}

// LoadRules decodes the last saved rule set into out; found is false when
// none was ever saved.
func (c *Client) LoadRules(ctx context.Context, out *[]kessel.Rule) (found bool, err error) {
	var f strings.Builder
	f.WriteString(c.recordsFrom("range(start: 1970-01-01T00:00:00Z, stop: 2262-01-01T00:00:00Z)",
		fmt.Sprintf("filter(fn: (r) => r._measurement == %q and r._field == \"doc\")", RuleMeasurement)))
	f.WriteString("  |> last()\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return false, fmt.Errorf("influx: load rules: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	for res.Next() {
		s, _ := res.Record().Value().(string)
		if err := json.Unmarshal([]byte(s), out); err != nil {
			return false, fmt.Errorf("influx: load rules: %w", err)
		}
		found = true
	}
	return found, res.Err()
}
