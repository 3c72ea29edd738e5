package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The day everyone looks: during a Feinstaubalarm or a flood the citizens'
// page and every GIS tool ask for the whole city's latest readings at
// once. Those requests (anonymous, no filter, no cursor) are answered from
// a copy encoded and gzipped once, rebuilt at most once per
// SnapshotInterval and only when the device registry's generation moved
// on. Every other request (a key, a filter, a cursor, CSV, any other
// query parameter) takes the normal path, which the copy is made by: its
// bytes and headers are the normal path's.
//
// No request waits for a rebuild: the request that finds the copy due
// starts the rebuild in the background and, like every request until the
// new copy is stored, gets the previous copy (measured on the 2-core
// machine with 1,000 readings/s flowing: the request that rebuilt in line
// waited a whole build of the 10,000 devices, and the wrk p99 at 4
// connections was 587 ms). Only a request that finds no copy, or one older
// than SnapshotMaxAge, waits for the build; and while a copy was asked for
// within SnapshotKeepWarm, it is rebuilt as soon as it is due even without
// requests, so that a pause in the requests does not leave it that old
// (the next requests all waited for a build of the 10,000 devices, some
// 100 ms: wrk, which corrects for coordinated omission, counted those
// waits as p99s of 30 to 120 ms).

// SnapshotInterval is the shortest time between two builds of one
// whole-city snapshot. While requests keep coming, an answer is at most
// this much plus one build older than the registry.
const SnapshotInterval = time.Second

// SnapshotMaxAge bounds the age of a copy served while the registry has
// changed since it was built: a request finding an older one (after a
// quiet spell, or while builds take longer than this) waits for the
// rebuild instead.
const SnapshotMaxAge = 5 * time.Second

// SnapshotKeepWarm is how long after the last request for a copy it is
// kept up to date in the background (a rebuild at most once per
// SnapshotInterval, and only when the registry changed).
const SnapshotKeepWarm = time.Minute

// snapshotGzipLevel trades build time (once a second at most) for bytes
// sent on every request. For 10,000 devices (4.7 MB of GeoJSON) on the
// 2-core test machine, under load, level 1 took 65 ms and gave 561 kB,
// level 6 263 ms and 464 kB, level 9 564 ms and 450 kB: while readings
// flow, level 6 would keep a quarter of a core gzipping.
const snapshotGzipLevel = gzip.BestSpeed

// generations is what Devices offers when it can tell that nothing
// changed: Generation moves on with every change Query could show
// (registry.Registry has it). Without it no snapshot is kept.
type generations interface{ Generation() uint64 }

// snapshots holds the whole-city answers of /latest, one per variant.
type snapshots struct {
	gen       generations
	now       func() time.Time
	log       *slog.Logger
	normal    http.Handler // the normal path, which builds each copy
	builds    prometheus.Counter
	buildTime prometheus.Histogram
	// running counts the background rebuilds (at most one per variant:
	// each holds its slot's build lock); tests wait for them.
	running sync.WaitGroup
	// warmFor is SnapshotKeepWarm; 0 keeps no copy up to date between
	// requests (tests with a clock of their own).
	warmFor time.Duration

	mu    sync.Mutex
	slots map[snapshotKey]*snapshotSlot
}

// snapshotKey is one variant: the format and the canonical query (at most
// limit and format), which the Link header of a long list names.
type snapshotKey struct {
	format string
	query  string
}

type snapshotSlot struct {
	build sync.Mutex   // one build at a time; requests serve the copy meanwhile
	zw    *gzip.Writer // reused by builds (guarded by build)
	cur   atomic.Pointer[snapshot]
	// wanted is when the copy was last asked for (Unix ns of snapshots.now);
	// warm is set while keepWarm runs for the slot.
	wanted atomic.Int64
	warm   atomic.Bool
}

// snapshot is one encoded answer, read-only once stored.
type snapshot struct {
	gen          uint64
	built        time.Time
	header       http.Header // as the normal path set it
	body, gz     []byte
	etag, gzETag string
}

