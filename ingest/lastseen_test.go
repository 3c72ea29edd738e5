package ingest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kessel-city/kessel/ingest"
)

type seen map[string]time.Time

func (s seen) EachSeen(f func(id, kind string, t time.Time)) {
	for id, t := range s {
		f(id, "air_quality", t)
	}
}

func TestLastSeenCollector(t *testing.T) {
	src := seen{"air-1": time.Unix(1700000000, 500_000_000), "air-2": time.Unix(1700000100, 0)}
	reg := prometheus.NewRegistry()
	reg.MustRegister(ingest.NewLastSeenCollector(src))
	want := `
# HELP kessel_device_last_seen_timestamp_seconds Unix time of the newest reading of each device.
# TYPE kessel_device_last_seen_timestamp_seconds gauge
kessel_device_last_seen_timestamp_seconds{device="air-1",kind="air_quality"} 1.7000000005e+09
kessel_device_last_seen_timestamp_seconds{device="air-2",kind="air_quality"} 1.7000001e+09
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "kessel_device_last_seen_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}
