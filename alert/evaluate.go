package alert

import (
	"time"

	"github.com/kessel-city/kessel"
)

type subjectKey struct{ rule, device string }

// subject is one rule's view of one device (or, for an area rule, of
// "district:NAME"): its window, latest value and alert.
type subject struct {
	rule     *Rule
	device   string
	win      window
	members  map[string]member // an area subject's devices and their latest values
	last     float64
	lastSeen time.Time // of the newest reading evaluated or refilled
	alert    kessel.Alert
}

type member struct {
	v float64
	t time.Time
}

// areaValue updates an area subject with one device's value and returns
// the mean over the devices heard from within the last window (or hour).
func (s *subject) areaValue(device string, v float64, t time.Time) float64 {
	if s.members == nil {
		s.members = map[string]member{}
	}
	s.members[device] = member{v, t}
	horizon := max(s.rule.Window, time.Hour)
	sum, n := 0.0, 0
	for d, m := range s.members {
		if t.Sub(m.t) > horizon {
			delete(s.members, d)
			continue
		}
		sum += m.v
		n++
	}
	return sum / float64(n)
}

// value is the rule's condition value over what the subject has seen.
func (s *subject) value() float64 {
	switch s.rule.Condition {
	case CondRate:
		return s.last - s.win.oldest()
	case CondMean:
		return s.win.mean()
	case CondMax:
		return s.win.extreme(true)
	case CondMin:
		return s.win.extreme(false)
	}
	return s.last
}

// observe takes the value v measured at t into the subject.
func (s *subject) observe(t time.Time, v float64) {
	s.lastSeen, s.last = t, v
	if s.rule.Condition != CondThreshold && s.rule.Condition != CondSilence {
		s.win.add(t, v)
	}
}

func (e *Engine) evaluate(rs []kessel.Reading) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evaluateLocked(rs)
}

// evaluateLocked evaluates rs under e.mu, held by the caller. A reading no
// newer than the last one a subject saw (evaluated, or refilled from the
// store) is late and never re-evaluates the past; a device's reading at
// the same time is the same reading (InfluxDB keeps one point per time).
func (e *Engine) evaluateLocked(rs []kessel.Reading) {
	for i := range rs {
		rd := &rs[i]
		for _, r := range e.rules {
			if !applies(r, rd) {
				continue
			}
			if r.Condition == CondQuality {
				e.evaluateQuality(r, rd)
				continue
			}
			v, ok := rd.Values[r.Field]
			if !ok && r.Condition != CondSilence || ok && r.Condition != CondSilence && !admits(r, rd) {
				continue
			}
			if r.Condition == CondExceedanceDays {
				e.subject(r, rd) // counted from the store (exceedance.go)
				continue
			}
			if r.Area {
				e.evaluateArea(r, rd, v)
				continue
			}
			s := e.subject(r, rd)
			if !rd.Time.After(s.lastSeen) {
				continue
			}
			s.observe(rd.Time, v)
			if r.Condition == CondSilence {
				e.advance(s, false, true, 0, rd.Time)
				continue
			}
			e.advanceValue(s, rd.Time)
		}
	}
}

// evaluateArea evaluates an area rule on one of its devices' readings.
func (e *Engine) evaluateArea(r *Rule, rd *kessel.Reading, v float64) {
	if rd.Internal {
		return // an area is its public devices
	}
	s := e.subjectFor(r, "district:"+r.District, rd)
	if rd.Time.Before(s.lastSeen) { // devices may share a time
		return
	}
	s.observe(rd.Time, s.areaValue(rd.Device, v, rd.Time))
	e.advanceValue(s, rd.Time)
}

// advanceValue tests the subject's condition value at t.
func (e *Engine) advanceValue(s *subject, t time.Time) {
	cv := s.value()
	holds := compare(s.rule.Op, cv, s.rule.Threshold)
	e.advance(s, holds, cleared(s.rule, cv, holds), cv, t)
}

// tick fires silence rules for devices that went quiet.
func (e *Engine) tick(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.subjects {
		if s.rule.Condition == CondSilence && !s.lastSeen.IsZero() {
			quiet := now.Sub(s.lastSeen)
			holds := quiet >= s.rule.Silence
			e.advance(s, holds, !holds, quiet.Seconds(), now)
		}
	}
}

func (e *Engine) subject(r *Rule, rd *kessel.Reading) *subject {
	s := e.subjectFor(r, rd.Device, rd)
	s.alert.District, s.alert.Department = rd.District, rd.Department
	return s
}

// subjectFor finds or makes the subject (a device, or "district:NAME").
func (e *Engine) subjectFor(r *Rule, name string, rd *kessel.Reading) *subject {
	s, ok := e.byKey[subjectKey{r.ID, name}]
	if !ok {
		s = newSubject(r, kessel.Alert{ID: Fingerprint(r.ID, name, r.Labels), RuleID: r.ID, Subject: name, Kind: rd.Kind, District: r.District,
			Severity: r.Severity, Visibility: r.Visibility, Labels: r.Labels, Summary: r.Summary})
		e.subjects[s.alert.ID] = s
		e.byKey[subjectKey{r.ID, name}] = s
	}
	return s
}

func newSubject(r *Rule, a kessel.Alert) *subject {
	return &subject{rule: r, device: a.Subject, alert: a, win: newWindow(r.Window, r.Condition == CondRate)}
}

// advance steps the subject's alert; the caller holds mu.
func (e *Engine) advance(s *subject, holds, cleared bool, v float64, now time.Time) {
	e.evaluated.Inc()
	next, notify := Step(s.alert, s.rule, holds, cleared, v, now)
	changedState := next.State != s.alert.State
	s.alert = next
	if notify {
		e.transitions.Inc()
		e.emit(next)
	} else if changedState && e.opts.Journal != nil {
		// Pending starts and ends are kept too, so a restart keeps the timer.
		select {
		case e.notifyQ <- next:
		default:
		}
	}
}

// emit records and broadcasts a transition; the caller holds mu.
func (e *Engine) emit(a kessel.Alert) {
	e.broadcast(e.ring.push(a, e.opts.Now()))
	select {
	case e.notifyQ <- a:
	default:
		e.log.Warn("alert notification queue full; transition not persisted or published", "alert", a.ID)
	}
}
