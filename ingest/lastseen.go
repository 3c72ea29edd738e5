package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SeenSource lists the devices that have sent readings and when they last
// did (the registry).
type SeenSource interface {
	EachSeen(f func(id, kind string, lastSeen time.Time))
}

// LastSeenCollector exports kessel_device_last_seen_timestamp_seconds, one
// series per device, read from src at scrape time, so ingest pays nothing
// per message for it. A silent device shows as time() minus the value in
// PromQL; mind the cardinality: one series per device.
type LastSeenCollector struct {
	src  SeenSource
	desc *prometheus.Desc
}

// NewLastSeenCollector returns a collector over src.
func NewLastSeenCollector(src SeenSource) *LastSeenCollector {
	return &LastSeenCollector{src: src, desc: prometheus.NewDesc("kessel_device_last_seen_timestamp_seconds",
		"Unix time of the newest reading of each device.", []string{"device", "kind"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *LastSeenCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *LastSeenCollector) Collect(ch chan<- prometheus.Metric) {
	var ms []prometheus.Metric
	c.src.EachSeen(func(id, kind string, t time.Time) {
		ms = append(ms, prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(t.UnixNano())/1e9, id, kind))
	})
	for _, m := range ms { // sent outside the source's lock
		ch <- m
	}
}
