package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/internal/testenv"
)

func TestExampleConfigLoads(t *testing.T) {
	cfg, devs, err := loadConfig(filepath.Join(testenv.ModuleRoot(), "deploy/config/kessel.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alert.New(cfg.Rules, alert.Options{}); err != nil || len(cfg.Rules) != 6 {
		t.Errorf("example rules: %d, %v", len(cfg.Rules), err)
	}
	if len(devs) != 2 || devs[0].ID != "neckartor-pm" || devs[0].Location == nil || devs[1].Visibility != "internal" {
		t.Errorf("devices = %+v", devs)
	}
}

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"unknown key", "devicez: []", "devicez"},
		{"duplicate id", "devices:\n - {id: a, kind: noise}\n - {id: a, kind: noise}", "twice"},
		{"bad visibility", "devices:\n - {id: a, kind: noise, visibility: secret}", "visibility"},
		{"no kind", "devices:\n - {id: a}", "kind is required"},
		{"bad id", "devices:\n - {id: 'a/b', kind: noise}", "device id"},
		{"bad location", "devices:\n - {id: a, kind: noise, location: {lon: 300, lat: 1}}", "location"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "k.yaml")
			os.WriteFile(p, []byte(tc.body), 0o644)
			_, _, err := loadConfig(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestComposeFile parses deploy/compose.yaml and checks that every KESSEL_
// variable it sets is one kessel serve reads.
func TestComposeFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "deploy/compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image       string
			Command     []string
			Environment map[string]string
			Volumes     []string
		}
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"kessel", "mosquitto", "influxdb"} {
		if _, ok := c.Services[s]; !ok {
			t.Errorf("service %s missing", s)
		}
	}
	known := map[string]bool{}
	var usage bytes.Buffer
	parseServe([]string{"-h"}, func(string) string { return "" }, &usage)
	for _, f := range strings.Fields(usage.String()) {
		if strings.HasPrefix(f, "($KESSEL_") {
			known[strings.Trim(f, "($)")] = true
		}
	}
	if len(known) < 10 {
		t.Fatalf("could not read the flag list: %s", usage.String())
	}
	for k := range c.Services["kessel"].Environment {
		if !known[k] {
			t.Errorf("compose sets %s, which kessel serve does not read", k)
		}
	}
	for _, v := range c.Services["mosquitto"].Volumes {
		src := strings.Split(v, ":")[0]
		if strings.HasPrefix(src, "./") && !strings.HasSuffix(src, "passwords") {
			if _, err := os.Stat(filepath.Join(testenv.ModuleRoot(), "deploy", src)); err != nil {
				t.Errorf("compose mounts %s, which the repo lacks", src)
			}
		}
	}
}

func TestServeFlagsFromEnvironment(t *testing.T) {
	env := map[string]string{"KESSEL_HTTP": "127.0.0.1:9999", "KESSEL_INFLUX_BUCKET": "city/autogen", "KESSEL_MAX_PAYLOAD": "1024"}
	c, err := parseServe(nil, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP != "127.0.0.1:9999" || c.InfluxBucket != "city/autogen" || c.MaxPayload != 1024 {
		t.Errorf("config = %+v", c)
	}
	c, err = parseServe([]string{"--http", "127.0.0.1:1"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil || c.HTTP != "127.0.0.1:1" {
		t.Errorf("flag does not beat environment: %+v %v", c, err)
	}
	for _, bad := range [][]string{{"--roles", "ingest,cook"}, {"--nope"}} {
		if _, err := parseServe(bad, func(string) string { return "" }, &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := parseServe(nil, func(k string) string {
		if k == "KESSEL_MAX_PAYLOAD" {
			return "big"
		}
		return ""
	}, &bytes.Buffer{}); err == nil {
		t.Error("non-numeric KESSEL_MAX_PAYLOAD accepted")
	}
}

// TestKeysNew makes keys as an operator would and checks that the printed
// entry, pasted under api_keys, is accepted and matches the key.
func TestKeysNew(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"department key", []string{"new", "--name", "tiefbau-dashboard", "--department", "tiefbau", "--scopes", "devices:write,data:internal"}, ""},
		{"device key", []string{"new", "--name", "pegel-1-key", "--device", "pegel-1"}, ""},
		{"device key with scopes", []string{"new", "--name", "k", "--device", "pegel-1", "--scopes", "admin"}, "no scopes"},
		{"bad device id", []string{"new", "--name", "k", "--device", "a b"}, "not a device id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := keys(tt.args, &out, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			key, entry, ok := strings.Cut(out.String(), "\n\n")
			key = strings.TrimPrefix(key, "key: ")
			_, entry, _ = strings.Cut(entry, "\n\n")
			p := filepath.Join(t.TempDir(), "k.yaml")
			os.WriteFile(p, []byte("api_keys:\n"+entry), 0o644)
			cfg, _, err := loadConfig(p)
			if !ok || err != nil || len(cfg.APIKeys) != 1 || cfg.APIKeys[0].Hash != api.HashKey(key) {
				t.Fatalf("entry %q: %v %+v", entry, err, cfg.APIKeys)
			}
			if err := cfg.APIKeys[0].Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}
