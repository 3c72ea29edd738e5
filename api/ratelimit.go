package api

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/kessel-city/kessel"
)

// Route classes for rate limiting.
const (
	ClassRead  = "read"  // public GETs
	ClassWrite = "write" // department changes
	ClassPush  = "push"  // device pushes over HTTP
	// ClassAuth limits failed authentications per client address; its
	// limit is Options.FailedAuth, not an entry of Options.RateLimits.
	ClassAuth = "auth"
)

// DefaultFailedAuth is Options.FailedAuth's default: a client address may
// present 20 wrong keys at once, then one a second.
var DefaultFailedAuth = RateLimit{PerSecond: 1, Burst: 20}

// maxBuckets bounds the token buckets held at once (one per class and
// client address or key); beyond it the least recently used are dropped.
const maxBuckets = 50_000

// RateLimit is a token bucket: PerSecond requests per second with bursts
// of Burst. PerSecond 0 means no limit.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// DefaultRateLimits are the per-client limits when Options.RateLimits is nil.
var DefaultRateLimits = map[string]RateLimit{
	ClassRead:  {PerSecond: 50, Burst: 100},
	ClassWrite: {PerSecond: 10, Burst: 20},
	ClassPush:  {PerSecond: 2, Burst: 10}, // a sensor pushes every few minutes
}

type limiterKey struct {
	class string
	addr  netip.Addr // the client's address, for requests without a key
	key   string     // the key's name, for requests with one
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

// limiters hands out one token bucket per class and client address (or
// key), forgets buckets idle for ten minutes and holds at most max.
type limiters struct {
	mu      sync.Mutex
	limits  map[string]RateLimit
	buckets map[limiterKey]*limiterEntry
	swept   time.Time
	max     int // 0 means maxBuckets
}

func newLimiters(limits map[string]RateLimit, failedAuth RateLimit) *limiters {
	all := make(map[string]RateLimit, len(limits)+1)
	for c, l := range limits {
		all[c] = l
	}
	all[ClassAuth] = failedAuth
	return &limiters{limits: all, buckets: map[limiterKey]*limiterEntry{}}
}

// sweep forgets idle buckets every minute, and, at the cap, the least
// recently used half: a flood of new addresses costs a bounded amount of
// memory and at worst gives old clients a fresh burst.
func (l *limiters) sweep(now time.Time) {
	limit := l.max
	if limit <= 0 {
		limit = maxBuckets
	}
	if now.Sub(l.swept) <= time.Minute && len(l.buckets) < limit {
		return
	}
	for k, e := range l.buckets {
		if now.Sub(e.seen) > 10*time.Minute {
			delete(l.buckets, k)
		}
	}
	l.swept = now
	if len(l.buckets) < limit {
		return
	}
	seen := make([]time.Time, 0, len(l.buckets))
	for _, e := range l.buckets {
		seen = append(seen, e.seen)
	}
	slices.SortFunc(seen, time.Time.Compare)
	cut := seen[len(seen)/2]
	for k, e := range l.buckets {
		if !e.seen.After(cut) {
			delete(l.buckets, k)
		}
	}
}

func (l *limiters) allow(class string, who limiterKey, now time.Time) (ok bool, retryAfter time.Duration) {
	lim, configured := l.limits[class]
	if !configured || lim.PerSecond <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	k := who
	k.class = class
	e, found := l.buckets[k]
	if !found {
		e = &limiterEntry{lim: rate.NewLimiter(rate.Limit(lim.PerSecond), max(1, lim.Burst))}
		l.buckets[k] = e
	}
	e.seen = now
	r := e.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// clientAddr is the request's client: the peer address, or, when the peer
// is a trusted proxy, the last untrusted address in X-Forwarded-For.
func (s *server) clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (s *server) trusted(a netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// limit answers 429 with Retry-After when the client exceeds its class's rate.
func (s *server) limit(class string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := s.limiters.allow(class, s.client(r), s.opts.Now())
		if !ok {
			s.tooMany(w, r, class, wait, "too many requests from your address (or key) for this kind of endpoint; retry after the number of seconds in Retry-After")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// client names the request's client for limits: its key, or, without one,
// its address (an IPv6 address by its /64, which one host usually holds
// whole). A key has a bucket of its own, wherever it comes from: devices
// and departments behind one NAT address must not share one.
func (s *server) client(r *http.Request) limiterKey {
	if p := principalOf(r); p != nil {
		return limiterKey{key: p.Name}
	}
	return limiterKey{addr: hostOf(s.clientAddr(r))}
}

// hostOf is a's IPv4 address, or its IPv6 /64 prefix.
func hostOf(a netip.Addr) netip.Addr {
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}

// tooMany answers 429 with Retry-After (whole seconds, at least 1) and
// counts it by class.
func (s *server) tooMany(w http.ResponseWriter, r *http.Request, class string, wait time.Duration, detail string) {
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
	s.m.rateLimited.WithLabelValues(class).Inc()
	s.errorResponse(w, r, kessel.Errorf(kessel.ERATELIMIT, "%s", detail))
}
