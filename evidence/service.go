package evidence

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/kessel-city/kessel"
)

// RoadSurfaceKind is the kind of device every one of which gets its own
// chain.
const RoadSurfaceKind = "road_surface"

// Source reads what records are built from: stored readings and the alert
// journal (every saved state, oldest first, of the journal points in
// [from, to)).
type Source interface {
	History(ctx context.Context, q kessel.HistoryQuery) ([]kessel.Reading, error)
	AlertHistory(ctx context.Context, from, to time.Time) ([]kessel.Alert, error)
}

// Store keeps the chains: entries keyed by subject and day start, read
// back oldest first.
type Store interface {
	SaveEvidence(ctx context.Context, e kessel.EvidenceEntry) error
	// Evidence returns the subject's entries with Start in [from, to).
	Evidence(ctx context.Context, subject string, from, to time.Time) ([]kessel.EvidenceEntry, error)
	// LastEvidence returns the subject's newest entry; false when none.
	LastEvidence(ctx context.Context, subject string) (kessel.EvidenceEntry, bool, error)
}

// Devices is the device registry.
type Devices interface {
	Get(id string) (kessel.Device, *kessel.Reading, bool)
	Query(q kessel.DeviceQuery) []kessel.DeviceState
}

// Archive receives every sealed record as well (a directory: see Dir).
type Archive interface {
	Put(r Record) error
}

// ServiceOptions configures a Service; zero values take the defaults noted.
type ServiceOptions struct {
	Options
	Logger *slog.Logger
	Now    func() time.Time // default time.Now
	// Archive, when set, receives each record after the store has it.
	Archive Archive
	// AlertLookback is how far before a day the journal is read for alerts
	// still firing at its start; default 7 days.
	AlertLookback time.Duration
	// MaxCatchUp bounds the days one Build appends; default 400.
	MaxCatchUp int
	// BuildAfter is how long after local midnight Run builds the day
	// before's records, giving late readings time to arrive; default 1h.
	BuildAfter time.Duration
}

// Service builds, stores and verifies the chains. It is safe for
// concurrent use; builds run one at a time.
type Service struct {
	src     Source
	store   Store
	devices Devices
	routes  []RouteConfig
	opts    ServiceOptions
	log     *slog.Logger
	mu      sync.Mutex // serialises builds: chains are append-only
}

// NewService returns a Service over routes; EINVALID names a bad route.
func NewService(src Source, store Store, devices Devices, routes []RouteConfig, o ServiceOptions) (*Service, error) {
	o.ensureDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AlertLookback <= 0 {
		o.AlertLookback = 7 * 24 * time.Hour
	}
	if o.MaxCatchUp <= 0 {
		o.MaxCatchUp = 400
	}
	if o.BuildAfter <= 0 {
		o.BuildAfter = time.Hour
	}
	seen := map[string]bool{}
	for _, r := range routes {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if seen[r.ID] {
			return nil, kessel.Errorf(kessel.EINVALID, "route %q appears twice", r.ID)
		}
		seen[r.ID] = true
	}
	return &Service{src: src, store: store, devices: devices, routes: routes, opts: o, log: o.Logger.With("component", "evidence")}, nil
}

// Subjects lists every chain: each road-surface sensor (internal ones
// too), then each route.
func (s *Service) Subjects() []Subject {
	var out []Subject
	for _, st := range s.devices.Query(kessel.DeviceQuery{Kind: RoadSurfaceKind, IncludeInternal: true}) {
		out = append(out, Subject{Type: Sensor, ID: st.Device.ID, Name: st.Device.Name, Devices: []string{st.Device.ID}})
	}
	slices.SortFunc(out, func(a, b Subject) int { return compareStrings(a.ID, b.ID) })
	for _, r := range s.routes {
		out = append(out, Subject{Type: Route, ID: r.ID, Name: r.Name, Devices: slices.Clone(r.Devices)})
	}
	return out
}

// Subject finds one chain's subject: typ is Sensor or Route. ENOTFOUND
// for an unknown one, EINVALID for an unknown type.
func (s *Service) Subject(typ, id string) (Subject, error) {
	if typ != Sensor && typ != Route {
		return Subject{}, kessel.Errorf(kessel.EINVALID, "subject type %q: want %s or %s", typ, Sensor, Route)
	}
	for _, sub := range s.Subjects() {
		if sub.Type == typ && sub.ID == id {
			return sub, nil
		}
	}
	return Subject{}, kessel.Errorf(kessel.ENOTFOUND, "no evidence is kept for %s %q", typ, id)
}

