package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a running mosquitto broker.
type Mosquitto struct {
	URL  string
	Addr string
	conf string
	cmd  *exec.Cmd
	bin  string
}

// StartMosquitto runs mosquitto on a free loopback port with the limits
// Kessel's deploy/mosquitto/mosquitto.conf ships (no queue limit that loses
// a burst), and stops it when the test ends.
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	bin := Program(t, "mosquitto", "KESSEL_MOSQUITTO")
	dir := t.TempDir()
	addr := FreePort(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(MosquittoConfig(t, port, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &Mosquitto{URL: "tcp://" + addr, Addr: addr, conf: conf, bin: bin}
	m.Start(t)
	t.Cleanup(m.Stop)
	return m
}

// Start (re)starts the broker and waits until it accepts connections.
func (m *Mosquitto) Start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(m.bin, "-c", m.conf)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	m.cmd = cmd
	Eventually(t, 10*time.Second, func() bool {
		c, err := net.Dial("tcp", m.Addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "mosquitto did not listen on %s", m.Addr)
}

// Stop terminates the broker (saving its persistence) and waits for it.
func (m *Mosquitto) Stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	_ = m.cmd.Wait()
	m.cmd = nil
}

// MosquittoConfig returns the configuration Kessel ships in
// deploy/mosquitto/mosquitto.conf, with the listener, files and
// authentication replaced for a test on 127.0.0.1:port with data in dir, so
// tests exercise the shipped limits.
func MosquittoConfig(t testing.TB, port, dir string) string {
	t.Helper()
	shipped, err := os.ReadFile(filepath.Join(ModuleRoot(), "deploy", "mosquitto", "mosquitto.conf"))
	if err != nil {
		t.Fatalf("shipped mosquitto.conf: %v", err)
	}
	var b strings.Builder
	// As root, mosquitto drops to the mosquitto user unless told otherwise,
	// and could then not write its persistence file in our temp dir.
	fmt.Fprintf(&b, "user root\nlistener %s 127.0.0.1\nallow_anonymous true\npersistence_location %s/\nlog_dest stderr\nlog_type error\nlog_type warning\n", port, dir)
	for _, line := range strings.Split(string(shipped), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "listener", "allow_anonymous", "password_file", "acl_file", "persistence_location", "log_dest", "log_type", "user":
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// StartMosquittoAuth runs mosquitto like StartMosquitto, but with
// anonymous clients refused, users (name → password, hashed with the
// mosquitto_passwd that ships with mosquitto) and the given ACL file text.
func StartMosquittoAuth(t testing.TB, users map[string]string, acl string) *Mosquitto {
	t.Helper()
	bin := Program(t, "mosquitto", "KESSEL_MOSQUITTO")
	passwd := Program(t, "mosquitto_passwd", "KESSEL_MOSQUITTO_PASSWD")
	dir := t.TempDir()
	pwFile, aclFile := filepath.Join(dir, "passwords"), filepath.Join(dir, "acl")
	if err := os.WriteFile(pwFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for u, p := range users {
		if out, err := exec.Command(passwd, "-b", pwFile, u, p).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd %s: %v: %s", u, err, out)
		}
	}
	if err := os.WriteFile(aclFile, []byte(acl), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := FreePort(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := strings.Replace(MosquittoConfig(t, port, dir), "allow_anonymous true\n",
		fmt.Sprintf("allow_anonymous false\npassword_file %s\nacl_file %s\n", pwFile, aclFile), 1)
	confFile := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &Mosquitto{URL: "tcp://" + addr, Addr: addr, conf: confFile, bin: bin}
	m.Start(t)
	t.Cleanup(m.Stop)
	return m
}
