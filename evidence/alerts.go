package evidence

import (
	"slices"
	"time"

	"github.com/kessel-city/kessel"
)

// alertsOf turns the journal's states of device's alerts into the day's
// firings (those overlapping the day; a resolution after the day's end is
// left out, so the record reads "still firing") and acknowledgements: those
// made during the day, and those of the day's firings made later (up to
// the end of what the journal was read for).
func alertsOf(day Day, device string, states []kessel.Alert) ([]AlertEntry, []AckEntry) {
	type episode struct {
		id    string
		fired time.Time
	}
	fired := map[episode]*AlertEntry{}
	var order []episode
	acks := map[episode]AckEntry{} // by alert and ack time
	for _, a := range states {
		if a.Subject != device {
			continue
		}
		if !a.AckedAt.IsZero() && !a.AckedAt.Before(day.Start) {
			acks[episode{a.ID, a.AckedAt}] = AckEntry{AlertID: a.ID, RuleID: a.RuleID, FiredAt: a.FiredAt.UTC(), By: a.AckedBy, At: a.AckedAt.UTC(), Note: a.AckNote}
		}
		if a.FiredAt.IsZero() {
			continue
		}
		k := episode{a.ID, a.FiredAt.UTC()}
		e := fired[k]
		if e == nil {
			e = &AlertEntry{AlertID: a.ID, RuleID: a.RuleID, Severity: a.Severity, Summary: a.Summary, FiredAt: k.fired, Value: round(a.Value, 2)}
			fired[k] = e
			order = append(order, k)
		}
		if !a.ResolvedAt.IsZero() && a.ResolvedAt.Before(day.End) {
			e.ResolvedAt = a.ResolvedAt.UTC()
		}
	}
	alerts := []AlertEntry{}
	ofDay := map[episode]bool{}
	for _, k := range order {
		e := fired[k]
		if e.FiredAt.Before(day.End) && (e.ResolvedAt.IsZero() || !e.ResolvedAt.Before(day.Start)) {
			alerts = append(alerts, *e)
			ofDay[k] = true
		}
	}
	slices.SortStableFunc(alerts, func(a, b AlertEntry) int { return a.FiredAt.Compare(b.FiredAt) })
	out := []AckEntry{}
	for _, a := range acks {
		if a.At.Before(day.End) || ofDay[episode{a.AlertID, a.FiredAt}] {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b AckEntry) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return compareStrings(a.AlertID, b.AlertID)
	})
	return alerts, out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
