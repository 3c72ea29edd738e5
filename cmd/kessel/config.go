package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
)

// config is everything `kessel serve` runs with: the flags (each defaulting
// from $KESSEL_<FLAG>) merged with the YAML file given by --config, checked
// once, before anything starts. A flag or variable beats the file.
type config struct {
	serveFlags
	// File is the YAML file's content; Devices are its devices, validated.
	File    fileConfig
	Devices []kessel.Device
	// RoleSet holds the roles to run (ingest, alerts, api).
	RoleSet map[string]bool
	// RateLimits are the API's limits per request class, from the
	// --rate-limit-* flags.
	RateLimits map[string]api.RateLimit
	// Proxies are the --trusted-proxies.
	Proxies []netip.Prefix
	Level   slog.Level
}

var roles = []string{"ingest", "alerts", "api"}

// newConfig parses args (and the environment through getenv), reads the
// config file and returns the validated config. Every error names the flag,
// variable or file entry at fault.
func newConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	f, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return config{}, err
	}
	c := config{serveFlags: f, RoleSet: map[string]bool{}, RateLimits: map[string]api.RateLimit{}}
	for _, step := range []func() error{c.checkRoles, c.checkNATS, c.checkRetention, c.parseRates, c.parseProxies, c.checkLog, c.checkSTA, c.readTokenFile, c.readFile} {
		if err := step(); err != nil {
			return c, err
		}
	}
	return c, nil
}

// has reports whether c runs role.
func (c config) has(role string) bool { return c.RoleSet[role] }

func (c *config) checkRoles() error {
	for _, r := range strings.Split(c.Roles, ",") {
		r = strings.TrimSpace(r)
		if !slices.Contains(roles, r) {
			return fmt.Errorf("--roles: unknown role %q (use ingest, alerts, api)", r)
		}
		c.RoleSet[r] = true
	}
	if c.TTSBroker != "" && !c.has("ingest") {
		return errors.New("--tts-broker needs the ingest role")
	}
	return nil
}

// parseRates turns the three --rate-limit-* flags into the API's limits:
// a burst of twice the rate, at least 1.
func (c *config) parseRates() error {
	for _, r := range []struct{ flag, class, v string }{
		{"rate-limit-read", api.ClassRead, c.RateRead},
		{"rate-limit-write", api.ClassWrite, c.RateWrite},
		{"rate-limit-push", api.ClassPush, c.RatePush},
	} {
		f, err := strconv.ParseFloat(r.v, 64)
		if err != nil || f < 0 {
			return fmt.Errorf("--%s: %q is not a rate ≥ 0", r.flag, r.v)
		}
		c.RateLimits[r.class] = api.RateLimit{PerSecond: f, Burst: int(max(1, 2*f))}
	}
	return nil
}

func (c *config) parseProxies() error {
	for _, cidr := range strings.Split(c.TrustedProxies, ",") {
		if cidr = strings.TrimSpace(cidr); cidr == "" {
			continue
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return fmt.Errorf("--trusted-proxies: %q is not a CIDR", cidr)
		}
		c.Proxies = append(c.Proxies, p)
	}
	return nil
}

func (c *config) checkLog() error {
	if err := c.Level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: use text or json", c.LogFormat)
	}
	return nil
}

func (c *config) checkSTA() error {
	switch c.STAMQTT {
	case staAuto, staAll, staOff:
		return nil
	}
	return fmt.Errorf("--sta-mqtt %q: use auto, all or off", c.STAMQTT)
}

func (c *config) readTokenFile() error {
	if c.InfluxTokenFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.InfluxTokenFile)
	if err != nil {
		return fmt.Errorf("--influx-token-file: %w", err)
	}
	c.InfluxToken = strings.TrimSpace(string(b))
	return nil
}

// readFile reads --config and takes from it what no flag set: the
// unknown-devices policy and the district file (relative to the config).
func (c *config) readFile() error {
	var err error
	if c.File, c.Devices, err = loadConfig(c.Config); err != nil {
		return err
	}
	if c.UnknownDevices == "" {
		c.UnknownDevices = c.File.UnknownDevices
	}
	if d := c.File.Districts; c.Districts == "" && d.File != "" {
		c.Districts = d.File
		if !filepath.IsAbs(d.File) {
			c.Districts = filepath.Join(filepath.Dir(c.Config), d.File)
		}
		if d.NameProp != "" {
			c.DistrictProp = d.NameProp
		}
	}
	return nil
}

// newLogger returns the logger c asks for, writing to w.
func newLogger(c config, w io.Writer) *slog.Logger {
	o := &slog.HandlerOptions{Level: c.Level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// checkRetention ties --max-age to --raw-retention: InfluxDB drops a point
// older than its retention while answering the write as a success, so
// such a reading is refused (a dead letter, reason too_old) instead of
// being acknowledged and lost. An explicit --max-age may be stricter.
func (c *config) checkRetention() error {
	if c.RawRetention < 0 || c.MaxAge < 0 {
		return errors.New("--raw-retention and --max-age must not be negative")
	}
	if c.RawRetention > 0 && (c.MaxAge == 0 || c.MaxAge > c.RawRetention) {
		c.MaxAge = c.RawRetention
	}
	return nil
}