func newSnapshots(devices Devices, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (*snapshots, error) {
	gen, ok := devices.(generations)
	if !ok {
		return nil, nil
	}
	return newSnapshotsOf(gen, now, log, reg)
}

func newSnapshotsOf(gen generations, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (*snapshots, error) {
	sn := &snapshots{gen: gen, now: now, log: log, slots: map[snapshotKey]*snapshotSlot{}, warmFor: SnapshotKeepWarm,
		builds: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_http_latest_snapshot_builds_total", Help: "Builds of the whole-city /latest snapshot (encoded and gzipped)."}),
		buildTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kessel_http_latest_snapshot_build_seconds", Help: "Time a build of the whole-city /latest snapshot took (no request waits for it once a copy exists).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5}})}
	if reg != nil {
		for _, c := range []prometheus.Collector{sn.builds, sn.buildTime} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("api: metrics: %w", err)
			}
		}
	}
	return sn, nil
}

// wrap answers the requests a snapshot can answer and passes the rest to
// normal, which also builds the snapshots. A nil sn wraps nothing.
func (sn *snapshots) wrap(normal http.Handler) http.Handler {
	if sn == nil {
		return normal
	}
	sn.normal = normal
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := snapshotKeyOf(r)
		if !ok {
			normal.ServeHTTP(w, r)
			return
		}
		cur := sn.current(key, r.URL.Path)
		if cur == nil {
			normal.ServeHTTP(w, r)
			return
		}
		cur.write(w, r)
	})
}

// snapshotKeyOf tells whether a request is one the snapshot answers: GET
// or HEAD without a key, at most the query parameters limit (the maximum
// only, as the page asks) and format (json or geojson, or the same chosen
// by Accept).
func snapshotKeyOf(r *http.Request) (snapshotKey, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || principalOf(r) != nil || r.Header.Get("Authorization") != "" {
		return snapshotKey{}, false
	}
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return snapshotKey{}, false
	}
	for k, vs := range v {
		if len(vs) != 1 || k != "limit" && k != "format" {
			return snapshotKey{}, false
		}
	}
	if l, ok := v["limit"]; ok && l[0] != strconv.Itoa(MaxLimit) {
		return snapshotKey{}, false
	}
	format, err := negotiate(r)
	if err != nil || format != formatJSON && format != formatGeoJSON {
		return snapshotKey{}, false
	}
	return snapshotKey{format: format, query: v.Encode()}, true
}

func (sn *snapshots) slot(key snapshotKey) *snapshotSlot {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	s, ok := sn.slots[key]
	if !ok {
		s = &snapshotSlot{}
		sn.slots[key] = s
	}
	return s
}

// stale reports whether c is due for a rebuild: the registry changed since
// it was built, and it is SnapshotInterval old.
func (sn *snapshots) stale(c *snapshot) bool {
	return c.gen != sn.gen.Generation() && sn.now().Sub(c.built) >= SnapshotInterval
}

// current returns the snapshot of key. A due copy (see stale) younger
// than SnapshotMaxAge is returned at once, and the first request to find
// it due starts its rebuild in the background; without a copy, or with an
// older one, the request waits for the build. It returns nil when that
// build failed (the normal path did not answer 200): the request then
// takes the normal path.
func (sn *snapshots) current(key snapshotKey, path string) *snapshot {
	slot := sn.slot(key)
	sn.want(slot, key, path)
	cur := slot.cur.Load()
	switch {
	case cur != nil && !sn.stale(cur):
		return cur
	case cur != nil && sn.now().Sub(cur.built) < SnapshotMaxAge:
		if slot.build.TryLock() {
			sn.running.Add(1)
			go sn.rebuildInBackground(slot, key, path)
		}
		return cur
	}
	slot.build.Lock()
	defer slot.build.Unlock()
	if c := slot.cur.Load(); c != nil && (c != cur || !sn.stale(c)) {
		return c // built while this request waited
	}
	return sn.rebuild(slot, key, path)
}

// want notes that slot's copy was asked for now, and makes sure that
// keepWarm runs for it.
func (sn *snapshots) want(slot *snapshotSlot, key snapshotKey, path string) {
	if sn.warmFor <= 0 {
		return
	}
	slot.wanted.Store(sn.now().UnixNano())
	if slot.warm.CompareAndSwap(false, true) {
		go sn.keepWarm(slot, key, path)
	}
}

