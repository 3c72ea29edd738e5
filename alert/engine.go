package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
)

// Journal stores alert transitions (InfluxDB) so that state survives restarts.
type Journal interface {
	SaveAlerts(ctx context.Context, as []kessel.Alert) error
}

// RuleStore keeps the rule set changed through the API.
type RuleStore interface {
	SaveRules(ctx context.Context, rules []kessel.Rule) error
}

// Options configures an Engine.
type Options struct {
	// RuleStore, when set, receives the whole rule set after every change.
	RuleStore  RuleStore
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	Journal    Journal
	// Notify is called for every transition, off the evaluation path.
	Notify func(ctx context.Context, a kessel.Alert)
	// Queue bounds the readings waiting for evaluation; default 100,000
	// (a burst of that many readings waits, a larger one is counted in
	// kessel_alert_dropped_readings_total and logged).
	Queue int
}

// buckets per window: a window aggregate is exact to window/buckets.
const buckets = 96

type bucket struct {
	start          time.Time
	sum, min, max  float64
	n              int
	first          float64
	firstAt, maxAt time.Time
}

type subjectKey struct{ rule, device string }

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

type subject struct {
	sum      float64 // of the window's buckets, kept as they come and go
	cnt      int
	members  map[string]member // an area subject's devices and their latest values
	rule     *Rule
	device   string
	bks      []bucket
	width    time.Duration
	last     float64
	lastSeen time.Time
	alert    kessel.Alert
}

// Engine evaluates rules over readings. Observe never blocks ingest:
// readings wait in a queue that the engine empties all at once, so it
// evaluates one reading at a time when readings trickle in and thousands
// per wake-up in a burst; only beyond Options.Queue waiting readings are
// they dropped, counted and logged.
type Engine struct {
	rules []*Rule
	opts  Options
	log   *slog.Logger

	pendMu   sync.Mutex
	pending  [][]kessel.Reading // as Observe got them
	pendingN int                // readings in pending
	spare    [][]kessel.Reading // the last batch's array, reused (Run only)
	wake     chan struct{}
	lastDrop atomic.Int64 // unix nanos of the last drop log line

	mu       sync.RWMutex
	subjects map[string]*subject     // by alert id
	byKey    map[subjectKey]*subject // by rule and device, for evaluation
	events   []kessel.AlertEvent     // the last maxEvents, for resuming streams
	seq      int64
	subs     map[chan kessel.AlertEvent]bool

	dropped, evaluated, transitions prometheus.Counter
	notifyQ                         chan kessel.Alert
}

const maxEvents = 1000

