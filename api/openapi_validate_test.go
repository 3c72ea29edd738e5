package api

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kessel-city/kessel/internal/testenv"
)

// TestOpenAPIIsValid checks the served document with a real OpenAPI
// validator from the npm registry (@apidevtools/swagger-parser), installed
// into testdata/validator by `make test`.
func TestOpenAPIIsValid(t *testing.T) {
	doc, err := json.Marshal(openAPI())
	if err != nil {
		t.Fatal(err)
	}
	out, err := validateOpenAPI(t, doc)
	if err != nil || !strings.HasPrefix(out, "valid:") {
		t.Fatalf("OpenAPI document rejected: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(out))

	// The validator itself must be able to fail.
	bad := strings.Replace(string(doc), `"openapi":"3.0.3"`, `"openapi":"3.0.3","paths2":1`, 1)
	bad = strings.Replace(bad, `"responses":`, `"responsez":`, 1)
	if out, err := validateOpenAPI(t, []byte(bad)); err == nil {
		t.Fatalf("the validator accepted a broken document: %s", out)
	}
}

// validateOpenAPI runs the OpenAPI validator (testdata/validator) on doc
// and returns what it printed; a missing node or validator is
// testenv.Missing.
func validateOpenAPI(t *testing.T, doc []byte) (string, error) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node not found")
	}
	dir, _ := filepath.Abs("testdata/validator")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@apidevtools", "swagger-parser")); err != nil {
		testenv.Missing(t, "the validator is not installed (npm ci --prefix api/testdata/validator)")
	}
	file := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(file, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, filepath.Join(dir, "validate.mjs"), file).CombinedOutput()
	return string(out), err
}
