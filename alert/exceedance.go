package alert

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/kessel-city/kessel"
)

// CondExceedanceDays is kessel.CondExceedanceDays: a compliance rule.
const CondExceedanceDays = kessel.CondExceedanceDays

// ExceedanceCounter counts exceedance days from stored readings: for each
// device, the days of the calendar year (CET) holding at whose daily mean
// of field (from at least 18 hourly means) is above threshold. Devices
// without such a day may be left out of the answer.
type ExceedanceCounter interface {
	ExceedanceDays(ctx context.Context, devices []string, field string, threshold float64, at time.Time) (map[string]int, error)
}

// exceedanceJob is one exceedance_days rule and the devices it has seen.
type exceedanceJob struct {
	rule    *Rule
	devices []string
}

// CheckExceedances counts the exceedance days of every device each
// exceedance_days rule lists, has seen a reading of or restored an alert
// for, and advances their alerts: an alert fires when the count reaches the
// rule's Count and resolves when it drops below, in a new year. A count
// that is still reached after a restart keeps a restored alert firing
// without notifying again. Nothing happens without Options.Exceedances.
// On an error it goes on with the other rules and returns the first.
func (e *Engine) CheckExceedances(ctx context.Context) error {
	if e.opts.Exceedances == nil {
		return nil
	}
	now := e.opts.Now()
	var jobs []exceedanceJob
	e.mu.Lock()
	for _, r := range e.rules {
		if r.Condition != CondExceedanceDays {
			continue
		}
		for _, d := range r.Devices { // listed devices count before they are heard from
			e.subjectFor(r, d, &kessel.Reading{Device: d, Kind: r.Kind})
		}
		j := exceedanceJob{rule: r}
		for _, s := range e.subjects {
			if s.rule == r {
				j.devices = append(j.devices, s.device)
			}
		}
		if len(j.devices) > 0 {
			slices.Sort(j.devices)
			jobs = append(jobs, j)
		}
	}
	e.mu.Unlock()
	var first error
	for _, j := range jobs {
		counts, err := e.opts.Exceedances.ExceedanceDays(ctx, j.devices, j.rule.Field, j.rule.Threshold, now)
		if err != nil {
			if first == nil {
				first = fmt.Errorf("alert: rule %q: count exceedance days: %w", j.rule.ID, err)
			}
			continue
		}
		e.mu.Lock()
		for _, d := range j.devices {
			s, ok := e.byKey[subjectKey{j.rule.ID, d}]
			if !ok || s.rule != j.rule {
				continue // the rule changed meanwhile
			}
			n := counts[d]
			e.labelClass(s)
			e.advance(s, n >= j.rule.Count, n < j.rule.Count, float64(n), now)
		}
		e.mu.Unlock()
	}
	return first
}

// labelClass sets the measurement_class label of an exceedance alert
// from Options.DeviceClass; the caller holds mu. The alert's id stays the
// fingerprint of the rule's labels.
func (e *Engine) labelClass(s *subject) {
	if e.opts.DeviceClass == nil {
		return
	}
	class := string(e.opts.DeviceClass(s.device))
	if s.alert.Labels["measurement_class"] == class {
		return
	}
	labels := maps.Clone(s.rule.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels["measurement_class"] = class
	s.alert.Labels = labels
}

// checkExceedances runs CheckExceedances now and every
// Options.ExceedanceEvery until ctx ends; the returned wait waits for it.
func (e *Engine) checkExceedances(ctx context.Context) (wait func()) {
	if e.opts.Exceedances == nil {
		return func() {}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(e.opts.ExceedanceEvery)
		defer t.Stop()
		for {
			if err := e.CheckExceedances(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("could not count exceedance days; trying again later", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return wg.Wait
}
