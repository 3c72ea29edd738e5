package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	if _, err := alert.New(cfg.Rules, alert.Options{}); err != nil || len(cfg.Rules) != 8 {
		t.Errorf("example rules: %d, %v", len(cfg.Rules), err)
	}
	if len(devs) != 2 || devs[0].ID != "neckartor-pm" || devs[0].Location == nil || devs[1].Visibility != "internal" || devs[0].MeasurementClass != "reference" {
		t.Errorf("devices = %+v", devs)
	}
	if q := cfg.Quality; len(q.Climate) != 3 || len(q.Corrections) != 1 || q.Corrections[0].ID() != "sds011_rh/v1" || q.Quantities["pm10"].FlatFail != 96 {
		t.Errorf("quality = %+v", q)
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
		{"route without sensors", "routes:\n - {id: b27}", "routes[0]: route b27: devices must list at least one sensor"},
		{"bad route id", "routes:\n - {id: 'B 27', devices: [a]}", "routes[0]: route \"B 27\": id must be"},
		{"route twice", "routes:\n - {id: b27, devices: [a]}\n - {id: b27, devices: [b]}", "routes[1]: id \"b27\" appears twice"},
		{"bad measurement class", "devices:\n - {id: a, kind: air_quality, measurement_class: gold}", "measurement_class"},
		{"quality: unknown key", "quality:\n  climat: []", "climat"},
		{"quality: climate without bounds", "quality:\n  climate:\n    - {kind: air_quality, field: pm10}", "quality.climate[0]"},
		{"quality: unknown correction", "quality:\n  corrections:\n    - {name: x, version: 1, method: magic, kind: air_quality, fields: [pm10], kappa: 0.4}", "quality.corrections[0]: method"},
		{"quality rule on an area", "rules:\n - {id: q, condition: quality, area: true, district: x}", "per device"},
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
	parseFlags([]string{"-h"}, func(string) string { return "" }, &usage)
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

// TestServeConfig checks how flags, environment and config file make the
// one config of kessel serve: a flag beats its variable, a variable beats
// the file, and every bad value is refused naming its flag or variable.
func TestServeConfig(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfgFile := file("k.yaml", "unknown_devices: reject\ndistricts: {file: d.geojson, name_prop: STADTBEZ}\n")
	token := file("token", "  s3cret\n")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(c config) bool
		wantErr string
	}{
		{name: "defaults", check: func(c config) bool {
			return c.HTTP == "127.0.0.1:8080" && c.has("ingest") && c.has("alerts") && c.has("api") && c.embedded() &&
				c.RateLimits[api.ClassRead] == api.RateLimit{PerSecond: 50, Burst: 100} && c.RateLimits[api.ClassPush] == api.RateLimit{PerSecond: 2, Burst: 4}
		}},
		{name: "environment beats default", env: map[string]string{"KESSEL_HTTP": "127.0.0.1:9999", "KESSEL_INFLUX_BUCKET": "city/autogen", "KESSEL_MAX_PAYLOAD": "1024", "KESSEL_DEVICE_METRICS": "false"},
			check: func(c config) bool {
				return c.HTTP == "127.0.0.1:9999" && c.InfluxBucket == "city/autogen" && c.MaxPayload == 1024 && !c.DeviceMetrics
			}},
		{name: "no retention, readings of any age", check: func(c config) bool { return c.RawRetention == 0 && c.MaxAge == 0 }},
		{name: "a raw retention refuses older readings", args: []string{"--raw-retention", "2160h"},
			check: func(c config) bool { return c.MaxAge == 2160*time.Hour }},
		{name: "a stricter max-age stays", args: []string{"--raw-retention", "2160h", "--max-age", "24h"},
			check: func(c config) bool { return c.MaxAge == 24*time.Hour }},
		{name: "negative retention", args: []string{"--raw-retention", "-1h"}, wantErr: "--raw-retention"},
		{name: "flag beats environment", args: []string{"--http", "127.0.0.1:1", "--max-payload", "2048"}, env: map[string]string{"KESSEL_HTTP": "127.0.0.1:9999", "KESSEL_MAX_PAYLOAD": "1024"},
			check: func(c config) bool { return c.HTTP == "127.0.0.1:1" && c.MaxPayload == 2048 }},
		{name: "file fills what no flag set", args: []string{"--config", cfgFile}, check: func(c config) bool {
			return c.UnknownDevices == "reject" && c.Districts == filepath.Join(dir, "d.geojson") && c.DistrictProp == "STADTBEZ"
		}},
		{name: "flag beats file", args: []string{"--config", cfgFile, "--unknown-devices", "auto-register", "--districts", "/x.geojson"}, check: func(c config) bool {
			return c.UnknownDevices == "auto-register" && c.Districts == "/x.geojson" && c.DistrictProp == "name"
		}},
		{name: "environment beats file", args: []string{"--config", cfgFile}, env: map[string]string{"KESSEL_UNKNOWN_DEVICES": "auto-register"},
			check: func(c config) bool { return c.UnknownDevices == "auto-register" }},
		{name: "rates parsed once", args: []string{"--rate-limit-read", "0.2", "--rate-limit-write", "0"}, check: func(c config) bool {
			return c.RateLimits[api.ClassRead] == api.RateLimit{PerSecond: 0.2, Burst: 1} && c.RateLimits[api.ClassWrite] == api.RateLimit{PerSecond: 0, Burst: 1}
		}},
		{name: "roles and proxies", args: []string{"--roles", "api, ingest", "--trusted-proxies", "10.0.0.0/8, ::1/128", "--mqtt-broker", "tcp://b:1883"}, check: func(c config) bool {
			return c.has("api") && c.has("ingest") && !c.has("alerts") && len(c.Proxies) == 2 && c.Proxies[1].String() == "::1/128" && !c.embedded()
		}},
		{name: "token file", args: []string{"--influx-token-file", token}, env: map[string]string{"KESSEL_INFLUX_TOKEN": "other"},
			check: func(c config) bool { return c.InfluxToken == "s3cret" }},
		{name: "log level", args: []string{"--log-level", "debug", "--log-format", "json"}, check: func(c config) bool { return c.Level == slog.LevelDebug }},
		{name: "nats cluster from the environment", env: map[string]string{"KESSEL_NATS": "nats://a:4222,nats://b:4222", "KESSEL_NATS_USER": "kessel", "KESSEL_NATS_PASSWORD": "pw"},
			check: func(c config) bool {
				return c.Broker == brokerNATS && c.embedded() && c.NATSUser == "kessel" && c.NATSPassword == "pw" && c.NATSReplicas == 3 && c.NATSPartitions == 8
			}},

		{name: "unknown role", args: []string{"--roles", "ingest,cook"}, wantErr: `--roles: unknown role "cook"`},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "stray argument", args: []string{"--http", ":1", "extra"}, wantErr: "unexpected arguments: [extra]"},
		{name: "bad number in environment", env: map[string]string{"KESSEL_MAX_PAYLOAD": "big"}, wantErr: `$KESSEL_MAX_PAYLOAD: "big" is not a whole number`},
		{name: "bad duration in environment", env: map[string]string{"KESSEL_MAX_AGE": "7"}, wantErr: `$KESSEL_MAX_AGE: "7" is not a duration`},
		{name: "bad rate", args: []string{"--rate-limit-push", "-1"}, wantErr: `--rate-limit-push: "-1" is not a rate ≥ 0`},
		{name: "bad rate in environment", env: map[string]string{"KESSEL_RATE_LIMIT_READ": "lots"}, wantErr: `--rate-limit-read: "lots" is not a rate ≥ 0`},
		{name: "bad proxy", args: []string{"--trusted-proxies", "10.0.0.1"}, wantErr: `--trusted-proxies: "10.0.0.1" is not a CIDR`},
		{name: "tts without ingest", args: []string{"--roles", "api", "--tts-broker", "ssl://x:8883"}, wantErr: "--tts-broker needs the ingest role"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: "--log-level"},
		{name: "nats and an MQTT broker", args: []string{"--nats", "nats://a:4222", "--mqtt-broker", "tcp://b:1883"}, wantErr: "--nats and --mqtt-broker tcp://b:1883: give one of them"},
		{name: "nats without partitions", args: []string{"--nats", "nats://a:4222", "--nats-partitions", "0"}, wantErr: "--nats-partitions must be at least 1"},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantErr: `--log-format "xml": use text or json`},
		{name: "bad sta-mqtt", args: []string{"--sta-mqtt", "some"}, wantErr: `--sta-mqtt "some": use auto, all or off`},
		{name: "missing token file", args: []string{"--influx-token-file", filepath.Join(dir, "none")}, wantErr: "--influx-token-file: open"},
		{name: "bad config file", args: []string{"--config", file("bad.yaml", "devicez: []")}, wantErr: "devicez"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.check == nil {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("config = %+v", c)
			}
		})
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