// keepWarm rebuilds slot's copy in the background as soon as it is due
// (see stale), until nobody asked for it for warmFor.
func (sn *snapshots) keepWarm(slot *snapshotSlot, key snapshotKey, path string) {
	tick := time.NewTicker(SnapshotInterval / 4)
	defer tick.Stop()
	idle := func() bool { return sn.now().Sub(time.Unix(0, slot.wanted.Load())) > sn.warmFor }
	for range tick.C {
		if idle() {
			slot.warm.Store(false)
			// A request between idle and Store started no keepWarm: go on
			// for it, unless a new one has started.
			if idle() || !slot.warm.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		if cur := slot.cur.Load(); cur != nil && sn.stale(cur) && slot.build.TryLock() {
			sn.running.Add(1)
			sn.rebuildInBackground(slot, key, path)
		}
	}
}

// rebuildInBackground rebuilds a slot whose build lock the caller holds,
// and releases it. A panic of the normal path is logged and leaves the
// previous copy in place (a request's panic is the server's to recover;
// this goroutine has no request).
func (sn *snapshots) rebuildInBackground(slot *snapshotSlot, key snapshotKey, path string) {
	defer sn.running.Done()
	defer slot.build.Unlock()
	defer func() {
		if v := recover(); v != nil {
			sn.log.Error("whole-city /latest snapshot: build panicked; serving the previous copy", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	sn.rebuild(slot, key, path)
}

// rebuild builds and stores the slot's next copy, the caller holding the
// build lock; on failure it keeps the previous copy and returns nil.
func (sn *snapshots) rebuild(slot *snapshotSlot, key snapshotKey, path string) *snapshot {
	start := time.Now()
	next := sn.build(slot, key, path)
	if next == nil {
		return nil
	}
	slot.cur.Store(next)
	sn.buildTime.Observe(time.Since(start).Seconds())
	return next
}

// build asks the normal path for the answer, as an anonymous GET, and
// gzips it. The generation is read first, so that a change during the
// build leaves the copy stale.
func (sn *snapshots) build(slot *snapshotSlot, key snapshotKey, path string) *snapshot {
	c := &snapshot{gen: sn.gen.Generation(), built: sn.now()}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, (&url.URL{Path: path, RawQuery: key.query}).String(), nil)
	if err != nil {
		return nil
	}
	req.Header.Set("Accept", mediaOf(key.format))
	rec := &bufferWriter{header: http.Header{}}
	sn.normal.ServeHTTP(rec, req)
	if rec.status != http.StatusOK {
		return nil
	}
	sn.builds.Inc()
	c.header, c.body, c.etag = rec.header, rec.body, rec.header.Get("ETag")
	c.gzETag = strings.TrimSuffix(c.etag, `"`) + `-gz"`
	buf := bytes.NewBuffer(make([]byte, 0, len(c.body)/6))
	if slot.zw == nil {
		slot.zw, _ = gzip.NewWriterLevel(buf, snapshotGzipLevel) // a valid level: no error
	} else {
		slot.zw.Reset(buf)
	}
	_, _ = slot.zw.Write(c.body) // a bytes.Buffer does not fail
	if slot.zw.Close() != nil {
		return nil
	}
	c.gz = buf.Bytes()
	return c
}

// write answers from the copy: gzipped to clients that accept it, 304 to
// a client holding either representation's ETag.
func (c *snapshot) write(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range c.header {
		h[k] = append([]string(nil), v...)
	}
	h.Set("Vary", "Accept, Accept-Encoding")
	body := c.body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = c.gz
		h.Set("ETag", c.gzETag)
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(c.gz)))
	}
	if inm := r.Header.Get("If-None-Match"); matches(inm, c.etag) || matches(inm, c.gzETag) {
		h.Del("Content-Type")
		h.Del("Content-Length")
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (a
// q of 0 refuses it).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(strings.TrimSpace(params), " ", ""), "q=")
		f, err := strconv.ParseFloat(q, 64)
		return !ok || err != nil || f > 0
	}
	return false
}

// bufferWriter keeps an answer in memory: the normal path's, for a copy.
// Unlike an http.ResponseWriter it keeps the slice of a single Write (the
// normal path writes its body once, and does not touch it afterwards), so
// that megabytes are not copied once more.
type bufferWriter struct {
	header http.Header
	status int
	body   []byte
}

func (b *bufferWriter) Header() http.Header { return b.header }

func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.body == nil {
		b.body = p
	} else {
		b.body = append(b.body[:len(b.body):len(b.body)], p...)
	}
	return len(p), nil
}
