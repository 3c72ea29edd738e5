package simulators

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Publisher sends messages; Publish may return before delivery, and Flush
// waits until every message published so far was delivered (or failed).
type Publisher interface {
	Publish(ctx context.Context, m Message) error
	Flush(ctx context.Context) error
	// Failed counts messages whose delivery failed.
	Failed() int
}

// RunOptions controls a simulation run.
type RunOptions struct {
	// Interval is how often each device sends; 0 sends as fast as Rate allows.
	Interval time.Duration
	// Rate caps messages per second over the whole fleet; 0 = no cap.
	Rate float64
	// Count stops after this many readings; 0 runs until ctx ends.
	Count int
	// Progress receives a line per second while running; nil for none.
	Progress io.Writer
	// Now is the clock of a live run (Start zero); default time.Now.
	Now func() time.Time
	// Start, when set, makes the run simulated: the readings of round r
	// (each device once) are timestamped Start + r×Interval, or, with
	// Rate and no Interval, the k-th message Start + k/Rate, whatever the
	// wall clock says. The same Start, Seed and fleet send the same
	// messages, timestamps included. Interval or Rate must then be set.
	Start time.Time
	// Faults is the share (0..1) of readings sent as one of Faults.
	Faults float64
	// Seed drives the choice of faults.
	Seed uint64
	// Scenario, when set, changes the values (and silences devices).
	Scenario *Scenario
	// Speedup runs simulated time this many times faster than real time:
	// the real wait between rounds is Interval/Speedup (between messages
	// 1/(Rate×Speedup)). With Start set, the run stops when simulated
	// time reaches the present (Kessel refuses readings from the future).
	// 0 or 1: real time.
	Speedup float64
}

// Summary is what a run sent, printed as one JSON line at the end.
type Summary struct {
	// Sent counts readings sent, faulty ones included; duplicates (a
	// reading sent a second time) are counted only in Faults.
	Sent int `json:"sent"`
	// DeadLetters is how many of them Kessel must reject: every fault but
	// duplicate. Sent - DeadLetters readings must be stored.
	DeadLetters     int            `json:"dead_letters_expected"`
	Meta            int            `json:"meta"`
	Errors          int            `json:"errors"`
	Devices         int            `json:"devices"`
	DurationSeconds float64        `json:"duration_s"`
	RatePerSecond   float64        `json:"rate_per_s"`
	ByKind          map[string]int `json:"by_kind"`
	ByFormat        map[string]int `json:"by_format"`
	Faults          map[string]int `json:"faults"`
}

// Run publishes each device's meta, then readings round-robin over the
// fleet until Count readings were sent or ctx ends. It returns the summary
// of what was sent; an error only when publishing itself broke down.
func Run(ctx context.Context, devs []*Device, pub Publisher, o RunOptions) (Summary, error) {
	r := newRunner(devs, pub, o)
	r.last = r.simTime(0, 0)
	stopProgress := progress(o.Progress, &r.mu, &r.s, r.last, r.lastTime)
	defer stopProgress()
	for _, d := range devs {
		if err := pub.Publish(ctx, Meta(d)); err != nil {
			return r.s, fmt.Errorf("publish meta: %w", err)
		}
		r.mu.Lock()
		r.s.Meta++
		r.mu.Unlock()
	}
	return r.finish(ctx, r.loop(ctx))
}

// runner is one Run in progress.
type runner struct {
	devs   []*Device
	pub    Publisher
	o      RunOptions
	faults *rand.Rand
	// gap is the simulated time between two messages under Rate.
	gap time.Duration
	// anchor is the real time at which simulated elapsed time 0 is due.
	anchor, realStart time.Time
	mu                sync.Mutex // guards s and last, read by progress
	s                 Summary
	last              time.Time
}

func newRunner(devs []*Device, pub Publisher, o RunOptions) *runner {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Speedup = max(o.Speedup, 1)
	o.Scenario.Claim(devs) // a scenario's devices are its own
	r := &runner{devs: devs, pub: pub, o: o, faults: rand.New(rand.NewPCG(o.Seed, 0xfa17)),
		s: Summary{Devices: len(devs), ByKind: map[string]int{}, ByFormat: map[string]int{}, Faults: map[string]int{}}}
	if o.Rate > 0 {
		r.gap = time.Duration(float64(time.Second) / o.Rate)
	}
	r.realStart = time.Now()
	r.anchor = r.realStart
	return r
}

// elapsed is the simulated time from the run's start to message k of
// round.
func (r *runner) elapsed(round, k int) time.Duration {
	return max(time.Duration(round)*r.o.Interval, time.Duration(k)*r.gap)
}

// simTime is the time of message k of round: simulated from Start, or
// the live clock.
func (r *runner) simTime(round, k int) time.Time {
	if r.o.Start.IsZero() {
		return r.o.Now()
	}
	return r.o.Start.Add(r.elapsed(round, k))
}

