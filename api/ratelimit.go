package api

import (
	"math"
	"net"
	"net/http"
	"net/netip"
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
)

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

// limiters hands out one token bucket per class and client address and
// forgets buckets idle for ten minutes.
type limiters struct {
	mu      sync.Mutex
	limits  map[string]RateLimit
	buckets map[limiterKey]*limiterEntry
	swept   time.Time
}

func (l *limiters) allow(class string, who limiterKey, now time.Time) (ok bool, retryAfter time.Duration) {
	lim, configured := l.limits[class]
	if !configured || lim.PerSecond <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, e := range l.buckets {
			if now.Sub(e.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
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
		// A key has a bucket of its own, wherever it comes from: devices
		// and departments behind one NAT address must not share one.
		who := limiterKey{addr: s.clientAddr(r)}
		if p := principalOf(r); p != nil {
			who = limiterKey{key: p.Name}
		}
		ok, wait := s.limiters.allow(class, who, s.opts.Now())
		if !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
			s.m.rateLimited.WithLabelValues(class).Inc()
			s.errorResponse(w, r, kessel.Errorf(kessel.ERATELIMIT, "too many requests from your address (or key) for this kind of endpoint; retry after the number of seconds in Retry-After"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