// New validates rules and returns an engine.
func New(rules []Rule, opts Options) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Queue <= 0 {
		opts.Queue = 100_000
	}
	e := &Engine{opts: opts, log: opts.Logger.With("component", "alert"), wake: make(chan struct{}, 1),
		subjects: map[string]*subject{}, byKey: map[subjectKey]*subject{}, subs: map[chan kessel.AlertEvent]bool{}, notifyQ: make(chan kessel.Alert, 4096),
		dropped:     prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_alert_dropped_readings_total", Help: "Readings not evaluated because more than the queue's bound were waiting."}),
		evaluated:   prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_alert_evaluations_total", Help: "Rule evaluations."}),
		transitions: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_alert_transitions_total", Help: "Alerts that fired or resolved."}),
	}
	seen := map[string]bool{}
	for i := range rules {
		r := rules[i]
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if seen[r.ID] {
			return nil, kessel.Errorf(kessel.EINVALID, "rule %q appears twice", r.ID)
		}
		seen[r.ID] = true
		e.rules = append(e.rules, &r)
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{e.dropped, e.evaluated, e.transitions} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// Rules returns the rules in force, sorted by id.
func (e *Engine) Rules() []Rule {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]Rule, len(e.rules))
	for i, r := range e.rules {
		out[i] = *r
	}
	slices.SortFunc(out, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Rule returns one rule.
func (e *Engine) Rule(id string) (Rule, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, r := range e.rules {
		if r.ID == id {
			return *r, true
		}
	}
	return Rule{}, false
}

// PutRule adds a rule, or replaces the one with its id (its alerts start
// over). create demands a new id (ECONFLICT otherwise); !create demands an
// existing one (ENOTFOUND). EINVALID names the bad field.
func (e *Engine) PutRule(ctx context.Context, r Rule, create bool) (Rule, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	e.mu.Lock()
	i := slices.IndexFunc(e.rules, func(x *Rule) bool { return x.ID == r.ID })
	switch {
	case create && i >= 0:
		e.mu.Unlock()
		return r, kessel.Errorf(kessel.ECONFLICT, "rule %q already exists; change it with PUT", r.ID)
	case !create && i < 0:
		e.mu.Unlock()
		return r, kessel.Errorf(kessel.ENOTFOUND, "rule %q not found", r.ID)
	}
	if i >= 0 {
		e.dropSubjects(r.ID)
		e.rules[i] = &r
	} else {
		e.rules = append(e.rules, &r)
	}
	e.mu.Unlock()
	return r, e.saveRules(ctx)
}

// DeleteRule removes a rule and its alerts. ENOTFOUND if unknown.
func (e *Engine) DeleteRule(ctx context.Context, id string) error {
	e.mu.Lock()
	i := slices.IndexFunc(e.rules, func(x *Rule) bool { return x.ID == id })
	if i < 0 {
		e.mu.Unlock()
		return kessel.Errorf(kessel.ENOTFOUND, "rule %q not found", id)
	}
	e.rules = slices.Delete(e.rules, i, i+1)
	e.dropSubjects(id)
	e.mu.Unlock()
	return e.saveRules(ctx)
}

// dropSubjects forgets a rule's alerts; the caller holds mu.
func (e *Engine) dropSubjects(ruleID string) {
	for id, s := range e.subjects {
		if s.rule.ID == ruleID {
			delete(e.subjects, id)
			delete(e.byKey, subjectKey{ruleID, s.device})
		}
	}
}

func (e *Engine) saveRules(ctx context.Context) error {
	if e.opts.RuleStore == nil {
		return nil
	}
	return e.opts.RuleStore.SaveRules(ctx, e.Rules())
}

// Fingerprint identifies the alert of a rule for a subject.
func Fingerprint(ruleID, subject string, labels map[string]string) string {
	h := sha256.New()
	h.Write([]byte(ruleID + "\x00" + subject))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte("\x00" + k + "=" + labels[k]))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Observe queues readings for evaluation without blocking; the engine
// reads rs later, so the caller must not change it.
func (e *Engine) Observe(rs []kessel.Reading) {
	if len(e.rules) == 0 || len(rs) == 0 {
		return
	}
	e.pendMu.Lock()
	if e.pendingN+len(rs) > e.opts.Queue {
		e.pendMu.Unlock()
		e.dropped.Add(float64(len(rs)))
		now := time.Now().UnixNano()
		if last := e.lastDrop.Load(); now-last > int64(10*time.Second) && e.lastDrop.CompareAndSwap(last, now) {
			e.log.Warn("alert engine behind; readings not evaluated (see kessel_alert_dropped_readings_total)", "queue", e.opts.Queue)
		}
		return
	}
	e.pending = append(e.pending, rs)
	e.pendingN += len(rs)
	e.pendMu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default: // a wake-up is already due
	}
}

// take returns every queued batch and empties the queue.
func (e *Engine) take() [][]kessel.Reading {
	e.pendMu.Lock()
	defer e.pendMu.Unlock()
	b := e.pending
	e.pending, e.pendingN, e.spare = e.spare[:0], 0, nil
	return b
}

// Restore reloads alert states saved by a previous run (pending timers
// and firing alerts continue).
func (e *Engine) Restore(as []kessel.Alert) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range as {
		for _, r := range e.rules {
			if r.ID == a.RuleID {
				s := &subject{rule: r, device: a.Subject, alert: a, width: max(r.Window/buckets, time.Second), lastSeen: a.LastTrue}
				e.subjects[a.ID] = s
				e.byKey[subjectKey{r.ID, a.Subject}] = s
			}
		}
	}
}

// WindowRules returns the rules whose condition needs past readings
// (mean, max, min, rate), for refilling on start.
func (e *Engine) WindowRules() []Rule {
	var out []Rule
	for _, r := range e.Rules() {
		if r.Window > 0 && r.Condition != CondThreshold && r.Condition != CondSilence {
			out = append(out, r)
		}
	}
	return out
}

