package api_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel/internal/testenv"
)

// TestDocsPageInChromium loads /docs in real headless Chromium, which runs
// the page's script against the live server, and checks the rendered DOM
// lists the API's operations.
func TestDocsPageInChromium(t *testing.T) {
	bin := testenv.Program(t, "chromium", "KESSEL_CHROMIUM")
	f := newFixture(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-quic", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", f.srv.URL+"/docs")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	if !strings.Contains(dom, `data-ready="yes"`) {
		t.Fatalf("the page's script did not finish rendering:\n%.2000s", dom)
	}
	for _, op := range []string{"GET /api/v1/devices", "POST /api/v1/devices/search", "PUT /api/v1/devices/{id}", "GET /api/v1/latest", "POST /api/v1/push/airrohr"} {
		if !strings.Contains(dom, `data-op="`+op+`"`) {
			t.Errorf("rendered page lacks %s", op)
		}
	}
	// A key badge where a key is required, with its scope; none where it is optional.
	for op, badge := range map[string]string{"PUT /api/v1/devices/{id}": "key: devices:write", "GET /api/v1/devices": ""} {
		_, rest, _ := strings.Cut(dom, `data-op="`+op+`"`)
		entry, _, _ := strings.Cut(rest, `data-op="`)
		if got := strings.Contains(entry, `class="scope"`); got != (badge != "") || !strings.Contains(entry, badge) {
			t.Errorf("%s: want key badge %q, rendered %.300s", op, badge, entry)
		}
	}
	if !strings.Contains(dom, "Kessel open data and department API") {
		t.Error("title from the OpenAPI document not rendered")
	}
}
