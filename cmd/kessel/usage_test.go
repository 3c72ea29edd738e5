package main

import (
	"encoding/json"
	"syscall"
	"testing"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// TestUsagePersists counts requests, restarts Kessel gracefully and finds
// the counts again, summed with a second instance's on the same InfluxDB.
func TestUsagePersists(t *testing.T) {
	db := influxtest.Start(t)
	a := startHub(t, "kessel-a", "--influx-url", db.URL, "--mqtt-listen", testenv.FreePort(t), "--mqtt-client-id", "usage-a")
	b := startHub(t, "kessel-b", "--influx-url", db.URL, "--mqtt-listen", testenv.FreePort(t), "--mqtt-client-id", "usage-b")
	for range 3 {
		get(t, "http://"+a.HTTP+"/api/v1/latest?kind=noise")
	}
	get(t, "http://"+b.HTTP+"/api/v1/latest?kind=noise")
	latestNoise := func(h *hub) int {
		_, body := get(t, "http://"+h.HTTP+"/api/v1/usage")
		var u struct {
			Items []struct {
				Endpoint, Dataset string
				Requests          int
			}
		}
		json.Unmarshal([]byte(body), &u)
		n := 0
		for _, it := range u.Items {
			if it.Endpoint == "latest" && it.Dataset == "noise" {
				n += it.Requests
			}
		}
		return n
	}
	for _, h := range []*hub{a, b} { // a graceful stop saves the counts
		_ = h.cmd.Process.Signal(syscall.SIGTERM)
		<-h.done
		h.cmd = nil
	}
	a.start()
	if n := latestNoise(a); n != 4 {
		t.Errorf("after the restart, /usage counts %d requests for latest/noise; want 3 of a's and 1 of b's", n)
	}
}
