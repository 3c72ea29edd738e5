package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/simulators"
)

// storeBatch is how many readings the store sink writes at once.
const storeBatch = 10000

// storeSink writes the fleet's readings straight to InfluxDB
// (--influx-url) instead of publishing them: a backfill of a year in
// minutes, for benchmarks, without the hub. Each message is decoded as
// the hub decodes it; kind, district and department come from the fleet
// and the devices' meta messages, as the hub's registry would add them.
// Batches are written by one goroutine while the next is made.
type storeSink struct {
	store  *influx.Client
	fleet  map[string]*simulators.Device // by Kessel id
	dept   map[string]string
	batch  []kessel.Reading
	out    chan []kessel.Reading
	done   chan struct{}
	mu     sync.Mutex
	err    error
	failed atomic.Int64
}

func newStoreSink(ctx context.Context, url, bucket string, fleet []*simulators.Device) (*storeSink, error) {
	store, err := influx.New(influx.Options{URL: url, Bucket: bucket, Timeout: 2 * time.Minute})
	if err != nil {
		return nil, err
	}
	if _, err := store.Ping(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("--influx-url: %w", err)
	}
	s := &storeSink{store: store, fleet: map[string]*simulators.Device{}, dept: map[string]string{}, out: make(chan []kessel.Reading, 2), done: make(chan struct{})}
	for _, d := range fleet {
		s.fleet[d.KesselID()] = d
	}
	go s.write(context.WithoutCancel(ctx))
	return s, nil
}

func (s *storeSink) write(ctx context.Context) {
	defer close(s.done)
	for rs := range s.out {
		if err := s.store.WriteReadings(ctx, rs); err != nil {
			s.failed.Add(int64(len(rs)))
			s.mu.Lock()
			s.err = errors.Join(s.err, err)
			s.mu.Unlock()
		}
	}
}

// Publish decodes m and queues its readings.
func (s *storeSink) Publish(ctx context.Context, m simulators.Message) error {
	d, err := ingest.Decode(m.Topic, m.Payload, time.Now(), ingest.Limits{})
	if err != nil {
		s.failed.Add(1)
		return nil // a fault the run injected: the hub would keep it as a dead letter
	}
	if d.Meta != nil {
		s.dept[d.Meta.ID] = d.Meta.Department
		return nil
	}
	for _, r := range d.Readings {
		if dev, ok := s.fleet[r.Device]; ok {
			r.Kind, r.District = dev.Kind, dev.District
		}
		r.Department, r.Source = s.dept[r.Device], d.Format
		s.batch = append(s.batch, r)
	}
	if len(s.batch) >= storeBatch {
		return s.send(ctx)
	}
	return nil
}

func (s *storeSink) send(ctx context.Context) error {
	if len(s.batch) == 0 {
		return nil
	}
	select {
	case s.out <- s.batch:
		s.batch = make([]kessel.Reading, 0, storeBatch)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush writes what is queued and waits for every write.
func (s *storeSink) Flush(ctx context.Context) error {
	if err := s.send(ctx); err != nil {
		return err
	}
	close(s.out)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Failed counts readings that could not be written, and injected faults.
func (s *storeSink) Failed() int { return int(s.failed.Load()) }

// Close releases the InfluxDB client.
func (s *storeSink) Close() { s.store.Close() }
