package alert

import (
	"time"

	"github.com/kessel-city/kessel"
)

// Step advances an alert given whether its condition holds and whether it
// is cleared at time now. It is pure. notify is true on the transitions
// people are told about: to firing, and firing to resolved.
func Step(a kessel.Alert, r *Rule, holds, cleared bool, value float64, now time.Time) (next kessel.Alert, notify bool) {
	a.Value = value
	if holds {
		a.LastTrue = now
		a.KeepFiringSince = time.Time{}
	}
	switch a.State {
	case kessel.Inactive:
		if !holds {
			return a, false
		}
		a.State, a.ActiveAt, a.ResolvedAt, a.FiredAt = kessel.Pending, now, time.Time{}, time.Time{}
		a.AckedBy, a.AckedAt, a.AckNote = "", time.Time{}, ""
		fallthrough
	case kessel.Pending:
		if !holds {
			a.State = kessel.Inactive // never fired: nobody is told
			return a, false
		}
		if now.Sub(a.ActiveAt) >= r.For {
			a.State, a.FiredAt = kessel.Firing, now
			return a, true
		}
		return a, false
	case kessel.Firing:
		if !cleared {
			return a, false
		}
		if r.KeepFiringFor > 0 {
			// As Prometheus does: keep firing for KeepFiringFor after the
			// condition first stopped holding.
			if a.KeepFiringSince.IsZero() {
				a.KeepFiringSince = now
			}
			if now.Sub(a.KeepFiringSince) < r.KeepFiringFor {
				return a, false
			}
		}
		a.State, a.ResolvedAt, a.KeepFiringSince = kessel.Inactive, now, time.Time{}
		return a, true
	}
	return a, false
}
