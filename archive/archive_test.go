package archive_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/archive"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/registry"
)

var (
	day  = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	noon = day.Add(12 * time.Hour)
)

// city stores readings of three days around day in a real InfluxDB: a
// public station every 10 minutes (its pm10 flagged by quality control,
// failed at noon), a mobile public sensor without flags, an internal
// station whose readings must never reach the archive. Raw readings are in
// a database of their own, so that a test can delete them (InfluxDB 1.8's
// DELETE reaches every retention policy of a database) and keep the rollups.
func city(t *testing.T) (*influx.Client, *registry.Registry, map[string]int, *influxtest.Server) {
	t.Helper()
	srv := influxtest.Start(t)
	c, err := influx.New(influx.Options{URL: srv.URL, Bucket: "raw/autogen", HourBucket: "kessel/rollup_1h", DayBucket: "kessel/rollup_1d", RecordBucket: "kessel/records"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	if err := c.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	devs := []kessel.Device{
		{ID: "station-1", Kind: "air_quality", Visibility: kessel.Public, Location: &orb.Point{9.17, 48.77}, District: "Mitte"},
		{ID: "bus-7", Kind: "air_quality", Visibility: kessel.Public},
		{ID: "secret-1", Kind: "air_quality", Visibility: kessel.Internal, Location: &orb.Point{9.18, 48.78}},
		{ID: "gauge-1", Kind: "water_level", Visibility: kessel.Public, Location: &orb.Point{9.2, 48.8}},
	}
	for _, d := range devs {
		if err := reg.Put(d); err != nil {
			t.Fatal(err)
		}
	}
	var rs []kessel.Reading
	perDay := map[string]int{}
	for ts := day.Add(-2 * time.Hour); ts.Before(day.Add(26 * time.Hour)); ts = ts.Add(10 * time.Minute) {
		in := !ts.Before(day) && ts.Before(day.Add(24*time.Hour))
		add := func(r kessel.Reading) {
			rs = append(rs, r)
			if in {
				perDay[r.Kind]++
			}
		}
		station := kessel.Reading{Device: "station-1", Kind: "air_quality", Time: ts, District: "Mitte", Values: map[string]float64{"pm10": 20, "qc.pm10": 1, "no2": 31.5}}
		if ts.Equal(noon) {
			station.Values["pm10"], station.Values["qc.pm10"] = 900, 4
		}
		add(station)
		rs = append(rs, kessel.Reading{Device: "secret-1", Kind: "air_quality", Time: ts, Values: map[string]float64{"pm10": 999}})
		if ts.Minute() == 0 {
			p := orb.Point{9.1 + float64(ts.Hour())/100, 48.7}
			add(kessel.Reading{Device: "bus-7", Kind: "air_quality", Time: ts, Location: &p, Values: map[string]float64{"pm10": 12.25}})
			add(kessel.Reading{Device: "gauge-1", Kind: "water_level", Time: ts, Values: map[string]float64{"level": 140}})
		}
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	return c, reg, perDay, srv
}

func TestWriteDayRoundTrip(t *testing.T) {
	c, reg, perDay, _ := city(t)
	dir := t.TempDir()
	a, err := archive.New(dir, c, reg, archive.Options{UnitOf: func(kind, field string) string {
		return map[string]string{"pm10": "µg/m³", "no2": "µg/m³", "level": "cm"}[field]
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteDay(context.Background(), day.Add(13*time.Hour)); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "2026", "11", "29")
	verifySums(t, folder)

	rows := readCSV(t, filepath.Join(folder, "air_quality.csv.gz"))
	if got, want := rows[0], []string{"time", "device", "district", "lon", "lat", "no2 [µg/m³]", "pm10 [µg/m³]", "pm10_qc"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("header %q, want %q", got, want)
	}
	if n := len(rows) - 1; n != perDay["air_quality"] {
		t.Errorf("air_quality.csv.gz holds %d rows, %d readings were stored that day", n, perDay["air_quality"])
	}
	for _, r := range rows[1:] {
		ts, _ := time.Parse(time.RFC3339Nano, r[0])
		switch {
		case r[1] == "secret-1":
			t.Fatalf("an internal device's reading is in the archive: %v", r)
		case ts.Before(day) || !ts.Before(day.Add(24*time.Hour)):
			t.Errorf("row of another day: %v", r)
		case r[1] == "bus-7" && (r[3] != formatLon(ts) || r[4] != "48.7" || r[6] != "12.25"):
			t.Errorf("mobile row %v: want its own place lon %s lat 48.7 and pm10 12.25", r, formatLon(ts))
		case r[1] == "station-1" && (r[2] != "Mitte" || r[3] != "9.17" || r[5] != "31.5"):
			t.Errorf("station row %v", r)
		case r[1] == "station-1" && ts.Equal(noon) && (r[6] != "900" || r[7] != "4"):
			t.Errorf("the failed value and its flag are raw data, kept: %v", r)
		case r[1] == "station-1" && !ts.Equal(noon) && (r[6] != "20" || r[7] != "1"):
			t.Errorf("a passing value with its flag: %v", r)
		case r[1] == "bus-7" && r[7] != "":
			t.Errorf("a value without a flag has an empty flag column: %v", r)
		}
	}
	if n := len(readCSV(t, filepath.Join(folder, "water_level.csv.gz"))) - 1; n != perDay["water_level"] {
		t.Errorf("water_level.csv.gz holds %d rows, want %d", n, perDay["water_level"])
	}
	checkPositions(t, filepath.Join(folder, "devices.geojson"))

	days, err := a.Days()
	if err != nil || len(days) != 1 || !days[0].Equal(day) {
		t.Errorf("Days() = %v, %v; want [%v]", days, err, day)
	}
}

func formatLon(ts time.Time) string {
	return strconv.FormatFloat(9.1+float64(ts.Hour())/100, 'f', -1, 64)
}

// verifySums checks every line of SHA256SUMS against the file it names,
// as `sha256sum -c` would, and that it names every file of the folder.
func verifySums(t *testing.T, folder string) {
	t.Helper()
	f, err := os.Open(filepath.Join(folder, archive.SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	named := map[string]bool{archive.SumsFile: true}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("bad SHA256SUMS line %q", sc.Text())
		}
		b, err := os.ReadFile(filepath.Join(folder, name))
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s: checksum does not match", name)
		}
		named[name] = true
	}
	entries, _ := os.ReadDir(folder)
	for _, e := range entries {
		if !named[e.Name()] {
			t.Errorf("%s has no checksum", e.Name())
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func checkPositions(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			ID       string `json:"id"`
			Geometry *struct {
				Coordinates [2]float64 `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	got := map[string][2]float64{}
	for _, f := range fc.Features {
		if f.Geometry != nil {
			got[f.ID] = f.Geometry.Coordinates
		}
	}
	want := map[string][2]float64{"station-1": {9.17, 48.77}, "bus-7": {9.33, 48.7}, "gauge-1": {9.2, 48.8}}
	if len(fc.Features) != 3 || len(got) != 3 {
		t.Fatalf("positions hold %d features (%v), want the 3 public devices", len(fc.Features), got)
	}
	for id, p := range want {
		if d := got[id]; d[0]-p[0] > 1e-9 || p[0]-d[0] > 1e-9 || d[1] != p[1] {
			t.Errorf("%s at %v, want %v (a mobile sensor at its last place of the day)", id, d, p)
		}
	}
}

// TestCatchUp writes every missing day once, from the oldest stored
// reading to yesterday, and a second pass writes nothing; only the first
// pass asks the store for its oldest reading (a scan of all of it), the
// next ones begin at the archive's oldest day, also the next night's.
func TestCatchUp(t *testing.T) {
	c, reg, _, _ := city(t)
	now := day.Add(50 * time.Hour) // Dec 1, 02:00: Nov 30 is yesterday
	store := &oldestCounted{Client: c}
	a, err := archive.New(t.TempDir(), store, reg, archive.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if n := a.CatchUp(context.Background()); n != 3 {
		t.Errorf("first catch-up wrote %d days, want 3 (Nov 28, 29, 30)", n)
	}
	if n := a.CatchUp(context.Background()); n != 0 {
		t.Errorf("second catch-up wrote %d days, want none", n)
	}
	now = now.Add(24 * time.Hour)
	if n := a.CatchUp(context.Background()); n != 1 {
		t.Errorf("the next night's catch-up wrote %d days, want 1 (Dec 1)", n)
	}
	if n := store.asked.Load(); n != 1 {
		t.Errorf("the oldest stored reading was asked for %d times, want once", n)
	}
	days, _ := a.Days()
	if len(days) != 4 || !days[0].Equal(day.Add(-24*time.Hour)) {
		t.Errorf("days %v", days)
	}
}

// oldestCounted is the store, counting the questions for its oldest reading.
type oldestCounted struct {
	*influx.Client
	asked atomic.Int64
}

func (o *oldestCounted) OldestReading(ctx context.Context) (time.Time, bool, error) {
	o.asked.Add(1)
	return o.Client.OldestReading(ctx)
}

// TestBuildRefusesAndSerialises: a day before the oldest stored reading
// (its readings are gone, or never were) is refused, so that rewriting it
// cannot replace its archive with empty files, and a day the store cannot
// hold is invalid; builds of the same day at once all succeed and leave
// one whole folder.
func TestBuildRefusesAndSerialises(t *testing.T) {
	c, reg, _, _ := city(t)
	dir := t.TempDir()
	a, err := archive.New(dir, c, reg, archive.Options{Now: func() time.Time { return day.Add(50 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		day  time.Time
		code string
	}{
		{"ten days before the oldest reading", day.AddDate(0, 0, -10), kessel.EGONE},
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), kessel.EINVALID},
		{"1677, before the store's range", time.Date(1677, 9, 20, 0, 0, 0, 0, time.UTC), kessel.EINVALID},
		{"1969, which InfluxDB reads as no bound", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), kessel.EINVALID},
		{"the oldest reading's day", day.Add(-24 * time.Hour), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Build(context.Background(), tc.day)
			if kessel.ErrorCode(err) != tc.code && (tc.code != "" || err != nil) {
				t.Errorf("Build: %v, want code %q", err, tc.code)
			}
			if _, statErr := os.Stat(filepath.Join(dir, archive.DayPath(tc.day))); (statErr == nil) != (tc.code == "") {
				t.Errorf("folder of %s written: %v, want %v", tc.day.Format(time.DateOnly), statErr == nil, tc.code == "")
			}
		})
	}
	const builds = 4
	errs := make(chan error, builds)
	for range builds {
		go func() { errs <- a.Build(context.Background(), day) }()
	}
	for range builds {
		if err := <-errs; err != nil {
			t.Errorf("a build at the same time as others: %v", err)
		}
	}
	verifySums(t, filepath.Join(dir, "2026", "11", "29"))
	left, _ := filepath.Glob(filepath.Join(dir, ".day-*"))
	if len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