// Refill puts past readings into the rules' windows without evaluating
// them: after a restart, a 24-hour mean starts from the last 24 hours, not
// from nothing. Readings must be of one rule's kind and field.
func (e *Engine) Refill(rs []kessel.Reading) {
	slices.SortFunc(rs, func(a, b kessel.Reading) int { return a.Time.Compare(b.Time) })
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range rs {
		rd := &rs[i]
		for _, r := range e.rules {
			v, ok := rd.Values[r.Field]
			if !ok || r.Area || !applies(r, rd) || r.Window == 0 || r.Condition == CondThreshold || r.Condition == CondSilence {
				continue
			}
			s := e.subject(r, rd)
			if rd.Time.Before(s.lastSeen) {
				continue
			}
			s.lastSeen, s.last = rd.Time, v
			s.add(rd.Time, v)
		}
	}
}

// Run evaluates readings as they come and silence rules every second,
// until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.deliver(ctx) }()
	defer wg.Wait()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
			b := e.take()
			e.mu.Lock()
			for _, rs := range b {
				e.evaluateLocked(rs)
			}
			e.mu.Unlock()
			clear(b) // drop the readings before reusing the array
			e.spare = b
		case <-t.C:
			e.tick(e.opts.Now())
		}
	}
}

func (e *Engine) evaluate(rs []kessel.Reading) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evaluateLocked(rs)
}

// evaluateLocked evaluates rs under e.mu, held by the caller.
func (e *Engine) evaluateLocked(rs []kessel.Reading) {
	for i := range rs {
		rd := &rs[i]
		for _, r := range e.rules {
			if !applies(r, rd) {
				continue
			}
			v, ok := rd.Values[r.Field]
			if !ok && r.Condition != CondSilence {
				continue
			}
			if r.Area {
				if rd.Internal {
					continue // an area is its public devices
				}
				s := e.subjectFor(r, "district:"+r.District, rd)
				if rd.Time.Before(s.lastSeen) {
					continue
				}
				av := s.areaValue(rd.Device, v, rd.Time)
				s.lastSeen, s.last = rd.Time, av
				s.add(rd.Time, av)
				cv := s.value(rd.Time)
				holds := compare(r.Op, cv, r.Threshold)
				e.advance(s, holds, cleared(r, cv, holds), cv, rd.Time)
				continue
			}
			s := e.subject(r, rd)
			if rd.Time.Before(s.lastSeen) {
				continue // late reading: never re-evaluate the past
			}
			s.lastSeen, s.last = rd.Time, v
			if r.Condition == CondSilence {
				e.advance(s, false, true, 0, rd.Time)
				continue
			}
			s.add(rd.Time, v)
			cv := s.value(rd.Time)
			holds := compare(r.Op, cv, r.Threshold)
			e.advance(s, holds, cleared(r, cv, holds), cv, rd.Time)
		}
	}
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
		id := Fingerprint(r.ID, name, r.Labels)
		s = &subject{rule: r, device: name, width: max(r.Window/buckets, time.Second), alert: kessel.Alert{
			ID: id, RuleID: r.ID, Subject: name, Kind: rd.Kind, District: r.District, Severity: r.Severity, Visibility: r.Visibility, Labels: r.Labels, Summary: r.Summary,
		}}
		e.subjects[id] = s
		e.byKey[subjectKey{r.ID, name}] = s
	}
	return s
}

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
	e.seq++
	ev := kessel.AlertEvent{Seq: e.seq, Alert: a}
	e.events = append(e.events, ev)
	if len(e.events) > maxEvents {
		e.events = e.events[len(e.events)-maxEvents:]
	}
	for ch := range e.subs {
		select {
		case ch <- ev:
		default: // a subscriber that does not keep up loses events, never blocks evaluation
		}
	}
	select {
	case e.notifyQ <- a:
	default:
		e.log.Warn("alert notification queue full; transition not persisted or published", "alert", a.ID)
	}
}

// deliver persists and publishes transitions off the evaluation path.
func (e *Engine) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-e.notifyQ:
			if e.opts.Journal != nil {
				if err := e.opts.Journal.SaveAlerts(ctx, []kessel.Alert{a}); err != nil {
					e.log.Warn("could not save an alert transition", "alert", a.ID, "err", err)
				}
			}
			if e.opts.Notify != nil && (a.State == kessel.Firing || !a.ResolvedAt.IsZero() && a.State == kessel.Inactive) {
				e.opts.Notify(ctx, a)
			}
		}
	}
}

