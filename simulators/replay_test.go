package simulators_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel/internal/testenv"
	"github.com/kessel-city/kessel/simulators"
)

func TestReadSeries(t *testing.T) {
	for _, tc := range []struct {
		name, csv, column string
		n                 int
		first             simulators.Point
	}{
		{"LfU: BOM, metadata, MEZ, decimal comma", "\ufeffQuelle:;\"LfU\"\nZeitbezug:;MEZ\n\nDatum;\"Wasserstand [cm]\";Prüfstatus\n\"2025-12-26 00:00\";94,00;Rohdaten\n\"2025-12-26 00:15\";95,50;Rohdaten\n\"2025-12-26 00:30\";;Rohdaten\n", "",
			2, simulators.Point{Time: time.Date(2025, 12, 25, 23, 0, 0, 0, time.UTC), Value: 94}},
		{"Sensor.Community archive, named column", "sensor_id;sensor_type;location;lat;lon;timestamp;P1;durP1;ratioP1;P2\n15092;SDS011;7647;56.963;-2.211;2018-11-01T00:00:42;8.47;;;1.20\n", "P2",
			1, simulators.Point{Time: time.Date(2018, 11, 1, 0, 0, 42, 0, time.UTC), Value: 1.2}},
		{"comma separated", "time,value\n2026-11-23T08:00:00Z,1.5\n", "", 1, simulators.Point{Time: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), Value: 1.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := simulators.ReadSeries(strings.NewReader(tc.csv), tc.column, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != tc.n || !ps[0].Time.Equal(tc.first.Time) || ps[0].Value != tc.first.Value {
				t.Errorf("got %d points, first %+v; want %d, %+v", len(ps), ps[0], tc.n, tc.first)
			}
		})
	}
	for _, bad := range []string{"no,header\n1,2\n", "time;v\nyesterday;1\n"} {
		if _, err := simulators.ReadSeries(strings.NewReader(bad), "", nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := simulators.ReadSeries(strings.NewReader("time;v\n2026-01-01 00:00;1\n"), "nope", nil); err == nil {
		t.Error("unknown column accepted")
	}
}

// TestReadRealSeries reads the real Isar gauge and Sensor.Community files.
func TestReadRealSeries(t *testing.T) {
	dir := filepath.Join(testenv.ModuleRoot(), "..", "shared", "data", "timeseries")
	isar := filepath.Join(dir, "isar-muenchen-16005701-wasserstand-2025-12-26_2026-01-25.csv")
	f, err := os.Open(isar)
	if err != nil {
		testenv.Missing(t, "shared time series absent: %v", err)
	}
	defer f.Close()
	ps, err := simulators.ReadSeries(f, "Wasserstand", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 2900 || ps[0].Value < 50 || ps[0].Value > 400 || ps[1].Time.Sub(ps[0].Time) != 15*time.Minute {
		t.Errorf("%d points, first %+v, second %+v", len(ps), ps[0], ps[1])
	}
	sc, err := os.Open(filepath.Join(dir, "sensor-community-archive", "2018-11-01_sds011_sensor_15092.csv"))
	if err != nil {
		testenv.Missing(t, "shared Sensor.Community archive absent: %v", err)
	}
	defer sc.Close()
	pm, err := simulators.ReadSeries(sc, "P1", nil)
	if err != nil || len(pm) < 500 {
		t.Errorf("%d points: %v", len(pm), err)
	}
}
