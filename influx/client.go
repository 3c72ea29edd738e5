// Package influx stores Kessel's readings and dead letters in InfluxDB and
// reads them back. It is the only importer of influxdb-client-go.
//
// Writes use the v2 write API (/api/v2/write) and reads use Flux
// (/api/v2/query), which both InfluxDB 1.8 (with flux-enabled) and InfluxDB
// 2.x/Cloud serve. On a 1.x server the database named by the bucket
// ("db/rp") is created on start.
package influx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/kessel-city/kessel"
)

// DeadLetterMeasurement is the measurement that holds dead letters.
const DeadLetterMeasurement = "kessel_deadletters"

// Options configures a Client. Zero values take the defaults noted.
type Options struct {
	URL    string // default http://127.0.0.1:8086
	Org    string // default "kessel"; ignored by InfluxDB 1.8
	Bucket string // default "kessel/autogen"
	Token  string // InfluxDB 2.x token, or "user:password" for 1.8; empty for an open 1.8
	// Timeout bounds each HTTP request; default 30s.
	Timeout time.Duration
	Logger  *slog.Logger
	// RawRetention is how long InfluxDB keeps raw readings and dead
	// letters (the retention of Bucket, which Prepare sets); 0 keeps
	// them forever.
	RawRetention time.Duration
	// RollupRetention is how long the hourly and daily rollups are kept;
	// 0 keeps them forever.
	RollupRetention time.Duration
	// HourBucket and DayBucket hold the hourly and daily rollups, and
	// RecordBucket Kessel's own records (device journal, rules, alerts,
	// usage), kept forever. Defaults derive from Bucket: on 1.8
	// "db/rollup_1h", "db/rollup_1d" and "db/records"; on 2.x
	// "<bucket>_rollup_1h", "<bucket>_rollup_1d" and "<bucket>_records".
	HourBucket, DayBucket, RecordBucket string
}

func (o *Options) ensureDefaults() {
	if o.URL == "" {
		o.URL = "http://127.0.0.1:8086"
	}
	if o.Org == "" {
		o.Org = "kessel"
	}
	if o.Bucket == "" {
		o.Bucket = "kessel/autogen"
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	derive := func(s *string, suffix string) {
		if *s != "" {
			return
		}
		if db, _, ok := strings.Cut(o.Bucket, "/"); ok {
			*s = db + "/" + suffix
		} else {
			*s = o.Bucket + "_" + suffix
		}
	}
	derive(&o.HourBucket, "rollup_1h")
	derive(&o.DayBucket, "rollup_1d")
	derive(&o.RecordBucket, "records")
}

// Client writes and reads Kessel data. It is safe for concurrent use.
type Client struct {
	opts   Options
	client influxdb2.Client
	write  api.WriteAPIBlocking
	query  api.QueryAPI
	http   *http.Client
	// writers of the rollup and record buckets, by bucket
	writers map[string]api.WriteAPIBlocking
	// marks caches the rollup watermark for the read side
	marks markCache
}

// New returns a Client for the server at opts.URL. It does not contact the
// server; call Prepare before the first write.
func New(opts Options) (*Client, error) {
	opts.ensureDefaults()
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, kessel.Errorf(kessel.EINVALID, "influx url %q: want http://host:port or https://host:port", opts.URL)
	}
	for _, b := range []string{opts.Bucket, opts.HourBucket, opts.DayBucket, opts.RecordBucket} {
		if strings.Count(b, "/") > 1 || strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") || strings.Contains(opts.Bucket, "/") != strings.Contains(b, "/") {
			return nil, kessel.Errorf(kessel.EINVALID, "influx bucket %q: want a bucket name or database/retention-policy (the same form for every bucket)", b)
		}
	}
	if opts.RawRetention < 0 || opts.RollupRetention < 0 || opts.RawRetention > 0 && opts.RawRetention < time.Hour || opts.RollupRetention > 0 && opts.RollupRetention < opts.RawRetention {
		return nil, kessel.Errorf(kessel.EINVALID, "retention: raw at least 1h (or 0, forever), rollups at least as long as raw (or 0, forever)")
	}
	o := influxdb2.DefaultOptions().
		SetHTTPRequestTimeout(uint(opts.Timeout / time.Second)).
		SetPrecision(time.Nanosecond)
	plainQueries(o.HTTPClient())
	c := influxdb2.NewClientWithOptions(strings.TrimRight(opts.URL, "/"), opts.Token, o)
	writers := map[string]api.WriteAPIBlocking{}
	for _, b := range []string{opts.HourBucket, opts.DayBucket, opts.RecordBucket} {
		writers[b] = c.WriteAPIBlocking(opts.Org, b)
	}
	return &Client{
		opts:    opts,
		client:  c,
		write:   c.WriteAPIBlocking(opts.Org, opts.Bucket),
		query:   c.QueryAPI(opts.Org),
		http:    &http.Client{Timeout: opts.Timeout},
		writers: writers,
	}, nil
}

