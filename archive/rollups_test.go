package archive_test

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/archive"
)

// TestWriteDayFromRollups: the day's raw readings are rolled up and then
// deleted (as the raw retention would); the day is still archived, from
// the hourly rollups: a row per public device and hour with each field's
// mean, min, max and count, a header (and gzip comment) that says so, the
// counts adding up to the readings stored that day, checksums that
// verify. The next day, whose raw readings are kept, is archived raw; and
// a catch-up begins at the first rolled-up hour when that is older than
// the oldest raw reading.
func TestWriteDayFromRollups(t *testing.T) {
	c, reg, perDay, srv := city(t)
	ctx := context.Background()
	if _, err := c.ComputeHours(ctx, day.Add(-2*time.Hour), day.Add(26*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Query(t, "raw", "DELETE WHERE time >= '"+day.Format(time.RFC3339)+"' AND time < '"+day.Add(24*time.Hour).Format(time.RFC3339)+"'"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, err := archive.New(dir, c, reg, archive.Options{UnitOf: func(kind, field string) string {
		return map[string]string{"pm10": "µg/m³", "no2": "µg/m³", "level": "cm"}[field]
	}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.WriteDay(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "2026", "11", "29")
	verifySums(t, folder)
	for _, f := range d.Files {
		if want := perDay[strings.TrimSuffix(f.Name, ".csv.gz")]; strings.HasSuffix(f.Name, ".csv.gz") && (f.Rows != want || f.Resolution != kessel.ResolutionHour) {
			t.Errorf("%s: %d readings at resolution %q, want %d at 1h", f.Name, f.Rows, f.Resolution, want)
		}
	}
	rows := readCSV(t, filepath.Join(folder, "air_quality.csv.gz"))
	want := "hour_start,device,district,lon,lat,no2_mean [µg/m³],no2_min [µg/m³],no2_max [µg/m³],no2_count,pm10_mean [µg/m³],pm10_min [µg/m³],pm10_max [µg/m³],pm10_count"
	if got := strings.Join(rows[0], ","); got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	if len(rows) != 1+2*24 {
		t.Errorf("%d rows, want 48 (two public devices, 24 hours)", len(rows)-1)
	}
	for _, r := range rows[1:] {
		switch {
		case r[1] == "secret-1":
			t.Fatalf("an internal device's hour is in the archive: %v", r)
		case r[1] == "station-1" && strings.Join(r[2:], ",") != stationRow(r[0]):
			t.Errorf("station row %v, want %s", r, stationRow(r[0]))
		case r[1] == "bus-7" && strings.Join(r[5:], ",") != ",,,,12.25,12.25,12.25,1":
			t.Errorf("mobile sensor row %v", r)
		}
	}
	if c := gzipComment(t, filepath.Join(folder, "water_level.csv.gz")); !strings.Contains(c, "hourly means") {
		t.Errorf("gzip comment %q does not say the file holds hourly means", c)
	}
	if _, err := a.WriteDay(ctx, day.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if rows := readCSV(t, filepath.Join(dir, "2026", "11", "30", "air_quality.csv.gz")); rows[0][0] != "time" || len(rows) != 1+12+2 {
		t.Errorf("a day with raw readings: header %v and %d rows, want time first and 14 readings", rows[0], len(rows)-1)
	}

	if err := c.SaveRollupMark(ctx, kessel.RollupMark{Since: day.Add(-48 * time.Hour), Final: day.Add(26 * time.Hour), Done: day.Add(26 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	b, err := archive.New(t.TempDir(), c, reg, archive.Options{Now: func() time.Time { return day.Add(50 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if n := b.CatchUp(ctx); n != 4 {
		t.Errorf("catch-up wrote %d days, want 4 (Nov 27, the first rolled-up hour's, to Nov 30)", n)
	}
}

func gzipComment(t *testing.T, path string) string {
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
	return zr.Comment
}

// stationRow is station-1's archived hour starting at start: at noon
// quality control failed one pm10 value (900), which the rollup leaves out.
func stationRow(start string) string {
	if start == noon.Format(time.RFC3339) {
		return "Mitte,9.17,48.77,31.5,31.5,31.5,6,20,20,20,5"
	}
	return "Mitte,9.17,48.77,31.5,31.5,31.5,6,20,20,20,6"
}
