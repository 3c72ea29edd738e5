// Package rollup keeps the hourly and daily rollups of the raw readings
// current: each closed UTC hour is rolled up once when it closes and
// again when its grace period for late readings has passed, each UTC day
// when its last hour was; a watermark stored with the data makes it catch
// up after any downtime of Kessel or InfluxDB without gaps. InfluxDB 1.8
// has no tasks, so Kessel does this itself; writes overwrite, so a window
// computed twice is stored once.
package rollup

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/internal/yield"
)

// Store computes and stores rollups and their watermark (influx.Client).
type Store interface {
	// ComputeHours rolls up the raw readings of the hours in [from, to):
	// the values quality control passed, with a count of the others.
	ComputeHours(ctx context.Context, from, to time.Time) (int, error)
	// ComputeDays rolls up the hourly rollups of the days in [from, to).
	ComputeDays(ctx context.Context, from, to time.Time) (int, error)
	RollupMark(ctx context.Context) (kessel.RollupMark, error)
	SaveRollupMark(ctx context.Context, m kessel.RollupMark) error
	// OldestReading returns the time of the oldest raw reading; false
	// when there is none.
	OldestReading(ctx context.Context) (time.Time, bool, error)
}

// Options configures a Roller. Zero values take the defaults noted.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time // default time.Now
	// Grace is how long after an hour closes its late readings still
	// count: the hour is rolled up again then (and Grace after InfluxDB
	// or Kessel came back, for readings that queued meanwhile). Default
	// 15 minutes.
	Grace time.Duration
	// Interval is how often the Roller looks for closed hours; default
	// one minute.
	Interval time.Duration
	// Chunk is how many hours one query rolls up while catching up;
	// default 24 hours. Over hours without readings the chunk doubles,
	// up to 32 days.
	Chunk time.Duration
	// RawRetention is how long raw readings are kept (0: forever): an
	// hour older than that is never rolled up (its raw data is gone and
	// its rollup must stay as it is). On a first start, rolling up
	// begins there, or at the oldest reading when raw is kept forever.
	RawRetention time.Duration
	// Busy reports whether ingest is behind (ingest.Ingester.Behind):
	// before each pass the Roller waits until it is not, up to MaxYield,
	// so that catching up after an outage does not slow draining the
	// backlog the outage left. Nil: never busy.
	Busy func() bool
	// MaxYield bounds each wait for Busy; default 10 s.
	MaxYield time.Duration
}

func (o *Options) ensureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Grace <= 0 {
		o.Grace = 15 * time.Minute
	}
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Busy == nil {
		o.Busy = func() bool { return false }
	}
	if o.MaxYield <= 0 {
		o.MaxYield = 10 * time.Second
	}
	if o.Chunk < time.Hour {
		o.Chunk = 24 * time.Hour
	}
	o.Chunk = o.Chunk.Truncate(time.Hour)
}

// Roller computes rollups (see the package comment). Step and Run must
// not be called concurrently.
type Roller struct {
	store Store
	opts  Options
	log   *slog.Logger
	m     *metrics
	mark  kessel.RollupMark
	have  bool          // mark was loaded
	chunk time.Duration // the next chunk: doubles over hours without readings
	hold  time.Time     // no final pass before this (after a start or an outage)
}

