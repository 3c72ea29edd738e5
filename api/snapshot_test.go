package api_test

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
)

// fromSnapshot tells which path answered: only the snapshot's answers
// vary with Accept-Encoding.
func fromSnapshot(resp *http.Response) bool {
	return strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding")
}

// snapFixture is the API fixture with a clock the test moves.
type snapFixture struct {
	*fixture
	clock atomic.Int64 // UnixNano
}

func newSnapFixture(t *testing.T) *snapFixture {
	t.Helper()
	sf := &snapFixture{}
	sf.fixture = newFixtureWith(t, "", func(o *api.Options) {
		o.Now = func() time.Time { return time.Unix(0, sf.clock.Load()).UTC() }
	})
	sf.clock.Store(sf.now.UnixNano())
	return sf
}

func (sf *snapFixture) advance(d time.Duration) { sf.clock.Add(int64(d)) }

// raw sends a GET without the transport's transparent gzip, so that the
// test sees the bytes as sent; hdr are header name, value pairs (an empty
// value sends no header).
func (sf *snapFixture) raw(t *testing.T, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return sf.rawMethod(t, http.MethodGet, path, hdr...)
}

func (sf *snapFixture) rawMethod(t *testing.T, method, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, sf.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] != "" {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// builds reads the snapshot build counter from /metrics.
func (sf *snapFixture) builds(t *testing.T) int {
	t.Helper()
	_, body := sf.raw(t, "/metrics")
	m := regexp.MustCompile(`(?m)^kessel_http_latest_snapshot_builds_total (\d+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no snapshot build counter in /metrics")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// addFleet registers n public devices (every seventh internal) with
// readings, so that the default page of 1,000 has a next page.
func (sf *snapFixture) addFleet(t *testing.T, n int) {
	t.Helper()
	var rs []kessel.Reading
	for i := range n {
		vis := kessel.Public
		if i%7 == 0 {
			vis = kessel.Internal
		}
		id := fmt.Sprintf("fleet-%05d", i)
		loc := orb.Point{9.1 + float64(i%100)*0.001, 48.7 + float64(i/100)*0.001}
		if err := sf.reg.Put(kessel.Device{ID: id, Kind: "air_quality", Name: "Fleet \"" + id + "\" <ß>", Location: &loc, Visibility: vis, Labels: map[string]string{"n": strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, kessel.Reading{Device: id, Kind: "air_quality", Time: sf.now.Add(time.Duration(i) * time.Millisecond), Values: map[string]float64{"pm10": float64(i) / 3, "pm25": 1e-7 * float64(i)}})
	}
	sf.reg.Observe(rs)
}

// TestLatestSnapshotMatchesNormalPath holds the snapshot to the normal
// path byte for byte: the same body and headers for each request the page
// and GIS tools make, the normal path asked with one more (ignored) query
// parameter, which takes it off the snapshot.
func TestLatestSnapshotMatchesNormalPath(t *testing.T) {
	sf := newSnapFixture(t)
	sf.addFleet(t, 1500)
	for _, tc := range []struct{ name, path, accept string }{
		{"page", "/api/v1/latest?limit=10000", "application/json"},
		{"gis geojson", "/api/v1/latest?format=geojson&limit=10000", ""},
		{"geojson by accept, first page", "/api/v1/latest", "application/geo+json"},
		{"json, first page", "/api/v1/latest?format=json", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sep := "?"
			if strings.Contains(tc.path, "?") {
				sep = "&"
			}
			snap, sb := sf.raw(t, tc.path, "Accept", tc.accept)
			norm, nb := sf.raw(t, tc.path+sep+"normal=1", "Accept", tc.accept)
			if snap.StatusCode != 200 || norm.StatusCode != 200 {
				t.Fatalf("status %d (snapshot), %d (normal)", snap.StatusCode, norm.StatusCode)
			}
			if !fromSnapshot(snap) || fromSnapshot(norm) {
				t.Errorf("Vary %q (snapshot) and %q (normal path): the wrong path answered", snap.Header.Get("Vary"), norm.Header.Get("Vary"))
			}
			// The body's next link (JSON next, GeoJSON links) names the
			// normal path's extra parameter too.
			nb = bytes.ReplaceAll(nb, []byte("&normal=1"), nil)
			if !bytes.Equal(sb, nb) {
				t.Fatalf("bodies differ (%d vs %d bytes) at byte %d", len(sb), len(nb), diffIndex(sb, nb))
			}
			if bytes.Contains(sb, []byte(`"fleet-00007"`)) || !bytes.Contains(sb, []byte(`"fleet-00008"`)) {
				t.Errorf("snapshot has an internal device or lacks a public one")
			}
			normLink := strings.Replace(norm.Header.Get("Link"), "&normal=1", "", 1)
			for _, h := range []string{"Content-Type", "Content-Length", "ETag", "Cache-Control", "Access-Control-Allow-Origin"} {
				if (h == "Content-Length" || h == "ETag") && normLink != "" {
					continue // the bodies differed by the extra parameter
				}
				if snap.Header.Get(h) != norm.Header.Get(h) {
					t.Errorf("%s: snapshot %q, normal %q", h, snap.Header.Get(h), norm.Header.Get(h))
				}
			}
			if snap.Header.Get("Link") != normLink {
				t.Errorf("Link: snapshot %q, normal %q", snap.Header.Get("Link"), normLink)
			}
		})
	}
}

func diffIndex(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestLatestSnapshotGzip checks who gets the gzipped copy, that it
// inflates to the identity copy, and its own ETag.
func TestLatestSnapshotGzip(t *testing.T) {
	sf := newSnapFixture(t)
	sf.addFleet(t, 300)
	const path = "/api/v1/latest?format=geojson&limit=10000"
	_, identity := sf.raw(t, path)
	for _, tc := range []struct {
		name, acceptEncoding string
		gzipped              bool
	}{
		{"none", "", false},
		{"gzip", "gzip", true},
		{"list", "br;q=1.0, gzip;q=0.8, *;q=0.1", true},
		{"upper case", "GZIP", true},
		{"refused", "gzip;q=0", false},
		{"refused 0.0", "gzip; q=0.0", false},
		{"identity only", "identity", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := sf.raw(t, path, "Accept-Encoding", tc.acceptEncoding)
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
				t.Fatalf("gzipped %v, want %v", got, tc.gzipped)
			}
			if resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %s, body %d bytes", resp.Header.Get("Content-Length"), len(body))
			}
			if !tc.gzipped {
				if !bytes.Equal(body, identity) {
					t.Errorf("identity copy differs")
				}
				return
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			inflated, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(inflated, identity) {
				t.Fatalf("gzip copy inflates to %d bytes (err %v), identity is %d", len(inflated), err, len(identity))
			}
			if len(body) >= len(identity)/3 {
				t.Errorf("gzip copy is %d bytes of %d", len(body), len(identity))
			}
			if !strings.HasSuffix(resp.Header.Get("ETag"), `-gz"`) {
				t.Errorf("gzip copy's ETag %s lacks -gz", resp.Header.Get("ETag"))
			}
		})
	}
}

