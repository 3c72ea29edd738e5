// Package influxtest starts a real influxd (1.8, Flux enabled) on a free
// loopback port for integration tests.
package influxtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kessel-city/kessel/internal/testenv"
)

// Server is a running influxd.
type Server struct {
	URL string
	Dir string

	cmd  *exec.Cmd
	args []string
	env  []string
	log  *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		l.b.Reset()
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start runs influxd with its data in a temporary directory and stops it
// when the test ends. The binary comes from $KESSEL_INFLUXD, bin/influxd or
// $PATH; when none exists the test fails under `make test` and skips otherwise.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := testenv.Program(t, "influxd", "KESSEL_INFLUXD")
	dir := t.TempDir()
	httpAddr := testenv.FreePort(t)
	rpcAddr := testenv.FreePort(t)
	s := &Server{URL: "http://" + httpAddr, Dir: dir, log: &lockedBuffer{}}
	s.env = append(os.Environ(),
		"INFLUXDB_HTTP_BIND_ADDRESS="+httpAddr,
		"INFLUXDB_BIND_ADDRESS="+rpcAddr,
		"INFLUXDB_META_DIR="+filepath.Join(dir, "meta"),
		"INFLUXDB_DATA_DIR="+filepath.Join(dir, "data"),
		"INFLUXDB_DATA_WAL_DIR="+filepath.Join(dir, "wal"),
		"INFLUXDB_HTTP_FLUX_ENABLED=true",
		"INFLUXDB_REPORTING_DISABLED=true",
		"INFLUXDB_HTTP_LOG_ENABLED=false",
		"INFLUXDB_DATA_QUERY_LOG_ENABLED=false",
		"INFLUXDB_LOGGING_LEVEL=warn",
		"INFLUXDB_MONITOR_STORE_ENABLED=false",
	)
	s.args = []string{bin, "run"}
	s.start(t)
	t.Cleanup(func() { s.Stop() })
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Env = s.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start influxd: %v", err)
	}
	s.cmd = cmd
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/ping", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("influxd did not answer on %s: %v\n%s", s.URL, err, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop terminates influxd and waits for it; it is safe to call twice.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// Restart stops influxd and starts it again on the same port and data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t)
}

// Log returns what influxd printed.
func (s *Server) Log() string { return s.log.String() }

// WriteLines writes line protocol straight to the 1.x write endpoint of
// database db, bypassing Kessel, for tests that poison the store.
func (s *Server) WriteLines(t testing.TB, db, lines string) {
	t.Helper()
	resp, err := http.Post(s.URL+"/write?db="+db, "text/plain", strings.NewReader(lines))
	if err != nil {
		t.Fatalf("write lines: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write lines: status %d: %s", resp.StatusCode, body)
	}
}

// Query runs one InfluxQL statement on database db (such as a DELETE of
// raw readings that a retention policy would expire); an error names the
// server's answer.
func (s *Server) Query(t testing.TB, db, stmt string) error {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/query", url.Values{"db": {db}, "q": {stmt}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"error"`)) {
		return fmt.Errorf("influxql %q: status %d: %s", stmt, resp.StatusCode, body)
	}
	return nil
}

// Proxy is a reverse proxy in front of a Server that counts the write
// requests passing through it, to observe how a client writes.
type Proxy struct {
	URL    string
	writes atomic.Int64
}

// Writes returns how many write requests (/write, /api/v2/write) passed.
func (p *Proxy) Writes() int64 { return p.writes.Load() }

// CountingProxy starts a Proxy to s that stops when the test ends.
func (s *Server) CountingProxy(t testing.TB) *Proxy {
	t.Helper()
	target, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/write") {
			p.writes.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}
