package ingest

import (
	"context"
	"errors"
	"time"

	"github.com/kessel-city/kessel"
)

// writeReadings stores p's readings. Readings the store refuses for good
// become dead letters of their messages; the rest are stored and shown to
// Devices. It returns false when ctx ended before the store answered.
func (in *Ingester) writeReadings(ctx context.Context, p *prepared) bool {
	start := time.Now()
	refused, ok := in.write(ctx, p.readings)
	if !ok {
		return false
	}
	if len(refused) > 0 {
		n := 0
		for j, r := range p.readings {
			why, bad := refused[j]
			if !bad {
				p.readings[n], p.owner[n] = r, p.owner[j]
				n++
				continue
			}
			i := p.owner[j]
			rej := reject(ReasonStoreRejected, r.Device, "%s", why)
			p.rejects[i] = rej
			p.dead = append(p.dead, in.deadLetter(p.batch[i], rej))
			p.deadFormat = append(p.deadFormat, p.format[i])
		}
		clear(p.readings[n:])
		p.readings, p.owner = p.readings[:n], p.owner[:n]
	}
	in.m.writeSeconds.Observe(time.Since(start).Seconds())
	in.m.batchSize.Observe(float64(len(p.readings)))
	in.countBy(in.m.written, len(p.owner), func(j int) string { return p.format[p.owner[j]] })
	in.devices.Observe(p.readings)
	return true
}

// write stores rs and returns the readings the store refused for good, by
// index, with its reason; ok is false when ctx ended first. A store that
// names what it refused (*kessel.PartialWriteError) costs one call; one
// that refuses a batch without saying why is asked again with each half
// until the refused readings are found, which costs about two calls per
// refused reading and the logarithm of the batch size, not one per reading.
func (in *Ingester) write(ctx context.Context, rs []kessel.Reading) (refused map[int]string, ok bool) {
	err := in.retry(ctx, func(ctx context.Context) error { return in.store.WriteReadings(ctx, rs) })
	switch {
	case err == nil:
		return nil, true
	case kessel.ErrorCode(err) != kessel.EINVALID:
		return nil, false
	}
	var pw *kessel.PartialWriteError
	if errors.As(err, &pw) && len(pw.Rejected) > 0 {
		return pw.Rejected, true
	}
	if len(rs) == 1 {
		return map[int]string{0: kessel.ErrorMessage(err)}, true
	}
	mid := len(rs) / 2
	left, ok := in.write(ctx, rs[:mid])
	if !ok {
		return nil, false
	}
	right, ok := in.write(ctx, rs[mid:])
	if !ok {
		return nil, false
	}
	if left == nil {
		left = make(map[int]string, len(right))
	}
	for j, why := range right {
		left[mid+j] = why
	}
	return left, true
}

// retry calls write until it succeeds, fails permanently (EINVALID) or ctx
// ends, backing off from 100ms to 5s; readiness is false while it fails.
func (in *Ingester) retry(ctx context.Context, write func(context.Context) error) error {
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		err := write(ctx)
		if err == nil || kessel.ErrorCode(err) == kessel.EINVALID {
			// The store answered: it is up, whether it took the data or not.
			if !in.storeOK.Swap(true) {
				in.log.Info("store writes recovered")
			}
			return err
		}
		in.m.writeErrors.Inc()
		if in.storeOK.Swap(false) {
			in.log.Error("store write failed; holding messages unacknowledged and retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}
