package api_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/internal/testenv"
)

// linter is one OpenAPI linter CLI installed into testdata/oaslint by
// `make test` (npm ci, versions pinned in its package-lock.json).
type linter struct {
	name string
	args func(dir string, files []string) []string // after node and the CLI's script
	bin  string                                    // below node_modules
}

var linters = []linter{
	{"redocly (recommended)", func(dir string, files []string) []string {
		return append([]string{"lint", "--config", filepath.Join(dir, "redocly.yaml"), "--format", "stylish"}, files...)
	}, "@redocly/cli/bin/cli.js"},
	{"spectral (spectral:oas)", func(dir string, files []string) []string {
		return append([]string{"lint", "--ruleset", filepath.Join(dir, ".spectral.yaml"), "--fail-severity", "error", "--format", "text"}, files...)
	}, "@stoplight/spectral-cli/dist/index.js"},
}

// lintOpenAPI runs l on the documents (one node start for all): nil when
// it reports no error; what it printed either way. A missing node or
// linter is testenv.Missing.
func lintOpenAPI(t *testing.T, l linter, docs map[string][]byte) (string, error) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node not found")
	}
	dir, _ := filepath.Abs("testdata/oaslint")
	script := filepath.Join(dir, "node_modules", l.bin)
	if _, err := os.Stat(script); err != nil {
		testenv.Missing(t, "%s is not installed (npm ci --prefix api/testdata/oaslint)", l.name)
	}
	tmp, err := os.MkdirTemp("", "oaslint") // not t.TempDir: spectral reads its argument as a glob
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	var files []string
	for name, doc := range docs {
		file := filepath.Join(tmp, strings.Trim(strings.ReplaceAll(name, "/", "_"), "_")+".json")
		if err := os.WriteFile(file, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	cmd := exec.Command(node, append([]string{script}, l.args(dir, files)...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestOpenAPILint runs Redocly CLI with its recommended rules and Spectral
// with spectral:oas on the documents a real server serves (the whole API
// and the OGC API – Features definition): any error fails, warnings are
// logged. Each linter must also reject a broken document.
func TestOpenAPILint(t *testing.T) {
	f := newFixtureWith(t, "", func(o *api.Options) {
		o.Catalog = api.Catalog{Publisher: "Stadt Teststadt", ContactEmail: "opendata@example.org"}
	})
	docs := map[string][]byte{}
	for _, path := range []string{"/api/v1/openapi.json", "/ogcapi/api"} {
		resp, body := f.get(t, path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		docs[path] = body
	}
	for _, l := range linters {
		t.Run(l.name, func(t *testing.T) {
			out, err := lintOpenAPI(t, l, docs)
			if err != nil {
				t.Fatalf("%s reports errors: %v\n%s", l.name, err, out)
			}
			t.Logf("%s:\n%s", l.name, strings.TrimSpace(out))
		})
		t.Run(l.name+" rejects a broken document", func(t *testing.T) {
			// Two operations with one id, and a path parameter not declared.
			bad := strings.Replace(string(docs["/api/v1/openapi.json"]), `"operationId":"getAlert"`, `"operationId":"listAlerts"`, 1)
			bad = strings.Replace(bad, `"/api/v1/usage":`, `"/api/v1/usage/{undeclared}":`, 1)
			if bad == string(docs["/api/v1/openapi.json"]) {
				t.Fatal("could not break the document")
			}
			out, err := lintOpenAPI(t, l, map[string][]byte{"broken": []byte(bad)})
			if err == nil || !strings.Contains(out, "operationId") {
				t.Fatalf("%s did not report the duplicate operationId: %v\n%s", l.name, err, out)
			}
		})
	}
}
