package ingest

import (
	"bytes"
	"testing"
	"time"
)

// TestFrameCounterIsLinkData decodes the real The Things Stack uplink twice
// with a gap in its frame counter: f_cnt and f_cnt_gap are link data like
// rssi, never measured values.
func TestFrameCounterIsLinkData(t *testing.T) {
	sample := sharedPayload(t, "ttn-v3-uplink-decoded-noise.json")
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	var fc frameCounter
	cases := []struct {
		name    string
		payload []byte
		gap     uint32
		link    map[string]float64
	}{
		{"first uplink", sample, 0, map[string]float64{"f_cnt": 2684, "rssi": -111, "snr": 6.75, "gateways": 3}},
		{"two frames lost", bytes.Replace(sample, []byte(`"f_cnt":2684`), []byte(`"f_cnt":2687`), 1), 2,
			map[string]float64{"f_cnt": 2687, "f_cnt_gap": 2, "rssi": -111}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Decode("v3/ttn-soundkit@ttn/devices/soundkit-001/up", tc.payload, now, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			r := &d.Readings[0]
			if gap := fc.track(r, *d.FCnt); gap != tc.gap {
				t.Errorf("gap = %d, want %d", gap, tc.gap)
			}
			for k, v := range tc.link {
				if got, ok := r.Link[k]; !ok || got != v {
					t.Errorf("link %s = %v (%v), want %v", k, got, ok, v)
				}
			}
			noLinkInValues(t, *r)
			if rej := check(r, now, Limits{MaxFuture: time.Hour}); rej != nil {
				t.Errorf("check refused the reading: %v", rej)
			}
		})
	}
}
