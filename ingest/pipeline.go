package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
)

// writers is how many batches are written to the store at once. Their
// acknowledgements keep the batches' order (see prepared.after).
const writers = 2

// loop batches whatever messages are waiting (up to BatchSize, waiting up
// to FlushInterval to fill), decodes them, and hands them to the writer
// goroutines, so that the next batch is decoded while the last ones are
// written. It returns once ctx is done, the queue is empty and the
// writers finished.
func (in *Ingester) loop(ctx, processCtx context.Context) {
	writes := make(chan *prepared, 1)
	writerDone := make(chan struct{})
	// Batches are reused once written: at BatchSize capacity from the
	// start, they never regrow (growing them was 7 % of ingest's CPU).
	free := make(chan *prepared, writers+2)
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.writeLoop(processCtx, writes, free)
		}()
	}
	go func() { wg.Wait(); close(writerDone) }()
	defer func() {
		close(writes)
		<-writerDone
	}()
	last := make(chan struct{})
	close(last)
	bl := backlog{min: uint64(in.opts.BatchSize)}
	for {
		var p *prepared
		select {
		case p = <-free:
		default:
			p = newPrepared(in.opts.BatchSize)
		}
		p.after, p.done = last, make(chan struct{})
		last = p.done
		var ended bool
		select {
		case msg := <-in.in:
			ended = in.take(p, msg, &bl)
		case <-ctx.Done():
			select {
			case msg := <-in.in:
				ended = in.take(p, msg, &bl)
			default:
				return
			}
		case <-writerDone:
			return
		}
		in.fill(ctx, p, &bl, ended)
		in.finish(p)
		select {
		case writes <- p:
		case <-writerDone:
			return
		}
	}
}

// writeLoop commits the batches of writes and offers them to free for
// reuse. Once a commit fails (ctx ended) it only drains writes: those
// messages stay unacknowledged.
func (in *Ingester) writeLoop(ctx context.Context, writes <-chan *prepared, free chan<- *prepared) {
	for p := range writes {
		if !in.commit(ctx, p) {
			for p := range writes {
				close(p.done) // nothing waits for an unwritten batch
			}
			return
		}
		p.reset()
		select {
		case free <- p:
		default:
		}
	}
}