// Bucket returns the bucket (or database/retention-policy) written to.
func (c *Client) Bucket() string { return c.opts.Bucket }

// Close releases the client's connections.
func (c *Client) Close() { c.client.Close() }

// Ping checks that the server answers; it returns an EUNAVAILABLE error if not.
// It returns the server's version as reported in X-Influxdb-Version.
func (c *Client) Ping(ctx context.Context) (version string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.opts.URL, "/")+"/ping", nil)
	if err != nil {
		return "", fmt.Errorf("influx: ping: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("influx: ping: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB is not reachable"})
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("influx: ping: status %d: %w", resp.StatusCode, &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB is not ready"})
	}
	return resp.Header.Get("X-Influxdb-Version"), nil
}

// Prepare waits until the server answers (retrying until ctx ends) and
// then makes the buckets: on InfluxDB 1.x the database and the retention
// policies of Bucket (RawRetention), HourBucket and DayBucket
// (RollupRetention) and RecordBucket (forever), created or altered; on 2.x
// the rollup and record buckets are created when missing and the retention
// of every bucket is set (Bucket itself must exist).
func (c *Client) Prepare(ctx context.Context) error {
	var version string
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		v, err := c.Ping(ctx)
		if err == nil {
			version = v
			break
		}
		c.opts.Logger.Warn("waiting for InfluxDB", "url", c.opts.URL, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("influx: prepare: %w", err)
		case <-time.After(delay):
		}
	}
	if !isV1(version) {
		if err := c.prepareBuckets(ctx); err != nil {
			return err
		}
		c.opts.Logger.Info("InfluxDB ready", "version", version, "bucket", c.opts.Bucket)
		return nil
	}
	if err := c.preparePolicies(ctx); err != nil {
		return err
	}
	c.opts.Logger.Info("InfluxDB ready", "version", version, "bucket", c.opts.Bucket, "raw_retention", c.opts.RawRetention, "rollup_retention", c.opts.RollupRetention)
	return nil
}

// writeLines sends line protocol to the server. Errors are EINVALID when the
// server rejected the data (it will never accept it) and EUNAVAILABLE when
// the write may succeed if retried.
func (c *Client) writeLines(ctx context.Context, lines string) error {
	return c.writeWith(ctx, c.write, lines)
}

func (c *Client) writeWith(ctx context.Context, w api.WriteAPIBlocking, lines string) error {
	if lines == "" {
		return nil
	}
	err := w.WriteRecord(ctx, lines)
	if err == nil {
		return nil
	}
	var he *influxhttp.Error
	if errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 && he.StatusCode != http.StatusTooManyRequests && he.StatusCode != http.StatusRequestTimeout {
		return fmt.Errorf("influx: write: %w", &kessel.Error{Code: kessel.EINVALID, Message: "InfluxDB rejected the data: " + he.Error()})
	}
	return fmt.Errorf("influx: write: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB write failed"}, err)
}

// WriteDeadLetters stores dead letters in DeadLetterMeasurement with the
// reason as the only tag.
func (c *Client) WriteDeadLetters(ctx context.Context, dls []kessel.DeadLetter) error {
	var b []byte
	for i := range dls {
		b = appendDeadLetter(b, &dls[i])
	}
	return c.writeLines(ctx, string(b))
}

// isV1 reports whether a /ping version header comes from InfluxDB 1.x. A
// 1.x server built from source reports "unknown"; 2.x and Cloud report
// "v2.…"/"2.…" or later.
func isV1(version string) bool {
	v := strings.TrimPrefix(version, "v")
	return !(len(v) > 0 && v[0] >= '2' && v[0] <= '9')
}

// plainQueries makes hc ask InfluxDB for query answers uncompressed (the
// client library always asks for gzip). Kessel and InfluxDB run side by
// side: a year of a device's hourly rollups is 7 MB of CSV, and gzip
// added 40 ms to InfluxDB's 90 ms for it, and its reading more again.
func plainQueries(hc *http.Client) {
	if t, ok := hc.Transport.(*http.Transport); ok {
		t.DisableCompression = true // or Go's transport asks for gzip itself
		hc.Transport = noGzipQueries{t}
	}
}

type noGzipQueries struct{ next http.RoundTripper }

func (t noGzipQueries) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/api/v2/query") && req.Header.Get("Accept-Encoding") != "" {
		req = req.Clone(req.Context())
		req.Header.Del("Accept-Encoding")
	}
	return t.next.RoundTrip(req)
}