// New returns a Roller over store. It returns EINVALID for bad options
// and an error when its metrics cannot be registered.
func New(store Store, opts Options) (*Roller, error) {
	opts.ensureDefaults()
	if opts.RawRetention < 0 || opts.RawRetention > 0 && opts.RawRetention <= opts.Grace {
		return nil, kessel.Errorf(kessel.EINVALID, "rollup: raw retention must be longer than the grace period (or 0, forever)")
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Roller{store: store, opts: opts, log: opts.Logger.With("component", "rollup"), m: m, hold: opts.Now().Add(opts.Grace), chunk: opts.Chunk}, nil
}

// Run rolls up until ctx ends: at once, then every Interval, without
// pause while catching up, each pass after ingest caught up (Busy). A pass that fails (InfluxDB down) is logged,
// counted and retried at the next interval; Run returns nil when ctx
// ends.
func (r *Roller) Run(ctx context.Context) error {
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	for {
		r.yield(ctx)
		more, err := r.Step(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.log.Warn("rollup pass failed; retrying", "err", err, "next", r.opts.Interval)
		case more:
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// yield waits while ingest is busy, up to MaxYield, or until ctx ends.
func (r *Roller) yield(ctx context.Context) {
	if w := yield.Wait(ctx, r.opts.Busy, r.opts.MaxYield); w > 0 {
		r.m.yielded.Add(w.Seconds())
	}
}

// Step does one pass: the next chunk of final hours if any is due, else
// the closed hours not yet rolled up at all. It reports whether more is
// due at once. After an error, no final pass runs before Grace passed.
func (r *Roller) Step(ctx context.Context) (more bool, err error) {
	now := r.opts.Now().UTC()
	defer func() {
		switch {
		case err != nil:
			r.hold = now.Add(r.opts.Grace)
			r.m.passes.WithLabelValues("failed").Inc()
		default:
			r.m.passes.WithLabelValues("ok").Inc()
		}
		if r.have {
			r.m.lag.Set(now.Sub(r.mark.Done).Seconds())
			r.m.finalLag.Set(now.Sub(r.mark.Final).Seconds())
		}
	}()
	if err := r.load(ctx, now); err != nil {
		return false, err
	}
	finalEnd := now.Add(-r.opts.Grace).Truncate(time.Hour)
	closedEnd := now.Truncate(time.Hour)
	if !now.Before(r.hold) && r.mark.Final.Before(finalEnd) {
		from := r.mark.Final
		to := minTime(from.Add(r.chunk), finalEnd)
		if err := r.roll(ctx, from, to, "final"); err != nil {
			return false, err
		}
		next := kessel.RollupMark{Final: to, Done: maxTime(r.mark.Done, to), Since: r.mark.Since}
		return to.Before(finalEnd), r.save(ctx, next)
	}
	if r.mark.Done.Before(closedEnd) {
		from := maxTime(r.mark.Done, r.mark.Final)
		to := minTime(from.Add(r.chunk), closedEnd)
		if err := r.roll(ctx, from, to, "first"); err != nil {
			return false, err
		}
		return to.Before(closedEnd), r.save(ctx, kessel.RollupMark{Final: r.mark.Final, Done: to, Since: r.mark.Since})
	}
	return false, nil
}

// load reads the watermark once; on a first start it begins at the
// raw retention's edge or the oldest reading. Hours whose raw data has
// expired meanwhile are skipped.
func (r *Roller) load(ctx context.Context, now time.Time) error {
	if !r.have {
		m, err := r.store.RollupMark(ctx)
		if err != nil {
			return err
		}
		if m.Final.IsZero() {
			if m.Final, err = r.firstHour(ctx, now); err != nil {
				return err
			}
			m.Done, m.Since = m.Final, m.Final
			r.log.Info("rolling up for the first time", "from", m.Final)
		}
		r.mark, r.have = m, true
	}
	if r.opts.RawRetention > 0 {
		edge := ceilHour(now.Add(-r.opts.RawRetention))
		if r.mark.Final.Before(edge) {
			r.log.Warn("raw readings expired before they were rolled up; those hours have no rollups", "from", r.mark.Final, "to", edge)
			r.mark.Final = edge
			r.mark.Done = maxTime(r.mark.Done, edge)
		}
	}
	return nil
}

func (r *Roller) firstHour(ctx context.Context, now time.Time) (time.Time, error) {
	if r.opts.RawRetention > 0 {
		return ceilHour(now.Add(-r.opts.RawRetention)), nil
	}
	t, ok, err := r.store.OldestReading(ctx)
	if err != nil || !ok {
		return now.Truncate(time.Hour), err
	}
	return t.UTC().Truncate(time.Hour), nil
}

// roll rolls up the hours in [from, to) and the days that end within.
func (r *Roller) roll(ctx context.Context, from, to time.Time, pass string) error {
	start := time.Now()
	n, err := r.store.ComputeHours(ctx, from, to)
	if err != nil {
		return fmt.Errorf("rollup: hours %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	r.m.windows.WithLabelValues(kessel.ResolutionHour, pass).Add(float64(n))
	if n == 0 { // nothing there (a first start, a long silence): look further at once
		r.chunk = min(2*r.chunk, maxChunk)
	} else {
		r.chunk = r.opts.Chunk
	}
	r.m.hours.WithLabelValues(pass).Add(to.Sub(from).Hours())
	days := 0
	if dFrom, dTo := from.Truncate(24*time.Hour), to.Truncate(24*time.Hour); dFrom.Before(dTo) {
		if days, err = r.store.ComputeDays(ctx, dFrom, dTo); err != nil {
			return fmt.Errorf("rollup: days %s to %s: %w", dFrom.Format(time.DateOnly), dTo.Format(time.DateOnly), err)
		}
		r.m.windows.WithLabelValues(kessel.ResolutionDay, pass).Add(float64(days))
	}
	level := slog.LevelDebug
	if to.Sub(from) > time.Hour {
		level = slog.LevelInfo // catching up
	}
	r.log.Log(ctx, level, "rolled up", "pass", pass, "from", from, "to", to, "hour_windows", n, "day_windows", days, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func (r *Roller) save(ctx context.Context, m kessel.RollupMark) error {
	if err := r.store.SaveRollupMark(ctx, m); err != nil {
		return err
	}
	r.mark = m
	return nil
}

// Mark returns the watermark as the Roller last saved or loaded it.
func (r *Roller) Mark() kessel.RollupMark { return r.mark }

// maxChunk bounds a chunk grown over hours without readings.
const maxChunk = 32 * 24 * time.Hour

func ceilHour(t time.Time) time.Time {
	if f := t.Truncate(time.Hour); !f.Equal(t) {
		return f.Add(time.Hour)
	}
	return t
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
