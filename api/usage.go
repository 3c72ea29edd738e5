package api

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/kessel-city/kessel"
)

// UsageStore keeps usage counts across restarts and instances (InfluxDB).
type UsageStore interface {
	SaveUsage(ctx context.Context, us []kessel.UsageCount) error
	LoadUsage(ctx context.Context, since time.Time) ([]kessel.UsageCount, error)
}

// Usage counts API requests per day, endpoint and dataset (the kind asked
// for), without any address, key or other personal data. With a store it
// survives restarts and /usage sums every instance: each instance saves
// its running totals under its own name every interval and on shutdown.
type Usage struct {
	store    UsageStore
	instance string
	log      *slog.Logger

	mu       sync.Mutex
	counts   map[usageKey]int
	dirty    map[usageKey]bool
	datasets map[string]map[string]bool // per day, the datasets counted
}

// Bounds on what clients can make Usage hold: a dataset is a kind name
// (1-64 of a-z, 0-9, '_'), at most maxDatasetsPerDay different ones a day;
// any other value counts as datasetOther. maxUsageKeys bounds the whole.
const (
	maxDatasetsPerDay = 128
	maxUsageKeys      = 100_000
	datasetOther      = "other"
)

// usageLabel is v if it is a plausible kind or route name, else "other".
func usageLabel(v string) string {
	if v == "" || kessel.ValidFieldName(v) {
		return v
	}
	return datasetOther
}

type usageKey struct{ day, route, dataset string }

// usageDays is how far back /usage and the restore on start look.
const usageDays = 400

// NewUsage returns usage statistics kept in store (nil: in memory only)
// under the instance's name.
func NewUsage(store UsageStore, instance string, log *slog.Logger) *Usage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Usage{store: store, instance: instance, log: log, counts: map[usageKey]int{}, dirty: map[usageKey]bool{},
		datasets: map[string]map[string]bool{}}
}

// Load restores this instance's saved counts.
func (u *Usage) Load(ctx context.Context) error {
	if u.store == nil {
		return nil
	}
	us, err := u.store.LoadUsage(ctx, time.Now().AddDate(0, 0, -usageDays))
	if err != nil {
		return fmt.Errorf("usage: load: %w", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, c := range us {
		if c.Instance == u.instance {
			u.counts[u.keyOf(c.Day, c.Endpoint, c.Dataset)] += c.Requests
		}
	}
	return nil
}

// Run saves the counts that changed every interval until ctx ends, then
// once more.
func (u *Usage) Run(ctx context.Context, interval time.Duration) {
	if u.store == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			u.flush(ctx)
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			u.flush(fctx)
			cancel()
			return
		}
	}
}

func (u *Usage) flush(ctx context.Context) {
	u.mu.Lock()
	var us []kessel.UsageCount
	for k := range u.dirty {
		us = append(us, kessel.UsageCount{Day: k.day, Endpoint: k.route, Dataset: k.dataset, Requests: u.counts[k], Instance: u.instance})
	}
	clear(u.dirty)
	u.mu.Unlock()
	if err := u.store.SaveUsage(ctx, us); err != nil {
		u.log.Warn("usage statistics not saved; retrying with the next save", "err", err)
		u.mu.Lock()
		for _, c := range us {
			u.dirty[usageKey{c.Day, c.Endpoint, c.Dataset}] = true
		}
		u.mu.Unlock()
	}
}

// keyOf bounds a count's labels (see maxDatasetsPerDay); u.mu is held.
func (u *Usage) keyOf(day, route, dataset string) usageKey {
	route, dataset = usageLabel(route), usageLabel(dataset)
	if dataset != "" && dataset != datasetOther {
		seen := u.datasets[day]
		if seen == nil {
			seen = map[string]bool{}
			u.datasets[day] = seen
		}
		if !seen[dataset] && len(seen) >= maxDatasetsPerDay {
			dataset = datasetOther
		} else {
			seen[dataset] = true
		}
	}
	return usageKey{day, route, dataset}
}

// count counts one request to route (a route's name, not its path) for
// dataset (the kind asked for, as the client wrote it: bounded here).
func (u *Usage) count(day, route, dataset string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := u.keyOf(day, route, dataset)
	u.counts[k]++
	if u.store != nil {
		u.dirty[k] = true
	}
	if len(u.counts) > maxUsageKeys { // bound memory: forget the oldest day
		oldest := ""
		for k := range u.counts {
			if oldest == "" || k.day < oldest {
				oldest = k.day
			}
		}
		for k := range u.counts {
			if k.day == oldest {
				delete(u.counts, k)
				delete(u.dirty, k)
			}
		}
		delete(u.datasets, oldest)
	}
}

// rows returns the counts of every instance: this one's from memory (the
// freshest), the others' from the store.
func (u *Usage) rows(ctx context.Context) ([]kessel.UsageCount, error) {
	u.mu.Lock()
	mine := maps.Clone(u.counts)
	u.mu.Unlock()
	sum := map[usageKey]int{}
	if u.store != nil {
		us, err := u.store.LoadUsage(ctx, time.Now().AddDate(0, 0, -usageDays))
		if err != nil {
			return nil, fmt.Errorf("usage: %w", err)
		}
		for _, c := range us {
			if c.Instance != u.instance { // other instances' labels may predate the bounds
				sum[usageKey{c.Day, usageLabel(c.Endpoint), usageLabel(c.Dataset)}] += c.Requests
			}
		}
	}
	for k, n := range mine {
		sum[k] += n
	}
	out := make([]kessel.UsageCount, 0, len(sum))
	for k, n := range sum {
		out = append(out, kessel.UsageCount{Day: k.day, Endpoint: k.route, Dataset: k.dataset, Requests: n})
	}
	return out, nil
}
