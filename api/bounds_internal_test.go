package api

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestClientMapsBounded hammers every map keyed by client input with
// unique values and checks each stays within its bound.
func TestClientMapsBounded(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	type bounded struct {
		name  string
		fill  func(i int)
		size  func() int
		bound int
	}
	var cases []bounded
	l := newLimiters(map[string]RateLimit{ClassRead: {PerSecond: 1, Burst: 1}}, DefaultFailedAuth)
	l.max = 1000
	cases = append(cases, bounded{"rate limit buckets per address", func(i int) {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.allow(ClassRead, limiterKey{addr: a}, now)
		l.allow(ClassAuth, limiterKey{addr: a}, now)
	}, func() int { return len(l.buckets) }, 1000})
	u := NewUsage(nil, "", nil)
	cases = append(cases, bounded{"usage counts per dataset", func(i int) {
		u.count("2026-11-23", "latest", fmt.Sprintf("kind_%d", i))
		u.count("2026-11-23", "healthz", fmt.Sprintf("%d%s", i, strings.Repeat("x", 100)))
	}, func() int { return len(u.counts) }, maxDatasetsPerDay + 2})
	g := newQueryGate(Concurrency{}, DefaultQueries)
	cases = append(cases, bounded{"query slots per client", func(i int) {
		release, err := g.acquire(context.Background(), limiterKey{key: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		release()
	}, func() int { return len(g.clients) }, 0})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 20_000 {
				tc.fill(i)
				if n := tc.size(); n > tc.bound {
					t.Fatalf("after %d unique values: %d entries, bound %d", i+1, n, tc.bound)
				}
			}
		})
	}
}

// TestIPv6ClientsByPrefix: the addresses of one IPv6 /64 share one bucket.
func TestIPv6ClientsByPrefix(t *testing.T) {
	cases := []struct{ a, b string }{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"},
		{"2001:db8:1:2::1", "2001:db8:1:2:1:2:3:4"},
	}
	for _, tc := range cases {
		t.Run(tc.a+" "+tc.b, func(t *testing.T) {
			if hostOf(netip.MustParseAddr(tc.a)) != hostOf(netip.MustParseAddr(tc.b)) {
				t.Errorf("%s and %s are different clients", tc.a, tc.b)
			}
		})
	}
	if hostOf(netip.MustParseAddr("2001:db8:1:2::1")) == hostOf(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("two /64s are one client")
	}
	if a := netip.MustParseAddr("192.0.2.7"); hostOf(a) != a {
		t.Error("an IPv4 address changed")
	}
}
