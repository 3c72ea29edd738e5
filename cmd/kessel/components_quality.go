package main

// The wiring of package quality is in this file.

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/quality"
)

// qualityCheck builds quality control from the config file's quality
// section (a device's sensor type is its "sensor" label) and returns
// ingest's check: it flags a reading and counts it by its worst flag in
// kessel_qc_readings_total{worst}; kessel_qc_devices is how many devices
// have a history in memory.
func (a *app) qualityCheck() func(*kessel.Reading, time.Time) {
	qc := quality.New(a.cfg.File.Quality, quality.Options{Sensor: func(id string) string {
		d, _, ok := a.reg.Get(id)
		if !ok {
			return ""
		}
		return d.Labels["sensor"]
	}})
	readings := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_qc_readings_total",
		Help: "Readings quality control checked, by their worst flag (pass, not_evaluated, suspect, fail, missing; none without values)."}, []string{"worst"})
	byFlag := map[kessel.Flag]prometheus.Counter{} // resolved once: no label lookup per reading
	for _, f := range []kessel.Flag{0, kessel.FlagPass, kessel.FlagNotEvaluated, kessel.FlagSuspect, kessel.FlagFail, kessel.FlagMissing} {
		byFlag[f] = readings.WithLabelValues(f.String())
	}
	a.prom.MustRegister(readings, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kessel_qc_devices",
		Help: "Devices whose recent values quality control keeps in memory (at most 20,000)."}, func() float64 { n, _ := qc.Devices(); return float64(n) }))
	return func(r *kessel.Reading, received time.Time) {
		if c := byFlag[qc.Check(r, received)]; c != nil {
			c.Inc()
		}
	}
}

// MaintenanceRuleID names the maintenance rule added when quality control
// is on and the config's rules have no quality rule of their own.
const MaintenanceRuleID = "qc-maintenance"

// withMaintenanceRule returns rules with the default maintenance rule: an
// internal alert, for the device's department, when a device's values
// fail quality control or stick (flat line) for 30 minutes.
func (a *app) withMaintenanceRule(rules []alert.Rule) []alert.Rule {
	if !a.cfg.QC || slices.ContainsFunc(rules, func(r alert.Rule) bool { return r.Condition == kessel.CondQuality }) {
		return rules
	}
	r := alert.Rule{ID: MaintenanceRuleID, Name: "Sensor maintenance", Condition: kessel.CondQuality, For: 30 * time.Minute,
		Severity: "warning", Visibility: kessel.Internal, Summary: "Sensor needs maintenance", Labels: map[string]string{"category": "maintenance"}}
	return append(slices.Clone(rules), r)
}
