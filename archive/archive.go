// Package archive writes the open-data bulk downloads: for every UTC day,
// the public readings of each kind as gzip-compressed CSV, the public
// devices' positions as GeoJSON and a SHA-256 checksum file, in a folder of
// their own (DIR/2026/11/29/). A day's folder appears whole or not at all:
// it is written beside the archive and renamed into place, so a reader or
// a crash never sees half a day. Written files are never changed again,
// which lets HTTP serve them with stable ETags.
package archive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/internal/yield"
)

// Store streams stored readings; influx.Client has it.
type Store interface {
	// StreamHistory calls fn for each reading of one device in [From, To), oldest first.
	StreamHistory(ctx context.Context, q kessel.HistoryQuery, fn func(kessel.Reading) error) error
}

// Devices lists the devices whose readings are archived; the registry has
// it. Only public devices are asked for.
type Devices interface {
	Query(q kessel.DeviceQuery) []kessel.DeviceState
}

// Options are the archive's optional dependencies.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	// UnitOf names a field's unit for the CSV header ("" when unknown).
	UnitOf func(kind, field string) string
	// Since is the first day a catch-up writes; zero means seven days
	// before the first run.
	Since time.Time
	// Busy reports whether ingest is behind (ingest.Ingester.Behind). A
	// day being written then waits before each device's readings until
	// it is not, up to MaxYield each time, so that writing an archive
	// does not slow draining a backlog. Nil: never busy.
	Busy func() bool
	// MaxYield bounds each wait for Busy; default 10 s, so that an
	// archive progresses, slowly, under any load.
	MaxYield time.Duration
	// StartDelay is how long Run waits before its first pass, so that a
	// backlog the start left has begun to arrive (Busy); default 2 s.
	StartDelay time.Duration
}

// Archive writes and lists archive days under one directory.
type Archive struct {
	dir     string
	store   Store
	devices Devices
	opts    Options
	days    prometheus.Counter
	rows    prometheus.Counter
	failed  prometheus.Counter
	yielded prometheus.Counter
	writing sync.Mutex // one WriteDay at a time: two writes of a day race to rename their folders
}

// SumsFile is the name of each day's checksum file, in the format of
// `sha256sum -c`.
const SumsFile = "SHA256SUMS"

// New returns an Archive writing under dir, which it creates.
func New(dir string, store Store, devices Devices, opts Options) (*Archive, error) {
	if dir == "" {
		return nil, errors.New("archive: no directory given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Busy == nil {
		opts.Busy = func() bool { return false }
	}
	if opts.MaxYield <= 0 {
		opts.MaxYield = 10 * time.Second
	}
	if opts.StartDelay <= 0 {
		opts.StartDelay = 2 * time.Second
	}
	if opts.UnitOf == nil {
		opts.UnitOf = func(string, string) string { return "" }
	}
	a := &Archive{dir: dir, store: store, devices: devices, opts: opts,
		days:    prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_archive_days_written_total", Help: "Archive days written."}),
		rows:    prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_archive_rows_written_total", Help: "Readings written to archive CSV files."}),
		failed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_archive_failures_total", Help: "Archive days that could not be written."}),
		yielded: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_archive_yield_seconds_total", Help: "Time archive writing waited for ingest to catch up."}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{a.days, a.rows, a.failed, a.yielded} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("archive: %w", err)
			}
		}
	}
	return a, nil
}

// Dir is the archive's directory.
func (a *Archive) Dir() string { return a.dir }

// DayPath is the folder of day (UTC) relative to the archive: 2026/11/29.
func DayPath(day time.Time) string {
	return day.UTC().Format("2006/01/02")
}

// Has reports whether day's folder is complete (its checksum file exists).
func (a *Archive) Has(day time.Time) bool {
	_, err := os.Stat(filepath.Join(a.dir, DayPath(day), SumsFile))
	return err == nil
}

// Days lists the complete days in the archive, oldest first.
func (a *Archive) Days() ([]time.Time, error) {
	var out []time.Time
	err := filepath.WalkDir(a.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == a.dir {
			return err
		}
		rel, _ := filepath.Rel(a.dir, p)
		if rel[0] == '.' {
			return fs.SkipDir // a day being written
		}
		if day, err := time.Parse("2006/01/02", filepath.ToSlash(rel)); err == nil {
			if a.Has(day) {
				out = append(out, day)
			}
			return fs.SkipDir
		}
		return nil
	})
	slices.SortFunc(out, func(x, y time.Time) int { return x.Compare(y) })
	return out, err
}

// Day is what WriteDay wrote.
type Day struct {
	Day   time.Time
	Files []File
}

// File is one file of a day with its size, SHA-256 and, for CSV files,
// how many readings it holds. Resolution is "" for raw readings and
// kessel.ResolutionHour for a file written from the hourly rollups (its
// rows are hours; see HourColumn).
type File struct {
	Name       string
	Size       int64
	SHA256     string
	Rows       int
	Resolution string
}

// yield waits while ingest is busy, up to MaxYield, or until ctx ends.
func (a *Archive) yield(ctx context.Context) {
	if w := yield.Wait(ctx, a.opts.Busy, a.opts.MaxYield); w > 0 {
		a.yielded.Add(w.Seconds())
	}
}
