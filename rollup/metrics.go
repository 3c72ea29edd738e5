package rollup

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	windows  *prometheus.CounterVec
	hours    *prometheus.CounterVec
	passes   *prometheus.CounterVec
	lag      prometheus.Gauge
	finalLag prometheus.Gauge
	yielded  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		windows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_rollup_windows_total",
			Help: "Rollup windows written (one per device, kind, tags and window), by resolution (1h, 1d) and pass (first: when the hour closed; final: after the grace period)."}, []string{"resolution", "pass"}),
		hours: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_rollup_hours_total",
			Help: "Hours of raw readings rolled up, by pass."}, []string{"pass"}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_rollup_passes_total",
			Help: "Rollup passes, by result (ok, failed)."}, []string{"result"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kessel_rollup_lag_seconds",
			Help: "Time since the end of the newest hour rolled up (about one hour when current)."}),
		finalLag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kessel_rollup_final_lag_seconds",
			Help: "Time since the end of the newest hour rolled up after its grace period."}),
		yielded: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_rollup_yield_seconds_total",
			Help: "Time rolling up waited for ingest to catch up."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.windows, m.hours, m.passes, m.lag, m.finalLag, m.yielded} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("rollup: metrics: %w", err)
		}
	}
	return m, nil
}
