package ingest

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	received, decoded, rejected, written, acked, deadLettered *prometheus.CounterVec
	writeErrors, fcntGaps                                     prometheus.Counter
	inflight                                                  *count
	connected                                                 *prometheus.GaugeVec
	batchSize, writeSeconds                                   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		received:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_ingest_received_total", Help: "Messages received, by wire format."}, []string{"format"}),
		decoded:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_ingest_decoded_total", Help: "Messages decoded and accepted, by wire format."}, []string{"format"}),
		rejected:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_ingest_rejected_total", Help: "Messages rejected, by reason; each is kept as a dead letter."}, []string{"reason"}),
		written:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_ingest_written_total", Help: "Readings the store confirmed, by wire format."}, []string{"format"}),
		acked:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_ingest_acknowledged_total", Help: "MQTT messages acknowledged after their write, by wire format (QoS 0 messages have nothing to acknowledge)."}, []string{"format"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_ingest_deadlettered_total", Help: "Dead letters the store confirmed, by wire format."}, []string{"format"}),
		writeErrors:  prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_ingest_write_errors_total", Help: "Store writes that failed and were retried."}),
		fcntGaps:     prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_ingest_tts_fcnt_gaps_total", Help: "LoRaWAN frames missing between consecutive The Things Stack uplinks of a device."}),
		connected:    newConnectedGauge(),
		inflight:     &count{Gauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kessel_ingest_inflight", Help: "Messages received and not yet acknowledged."})},
		batchSize:    prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kessel_ingest_batch_size", Help: "Readings per store write.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kessel_ingest_write_seconds", Help: "Store write latency.", Buckets: prometheus.DefBuckets}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.received, m.decoded, m.rejected, m.written, m.acked, m.deadLettered, m.writeErrors, m.fcntGaps, m.connected, m.inflight, m.batchSize, m.writeSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// newConnectedGauge is kessel_ingest_connected, of an Ingester's sources or
// a Follower's.
func newConnectedGauge() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kessel_ingest_connected", Help: "1 while an MQTT source (broker, tts) is connected and subscribed."}, []string{"source"})
}

// count is a gauge whose value the process reads too (Behind).
type count struct {
	prometheus.Gauge
	n atomic.Int64
}

func (c *count) Inc()          { c.n.Add(1); c.Gauge.Inc() }
func (c *count) Dec()          { c.n.Add(-1); c.Gauge.Dec() }
func (c *count) Sub(v float64) { c.n.Add(-int64(v)); c.Gauge.Sub(v) }
func (c *count) value() int64  { return c.n.Load() }
