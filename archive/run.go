package archive

import (
	"context"
	"time"

	"github.com/kessel-city/kessel"
)

// Oldest finds the time of the oldest stored reading; influx.Client has
// it. An archive whose store has it catches up from that day.
type Oldest interface {
	OldestReading(ctx context.Context) (time.Time, bool, error)
}

// Delay is how long after midnight (UTC) the previous day is written, so
// that readings a device sent late are in it.
const Delay = 15 * time.Minute

// Run writes every missing day up to yesterday, oldest first, then each
// day at Delay past the following midnight, until ctx ends. A day that
// cannot be written (InfluxDB away) is tried again at the next pass, an
// hour later at the latest; it never stops Run. It returns nil when ctx
// ends.
func (a *Archive) Run(ctx context.Context) error {
	for {
		a.CatchUp(ctx)
		now := a.opts.Now()
		next := now.UTC().Truncate(24 * time.Hour).Add(24*time.Hour + Delay)
		if wait := next.Sub(now); wait > time.Hour && a.pending() {
			next = now.Add(time.Hour)
		}
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// pending reports whether a past day is still missing after a pass.
func (a *Archive) pending() bool {
	y := a.yesterday()
	return !a.Has(y)
}

func (a *Archive) yesterday() time.Time {
	now := a.opts.Now().UTC()
	return now.Add(-Delay).Truncate(24 * time.Hour).Add(-24 * time.Hour)
}

// CatchUp writes each day from the first day (Options.Since, else the
// oldest stored reading's or the first rolled-up hour's, whichever is
// older, else a week back) to yesterday that is not in the
// archive yet, and returns how many it wrote.
func (a *Archive) CatchUp(ctx context.Context) int {
	first := a.first(ctx)
	n := 0
	for day := first; !day.After(a.yesterday()) && ctx.Err() == nil; day = day.Add(24 * time.Hour) {
		if a.Has(day) {
			continue
		}
		d, err := a.WriteDay(ctx, day)
		if err != nil {
			a.opts.Logger.Warn("archive day not written; trying again later", "day", day.Format(time.DateOnly), "err", err)
			return n
		}
		rows := 0
		for _, f := range d.Files {
			rows += f.Rows
		}
		a.opts.Logger.Info("archive day written", "day", day.Format(time.DateOnly), "files", len(d.Files), "readings", rows)
		n++
	}
	return n
}

func (a *Archive) first(ctx context.Context) time.Time {
	day := a.opts.Since
	if o, ok := a.store.(Oldest); ok && day.IsZero() {
		t, found, err := o.OldestReading(ctx)
		switch {
		case err != nil:
			a.opts.Logger.Warn("archive: oldest stored reading unknown; catching up a week", "err", err)
		case found:
			day = t
		default:
			day = a.opts.Now() // nothing stored yet
		}
	}
	if m, ok := a.store.(Marker); ok && a.opts.Since.IsZero() {
		if mark, err := m.RollupMark(ctx); err == nil && !mark.Since.IsZero() && (day.IsZero() || mark.Since.Before(day)) {
			day = mark.Since // raw readings have expired since: those days come from the rollups
		}
	}
	if day.IsZero() {
		day = a.opts.Now().Add(-7 * 24 * time.Hour)
	}
	return day.UTC().Truncate(24 * time.Hour)
}

// Marker says since when hourly rollups exist (kessel.RollupMark.Since);
// influx.Client has it. A catch-up begins there when that is older than
// the oldest raw reading.
type Marker interface {
	RollupMark(ctx context.Context) (kessel.RollupMark, error)
}

// Build writes (or rewrites) day's folder now.
func (a *Archive) Build(ctx context.Context, day time.Time) error {
	_, err := a.WriteDay(ctx, day)
	return err
}