func (r *runner) lastTime() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// pace waits until message k of round is due in real time (the first
// message of a round waits for the round); false if ctx ended first. A run that fell more than a second behind does not burst
// to catch up: it moves its schedule.
func (r *runner) pace(ctx context.Context, round, k int) bool {
	due := r.anchor.Add(time.Duration(float64(r.elapsed(round, k)) / r.o.Speedup))
	wait := time.Until(due)
	if wait < -time.Second {
		r.anchor = r.anchor.Add(-wait)
	}
	if wait <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// loop sends rounds until Count, the present (simulated, sped up) or the
// end of ctx; an error only when publishing broke down.
func (r *runner) loop(ctx context.Context) error {
	k := 0
	for round := 0; ; round++ {
		for _, d := range r.devs {
			if r.o.Count > 0 && r.s.Sent >= r.o.Count || !r.pace(ctx, round, k) {
				return nil
			}
			now := r.simTime(round, k)
			k++
			if r.o.Speedup > 1 && now.After(time.Now()) {
				return nil // simulated time caught up with the present
			}
			if err := r.send(ctx, d, now); err != nil || ctx.Err() != nil {
				return err
			}
		}
	}
}

// send sends d's reading at now, faulty as the fault dice say.
func (r *runner) send(ctx context.Context, d *Device, now time.Time) error {
	o := r.o
	if o.Scenario.Silent(d, now) || d.dropout() {
		return nil
	}
	values := d.Values(now)
	o.Scenario.Apply(d, now, values)
	if d.Fault != nil {
		d.Fault.Apply(values)
	}
	fault := ""
	if o.Faults > 0 && r.faults.Float64() < o.Faults {
		fault = Faults[r.faults.IntN(len(Faults))]
	}
	m, fault := r.message(d, now, values, fault)
	dup := fault == "duplicate" && m.Format != "airrohr" // airrohr has no time: a repeat is a new reading
	if slices.Contains(RejectedFaults, fault) {
		m = inject(m, fault, r.faults, now)
	}
	if err := r.pub.Publish(ctx, m); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("publish: %w", err)
	}
	if dup {
		if err := r.pub.Publish(ctx, m); err != nil && ctx.Err() == nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	r.count(m, fault, dup, now)
	return nil
}

// message builds d's reading at now with fault's timestamp or values, and
// returns the fault it carries ("" where the format cannot carry it).
func (r *runner) message(d *Device, now time.Time, values map[string]float64, fault string) (Message, string) {
	ts := d.Timestamp(now)
	switch fault {
	case "out_of_order": // half a millisecond before the previous reading: unique, and late
		ts = ts.Add(-1500 * time.Microsecond)
	case "late":
		ts = ts.Add(-time.Hour - 500*time.Microsecond)
	case "out_of_range":
		for k := range values {
			values[k] = -9999
		}
	}
	target := d
	if fault == "unknown_device" {
		target = &Device{ID: fmt.Sprintf("ghost-%06d", r.s.Sent), Kind: d.Kind, Format: "native", rng: d.rng}
	}
	m := target.Reading(ts, values)
	m.Sent = now
	if (m.Format == "airrohr" || m.Format == "senml") && (fault == "out_of_order" || fault == "late") {
		// airrohr sends no time of its own, and SenML's seconds carry
		// milliseconds only: the sub-millisecond offset that keeps an
		// out-of-order reading unique would be lost. Send it on time.
		m = target.Reading(d.Timestamp(now), values)
		m.Sent = now
		fault = ""
	}
	return m, fault
}

// count adds a sent message to the summary.
func (r *runner) count(m Message, fault string, dup bool, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = now
	r.s.Sent++
	r.s.ByKind[m.Kind]++
	r.s.ByFormat[m.Format]++
	switch {
	case m.Fault != "":
		r.s.Faults[m.Fault]++
		r.s.DeadLetters++
	case dup:
		r.s.Faults["duplicate"]++
	case fault != "" && fault != "duplicate":
		r.s.Faults[fault]++
	}
}

// finish waits for delivery and completes the summary.
func (r *runner) finish(ctx context.Context, runErr error) (Summary, error) {
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := r.pub.Flush(flushCtx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Errors = r.pub.Failed()
	r.s.DurationSeconds = time.Since(r.realStart).Seconds() // real time, also under Speedup
	if r.s.DurationSeconds > 0 {
		r.s.RatePerSecond = float64(r.s.Sent) / r.s.DurationSeconds
	}
	if runErr != nil {
		return r.s, runErr
	}
	if err != nil {
		return r.s, fmt.Errorf("flush: %w", err)
	}
	return r.s, nil
}

func progress(w io.Writer, mu *sync.Mutex, s *Summary, start time.Time, now func() time.Time) (stop func()) {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last := 0
		for {
			select {
			case <-done:
				return
			case <-t.C:
				mu.Lock()
				sent := s.Sent
				mu.Unlock()
				fmt.Fprintf(w, "kessel-sim: %d readings sent (%d/s), %.0fs elapsed\n", sent, sent-last, now().Sub(start).Seconds())
				last = sent
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