func (s *subject) add(t time.Time, v float64) {
	s.sum += v
	s.cnt++
	start := t.Truncate(s.width)
	if n := len(s.bks); n > 0 && s.bks[n-1].start.Equal(start) {
		b := &s.bks[n-1]
		b.sum += v
		b.n++
		if v < b.min {
			b.min = v
		}
		if v > b.max {
			b.max = v
		}
	} else {
		s.bks = append(s.bks, bucket{start: start, sum: v, min: v, max: v, n: 1, first: v, firstAt: t})
	}
	// Drop buckets older than the window.
	cut := t.Add(-s.rule.Window)
	i := 0
	// Aggregates use a left-open window, as Prometheus ranges do; a rate
	// compares with the value exactly one window ago, so it keeps that one.
	for i < len(s.bks)-1 && (s.bks[i].start.Before(cut) || s.rule.Condition != CondRate && s.bks[i].start.Equal(cut)) {
		i++
	}
	if i > 0 {
		for _, b := range s.bks[:i] {
			s.sum -= b.sum
			s.cnt -= b.n
		}
		s.bks = append(s.bks[:0], s.bks[i:]...)
	}
}

// value is the rule's condition value at t.
func (s *subject) value(t time.Time) float64 {
	switch s.rule.Condition {
	case CondThreshold:
		return s.last
	case CondRate:
		return s.last - s.bks[0].first
	case CondMean:
		return s.sum / float64(s.cnt)
	}
	var sum, mn, mx float64
	n := 0
	for i, b := range s.bks {
		if i == 0 || b.min < mn {
			mn = b.min
		}
		if i == 0 || b.max > mx {
			mx = b.max
		}
		sum += b.sum
		n += b.n
	}
	switch s.rule.Condition {
	case CondMax:
		return mx
	case CondMin:
		return mn
	}
	return sum / float64(n)
}

// List returns alerts matching q (resolved ones while they are in the
// recent events), newest first.
func (e *Engine) List(q kessel.AlertQuery) []kessel.Alert {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []kessel.Alert
	for _, s := range e.subjects {
		a := s.alert
		state := a.State.String()
		if a.State == kessel.Inactive {
			if a.ResolvedAt.IsZero() {
				continue
			}
			state = "resolved"
		}
		switch {
		case q.State != "" && q.State != state,
			q.Kind != "" && q.Kind != a.Kind,
			q.District != "" && q.District != a.District,
			q.Severity != "" && q.Severity != a.Severity,
			!q.IncludeInternal && a.Visibility != kessel.Public,
			!q.Since.IsZero() && latest(a).Before(q.Since):
			continue
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return latest(out[i]).After(latest(out[j])) })
	return out
}

func latest(a kessel.Alert) time.Time {
	t := a.ActiveAt
	for _, x := range []time.Time{a.FiredAt, a.ResolvedAt} {
		if x.After(t) {
			t = x
		}
	}
	return t
}

// Transitions returns the recent notified transitions of one alert (the
// engine keeps the last 1000 of all alerts), oldest first.
func (e *Engine) Transitions(id string) []kessel.AlertEvent {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []kessel.AlertEvent
	for _, ev := range e.events {
		if ev.Alert.ID == id {
			out = append(out, ev)
		}
	}
	return out
}

// Get returns one alert.
func (e *Engine) Get(id string) (kessel.Alert, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s, ok := e.subjects[id]
	if !ok {
		return kessel.Alert{}, false
	}
	return s.alert, true
}

// Ack records who acknowledged an alert. ENOTFOUND for an unknown alert.
func (e *Engine) Ack(ctx context.Context, id, who string) (kessel.Alert, error) {
	e.mu.Lock()
	s, ok := e.subjects[id]
	if !ok {
		e.mu.Unlock()
		return kessel.Alert{}, kessel.Errorf(kessel.ENOTFOUND, "alert %q not found", id)
	}
	s.alert.AckedBy, s.alert.AckedAt = who, e.opts.Now()
	a := s.alert
	e.mu.Unlock()
	if e.opts.Journal != nil {
		if err := e.opts.Journal.SaveAlerts(ctx, []kessel.Alert{a}); err != nil {
			return a, err
		}
	}
	return a, nil
}

// Subscribe returns the events after lastSeq still held, and a channel of
// new ones; cancel ends the subscription.
func (e *Engine) Subscribe(lastSeq int64) (backlog []kessel.AlertEvent, events <-chan kessel.AlertEvent, cancel func()) {
	ch := make(chan kessel.AlertEvent, 256)
	e.mu.Lock()
	for _, ev := range e.events {
		if ev.Seq > lastSeq {
			backlog = append(backlog, ev)
		}
	}
	e.subs[ch] = true
	e.mu.Unlock()
	return backlog, ch, func() {
		e.mu.Lock()
		delete(e.subs, ch)
		e.mu.Unlock()
	}
}
