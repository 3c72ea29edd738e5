package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// TestArchiveEndToEnd stores yesterday's readings of a public and an
// internal device through the embedded broker, has the archive day
// written on demand, and downloads it as a harvester would: a listing,
// the file with an ETag that answers 304, a Range, the checksum, the
// catalogue's download URL; the internal device is in none of it.
func TestArchiveEndToEnd(t *testing.T) {
	db := influxtest.Start(t)
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	if err := os.WriteFile(cfg, []byte(`devices:
  - {id: pub-a, kind: air_quality, visibility: public, location: {lon: 9.18, lat: 48.78}}
  - {id: int-w, kind: air_quality, visibility: internal, location: {lon: 9.21, lat: 48.78}}
api_keys:
  - {name: admin, department: it, scopes: [admin], hash: `+api.HashKey("kessel_admin")+`}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "archive", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", cfg, "--archive", t.TempDir())
	base := "http://" + h.HTTP
	yesterday := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	at := func(i int) time.Time { return yesterday.Add(10*time.Hour + time.Duration(i)*time.Minute) }
	publishPM(t, mqttAddr, "pub-a", at, 0, 30, 21.5)
	publishPM(t, mqttAddr, "int-w", at, 100, 105, 999)
	testenv.Eventually(t, 20*time.Second, func() bool { return h.metricSum("kessel_ingest_written_total") >= 35 }, "readings not stored")

	day := yesterday.Format(time.DateOnly)
	for _, tc := range []struct{ name, key, day string }{
		{"no key", "", day}, {"today", "kessel_admin", time.Now().UTC().Format(time.DateOnly)}, {"not a date", "kessel_admin", "yesterday"},
	} {
		if code, _, _ := fetch(t, http.MethodPost, base+"/api/v1/archive/days/"+tc.day, tc.key, nil); code < 400 {
			t.Errorf("%s: POST answered %d, want an error", tc.name, code)
		}
	}
	if code, hdr, _ := fetch(t, http.MethodPost, base+"/api/v1/archive/days/"+day, "kessel_admin", nil); code != http.StatusCreated {
		t.Fatalf("POST archive day: %d", code)
	} else if loc := hdr.Get("Location"); loc != "/archive/"+yesterday.Format("2006/01/02")+"/" {
		t.Errorf("Location %q", loc)
	}
	folder := base + "/archive/" + yesterday.Format("2006/01/02") + "/"
	if _, _, listing := fetch(t, http.MethodGet, folder, "", nil); !strings.Contains(string(listing), "air_quality.csv.gz") || !strings.Contains(string(listing), "SHA256SUMS") {
		t.Errorf("listing of %s: %s", folder, listing)
	}
	code, hdr, gz := fetch(t, http.MethodGet, folder+"air_quality.csv.gz", "", nil)
	if code != 200 || hdr.Get("ETag") == "" {
		t.Fatalf("download: %d, ETag %q", code, hdr.Get("ETag"))
	}
	checkArchiveCSV(t, gz)
	checkSum(t, folder, "air_quality.csv.gz", gz)
	if code, _, _ := fetch(t, http.MethodGet, folder+"air_quality.csv.gz", "", http.Header{"If-None-Match": {hdr.Get("ETag")}}); code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", code)
	}
	if code, _, part := fetch(t, http.MethodGet, folder+"air_quality.csv.gz", "", http.Header{"Range": {"bytes=0-9"}}); code != http.StatusPartialContent || !bytes.Equal(part, gz[:10]) {
		t.Errorf("Range: %d, %d bytes", code, len(part))
	}
	for _, p := range []string{"/archive/.day-1/x", "/archive/2026/../../etc/passwd", "/archive/1999/01/01/air_quality.csv.gz"} {
		if code, hdr, _ := fetch(t, http.MethodGet, base+p, "", nil); code != http.StatusNotFound || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
			t.Errorf("GET %s: %d %s, want a 404 problem", p, code, hdr.Get("Content-Type"))
		}
	}
	if _, _, cat := fetch(t, http.MethodGet, base+"/api/v1/catalog.ttl", "", nil); !strings.Contains(string(cat), folder+"air_quality.csv.gz") {
		t.Errorf("the catalogue does not name the archive file as a download URL")
	}
}

func fetch(t *testing.T, method, url, key string, hdr http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// checkArchiveCSV wants pub-a's 30 readings and nothing of int-w.
func checkArchiveCSV(t *testing.T, gz []byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 31 {
		t.Errorf("%d rows, want a header and pub-a's 30 readings", len(rows))
	}
	for _, r := range rows[1:] {
		if r[1] != "pub-a" {
			t.Fatalf("row of %s in the public archive", r[1])
		}
	}
}

func checkSum(t *testing.T, folder, name string, b []byte) {
	t.Helper()
	_, _, sums := fetch(t, http.MethodGet, folder+"SHA256SUMS", "", nil)
	h := sha256.Sum256(b)
	if !strings.Contains(string(sums), hex.EncodeToString(h[:])+"  "+name) {
		t.Errorf("SHA256SUMS does not hold the downloaded file's checksum:\n%s", sums)
	}
}
