package alert

import (
	"context"
	"log/slog"
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
	// Now is the clock for silence checks, acknowledgements, event
	// numbers and the end of refilled windows; default time.Now.
	Now     func() time.Time
	Journal Journal
	// Notify is called for every transition, off the evaluation path.
	Notify func(ctx context.Context, a kessel.Alert)
	// Exceedances counts exceedance days for exceedance_days rules
	// (exceedance.go), every ExceedanceEvery (default 15 minutes); nil
	// leaves those rules without alerts.
	Exceedances     ExceedanceCounter
	ExceedanceEvery time.Duration
	// DeviceClass, when set, names a device's measurement class; an
	// exceedance_days alert carries it as the label measurement_class, so
	// that an indicative sensor's alert says so.
	DeviceClass func(device string) kessel.MeasurementClass
	// Queue bounds the readings waiting for evaluation; default 100,000
	// (a burst of that many readings waits, a larger one is counted in
	// kessel_alert_dropped_readings_total and logged).
	Queue int
}

// maxEvents is how many recent transitions the engine keeps.
const maxEvents = 1000

// Engine evaluates rules over readings. Observe never blocks ingest:
// readings wait in a queue (queue.go) that Run empties all at once, so it
// evaluates one reading at a time when readings trickle in and thousands
// per wake-up in a burst. Evaluation (evaluate.go) keeps one subject per
// rule and device with its window (window.go) and alert (Step); notified
// transitions go to the event ring (ring.go), the streams (stream.go) and
// delivery (deliver.go). All methods are safe for concurrent use.
type Engine struct {
	opts Options
	log  *slog.Logger

	q queue

	mu       sync.RWMutex
	rules    []*Rule
	nRules   atomic.Int32            // len(rules), for Observe without mu
	subjects map[string]*subject     // by alert id
	byKey    map[subjectKey]*subject // by rule and device, for evaluation
	ring     ring
	subs     map[chan kessel.AlertEvent]bool
	stopped  bool // Run returned: streams are closed

	dropped, evaluated, transitions prometheus.Counter
	notifyQ                         chan kessel.Alert
}

// New validates rules and returns an engine. EINVALID names a bad rule.
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
	if opts.ExceedanceEvery <= 0 {
		opts.ExceedanceEvery = 15 * time.Minute
	}
	e := &Engine{opts: opts, log: opts.Logger.With("component", "alert"), q: queue{wake: make(chan struct{}, 1), limit: opts.Queue},
		subjects: map[string]*subject{}, byKey: map[subjectKey]*subject{}, ring: ring{max: maxEvents},
		subs: map[chan kessel.AlertEvent]bool{}, notifyQ: make(chan kessel.Alert, 4096),
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
	e.nRules.Store(int32(len(e.rules)))
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{e.dropped, e.evaluated, e.transitions} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// Run evaluates readings as they come and silence rules every second,
// until ctx ends; then it ends every stream (Subscribe).
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.deliver(ctx) }()
	defer wg.Wait()
	defer e.closeStreams()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	defer e.checkExceedances(ctx)() // waits for the checks before the streams close
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.q.wake:
			b := e.q.take()
			e.mu.Lock()
			for _, rs := range b {
				e.evaluateLocked(rs)
			}
			e.mu.Unlock()
			e.q.recycle(b)
		case <-t.C:
			e.tick(e.opts.Now())
		}
	}
}
