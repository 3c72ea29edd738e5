package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/kessel-city/kessel"
)

// Concurrency bounds how many requests of one sort run at once, so that
// one client cannot take what everyone else needs: beyond PerClient a
// client's request is answered 429, beyond Total any request 503, each
// with Retry-After, after waiting at most Wait for a slot; nothing queues
// longer. A client is a key, or, without one, an address (IPv6 by /64).
type Concurrency struct {
	PerClient int
	Total     int
	Wait      time.Duration
}

// DefaultQueries fill the zero fields of Options.Queries: InfluxDB
// queries (history, district series, usage, dead letters).
var DefaultQueries = Concurrency{PerClient: 4, Total: 16, Wait: 200 * time.Millisecond}

// DefaultStreams fill the zero fields of Options.Streams: open
// /alerts/stream connections, each a goroutine for as long as it lasts
// (64 per client: one address may be a whole office behind NAT, each
// browser tab with the citizens' page holding one stream).
var DefaultStreams = Concurrency{PerClient: 64, Total: 2000, Wait: 10 * time.Millisecond}

var (
	errClientBusy = errors.New("api: client's query slots busy")
	errAllBusy    = errors.New("api: query slots busy")
)

// queryGate holds one semaphore per client with queries running (the map
// holds only clients with a query running or waiting, so it is bounded by
// the requests in flight) and one for all.
type queryGate struct {
	lim     Concurrency
	total   chan struct{}
	mu      sync.Mutex
	clients map[limiterKey]*clientSlots
}

type clientSlots struct {
	slots chan struct{}
	refs  int
}

func newQueryGate(l, def Concurrency) *queryGate {
	if l.PerClient <= 0 {
		l.PerClient = def.PerClient
	}
	if l.Total <= 0 {
		l.Total = def.Total
	}
	if l.Wait <= 0 {
		l.Wait = def.Wait
	}
	return &queryGate{lim: l, total: make(chan struct{}, l.Total), clients: map[limiterKey]*clientSlots{}}
}

// acquire takes one of who's slots and one of the total, waiting at most
// lim.Wait in all; release gives both back.
func (g *queryGate) acquire(ctx context.Context, who limiterKey) (release func(), err error) {
	g.mu.Lock()
	c := g.clients[who]
	if c == nil {
		c = &clientSlots{slots: make(chan struct{}, g.lim.PerClient)}
		g.clients[who] = c
	}
	c.refs++
	g.mu.Unlock()
	drop := func() {
		g.mu.Lock()
		if c.refs--; c.refs == 0 {
			delete(g.clients, who)
		}
		g.mu.Unlock()
	}
	t := time.NewTimer(g.lim.Wait)
	defer t.Stop()
	select {
	case c.slots <- struct{}{}:
	case <-t.C:
		drop()
		return nil, errClientBusy
	case <-ctx.Done():
		drop()
		return nil, ctx.Err()
	}
	select {
	case g.total <- struct{}{}:
	case <-t.C:
		<-c.slots
		drop()
		return nil, errAllBusy
	case <-ctx.Done():
		<-c.slots
		drop()
		return nil, ctx.Err()
	}
	return func() { <-g.total; <-c.slots; drop() }, nil
}

// queryLimit guards a handler that queries InfluxDB with the query gate.
func (s *server) queryLimit(next http.Handler) http.Handler {
	return s.concurrencyLimit(s.queries, "history queries", next)
}

// streamLimit guards a handler that holds a stream open.
func (s *server) streamLimit(next http.Handler) http.Handler {
	return s.concurrencyLimit(s.streams, "alert streams", next)
}

func (s *server) concurrencyLimit(g *queryGate, what string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, err := g.acquire(r.Context(), s.client(r))
		switch {
		case errors.Is(err, errClientBusy):
			s.tooMany(w, r, "concurrency", time.Second, "too many "+what+" of yours are running at once; retry after the number of seconds in Retry-After")
			return
		case err != nil:
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAVAILABLE, "the server is running as many %s as it can; retry after the number of seconds in Retry-After", what))
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}
