package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/internal/testenv"
)

var (
	buildOnce             sync.Once
	builtKessel, builtSim string
	buildErr              error
	buildDir              string
)

// binaries builds kessel and kessel-sim once per test run.
func binaries(t testing.TB) (kessel, sim string) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "kessel-bin-")
		if buildErr != nil {
			return
		}
		for _, b := range []string{"kessel", "kessel-sim"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, b), "./cmd/"+b)
			cmd.Dir = testenv.ModuleRoot()
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b, err, out)
				return
			}
		}
		builtKessel, builtSim = filepath.Join(buildDir, "kessel"), filepath.Join(buildDir, "kessel-sim")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtKessel, builtSim
}

// hub is a `kessel serve` process under test.
type hub struct {
	t    *testing.T
	args []string
	cmd  *exec.Cmd
	done chan error
	log  *testenv.Buffer
	HTTP string
	name string
}

// startHub runs kessel serve with args plus its own HTTP port, and waits
// until /healthz answers. It is killed when the test ends.
func startHub(t *testing.T, name string, args ...string) *hub {
	t.Helper()
	bin, _ := binaries(t)
	h := &hub{t: t, name: name, HTTP: testenv.FreePort(t), log: &testenv.Buffer{}}
	h.args = append([]string{"serve", "--http", h.HTTP, "--log-level", "warn", "--rate-limit-read", "0", "--rate-limit-write", "0"}, args...)
	_ = bin
	h.start()
	t.Cleanup(func() {
		h.kill()
		if t.Failed() {
			t.Logf("%s log:\n%s", h.name, h.log.String())
		}
	})
	return h
}

func (h *hub) start() {
	h.t.Helper()
	bin, _ := binaries(h.t)
	h.cmd = exec.Command(bin, h.args...)
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	h.cmd.Stderr = h.log
	h.cmd.Stdout = h.log
	if err := h.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.done = make(chan error, 1)
	go func(c *exec.Cmd, done chan error) { done <- c.Wait() }(h.cmd, h.done)
	// 90 s: a replica restarted while a NATS node rebuilds its streams
	// waits for the cluster before it reports ready
	testenv.Eventually(h.t, 90*time.Second, func() bool {
		resp, err := http.Get("http://" + h.HTTP + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "%s not ready", h.name)
}

// kill9 kills the process without any chance to clean up.
func (h *hub) kill9() {
	if h.cmd != nil && h.cmd.Process != nil {
		_ = h.cmd.Process.Signal(syscall.SIGKILL)
		<-h.done
		h.cmd = nil
	}
}

func (h *hub) kill() { h.kill9() }

// peakRSS returns the process's peak resident memory in bytes (VmHWM).
func (h *hub) peakRSS() int64 {
	if h.cmd == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// metricLines returns the lines of /metrics, nil if it does not answer.
func (h *hub) metricLines() []string {
	st, body := get(h.t, "http://"+h.HTTP+"/metrics")
	if st != http.StatusOK {
		return nil
	}
	return strings.Split(body, "\n")
}

// metric returns the value of an unlabelled metric line on /metrics (or of
// one series, given its name with labels); -1 if /metrics does not answer.
func (h *hub) metric(name string) float64 {
	lines := h.metricLines()
	if lines == nil {
		return -1
	}
	for _, line := range lines {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// metricSum returns the sum of a metric over all its label values; -1 if
// /metrics does not answer.
func (h *hub) metricSum(name string) float64 {
	lines := h.metricLines()
	if lines == nil {
		return -1
	}
	sum := 0.0
	for _, line := range lines {
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			f := strings.Fields(rest)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// steadyPublisher publishes native readings at QoS 1 at about rate msgs/s,
// each (device, timestamp) unique, retrying every message until the broker
// acknowledged it, so "sent" is exact even across broker restarts.
type steadyPublisher struct {
	client  mqtt.Client
	devices int
	base    time.Time
	mu      sync.Mutex
	sent    int
	stop    chan struct{}
	done    chan struct{}
}

func startPublisher(t *testing.T, brokerURL string, devices int, rate float64, base time.Time) *steadyPublisher {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(brokerURL).SetClientID(fmt.Sprintf("steady-%d", time.Now().UnixNano())).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).SetMaxReconnectInterval(time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	p := &steadyPublisher{client: c, devices: devices, base: base, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(rate)
	t.Cleanup(func() { p.Stop(); c.Disconnect(100) })
	return p
}

func (p *steadyPublisher) run(rate float64) {
	defer close(p.done)
	gap := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for i := 0; ; i++ {
		select {
		case <-p.stop:
			return
		default:
		}
		dev := fmt.Sprintf("dev-%02d", i%p.devices)
		ts := p.base.Add(time.Duration(i) * time.Millisecond).UTC().Format(time.RFC3339Nano)
		payload := fmt.Sprintf(`{"ts":%q,"kind":"test","values":{"seq":%d}}`, ts, i)
		for {
			tok := p.client.Publish("kessel/devices/"+dev+"/readings", 1, false, payload)
			if tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
				break
			}
			select {
			case <-p.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		p.mu.Lock()
		p.sent++
		p.mu.Unlock()
		next = next.Add(gap)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
}

// Stop ends publishing and returns how many messages the broker accepted.
func (p *steadyPublisher) Stop() int {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

func (p *steadyPublisher) Sent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

func httpGet(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func execHub(bin string, args []string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}
