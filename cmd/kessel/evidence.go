package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/evidence"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/internal/envflag"
)

const evidenceUsage = "usage: kessel evidence verify --subject sensor:ID|route:ID [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--dir DIR | --influx-url URL ...]"

// evidenceCmd runs `kessel evidence verify`: it checks one subject's chain
// of winter-service evidence records, in InfluxDB or in a directory of
// record files (--dir), prints the result and fails when the chain is
// broken, naming the day.
func evidenceCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New(evidenceUsage)
	}
	fs := flag.NewFlagSet("kessel evidence verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	e := envflag.New(fs, "KESSEL_", getenv)
	var subject, from, to, dir, url, org, bucket, token, evBucket string
	fs.StringVar(&subject, "subject", "", "the chain: sensor:ID or route:ID")
	fs.StringVar(&from, "from", "", "first day (YYYY-MM-DD); default: the chain's start")
	fs.StringVar(&to, "to", "", "last day; default: the chain's last")
	fs.StringVar(&dir, "dir", "", "verify the record files in this directory (--evidence-dir) instead of InfluxDB")
	e.String(&url, "influx-url", "http://127.0.0.1:8086", "InfluxDB URL")
	e.String(&org, "influx-org", "kessel", "InfluxDB organisation (ignored by 1.8)")
	e.String(&bucket, "influx-bucket", "kessel/autogen", "the readings' bucket, or database/retention-policy on 1.8")
	e.String(&token, "influx-token", "", "InfluxDB token, or user:password on 1.8 (prefer the environment)")
	e.String(&evBucket, "evidence-bucket", "", "the evidence bucket, as given to kessel serve")
	if err := e.Parse(args[1:]); err != nil {
		return err
	}
	if subject == "" {
		return errors.New("--subject is required: " + evidenceUsage)
	}
	var entries []kessel.EvidenceEntry
	var err error
	if dir != "" {
		entries, err = evidence.Dir(dir).ReadDir(subject)
	} else {
		entries, err = evidenceFromInflux(ctx, influx.Options{URL: url, Org: org, Bucket: bucket, Token: token}, evBucket, subject)
	}
	if err != nil {
		return errors.New(kessel.ErrorMessage(err))
	}
	entries, err = evidenceRange(entries, from, to)
	if err != nil {
		return err
	}
	res := evidence.Verify(subject, entries)
	if res.Days == 0 {
		return fmt.Errorf("%s: no records in the range", subject)
	}
	if !res.OK {
		fmt.Fprintf(stdout, "%s: %d records %s..%s: BROKEN at %s: %s\n", subject, res.Days, res.First, res.Last, res.BrokenAt, res.Reason)
		return fmt.Errorf("evidence chain %s broken at %s", subject, res.BrokenAt)
	}
	fmt.Fprintf(stdout, "%s: %d records %s..%s: unchanged; last hash %s\n", subject, res.Days, res.First, res.Last, res.Head)
	return nil
}

func evidenceFromInflux(ctx context.Context, o influx.Options, bucket, subject string) ([]kessel.EvidenceEntry, error) {
	c, err := influx.New(o)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return c.EvidenceStore(bucket).Evidence(ctx, subject, time.Unix(0, 0), time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC))
}

// evidenceRange keeps the entries of the days from..to (YYYY-MM-DD; empty:
// open).
func evidenceRange(es []kessel.EvidenceEntry, from, to string) ([]kessel.EvidenceEntry, error) {
	for _, d := range []struct{ flag, v string }{{"--from", from}, {"--to", to}} {
		if _, err := evidence.ParseDay(d.v); d.v != "" && err != nil {
			return nil, fmt.Errorf("%s: %s", d.flag, kessel.ErrorMessage(err))
		}
	}
	var out []kessel.EvidenceEntry
	for _, e := range es {
		if (from == "" || e.Day >= from) && (to == "" || e.Day <= to) {
			out = append(out, e)
		}
	}
	return out, nil
}
