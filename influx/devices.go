package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/kessel-city/kessel"
)

// DeviceMeasurement holds the device journal: every change of the registry.
const DeviceMeasurement = "kessel_devices"

// deviceDoc is a journal record as stored: one JSON field, so that loading
// the registry is one last() per device, not a pivot over ten fields.
type deviceDoc struct {
	Device     kessel.Device `json:"device"`
	ByOperator bool          `json:"by_operator,omitempty"`
	Deleted    bool          `json:"deleted,omitempty"`
}

// SaveDevices appends records to the device journal. The device id is the
// only tag, so the journal's cardinality is the number of devices.
func (c *Client) SaveDevices(ctx context.Context, recs []kessel.DeviceRecord) error {
	var b []byte
	for i := range recs {
		r := &recs[i]
		doc, err := json.Marshal(deviceDoc{Device: r.Device, ByOperator: r.ByOperator, Deleted: r.Deleted})
		if err != nil {
			return fmt.Errorf("influx: save devices: %w", err)
		}
		b = append(b, DeviceMeasurement...)
		b = appendTag(b, "device", r.Device.ID)
		b = append(b, ' ')
		b = appendString(b, "doc", string(doc))
		b = append(b, ' ')
		b = strconv.AppendInt(b, r.Time.UnixNano(), 10)
		b = append(b, '\n')
	}
	return c.writeRecords(ctx, string(b))
}

// LoadDevices returns the last journal record of every device, deleted
// ones included (so that a removal is not undone by an older entry).
func (c *Client) LoadDevices(ctx context.Context) ([]kessel.DeviceRecord, error) {
	var f strings.Builder
	f.WriteString(c.recordsFrom("range(start: 1970-01-01T00:00:00Z, stop: 2262-01-01T00:00:00Z)",
		fmt.Sprintf("filter(fn: (r) => r._measurement == %q and r._field == \"doc\")", DeviceMeasurement), "device"))
	f.WriteString("  |> last()\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: load devices: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	var out []kessel.DeviceRecord
	for res.Next() {
		s, _ := res.Record().Value().(string)
		var doc deviceDoc
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			continue // a record this version cannot read
		}
		out = append(out, kessel.DeviceRecord{Device: doc.Device, ByOperator: doc.ByOperator, Deleted: doc.Deleted, Time: res.Record().Time()})
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: load devices: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return out, nil
}
