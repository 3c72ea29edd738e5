package jetstream

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestServerErrorsWhileClosing: the server's errors are errors, but those
// it reports while Kessel shuts it down (work the shutdown cut short) are
// warnings.
func TestServerErrorsWhileClosing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		closing bool
		want    string
	}{
		{"running", false, "level=ERROR"},
		{"shutting down", true, "level=WARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := &serverLog{log: slog.New(slog.NewTextHandler(&buf, nil))}
			l.closing.Store(tc.closing)
			l.Errorf("unable to persist session %q: %v", "run-test-api", "server is not running")
			if !strings.Contains(buf.String(), tc.want) || !strings.Contains(buf.String(), "server is not running") {
				t.Fatalf("logged %q, want %s with the server's message", buf.String(), tc.want)
			}
		})
	}
}