// TestLatestSnapshotRebuild steps a clock: a change shows once the copy is
// SnapshotInterval old, not before, and nothing is rebuilt without one.
// The request that finds the copy due still gets it (the rebuild runs in
// the background); the next one gets the new copy. Clients holding an ETag
// get 304 until the answer changes.
func TestLatestSnapshotRebuild(t *testing.T) {
	sf := newSnapFixture(t)
	const path = "/api/v1/latest?limit=10000"
	resp, first := sf.raw(t, path)
	plainTag := resp.Header.Get("ETag")
	resp, _ = sf.raw(t, path, "Accept-Encoding", "gzip")
	gzTag := resp.Header.Get("ETag")
	steps := []struct {
		name    string
		observe float64 // a new pm10 of air-1 first, when not 0
		advance time.Duration
		want77  bool // the answer holds the new value
		copy77  bool // the copy holds it once the rebuild the answer started ended
		builds  int
	}{
		{"copy served", 0, 0, false, false, 1},
		{"change, same instant", 77, 0, false, false, 1},
		{"just under the interval", 0, api.SnapshotInterval - time.Millisecond, false, false, 1},
		{"interval passed: the copy while it is rebuilt", 0, time.Millisecond, false, true, 2},
		{"rebuilt", 0, 0, true, true, 2},
		{"no change for a minute", 0, time.Minute, true, true, 2},
	}
	for i, st := range steps {
		if st.observe != 0 {
			sf.reg.Observe([]kessel.Reading{{Device: "air-1", Kind: "air_quality", Time: sf.now.Add(time.Duration(i) * time.Second), Values: map[string]float64{"pm10": st.observe}}})
		}
		sf.advance(st.advance)
		_, body := sf.raw(t, path)
		api.WaitSnapshotBuilds(sf.h)
		if got := bytes.Contains(body, []byte(`"pm10":77`)); got != st.want77 {
			t.Errorf("%s: new value shown %v, want %v", st.name, got, st.want77)
		}
		if got := sf.builds(t); got != st.builds {
			t.Errorf("%s: %d builds, want %d", st.name, got, st.builds)
		}
		for _, tag := range []string{plainTag, gzTag} {
			resp, body := sf.raw(t, path, "If-None-Match", tag, "Accept-Encoding", "gzip")
			if want := map[bool]int{false: 304, true: 200}[st.copy77]; resp.StatusCode != want || (want == 304 && len(body) > 0) {
				t.Errorf("%s: If-None-Match %s: %d with %d bytes, want %d", st.name, tag, resp.StatusCode, len(body), want)
			}
		}
	}
	if bytes.Contains(first, []byte(`"pm10":77`)) {
		t.Fatal("the first answer already held the new value")
	}
}