// fill takes what is waiting into p; then waits up to FlushInterval for
// more, unless shutting down or a backlog ended (bl; ended says the
// batch's first message ended one). Each message is decoded as it comes,
// so alerts (Watch) see it without waiting for the batch.
func (in *Ingester) fill(ctx context.Context, p *prepared, bl *backlog, ended bool) {
	deadline := time.NewTimer(in.opts.FlushInterval)
	defer deadline.Stop()
	for len(p.batch) < in.opts.BatchSize {
		select {
		case msg := <-in.in:
			ended = in.take(p, msg, bl) || ended
			continue
		default:
		}
		if ended || ctx.Err() != nil {
			return
		}
		select {
		case msg := <-in.in:
			ended = in.take(p, msg, bl)
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// take prepares msg into p and reports whether it ended a backlog.
func (in *Ingester) take(p *prepared, msg message, bl *backlog) bool {
	in.prepareOne(p, msg)
	return bl.ended(msg)
}

// process decodes, stores and acknowledges a batch. It returns false when
// ctx ended before the store accepted the batch; nothing was acknowledged then.
func (in *Ingester) process(ctx context.Context, batch []message) bool {
	p := newPrepared(len(batch))
	for _, msg := range batch {
		in.prepareOne(p, msg)
	}
	in.finish(p)
	return in.commit(ctx, p)
}

// prepared is a decoded batch waiting to be written and acknowledged.
type prepared struct {
	batch             []message
	readings          []kessel.Reading
	dead              []kessel.DeadLetter
	owner             []int    // index into batch of each reading
	format            []string // wire format of each message in batch
	deadFormat        []string // wire format of each dead letter
	rejects           []error
	received, decoded map[string]int // by wire format
	// after is closed once the batch before this one was acknowledged,
	// and done once this one was (or will never be): MQTT wants PUBACKs
	// in the order of the PUBLISHes, and batches are written side by side.
	// Both are nil outside loop.
	after, done chan struct{}
}

func newPrepared(n int) *prepared {
	return &prepared{batch: make([]message, 0, n), rejects: make([]error, 0, n), format: make([]string, 0, n),
		readings: make([]kessel.Reading, 0, n), owner: make([]int, 0, n), received: map[string]int{}, decoded: map[string]int{}}
}

// reset empties p for reuse, dropping what it referenced.
func (p *prepared) reset() {
	clear(p.batch)
	clear(p.readings)
	clear(p.dead)
	clear(p.rejects)
	p.batch, p.readings, p.dead, p.rejects = p.batch[:0], p.readings[:0], p.dead[:0], p.rejects[:0]
	p.owner, p.format, p.deadFormat = p.owner[:0], p.format[:0], p.deadFormat[:0]
	clear(p.received)
	clear(p.decoded)
	p.after, p.done = nil, nil
}

// prepareOne decodes, validates and enriches one message into p (a bad
// one becomes a dead letter) and shows its readings to Watch at once. A
// reading enters the batch only when check finds it storable.
func (in *Ingester) prepareOne(p *prepared, msg message) {
	i := len(p.batch)
	p.batch = append(p.batch, msg)
	p.rejects = append(p.rejects, nil)
	dec, err := Decode(msg.topic, msg.payload, msg.received, in.opts.Limits)
	p.received[dec.Format]++
	p.format = append(p.format, dec.Format)
	if err == nil && dec.FCnt != nil && len(dec.Readings) == 1 {
		if gap := in.fcnt.track(&dec.Readings[0], *dec.FCnt); gap > 0 {
			in.m.fcntGaps.Add(float64(gap))
		}
	}
	if err == nil {
		err = accept(in.devices, &dec, msg.received, in.opts.Limits)
	}
	if err != nil {
		p.rejects[i] = err
		p.dead = append(p.dead, in.deadLetter(msg, err))
		p.deadFormat = append(p.deadFormat, dec.Format)
		return
	}
	p.decoded[dec.Format]++
	if in.opts.Check != nil {
		for j := range dec.Readings {
			in.opts.Check(&dec.Readings[j], msg.received)
		}
	}
	for range dec.Readings {
		p.owner = append(p.owner, i)
	}
	p.readings = append(p.readings, dec.Readings...)
	if in.opts.Watch != nil && len(dec.Readings) > 0 {
		in.opts.Watch(dec.Readings)
	}
}

// accept applies a decoded message to the registry (a description) or
// enriches its readings from it and checks that the store can hold them.
func accept(devices Devices, dec *Decoded, received time.Time, lim Limits) error {
	if dec.Meta != nil {
		if err := devices.Describe(*dec.Meta); err != nil {
			return err
		}
	}
	for j := range dec.Readings {
		if err := devices.Enrich(&dec.Readings[j]); err != nil {
			return err
		}
		if rej := check(&dec.Readings[j], received, lim); rej != nil {
			return rej
		}
	}
	return nil
}

// finish counts a prepared batch in the metrics (per batch: label lookups
// are not free).
func (in *Ingester) finish(p *prepared) {
	for f, n := range p.received {
		in.m.received.WithLabelValues(f).Add(float64(n))
	}
	for f, n := range p.decoded {
		in.m.decoded.WithLabelValues(f).Add(float64(n))
	}
}

// commit writes a prepared batch (retrying while the store is down) and
// then acknowledges its messages. It returns false when ctx ended first;
// nothing was acknowledged then.
func (in *Ingester) commit(ctx context.Context, p *prepared) bool {
	if p.done != nil {
		defer close(p.done)
	}
	if len(p.readings) > 0 && !in.writeReadings(ctx, p) {
		return false
	}
	if len(p.dead) > 0 && !in.writeDeadLetters(ctx, p) {
		return false
	}
	if p.after != nil {
		<-p.after
	}
	acked := 0
	for i, msg := range p.batch {
		if msg.ack != nil {
			msg.ack()
			acked++
		}
		if msg.result != nil {
			msg.result <- p.rejects[i]
		}
	}
	if acked > 0 {
		in.countBy(in.m.acked, len(p.batch), func(i int) string {
			if p.batch[i].ack == nil {
				return ""
			}
			return p.format[i]
		})
	}
	in.m.inflight.Sub(float64(len(p.batch)))
	return true
}

// countBy adds n items to c, labelled by format(i) for i in [0, n); an
// empty format is not counted. Runs of one format (the common case) cost
// one label lookup.
func (in *Ingester) countBy(c *prometheus.CounterVec, n int, format func(i int) string) {
	run, count := "", 0
	for i := 0; i < n; i++ {
		f := format(i)
		if f != run {
			if count > 0 && run != "" {
				c.WithLabelValues(run).Add(float64(count))
			}
			run, count = f, 0
		}
		count++
	}
	if count > 0 && run != "" {
		c.WithLabelValues(run).Add(float64(count))
	}
}
