package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/internal/testenv"
)

// natsNode is one nats-server process of a test cluster, with JetStream
// and the MQTT listener.
type natsNode struct {
	t                     *testing.T
	bin, conf, name       string
	client, mqttAddr, mon string
	cmd                   *exec.Cmd
	done                  chan error
	log                   *testenv.Buffer
}

// startNATSCluster runs a 3-node NATS cluster on loopback, from the
// nats-server that `make deps-test` builds into bin/ at go.mod's version.
func startNATSCluster(t *testing.T) []*natsNode {
	t.Helper()
	bin := testenv.Program(t, "nats-server", "KESSEL_NATS_SERVER")
	dir := t.TempDir()
	nodes := make([]*natsNode, 3)
	routes := make([]string, 3)
	for i := range nodes {
		nodes[i] = &natsNode{t: t, bin: bin, name: fmt.Sprintf("n%d", i+1), client: testenv.FreePort(t),
			mqttAddr: testenv.FreePort(t), mon: testenv.FreePort(t), log: &testenv.Buffer{}}
		routes[i] = testenv.FreePort(t)
	}
	for i, n := range nodes {
		n.conf = filepath.Join(dir, n.name+".conf")
		conf := fmt.Sprintf("server_name: %s\nlisten: %q\nhttp: %q\njetstream { store_dir: %q }\n"+
			"cluster { name: kessel-test, listen: %q, routes: [%s] }\nmqtt { listen: %q }\n",
			n.name, n.client, n.mon, filepath.Join(dir, n.name), routes[i], "nats://"+strings.Join(routes, ", nats://"), n.mqttAddr)
		if err := os.WriteFile(n.conf, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		n.start()
	}
	for _, n := range nodes {
		n.waitHealthy()
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.kill9()
			if t.Failed() {
				t.Logf("%s log (tail):\n%s", n.name, tail(n.log.String(), 3000))
			}
		}
	})
	return nodes
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }

func (n *natsNode) start() {
	n.t.Helper()
	n.cmd = exec.Command(n.bin, "-c", n.conf)
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.done = make(chan error, 1)
	go func(c *exec.Cmd, done chan error) { done <- c.Wait() }(n.cmd, n.done)
}

// waitHealthy waits until the node's JetStream runs and has joined the
// cluster's meta group (/healthz?js-server-only=true).
func (n *natsNode) waitHealthy() {
	n.t.Helper()
	testenv.Eventually(n.t, 60*time.Second, func() bool {
		st, err := httpGet("http://" + n.mon + "/healthz?js-server-only=true")
		return err == nil && st == http.StatusOK
	}, "nats-server %s not healthy", n.name)
}

func (n *natsNode) kill9() {
	if n.cmd != nil && n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.done
		n.cmd = nil
	}
}

func natsURLs(nodes []*natsNode) string {
	var u []string
	for _, n := range nodes {
		u = append(u, "nats://"+n.client)
	}
	return strings.Join(u, ",")
}

func mqttURLs(nodes []*natsNode) []string {
	var u []string
	for _, n := range nodes {
		u = append(u, "tcp://"+n.mqttAddr)
	}
	return u
}

// storedPerDevice counts each device's stored readings (field seq).
func storedPerDevice(dbURL string, devices []string, base time.Time) (map[string]int, error) {
	c, err := influx.New(influx.Options{URL: dbURL, Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	got := map[string]int{}
	for _, d := range devices {
		rs, err := c.History(context.Background(), kessel.HistoryQuery{Device: d, From: base.Add(-time.Hour), To: base.Add(24 * time.Hour),
			Fields: []string{"seq"}, Resolution: kessel.ResolutionRaw}) // every stored point, flagged or not
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if _, ok := r.Values["seq"]; ok {
				got[d]++
			}
		}
	}
	return got, nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestTransitionID: replicas that compute the same transition name it
// alike; another transition of the alert gets another name.
func TestTransitionID(t *testing.T) {
	fired := `{"id":"a1","state":"firing","fired_at":"2026-01-01T10:00:00Z","value":61}`
	tests := []struct {
		name  string
		other string
		same  bool
	}{
		{"same transition, other value and field order", `{"value":62,"fired_at":"2026-01-01T10:00:00Z","state":"firing","id":"a1"}`, true},
		{"fired at another reading", `{"id":"a1","state":"firing","fired_at":"2026-01-01T10:00:10Z"}`, false},
		{"resolved", `{"id":"a1","state":"resolved","fired_at":"2026-01-01T10:00:00Z","resolved_at":"2026-01-01T10:05:00Z"}`, false},
		{"another alert", `{"id":"a2","state":"firing","fired_at":"2026-01-01T10:00:00Z"}`, false},
	}
	for _, tc := range tests {
		if got := transitionID([]byte(fired)) == transitionID([]byte(tc.other)); got != tc.same {
			t.Errorf("%s: same id %v, want %v (%s vs %s)", tc.name, got, tc.same, transitionID([]byte(fired)), transitionID([]byte(tc.other)))
		}
	}
}
