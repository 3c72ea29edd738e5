package archive

import (
	"context"
	"fmt"
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

// Run writes every missing day up to yesterday, oldest first (after
// Options.StartDelay), then each day at Delay past the following
// midnight, until ctx ends. A day that
// cannot be written (InfluxDB away) is tried again at the next pass, an
// hour later at the latest; it never stops Run. It returns nil when ctx
// ends.
func (a *Archive) Run(ctx context.Context) error {
	// A backlog left by the restart shows as ingest being behind only
	// once the broker delivers it: the first pass waits a moment for it.
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(a.opts.StartDelay):
	}
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
// archive's oldest day, else the oldest stored reading's or the first
// rolled-up hour's, whichever is older, else a week back) to yesterday
// that is not in the archive yet, and returns how many it wrote. It
// begins once ingest is not behind (Options.Busy).
func (a *Archive) CatchUp(ctx context.Context) int {
	a.yield(ctx) // finding the first day may read the whole store
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
	if !a.opts.Since.IsZero() {
		return a.opts.Since.UTC().Truncate(24 * time.Hour)
	}
	// The first pass wrote every day from the oldest data on: asking the
	// store again reads all of it (InfluxDB 1.8 does not push first()
	// down), at every start and every night. A day older than the
	// archive that is stored later (an import) is written on demand
	// (Build).
	if days, err := a.Days(); err == nil && len(days) > 0 {
		return days[0]
	}
	day, found, err := a.oldestData(ctx)
	_, tells := a.store.(Oldest)
	switch {
	case err != nil:
		a.opts.Logger.Warn("archive: oldest stored data unknown; catching up a week", "err", err)
		day = a.opts.Now().Add(-7 * 24 * time.Hour)
	case !found && tells:
		day = a.opts.Now() // nothing stored yet
	case !found:
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

// Build writes (or rewrites) day's folder now. A day before the oldest
// stored data (raw readings, or hourly rollups where raw readings have
// expired) is EGONE: rewriting it would replace its archive with empty
// files. A day the store cannot be asked for (before 1970-01-02) is
// EINVALID.
func (a *Archive) Build(ctx context.Context, day time.Time) error {
	day = day.UTC().Truncate(24 * time.Hour)
	if err := kessel.ValidateTime(day); err != nil {
		return err
	}
	if !day.After(time.Unix(0, 0)) { // InfluxDB reads a range bound at or before the epoch as none: every reading
		return kessel.Errorf(kessel.EINVALID, "day %s: archive days start on 1970-01-02", day.Format(time.DateOnly))
	}
	oldest, found, err := a.oldestData(ctx)
	if err != nil {
		return err
	}
	if found && day.Before(oldest) {
		return kessel.Errorf(kessel.EGONE, "no readings of %s are stored (the oldest are of %s); an archive of that day stays as it was written", day.Format(time.DateOnly), oldest.Format(time.DateOnly))
	}
	_, err = a.WriteDay(ctx, day)
	return err
}

// oldestData is the day of the oldest stored data: the oldest raw reading,
// or the first hourly rollup where that is older. found is false when the
// store cannot tell or holds nothing.
func (a *Archive) oldestData(ctx context.Context) (time.Time, bool, error) {
	var oldest time.Time
	if o, ok := a.store.(Oldest); ok {
		t, found, err := o.OldestReading(ctx)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("archive: oldest stored reading: %w", err)
		}
		if found {
			oldest = t
		}
	}
	if m, ok := a.store.(Marker); ok {
		mark, err := m.RollupMark(ctx)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("archive: rollup mark: %w", err)
		}
		if !mark.Since.IsZero() && (oldest.IsZero() || mark.Since.Before(oldest)) {
			oldest = mark.Since
		}
	}
	if oldest.IsZero() {
		return time.Time{}, false, nil
	}
	return oldest.UTC().Truncate(24 * time.Hour), true, nil
}
