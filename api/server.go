// Package api serves Kessel's REST API (gorilla/mux): open data for
// citizens and app developers, management for city departments, and the
// operational endpoints. routes.go is the map of the API.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
)

// Devices is the device registry as the API needs it.
type Devices interface {
	Get(id string) (kessel.Device, *kessel.Reading, bool)
	Query(q kessel.DeviceQuery) []kessel.DeviceState
}

// Districts are the areas devices are assigned to.
type Districts interface {
	List() []kessel.District
	Get(key string) (kessel.District, bool)
}

// ReadingQuerier reads stored readings (InfluxDB).
type ReadingQuerier interface {
	History(ctx context.Context, q kessel.HistoryQuery) ([]kessel.Reading, error)
	// StreamHistory calls fn per reading without holding them (CSV exports).
	StreamHistory(ctx context.Context, q kessel.HistoryQuery, fn func(kessel.Reading) error) error
	// DistrictSeries aggregates a field over a district's devices per
	// window (q's From, To, Every, Fn and Resolution).
	DistrictSeries(ctx context.Context, district, kind, field string, q kessel.HistoryQuery) ([]kessel.Reading, error)
	// Resolve names the stored resolution that serves q ("raw", "1h",
	// "1d", "1h+raw"), or fails: EGONE for raw readings no longer kept,
	// EINVALID for a resolution that cannot serve q.
	Resolve(ctx context.Context, q kessel.HistoryQuery) (string, error)
}

// Check is a readiness check: nil when the dependency it names is usable.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
	// Optional checks report a failure in /readyz's body (status
	// "degraded") without answering 503: a third party's outage, such as
	// The Things Stack's, must not take Kessel out of a load balancer.
	Optional bool
}

// Options configures the server. Zero values take the defaults noted.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Gatherer serves /metrics; nil means /metrics answers 404.
	Gatherer prometheus.Gatherer
	Now      func() time.Time
	// Ready lists the checks /readyz runs.
	Ready []Check
	// MaxPoints bounds the readings one history request may return; default 10000.
	MaxPoints int
	// Pusher takes HTTP device pushes; nil answers them 503.
	Pusher Pusher
	// MaxBody is the largest request body, in bytes; default DefaultMaxBody.
	// Beyond, the answer is 413, and a device push is still handed to the
	// Pusher, cut short, so that it is kept as a dead letter. Keep it above
	// ingest's payload limit, so that a push just over that limit reaches
	// ingest whole.
	MaxBody int
	// Usage counts requests for /usage; nil counts in memory only.
	Usage *Usage
	// Keys are the department keys; see Key.
	Keys []Key
	// DeadLetters serves GET /deadletters; nil answers it 503.
	DeadLetters DeadLetterQuerier
	// Writer changes devices (POST/PUT/DELETE /devices); nil answers 503.
	Writer DeviceWriter
	// Version returns a device's version for If-Match; nil uses UpdatedAt.
	Version func(kessel.Device) string
	// RateLimits per route class and client address; nil means
	// DefaultRateLimits, an empty map no limits.
	RateLimits map[string]RateLimit
	// FailedAuth limits requests with a wrong key per client address
	// (429 beyond); the zero value means DefaultFailedAuth, PerSecond < 0
	// no limit.
	FailedAuth RateLimit
	// Queries bounds concurrent InfluxDB queries per client and in total;
	// zero fields take DefaultQueries' values.
	Queries Concurrency
	// Streams bounds open /alerts/stream connections per client and in
	// total; zero fields take DefaultStreams' values.
	Streams Concurrency
	// ReadyCache is how long /readyz reuses its checks' result; default
	// one second, negative means no caching.
	ReadyCache time.Duration
	// TrustedProxies may set X-Forwarded-For for the client address.
	TrustedProxies []netip.Prefix
	// Alerts serves /alerts; nil lists none.
	Alerts Alerts
	// Catalog describes the publisher for GET /catalog.
	Catalog Catalog
	// Rules serves /rules; nil answers 503.
	Rules RuleManager
	// Evidence serves /evidence; nil answers 503.
	Evidence Evidence
	// Page serves the citizens' page at GET / and its assets under
	// /static/; nil leaves / a 404.
	Page http.Handler
	// Archive is served under /archive/ and listed in the catalogue; nil
	// serves none.
	Archive Archive
	// AirQuality serves /airquality (EU air-quality statistics); nil
	// answers 503.
	AirQuality HourlyMeans
}

