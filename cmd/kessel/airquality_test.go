package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/airquality"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
)

// TestExceedanceDaysAcrossRestart runs `kessel serve` over a store that
// holds an exceedance day of this year (today, CET, 24 hours of PM10 at
// 80): the exceedance_days rule fires once, the statistics endpoint counts
// the day, and after a restart the alert is the same firing alert, not a
// new one.
func TestExceedanceDaysAcrossRestart(t *testing.T) {
	db := influxtest.Start(t)
	store, err := influx.New(influx.Options{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	ctx := context.Background()
	if err := store.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(airquality.CET).Truncate(time.Hour)
	today = today.Add(-time.Duration(today.Hour()) * time.Hour) // 00:00 CET
	var rs []kessel.Reading
	for h := range 24 {
		rs = append(rs, kessel.Reading{Device: "air-x", Kind: "air_quality", Time: today.Add(time.Duration(h)*time.Hour + 30*time.Minute), Values: map[string]float64{"pm10": 80}})
	}
	if err := store.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	if err := os.WriteFile(cfg, []byte(`devices:
  - {id: air-x, kind: air_quality, visibility: public, measurement_class: reference}
rules:
  - {id: pm10-days, kind: air_quality, devices: [air-x], field: pm10, condition: exceedance_days, threshold: 50, count: 1, visibility: public}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", "127.0.0.1:0", "--config", cfg)
	base := "http://" + h.HTTP + "/api/v1"
	id := alert.Fingerprint("pm10-days", "air-x", nil)
	var first kessel.Alert
	until(t, 20*time.Second, func() (bool, string) {
		status := getJSON(t, base+"/alerts/"+id, &first)
		return status == 200 && first.State == kessel.Firing, fmt.Sprintf("alert %s: HTTP %d, %+v", id, status, first)
	})
	if first.Value != 1 || first.Labels["measurement_class"] != "reference" {
		t.Errorf("value %v labels %v, want 1 exceedance day of a reference station", first.Value, first.Labels)
	}
	var stats struct {
		Class      string `json:"measurement_class"`
		Pollutants []struct {
			Pollutant   string `json:"pollutant"`
			Days        int    `json:"days"`
			Assessments []struct {
				Standard, Period string
				Value            float64
			} `json:"assessments"`
		} `json:"pollutants"`
	}
	year := strconv.Itoa(airquality.YearOf(today))
	if status := getJSON(t, base+"/airquality/devices/air-x/"+year, &stats); status != 200 || stats.Class != "reference" || len(stats.Pollutants) != 1 || stats.Pollutants[0].Days != 1 {
		t.Errorf("statistics: HTTP %d %+v", status, stats)
	}
	until(t, 20*time.Second, func() (bool, string) { // the transition is journaled
		as, err := store.LoadAlerts(ctx, today.AddDate(0, 0, -1))
		for _, a := range as {
			if a.ID == id && a.State == kessel.Firing {
				return true, ""
			}
		}
		return false, fmt.Sprintf("journal: %v %+v", err, as)
	})

	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-h.done; err != nil {
		t.Fatalf("kessel serve ended with %v", err)
	}
	h.start()
	var again kessel.Alert
	until(t, 20*time.Second, func() (bool, string) {
		status := getJSON(t, base+"/alerts/"+id, &again)
		return status == 200 && again.State == kessel.Firing, fmt.Sprintf("after the restart: HTTP %d, %+v", status, again)
	})
	if !again.FiredAt.Equal(first.FiredAt) {
		t.Errorf("after the restart the alert fired again at %v; it fired at %v", again.FiredAt, first.FiredAt)
	}
}

func TestAlertsSince(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	week := now.Add(-7 * 24 * time.Hour)
	for _, tc := range []struct {
		name  string
		rules []kessel.Rule
		now   time.Time
		want  time.Time
	}{
		{"no compliance rule: a week", []kessel.Rule{{Condition: kessel.CondMean}}, now, week},
		{"compliance rule: the year (CET)", []kessel.Rule{{Condition: kessel.CondExceedanceDays}}, now, time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)},
		{"early January: still a week", []kessel.Rule{{Condition: kessel.CondExceedanceDays}}, time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 27, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := alertsSince(tc.rules, tc.now); !got.Equal(tc.want) {
				t.Errorf("alertsSince = %v, want %v", got, tc.want)
			}
		})
	}
}
