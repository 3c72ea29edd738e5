package influx

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/domain"
)

// retentions lists each bucket with how long it keeps data (0: forever).
func (c *Client) retentions() []struct {
	bucket string
	keep   time.Duration
} {
	return []struct {
		bucket string
		keep   time.Duration
	}{
		{c.opts.Bucket, c.opts.RawRetention},
		{c.opts.HourBucket, c.opts.RollupRetention},
		{c.opts.DayBucket, c.opts.RollupRetention},
		{c.opts.RecordBucket, 0},
	}
}

// influxQLDuration renders d for a retention policy: INF for 0, else
// whole hours (InfluxDB's minimum is one hour).
func influxQLDuration(d time.Duration) string {
	if d <= 0 {
		return "INF"
	}
	return fmt.Sprintf("%dh", int64((d+time.Hour-1)/time.Hour))
}

// shardDuration is InfluxDB's own default shard group duration for a
// retention: 1h below two days, 1d up to six months, else 7d.
func shardDuration(keep time.Duration) string {
	switch {
	case keep <= 0 || keep > 180*24*time.Hour:
		return "168h"
	case keep < 48*time.Hour:
		return "1h"
	}
	return "24h"
}

// preparePolicies creates (or alters) the database and retention policy
// of every bucket on InfluxDB 1.x. A bucket without a policy part uses
// the database's "autogen".
func (c *Client) preparePolicies(ctx context.Context) error {
	for _, r := range c.retentions() {
		db, rp, _ := strings.Cut(r.bucket, "/")
		if rp == "" {
			rp = "autogen"
		}
		if err := c.influxQL(ctx, fmt.Sprintf("CREATE DATABASE %q", db)); err != nil {
			return fmt.Errorf("influx: create database %s: %w", db, err)
		}
		d, shard := influxQLDuration(r.keep), shardDuration(r.keep)
		err := c.influxQL(ctx, fmt.Sprintf("CREATE RETENTION POLICY %q ON %q DURATION %s REPLICATION 1 SHARD DURATION %s", rp, db, d, shard))
		if err != nil && strings.Contains(err.Error(), "already exists") {
			err = c.influxQL(ctx, fmt.Sprintf("ALTER RETENTION POLICY %q ON %q DURATION %s SHARD DURATION %s", rp, db, d, shard))
		}
		if err != nil {
			return fmt.Errorf("influx: retention policy %s: %w", r.bucket, err)
		}
	}
	return nil
}

// prepareBuckets creates the rollup and record buckets on InfluxDB 2.x
// when missing and sets every bucket's retention.
func (c *Client) prepareBuckets(ctx context.Context) error {
	buckets := c.client.BucketsAPI()
	org, err := c.client.OrganizationsAPI().FindOrganizationByName(ctx, c.opts.Org)
	if err != nil {
		return fmt.Errorf("influx: organisation %s: %w", c.opts.Org, err)
	}
	for _, r := range c.retentions() {
		rule := domain.RetentionRule{EverySeconds: int64(r.keep / time.Second)}
		b, err := buckets.FindBucketByName(ctx, r.bucket)
		if err != nil && r.bucket == c.opts.Bucket {
			return fmt.Errorf("influx: bucket %s: %w", r.bucket, err)
		}
		if err != nil {
			if _, err := buckets.CreateBucketWithName(ctx, org, r.bucket, rule); err != nil {
				return fmt.Errorf("influx: create bucket %s: %w", r.bucket, err)
			}
			continue
		}
		if len(b.RetentionRules) == 1 && b.RetentionRules[0].EverySeconds == rule.EverySeconds {
			continue
		}
		b.RetentionRules = domain.RetentionRules{rule}
		if _, err := buckets.UpdateBucket(ctx, b); err != nil {
			return fmt.Errorf("influx: retention of bucket %s: %w", r.bucket, err)
		}
	}
	return nil
}