// DeadLetterQuerier reads stored dead letters.
type DeadLetterQuerier interface {
	DeadLetters(ctx context.Context, q kessel.DeadLetterQuery) ([]kessel.DeadLetter, error)
}

type server struct {
	devices   Devices
	districts Districts
	readings  ReadingQuerier
	opts      Options
	log       *slog.Logger
	router    *mux.Router
	m         *metrics
	pusher    Pusher
	keys      map[string]*Principal // by key hash
	writer    DeviceWriter
	limiters  *limiters
	queries   *queryGate
	streams   *queryGate
	ready     readyCache
	usage     *Usage
	served    []served   // paths and their methods, for 405's Allow
	snap      *snapshots // the whole city's /latest; nil without a registry generation
}

func (s *server) version(d kessel.Device) string {
	if s.opts.Version != nil {
		return s.opts.Version(d)
	}
	return strconv.FormatInt(d.UpdatedAt.UnixNano(), 36)
}

// NewServer returns the HTTP handler of the whole API. districts may be nil
// when no district file is configured.
func NewServer(devices Devices, districts Districts, readings ReadingQuerier, opts Options) (http.Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = 10000
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Usage == nil {
		opts.Usage = NewUsage(nil, "", nil)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	s := &server{devices: devices, districts: districts, readings: readings, opts: opts, log: opts.Logger.With("component", "api"), router: mux.NewRouter(), m: m, pusher: opts.Pusher, usage: opts.Usage,
		keys: map[string]*Principal{}, writer: opts.Writer}
	if opts.RateLimits == nil {
		opts.RateLimits = DefaultRateLimits
		s.opts.RateLimits = DefaultRateLimits
	}
	if s.opts.FailedAuth == (RateLimit{}) {
		s.opts.FailedAuth = DefaultFailedAuth
	}
	if s.opts.ReadyCache == 0 {
		s.opts.ReadyCache = time.Second
	}
	s.limiters = newLimiters(s.opts.RateLimits, s.opts.FailedAuth)
	s.queries = newQueryGate(s.opts.Queries, DefaultQueries)
	s.streams = newQueryGate(s.opts.Streams, DefaultStreams)
	for _, k := range opts.Keys {
		if err := k.Validate(); err != nil {
			return nil, err
		}
		if _, dup := s.keys[k.Hash]; dup {
			return nil, kessel.Errorf(kessel.EINVALID, "api key %s: the same key hash appears twice", k.Name)
		}
		s.keys[k.Hash] = &Principal{Name: k.Name, Department: k.Department, Device: k.Device, scopes: k.Scopes}
	}
	if s.snap, err = newSnapshots(devices, opts.Now, s.log, opts.Registerer); err != nil {
		return nil, err
	}
	s.routes()
	if s.served, err = servedPaths(s.router); err != nil {
		return nil, fmt.Errorf("api: routes: %w", err)
	}
	return s, nil
}

// ServeHTTP serves HEAD with the GET handlers (see headWriter) and turns a
// handler's panic into a logged, counted 500 problem instead of a dropped
// connection.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.errorResponse(w, r, fmt.Errorf("api: panic: %v\n%s", v, debug.Stack()))
		}
	}()
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		// Go's parser drops what it cannot read; a request whose query
		// does not parse is answered, not half understood.
		s.errorResponse(w, r, kessel.Errorf(kessel.EINVALID, "the query string does not parse: %v", err))
		return
	}
	if r.Method == http.MethodHead {
		ctx, done := context.WithCancel(r.Context())
		defer done()
		w, r = &headWriter{ResponseWriter: w, done: done}, r.WithContext(ctx)
	}
	s.router.ServeHTTP(w, r)
}
