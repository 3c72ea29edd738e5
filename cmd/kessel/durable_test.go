package main

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// The crash tests of the default embedded broker (NATS JetStream): a
// device's QoS 1 message is acknowledged once the stream stored it, so a
// kill -9 of Kessel loses none of the acknowledged ones, and Kessel's
// redeliveries store nothing twice.

const crashReadings = 5000

// burst publishes perDevice QoS 1 readings for each of failureDevices
// devices, one connection per device, and returns how many the broker
// acknowledged (PUBACK). With retry, a message whose PUBACK did not come
// (the connection died) is sent again until it is acknowledged; without,
// the burst expects every PUBACK on the first try. withTS gives each
// reading a unique timestamp (so a resent message is the same reading);
// without it the reading takes the time the broker stored it.
func burst(url string, perDevice int, withTS, retry bool, base time.Time, acked *atomic.Int64) error {
	var wg sync.WaitGroup
	errs := make(chan error, failureDevices)
	for d := range failureDevices {
		dev := fmt.Sprintf("dev-%02d", d)
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("crash-" + dev).
			SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).SetMaxReconnectInterval(time.Second))
		if tok := c.Connect(); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
			return fmt.Errorf("connect %s: %v", dev, tok.Error())
		}
		defer c.Disconnect(50)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- publishAll(c, dev, d, perDevice, withTS, retry, base, acked)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func publishAll(c mqtt.Client, dev string, d, n int, withTS, retry bool, base time.Time, acked *atomic.Int64) error {
	window := make([]mqtt.Token, 0, 100)
	payloads := make([]string, 0, 100)
	for i := 0; i < n; i += cap(window) {
		window, payloads = window[:0], payloads[:0]
		for j := i; j < min(n, i+cap(window)); j++ {
			p := fmt.Sprintf(`{"kind":"test","values":{"seq":%d}}`, d*n+j)
			if withTS {
				ts := base.Add(time.Duration(j) * time.Millisecond).UTC().Format(time.RFC3339Nano)
				p = fmt.Sprintf(`{"ts":%q,"kind":"test","values":{"seq":%d}}`, ts, d*n+j)
			}
			payloads = append(payloads, p)
			window = append(window, c.Publish("kessel/devices/"+dev+"/readings", 1, false, p))
		}
		for k, tok := range window {
			for !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				if !retry {
					return fmt.Errorf("%s: no PUBACK: %v", dev, tok.Error())
				}
				time.Sleep(100 * time.Millisecond) // the broker is being restarted
				tok = c.Publish("kessel/devices/"+dev+"/readings", 1, false, payloads[k])
			}
			acked.Add(1)
		}
	}
	return nil
}

// TestCrashWhileInfluxDBDown: InfluxDB is stopped, 5,000 readings without
// their own time are published and every one acknowledged, Kessel is
// killed with SIGKILL; InfluxDB and Kessel start again and every reading is
// stored exactly once (each took the time the stream stored it, so a
// redelivered one is the same point).
func TestCrashWhileInfluxDBDown(t *testing.T) {
	if testing.Short() {
		t.Skip("long failure test skipped in -short mode")
	}
	db := influxtest.Start(t)
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--mqtt-data", filepath.Join(t.TempDir(), "mqtt"))
	base := time.Now().Add(-time.Minute)
	db.Stop()
	var acked atomic.Int64
	if err := burst("tcp://"+mqttAddr, crashReadings/failureDevices, false, false, base, &acked); err != nil {
		t.Fatal(err)
	}
	if acked.Load() != crashReadings {
		t.Fatalf("acknowledged %d of %d", acked.Load(), crashReadings)
	}
	h.kill9()
	db.Restart(t)
	h.start()
	requireAll(t, db, base, crashReadings, 60*time.Second)
	t.Logf("acknowledged %d, stored %d (duplicated 0, lost 0)", acked.Load(), crashReadings)
}

// TestCrashMidBurst: Kessel is killed with SIGKILL in the middle of a
// burst while InfluxDB is up and started again; devices send again what
// was not acknowledged, and every reading is stored exactly once.
func TestCrashMidBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("long failure test skipped in -short mode")
	}
	db := influxtest.Start(t)
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--mqtt-data", filepath.Join(t.TempDir(), "mqtt"))
	base := time.Now().Add(-time.Minute)
	var acked atomic.Int64
	done := make(chan error, 1)
	go func() { done <- burst("tcp://"+mqttAddr, crashReadings/failureDevices, true, true, base, &acked) }()
	testenv.Eventually(t, 60*time.Second, func() bool { return acked.Load() >= crashReadings/3 }, "the burst did not get going")
	atKill := acked.Load()
	h.kill9()
	h.start()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	requireAll(t, db, base, crashReadings, 60*time.Second)
	t.Logf("acknowledged %d before the kill, %d in all; stored %d", atKill, acked.Load(), crashReadings)
}