// TestLatestSnapshotWho checks that only anonymous unfiltered requests get
// the snapshot and that it never holds internal devices, whoever asked
// before.
func TestLatestSnapshotWho(t *testing.T) {
	sf := newSnapFixture(t)
	internal := "Bearer " + testKeys["data:internal"]
	other := "Bearer " + testKeys["rules:read"]
	for _, tc := range []struct {
		name, path, auth string
		snapshot, secret bool
		method           string // GET when empty
	}{
		{"internal key first", "/api/v1/latest?limit=10000", internal, false, true, ""},
		{"anonymous", "/api/v1/latest?limit=10000", "", true, false, ""},
		{"internal key after", "/api/v1/latest?limit=10000", internal, false, true, ""},
		{"key without the scope", "/api/v1/latest?limit=10000", other, false, false, ""},
		{"anonymous again", "/api/v1/latest?limit=10000", "", true, false, ""},
		{"filtered by kind", "/api/v1/latest?kind=air_quality&limit=10000", "", false, false, ""},
		{"smaller limit", "/api/v1/latest?limit=2", "", false, false, ""},
		{"cursor", "/api/v1/latest?limit=10000&cursor=bzE", "", false, false, ""},
		{"csv", "/api/v1/latest?format=csv", "", false, false, ""},
		{"repeated parameter", "/api/v1/latest?limit=10000&limit=10000", "", false, false, ""},
		{"head", "/api/v1/latest?limit=10000", "", true, false, http.MethodHead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := cmp.Or(tc.method, http.MethodGet)
			resp, body := sf.rawMethod(t, method, tc.path, "Authorization", tc.auth)
			if method == http.MethodHead {
				_, get := sf.raw(t, tc.path)
				if len(body) != 0 || resp.Header.Get("Content-Length") != strconv.Itoa(len(get)) {
					t.Errorf("HEAD: %d bytes of body, Content-Length %s, want none and %d", len(body), resp.Header.Get("Content-Length"), len(get))
				}
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := fromSnapshot(resp); got != tc.snapshot {
				t.Errorf("from the snapshot %v, want %v", got, tc.snapshot)
			}
			if got := bytes.Contains(body, []byte("secret-1")); got != tc.secret {
				t.Errorf("internal device shown %v, want %v", got, tc.secret)
			}
		})
	}
}
