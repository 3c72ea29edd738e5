package influx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/kessel-city/kessel"
)

// EvidenceMeasurement holds the winter service's evidence chains: one point
// per subject (tag) and day, at the day's start, with the fields day,
// hash, prev and doc (the record).
const EvidenceMeasurement = "kessel_evidence"

// EvidenceRetentionPolicy is the retention policy evidence goes to on
// InfluxDB 1.x by default: created with an infinite duration, so that
// records outlive the raw readings' retention.
const EvidenceRetentionPolicy = "kessel_evidence"

// EvidenceStore keeps evidence chains in their own bucket (on 1.x a
// database/retention-policy), apart from the readings' retention. It is
// safe for concurrent use.
type EvidenceStore struct {
	c      *Client
	bucket string
	write  api.WriteAPIBlocking
}

// EvidenceStore returns the store of evidence chains in bucket; empty
// means the readings' database with EvidenceRetentionPolicy (1.x).
func (c *Client) EvidenceStore(bucket string) *EvidenceStore {
	if bucket == "" {
		db, _, _ := strings.Cut(c.opts.Bucket, "/")
		bucket = db + "/" + EvidenceRetentionPolicy
	}
	return &EvidenceStore{c: c, bucket: bucket, write: c.client.WriteAPIBlocking(c.opts.Org, bucket)}
}

// Bucket returns where evidence is kept.
func (s *EvidenceStore) Bucket() string { return s.bucket }

// Prepare creates the retention policy on InfluxDB 1.x (infinite
// duration; an existing one is left as it is: keep it at least three
// years). On 2.x the bucket must exist, with a retention of at least
// three years.
func (s *EvidenceStore) Prepare(ctx context.Context) error {
	version, err := s.c.Ping(ctx)
	if err != nil {
		return err
	}
	db, rp, ok := strings.Cut(s.bucket, "/")
	if !isV1(version) || !ok || rp == "autogen" {
		return nil
	}
	err = s.c.influxQL(ctx, fmt.Sprintf("CREATE RETENTION POLICY %q ON %q DURATION INF REPLICATION 1", rp, db))
	if err != nil && (strings.Contains(err.Error(), "already exists") || strings.Contains(err.Error(), "conflicts with an existing policy")) {
		return nil // an operator set its duration: theirs stands
	}
	return err
}

// influxQL runs one InfluxQL statement on a 1.x server.
func (c *Client) influxQL(ctx context.Context, q string) error {
	form := url.Values{"q": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.opts.URL, "/")+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("influx: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if u, p, ok := strings.Cut(c.opts.Token, ":"); ok {
		req.SetBasicAuth(u, p)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("influx: %s: %w: %w", q, &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB is not reachable"}, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 || strings.Contains(string(body), `"error"`) {
		return fmt.Errorf("influx: %s: status %d: %s", q, resp.StatusCode, body)
	}
	return nil
}

// maxEvidenceDoc is the largest record SaveEvidence stores, in bytes.
const maxEvidenceDoc = 64000

// SaveEvidence stores one day of a chain. A day stored again replaces the
// point (chains are append-only by their Service, not by the store).
// A record over maxEvidenceDoc bytes is EINVALID: InfluxDB keeps string
// fields up to 64 KiB.
func (s *EvidenceStore) SaveEvidence(ctx context.Context, e kessel.EvidenceEntry) error {
	if len(e.Doc) > maxEvidenceDoc {
		return kessel.Errorf(kessel.EINVALID, "the record of %s %s is %d bytes; InfluxDB keeps at most %d in one field: split the route into smaller ones", e.Subject, e.Day, len(e.Doc), maxEvidenceDoc)
	}
	b := []byte(EvidenceMeasurement)
	b = appendTag(b, "subject", e.Subject)
	b = append(b, ' ')
	b = appendString(b, "day", e.Day)
	b = append(b, ',')
	b = appendString(b, "doc", string(e.Doc))
	b = append(b, ',')
	b = appendString(b, "hash", e.Hash)
	b = append(b, ',')
	b = appendString(b, "prev", e.Prev)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.Start.UnixNano(), 10)
	err := s.write.WriteRecord(ctx, string(b))
	var he *influxhttp.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 && he.StatusCode != http.StatusTooManyRequests:
		return fmt.Errorf("influx: save evidence: %w", &kessel.Error{Code: kessel.EINVALID, Message: "InfluxDB rejected the evidence record: " + he.Error()})
	}
	return fmt.Errorf("influx: save evidence: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB write failed"}, err)
}

// Evidence returns the subject's entries with Start in [from, to), oldest
// first.
func (s *EvidenceStore) Evidence(ctx context.Context, subject string, from, to time.Time) ([]kessel.EvidenceEntry, error) {
	return s.entries(ctx, subject, from, to, false)
}

// LastEvidence returns the subject's newest entry; found is false when
// there is none.
func (s *EvidenceStore) LastEvidence(ctx context.Context, subject string) (e kessel.EvidenceEntry, found bool, err error) {
	es, err := s.entries(ctx, subject, time.Unix(0, 0), time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), true)
	if err != nil || len(es) == 0 {
		return kessel.EvidenceEntry{}, false, err
	}
	return es[len(es)-1], true, nil
}

func (s *EvidenceStore) entries(ctx context.Context, subject string, from, to time.Time, last bool) ([]kessel.EvidenceEntry, error) {
	var f strings.Builder
	fmt.Fprintf(&f, "from(bucket: %s)\n", strconv.Quote(s.bucket))
	fmt.Fprintf(&f, "  |> range(start: %s, stop: %s)\n", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&f, "  |> filter(fn: (r) => r._measurement == %q and r.subject == %s)\n", EvidenceMeasurement, strconv.Quote(subject))
	if last {
		f.WriteString("  |> last()\n")
	}
	f.WriteString("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n  |> group()\n  |> sort(columns: [\"_time\"])\n")
	res, err := s.c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: evidence: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	var out []kessel.EvidenceEntry
	for res.Next() {
		v := res.Record().Values()
		e := kessel.EvidenceEntry{Subject: subject, Start: res.Record().Time()}
		e.Day, _ = v["day"].(string)
		e.Hash, _ = v["hash"].(string)
		e.Prev, _ = v["prev"].(string)
		doc, _ := v["doc"].(string)
		e.Doc = []byte(doc)
		out = append(out, e)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: evidence: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return out, nil
}

// AlertHistory returns every alert state the journal (AlertMeasurement)
// saved in [from, to), oldest first: each transition and acknowledgement,
// for evidence records. A record it cannot read is skipped.
func (c *Client) AlertHistory(ctx context.Context, from, to time.Time) ([]kessel.Alert, error) {
	var f strings.Builder
	// The journal is one of Kessel's records (recordsFrom: kept forever).
	f.WriteString(c.recordsFrom(fmt.Sprintf("range(start: %s, stop: %s)", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano)),
		fmt.Sprintf("filter(fn: (r) => r._measurement == %q and r._field == \"doc\")", AlertMeasurement)))
	f.WriteString("  |> group()\n  |> sort(columns: [\"_time\"])\n")
	res, err := c.query.Query(ctx, f.String())
	if err != nil {
		return nil, fmt.Errorf("influx: alert history: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	defer res.Close()
	var out []kessel.Alert
	for res.Next() {
		s, _ := res.Record().Value().(string)
		var a kessel.Alert
		if json.Unmarshal([]byte(s), &a) == nil {
			out = append(out, a)
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: alert history: %w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "InfluxDB query failed"}, err)
	}
	return out, nil
}
