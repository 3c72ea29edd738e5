package ingest_test

import (
	"fmt"
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

// BenchmarkLastSeenScrape gathers the per-device series of 10,000 devices,
// what a Prometheus scrape of a large city costs Kessel.
func BenchmarkLastSeenScrape(b *testing.B) {
	src := seen{}
	for i := range 10_000 {
		src[fmt.Sprintf("dev-%05d", i)] = time.Unix(1700000000+int64(i), 0)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(ingest.NewLastSeenCollector(src))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