// Build appends the subject's records up to and including day through,
// which must be over: from the day after the chain's last record, or from
// through itself when the chain is new (EINVALID when through is more
// than MaxCatchUp days back). Chains are append-only, so a day before the
// last record is never rebuilt. It returns the records built.
func (s *Service) Build(ctx context.Context, sub Subject, through Day) ([]Record, error) {
	if now := s.opts.Now(); through.End.After(now) {
		return nil, kessel.Errorf(kessel.EINVALID, "day %s is not over yet", through.Date)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	last, found, err := s.store.LastEvidence(ctx, sub.Key())
	if err != nil {
		return nil, err
	}
	day, prev := through, ""
	if oldest := DayOf(s.opts.Now()).Start.AddDate(0, 0, -s.opts.MaxCatchUp); !found && through.Start.Before(oldest) {
		return nil, kessel.Errorf(kessel.EINVALID, "%s: a new chain starts at most %d days back (%s), not on %s: chains are append-only", sub.Key(), s.opts.MaxCatchUp, DayOf(oldest).Date, through.Date)
	}
	if found {
		day, prev = DayOf(last.Start).Next(), last.Hash
	}
	var built []Record
	for n := 0; !day.Start.After(through.Start); n, day = n+1, day.Next() {
		if n == s.opts.MaxCatchUp {
			return built, kessel.Errorf(kessel.EINVALID, "%s: more than %d days to build at once; build up to an earlier day first", sub.Key(), s.opts.MaxCatchUp)
		}
		rec, err := s.buildDay(ctx, sub, day, prev)
		if err != nil {
			return built, err
		}
		built, prev = append(built, rec), rec.Hash
	}
	return built, nil
}

// buildDay builds, seals and stores one record.
func (s *Service) buildDay(ctx context.Context, sub Subject, day Day, prev string) (Record, error) {
	journal, err := s.src.AlertHistory(ctx, day.Start.Add(-s.opts.AlertLookback), day.End.Add(24*time.Hour))
	if err != nil {
		return Record{}, fmt.Errorf("evidence: %s %s: %w", sub.Key(), day.Date, err)
	}
	var ins []SensorInput
	for _, id := range sub.Devices {
		dev, _, ok := s.devices.Get(id)
		if !ok {
			dev = kessel.Device{ID: id}
		}
		rs, err := s.src.History(ctx, kessel.HistoryQuery{Device: id, From: day.Start, To: day.End})
		if err != nil {
			return Record{}, fmt.Errorf("evidence: %s %s: readings of %s: %w", sub.Key(), day.Date, id, err)
		}
		ins = append(ins, SensorInput{Device: dev, Readings: rs, Alerts: journal})
	}
	rec, err := Seal(Build(sub, day, ins, s.opts.Options, s.opts.Now()), prev)
	if err != nil {
		return rec, err
	}
	e, err := Entry(rec)
	if err != nil {
		return rec, err
	}
	if err := s.store.SaveEvidence(ctx, e); err != nil {
		return rec, fmt.Errorf("evidence: store %s %s: %w", sub.Key(), day.Date, err)
	}
	if s.opts.Archive != nil {
		if err := s.opts.Archive.Put(rec); err != nil {
			s.log.Error("could not archive an evidence record; it is stored in InfluxDB", "subject", sub.Key(), "day", day.Date, "err", err)
		}
	}
	s.log.Info("evidence record built", "subject", sub.Key(), "day", day.Date, "hash", rec.Hash)
	return rec, nil
}

// Records returns the subject's stored records of the days from..to
// (inclusive), oldest first, and the verification of those entries.
// A record that cannot be read is left out of the list; the result says
// where.
func (s *Service) Records(ctx context.Context, sub Subject, from, to Day) ([]Record, Result, error) {
	if to.Start.Before(from.Start) {
		return nil, Result{}, kessel.Errorf(kessel.EINVALID, "the range ends (%s) before it starts (%s)", to.Date, from.Date)
	}
	if to.Start.Sub(from.Start) > 4*366*24*time.Hour {
		return nil, Result{}, kessel.Errorf(kessel.EINVALID, "a range of at most four years, please")
	}
	es, err := s.store.Evidence(ctx, sub.Key(), from.Start, to.End)
	if err != nil {
		return nil, Result{}, err
	}
	res := Verify(sub.Key(), es)
	out := make([]Record, 0, len(es))
	for _, e := range es {
		if r, err := Decode(e); err == nil {
			out = append(out, r)
		}
	}
	return out, res, nil
}

// BuildAll builds every subject's chain up to through; it logs and
// counts the subjects that failed and returns the first error.
func (s *Service) BuildAll(ctx context.Context, through Day) error {
	var first error
	for _, sub := range s.Subjects() {
		if _, err := s.Build(ctx, sub, through); err != nil {
			if ctx.Err() != nil {
				return ctx.Err() // shutting down: the next start catches up
			}
			s.log.Error("could not build evidence", "subject", sub.Key(), "day", through.Date, "err", err)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// Run builds the previous day's records every night, BuildAfter past
// midnight (checking every ten minutes, so a missed night is caught up),
// until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	done := ""
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		now := s.opts.Now()
		today := DayOf(now)
		yesterday := DayOf(today.Start.Add(-time.Hour))
		if yesterday.Date != done && !now.Before(today.Start.Add(s.opts.BuildAfter)) && s.BuildAll(ctx, yesterday) == nil {
			done = yesterday.Date
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
