// Package yield lets background work (rollups, archives) give way to
// ingest while it is behind.
package yield

import (
	"context"
	"time"
)

// step is how often a waiting caller asks busy again.
const step = 50 * time.Millisecond

// Wait returns at once when busy reports false; otherwise it waits until
// busy reports false, max has passed or ctx ends, and returns how long it
// waited.
func Wait(ctx context.Context, busy func() bool, max time.Duration) time.Duration {
	if !busy() {
		return 0
	}
	start := time.Now()
	t := time.NewTicker(step)
	defer t.Stop()
	for time.Since(start) < max && busy() {
		select {
		case <-ctx.Done():
			return time.Since(start)
		case <-t.C:
		}
	}
	return time.Since(start)
}
