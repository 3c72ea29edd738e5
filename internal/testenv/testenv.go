// Package testenv finds the external programs integration tests need
// (influxd, mosquitto, chromium) and decides what happens when one is
// missing: under `make test` (KESSEL_REQUIRE_INTEGRATION=1) the test fails,
// otherwise it is skipped with a message that says how to get the program.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Required reports whether integration tests must run rather than skip.
func Required() bool { return os.Getenv("KESSEL_REQUIRE_INTEGRATION") == "1" }

// Missing fails t under Required and skips it otherwise.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("integration test cannot run: "+format, args...)
	}
	t.Skipf("skipping integration test (run `make test` to install what it needs): "+format, args...)
}

// ModuleRoot returns the directory holding go.mod, searching upwards from
// the working directory, or "" when there is none.
func ModuleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Program returns the path of an external program: $envVar if set, else
// the project's bin/ folder, else $PATH. It calls Missing when none is found.
func Program(t testing.TB, name, envVar string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		return p
	}
	if root := ModuleRoot(); root != "" {
		p := filepath.Join(root, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(t, "%s not found (set %s, or install it into bin/ with `make deps`)", name, envVar)
	return ""
}

// FreePort returns a loopback TCP address that was free a moment ago,
// never one it returned before in this process: the kernel may hand out
// a port it just freed again, and a server given one address for two
// listeners (influxd's HTTP and RPC) answered its own health check on the
// wrong one.
func FreePort(t testing.TB) string {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		addr := l.Addr().String()
		l.Close()
		handedOut.Lock()
		seen := handedOut.addrs[addr]
		handedOut.addrs[addr] = true
		handedOut.Unlock()
		if !seen {
			return addr
		}
	}
	t.Fatal("free port: the kernel offered only ports handed out before")
	return ""
}

// handedOut are the addresses FreePort returned.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// Eventually polls cond every 50ms until it returns true or timeout passes,
// then fails t with msg.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
