package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// DeviceMeasurement holds the device journal: every change of the registry.
const DeviceMeasurement = "kessel_devices"

// SaveDevices appends records to the device journal. The device id is the
// only tag; everything else is a field, so the journal's cardinality is the
// number of devices.
func (c *Client) SaveDevices(ctx context.Context, recs []kessel.DeviceRecord) error {
	var b []byte
	for i := range recs {
		r := &recs[i]
		d := &r.Device
		b = append(b, DeviceMeasurement...)
		b = appendTag(b, "device", d.ID)
		b = append(b, ' ')
		labels, _ := json.Marshal(d.Labels)
		b = appendString(b, "kind", d.Kind)
		b = append(b, ',')
		b = appendString(b, "name", d.Name)
		b = append(b, ',')
		b = appendString(b, "department", d.Department)
		b = append(b, ',')
		b = appendString(b, "visibility", string(d.Visibility))
		b = append(b, ',')
		b = appendString(b, "labels", string(labels))
		b = append(b, ",operator="...)
		b = strconv.AppendBool(b, r.ByOperator)
		b = append(b, ",deleted="...)
		b = strconv.AppendBool(b, r.Deleted)
		b = append(b, ",created="...)
		b = strconv.AppendInt(b, d.CreatedAt.UnixNano(), 10)
		b = append(b, 'i')
		if p := d.Location; p != nil {
			b = append(b, ",lat="...)
			b = strconv.AppendFloat(b, p[1], 'g', -1, 64)
			b = append(b, ",lon="...)
			b = strconv.AppendFloat(b, p[0], 'g', -1, 64)
		} else {
			b = append(b, ",lat=-999,lon=-999"...) // no location: the last entry must say so
		}
		b = append(b, ' ')
		b = strconv.AppendInt(b, r.Time.UnixNano(), 10)
		b = append(b, '\n')
	}
	return c.writeLines(ctx, string(b))
}

// LoadDevices returns the last journal record of every device, deleted
// ones included (so that a removal is not undone by an older entry).
func (c *Client) LoadDevices(ctx context.Context) ([]kessel.DeviceRecord, error) {
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(c.opts.Bucket))
	f.WriteString("  |> range(start: 1970-01-01T00:00:00Z, stop: 2262-01-01T00:00:00Z)\n")
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement == %q)\n", DeviceMeasurement)
	f.WriteString("  |> last()\n  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: load devices: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	latest := map[string]kessel.DeviceRecord{}
	for res.Next() {
		v := res.Record().Values()
		var r kessel.DeviceRecord
		r.Time = res.Record().Time()
		d := &r.Device
		d.ID, _ = v["device"].(string)
		d.Kind, _ = v["kind"].(string)
		d.Name, _ = v["name"].(string)
		d.Department, _ = v["department"].(string)
		vis, _ := v["visibility"].(string)
		d.Visibility = kessel.Visibility(vis)
		if l, _ := v["labels"].(string); l != "" && l != "null" {
			_ = json.Unmarshal([]byte(l), &d.Labels)
		}
		r.ByOperator, _ = v["operator"].(bool)
		r.Deleted, _ = v["deleted"].(bool)
		if ns, ok := v["created"].(int64); ok {
			d.CreatedAt = time.Unix(0, ns).UTC()
		}
		d.UpdatedAt = r.Time
		lat, okLat := v["lat"].(float64)
		lon, okLon := v["lon"].(float64)
		if okLat && okLon && lat != -999 {
			d.Location = &orb.Point{lon, lat}
		}
		// last() runs per field series; fields written together share a time,
		// but keep the newest row per device to be safe.
		if old, ok := latest[d.ID]; !ok || !old.Time.After(r.Time) {
			latest[d.ID] = r
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: load devices: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	out := make([]kessel.DeviceRecord, 0, len(latest))
	for _, r := range latest {
		out = append(out, r)
	}
	return out, nil
}
