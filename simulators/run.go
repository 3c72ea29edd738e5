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
	Now      func() time.Time
	// Faults is the share (0..1) of readings sent as one of Faults.
	Faults float64
	// Seed drives the choice of faults.
	Seed uint64
	// Scenario, when set, changes the values (and silences devices).
	Scenario *Scenario
	// Speedup runs simulated time this many times faster than real time:
	// Now is then simulated, and the real wait between rounds is
	// Interval/Speedup. The run stops when simulated time reaches the
	// present (Kessel refuses readings from the future). 0 or 1: real time.
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
	if o.Now == nil {
		o.Now = time.Now
	}
	s := Summary{Devices: len(devs), ByKind: map[string]int{}, ByFormat: map[string]int{}, Faults: map[string]int{}}
	start, realStart := o.Now(), time.Now()
	var mu sync.Mutex
	stopProgress := progress(o.Progress, &mu, &s, start, o.Now)
	defer stopProgress()

	for _, d := range devs {
		if err := pub.Publish(ctx, Meta(d)); err != nil {
			return s, fmt.Errorf("publish meta: %w", err)
		}
		mu.Lock()
		s.Meta++
		mu.Unlock()
	}
	faults := rand.New(rand.NewPCG(o.Seed, 0xfa17))
	var gap time.Duration
	if o.Rate > 0 {
		gap = time.Duration(float64(time.Second) / o.Rate)
	}
	next := o.Now()
	round := 0
	wait := o.Interval
	if o.Speedup > 1 {
		wait = time.Duration(float64(o.Interval) / o.Speedup)
	}
loop:
	for {
		roundStart := time.Now()
		for _, d := range devs {
			if o.Count > 0 && s.Sent >= o.Count {
				break loop
			}
			if gap > 0 {
				next = next.Add(gap)
				if wait := next.Sub(o.Now()); wait > 0 {
					select {
					case <-ctx.Done():
						break loop
					case <-time.After(wait):
					}
				} else if wait < -time.Second {
					next = o.Now() // fell behind: do not burst to catch up
				}
			}
			if ctx.Err() != nil {
				break loop
			}
			now := o.Now()
			if o.Speedup > 1 && now.After(time.Now()) {
				break loop // simulated time caught up with the present
			}
			if o.Scenario.Silent(d, now) || d.dropout() {
				continue
			}
			values := d.Values(now)
			o.Scenario.Apply(d, now, values)
			ts := d.Timestamp(now)
			fault := ""
			if o.Faults > 0 && faults.Float64() < o.Faults {
				fault = Faults[faults.IntN(len(Faults))]
			}
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
				target = &Device{ID: fmt.Sprintf("ghost-%06d", s.Sent), Kind: d.Kind, Format: "native", rng: d.rng}
			}
			m := target.Reading(ts, values)
			m.Sent = now
			if (m.Format == "airrohr" || m.Format == "senml") && (fault == "out_of_order" || fault == "late") {
				// airrohr sends no time of its own, and SenML's seconds carry
				// milliseconds only: the sub-millisecond offset that keeps an
				// out-of-order reading unique would be lost. Send it on time.
				fault = ""
				m = target.Reading(d.Timestamp(now), values)
				m.Sent = now
			}
			dup := fault == "duplicate" && m.Format != "airrohr" // airrohr has no time: a repeat is a new reading
			if slices.Contains(RejectedFaults, fault) {
				m = inject(m, fault, faults, now)
			}
			if err := pub.Publish(ctx, m); err != nil {
				if ctx.Err() != nil {
					break loop
				}
				return s, fmt.Errorf("publish: %w", err)
			}
			if dup {
				if err := pub.Publish(ctx, m); err != nil && ctx.Err() == nil {
					return s, fmt.Errorf("publish: %w", err)
				}
			}
			mu.Lock()
			s.Sent++
			s.ByKind[m.Kind]++
			s.ByFormat[m.Format]++
			switch {
			case m.Fault != "":
				s.Faults[m.Fault]++
				s.DeadLetters++
			case dup:
				s.Faults["duplicate"]++
			case fault != "" && fault != "duplicate":
				s.Faults[fault]++
			}
			mu.Unlock()
		}
		round++
		if wait > 0 {
			select {
			case <-ctx.Done():
				break loop
			case <-time.After(time.Until(roundStart.Add(wait))):
			}
		}
	}
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := pub.Flush(flushCtx)
	mu.Lock()
	defer mu.Unlock()
	s.Errors = pub.Failed()
	s.DurationSeconds = time.Since(realStart).Seconds() // real time, also under Speedup
	if s.DurationSeconds > 0 {
		s.RatePerSecond = float64(s.Sent) / s.DurationSeconds
	}
	if err != nil {
		return s, fmt.Errorf("flush: %w", err)
	}
	return s, nil
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
