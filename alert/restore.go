package alert

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kessel-city/kessel"
)

// Restore reloads alert states saved by a previous run (pending timers
// and firing alerts continue). Alerts of rules no longer in force are
// ignored. Call it before RefillFrom and Run.
func (e *Engine) Restore(as []kessel.Alert) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range as {
		for _, r := range e.rules {
			if r.ID != a.RuleID {
				continue
			}
			s := newSubject(r, a)
			switch {
			case r.Condition == CondSilence && a.State != kessel.Inactive:
				// Quiet since Silence before it became active: a device
				// still quiet keeps its alert, one that speaks resolves it.
				s.lastSeen = a.ActiveAt.Add(-r.Silence)
			case r.Condition == CondThreshold:
				s.lastSeen = a.LastTrue // older readings, delivered again, are late
			}
			// A window condition's lastSeen comes from RefillFrom.
			e.subjects[a.ID] = s
			e.byKey[subjectKey{r.ID, a.Subject}] = s
		}
	}
}

// WindowSource reads stored readings of one kind and field as per-device
// aggregates (their count and fn: sum, min, max or first) over buckets of
// width every aligned to the Unix epoch, with times in [from, to), each
// device's newest reading on its bucket's aggregate (see
// kessel.WindowAggregate). influx.Client implements it.
type WindowSource interface {
	WindowAggregates(ctx context.Context, kind, field, fn string, from, to time.Time, every time.Duration) ([]kessel.WindowAggregate, error)
}

// aggregateOf is the stored aggregate a condition's window needs.
var aggregateOf = map[string]string{CondMean: "sum", CondMax: "max", CondMin: "min", CondRate: "first"}

// RefillFrom fills the windows of mean, max, min and rate rules from the
// store, up to the engine's clock, without evaluating: after a restart a
// 24-hour mean starts from the last 24 hours, as if the engine had seen
// every stored reading, and readings newer than the stored ones are
// evaluated as they come. Call it before Run. It returns how many
// aggregates it used; on an error it goes on with the other rules and
// returns the first error.
func (e *Engine) RefillFrom(ctx context.Context, src WindowSource) (int, error) {
	now := e.opts.Now()
	n := 0
	var first error
	for _, r := range e.WindowRules() {
		width := bucketWidth(r.Window)
		// From the bucket holding now-Window: the window drops what is older.
		from := time.Unix(0, now.Add(-r.Window).UnixNano()/int64(width)*int64(width))
		aggs, err := src.WindowAggregates(ctx, r.Kind, r.Field, aggregateOf[r.Condition], from, now.Add(time.Nanosecond), width)
		if err != nil {
			if first == nil {
				first = fmt.Errorf("alert: refill rule %q: %w", r.ID, err)
			}
			continue
		}
		e.refill(r.ID, aggs)
		n += len(aggs)
	}
	return n, first
}

// refill puts one rule's stored aggregates into its subjects' windows.
func (e *Engine) refill(ruleID string, aggs []kessel.WindowAggregate) {
	slices.SortFunc(aggs, func(a, b kessel.WindowAggregate) int {
		return cmp.Or(a.Start.Compare(b.Start), a.LastAt.Compare(b.LastAt))
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	i := slices.IndexFunc(e.rules, func(r *Rule) bool { return r.ID == ruleID })
	if i < 0 {
		return // removed meanwhile
	}
	r := e.rules[i]
	for _, a := range aggs {
		rd := kessel.Reading{Device: a.Device, Kind: r.Kind, District: a.District, Department: a.Department}
		if a.Count <= 0 || !applies(r, &rd) {
			continue
		}
		s := e.subject(r, &rd)
		s.win.addAggregate(a)
		if a.LastAt.After(s.lastSeen) {
			s.lastSeen, s.last = a.LastAt, a.Last
		}
	}
}
