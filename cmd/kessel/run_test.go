package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// stoppedOrder returns the components the log says were stopped, in order.
func stoppedOrder(log string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`msg=stopped component=(\w+)`).FindAllStringSubmatch(log, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestRunServe runs `kessel serve` in this process with injected args,
// environment and streams against a real InfluxDB: it answers /healthz
// and, when its context ends, stops every component in reverse start
// order and returns no error. A component that cannot start stops the
// ones already started, and run returns its error.
func TestRunServe(t *testing.T) {
	db := influxtest.Start(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantErr   string
		wantStops []string
		// cancelWhen: the context ends once the log says this.
		cancelWhen string
	}{
		{name: "every role, embedded broker",
			env:       map[string]string{"KESSEL_ROLES": "ingest,alerts,api"},
			wantStops: []string{"http", "usage", "rollup", "consume", "ingest", "sta", "evidence", "alerts", "restore", "registry", "influxdb", "jetstream"}},
		{name: "every role, in-memory embedded broker", args: []string{"--mqtt-broker", "mochi"},
			wantStops: []string{"http", "usage", "broker", "rollup", "ingest", "sta", "evidence", "alerts", "restore", "registry", "influxdb"}},
		{name: "api only, following the embedded broker", args: []string{"--roles", "api", "--mqtt-broker", "embedded"},
			wantStops: []string{"http", "usage", "follower", "restore", "registry", "influxdb", "jetstream"}},
		{name: "HTTP port taken", args: []string{"--http", taken.Addr().String()},
			wantErr:   "http: listen tcp " + taken.Addr().String(),
			wantStops: []string{"usage", "rollup", "consume", "ingest", "sta", "evidence", "alerts", "restore", "registry", "influxdb", "jetstream"}},
		// The embedded broker starts beside the components before it is
		// needed: one of them failing closes it too.
		{name: "stopped while waiting for InfluxDB", env: map[string]string{"KESSEL_INFLUX_URL": "http://" + closedPort(t)},
			cancelWhen: "waiting for InfluxDB", wantErr: "InfluxDB is not reachable", wantStops: []string{"jetstream"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			httpAddr := testenv.FreePort(t)
			env := map[string]string{"KESSEL_INFLUX_URL": db.URL, "KESSEL_MQTT_LISTEN": testenv.FreePort(t), "KESSEL_HTTP": httpAddr,
				"KESSEL_LOG_LEVEL": "debug", "KESSEL_GC_PERCENT": "0", "KESSEL_MQTT_CLIENT_ID": "run-test"}
			for k, v := range tc.env {
				env[k] = v
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr testenv.Buffer
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, append([]string{"serve"}, tc.args...), func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
			}()
			if tc.wantErr == "" {
				testenv.Eventually(t, 30*time.Second, func() bool {
					st, err := httpGet("http://" + httpAddr + "/healthz")
					return err == nil && st == http.StatusOK
				}, "/healthz does not answer 200; log:\n%s", stderr.String())
				if !strings.Contains(stdout.String(), "serving: API http://"+httpAddr+"/api/v1/devices") {
					t.Errorf("stdout %q does not say where the API is", stdout.String())
				}
				cancel()
			}
			if tc.cancelWhen != "" {
				testenv.Eventually(t, 30*time.Second, func() bool { return strings.Contains(stderr.String(), tc.cancelWhen) },
					"the log does not say %q:\n%s", tc.cancelWhen, stderr.String())
				cancel()
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("run did not return after its context ended; log:\n%s", stderr.String())
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("run: %v, want %q; log:\n%s", err, tc.wantErr, stderr.String())
			}
			if got := stoppedOrder(stderr.String()); !slices.Equal(got, tc.wantStops) {
				t.Errorf("stopped %v, want %v", got, tc.wantStops)
			}
			if ln, err := net.Listen("tcp", env["KESSEL_MQTT_LISTEN"]); err != nil {
				t.Errorf("the MQTT listener was left open: %v", err)
			} else {
				ln.Close()
			}
			if tc.wantErr == "" && strings.Contains(stderr.String(), "level=ERROR") {
				t.Errorf("errors logged during a clean run:\n%s", stderr.String())
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestRunCommands runs the other commands with injected streams.
func TestRunCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantOut    string
		wantErr    string
		wantErrIs  error
		wantStderr string
	}{
		{name: "version", args: []string{"version"}, wantOut: "kessel dev\n"},
		{name: "help", args: []string{"help"}, wantOut: "usage: kessel <command>"},
		{name: "no command", wantErr: "a command is required", wantStderr: "usage: kessel"},
		{name: "unknown command", args: []string{"cook"}, wantErr: `unknown command "cook"`, wantStderr: "usage: kessel"},
		{name: "passwd from injected stdin", args: []string{"passwd"}, stdin: "correct horse battery\n", wantOut: "$2"},
		{name: "passwd too short", args: []string{"passwd"}, stdin: "short\n", wantErr: "at least 12 characters"},
		{name: "passwd without input", args: []string{"passwd"}, wantErr: "give the password on standard input"},
		{name: "serve -h", args: []string{"serve", "-h"}, wantErrIs: flag.ErrHelp, wantStderr: "$KESSEL_MQTT_BROKER"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			err := run(context.Background(), tc.args, func(string) string { return "" }, strings.NewReader(tc.stdin), &stdout, &stderr)
			switch {
			case tc.wantErrIs != nil:
				if !errors.Is(err, tc.wantErrIs) {
					t.Fatalf("err = %v, want %v", err, tc.wantErrIs)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			}
			if !strings.Contains(stdout.String(), tc.wantOut) || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q", stdout.String(), stderr.String(), tc.wantOut, tc.wantStderr)
			}
		})
	}
}
