// Command kessel is the Kessel hub. `kessel serve` runs every role in one
// process: MQTT ingest (with an optional embedded broker), the REST API and
// the operational endpoints. Run `kessel serve -h` for its flags; each flag
// can also be set as KESSEL_<FLAG_IN_CAPS>.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/geo"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/registry"
	"github.com/kessel-city/kessel/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "kessel:", err)
		}
		os.Exit(2)
	}
}

const usage = `usage: kessel <command> [flags]

commands:
  serve      run the hub (ingest, API, embedded broker)
  keys new   make a department API key: kessel keys new --name N --department D --scopes s1,s2
  passwd     read an MQTT password on standard input, print its bcrypt hash for mqtt.users
  version    print the version
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is required")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "kessel", version)
		return nil
	case "keys":
		return keys(args[1:], stdout, stderr)
	case "passwd":
		return passwd(os.Stdin, stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// serveConfig holds the flags of `kessel serve`.
type serveConfig struct {
	HTTP            string
	Broker          string
	MQTTListen      string
	MQTTData        string
	ClientID        string
	SharedGroup     string
	MQTTUser        string
	MQTTPassword    string
	InfluxURL       string
	InfluxOrg       string
	InfluxBucket    string
	InfluxToken     string
	InfluxTokenFile string
	Districts       string
	DistrictProp    string
	Config          string
	Roles           string
	UnknownDevices  string
	LogLevel        string
	LogFormat       string
	MaxPayload      int
	MaxAge          time.Duration
	RestoreWindow   time.Duration
	CPUProfile      string
	GCPercent       int
	RateRead        string
	RateWrite       string
	RatePush        string
	TrustedProxies  string
	MapTiles        string // the citizens' page's tile server (web.Options)
	MapAttribution  string
	BatchSize       int
	FlushInterval   time.Duration
	TTSBroker       string
	TTSUser         string
	TTSPassword     string
	TTSClientID     string
	DeviceMetrics   bool
}

// envFlags registers flags whose defaults come from KESSEL_<NAME>.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
}

func envName(name string) string {
	return "KESSEL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func (e *envFlags) str(p *string, name, def, help string) {
	if v := e.getenv(envName(name)); v != "" {
		def = v
	}
	e.fs.StringVar(p, name, def, help+" ($"+envName(name)+")")
}

func (e *envFlags) int(p *int, name string, def int, help string) {
	if v := e.getenv(envName(name)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("$%s: %q is not a whole number", envName(name), v))
		}
		def = n
	}
	e.fs.IntVar(p, name, def, help+" ($"+envName(name)+")")
}

func (e *envFlags) bool(p *bool, name string, def bool, help string) {
	if v := e.getenv(envName(name)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("$%s: %q is not true or false", envName(name), v))
		}
		def = b
	}
	e.fs.BoolVar(p, name, def, help+" ($"+envName(name)+")")
}

func (e *envFlags) dur(p *time.Duration, name string, def time.Duration, help string) {
	if v := e.getenv(envName(name)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("$%s: %q is not a duration", envName(name), v))
		}
		def = d
	}
	e.fs.DurationVar(p, name, def, help+" ($"+envName(name)+")")
}

func parseServe(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("kessel serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host, _ := os.Hostname()
	e := &envFlags{fs: fs, getenv: getenv}
	e.str(&c.HTTP, "http", "127.0.0.1:8080", "HTTP listen address")
	e.str(&c.Broker, "mqtt-broker", "embedded", "MQTT broker: embedded, or tcp://host:port, ssl://…, ws://…")
	e.str(&c.MQTTListen, "mqtt-listen", "127.0.0.1:1883", "listen address of the embedded broker")
	e.str(&c.MQTTData, "mqtt-data", "", "directory where the embedded broker keeps retained messages and persistent sessions; empty: in memory")
	e.str(&c.ClientID, "mqtt-client-id", "kessel-"+sanitizeID(host), "stable MQTT client id of the persistent ingest session")
	e.str(&c.SharedGroup, "mqtt-shared-group", "", "join $share/<group>/ so several ingesters split the readings")
	e.str(&c.MQTTUser, "mqtt-username", "", "MQTT username of the ingester")
	e.str(&c.MQTTPassword, "mqtt-password", "", "MQTT password of the ingester (prefer the environment)")
	e.str(&c.TTSBroker, "tts-broker", "", "The Things Stack MQTT server to read uplinks from as well, e.g. ssl://eu1.cloud.thethings.network:8883")
	e.str(&c.TTSUser, "tts-username", "", "TTS application id, with @tenant on TTS Cloud and TTN (app1@ttn)")
	e.str(&c.TTSPassword, "tts-password", "", "TTS API key of the application (prefer the environment)")
	e.str(&c.TTSClientID, "tts-client-id", "kessel-"+sanitizeID(host)+"-tts", "MQTT client id of the TTS connection")
	e.bool(&c.DeviceMetrics, "device-metrics", true, "export kessel_device_last_seen_timestamp_seconds, one series per device")
	e.str(&c.InfluxURL, "influx-url", "http://127.0.0.1:8086", "InfluxDB URL")
	e.str(&c.InfluxOrg, "influx-org", "kessel", "InfluxDB organisation (ignored by 1.8)")
	e.str(&c.InfluxBucket, "influx-bucket", "kessel/autogen", "InfluxDB bucket, or database/retention-policy on 1.8")
	e.str(&c.InfluxToken, "influx-token", "", "InfluxDB token, or user:password on 1.8 (prefer the environment)")
	e.str(&c.InfluxTokenFile, "influx-token-file", "", "file holding the InfluxDB token")
	e.str(&c.Districts, "districts", "", "GeoJSON FeatureCollection of district polygons")
	e.str(&c.DistrictProp, "district-name-prop", "name", "feature property that names a district")
	e.str(&c.Config, "config", "", "YAML config file (devices, policies); see deploy/config/kessel.example.yaml")
	e.str(&c.Roles, "roles", "ingest,alerts,api", "comma-separated roles to run: ingest, alerts, api")
	e.str(&c.UnknownDevices, "unknown-devices", "", "readings from unregistered devices: auto-register (as internal) or reject")
	e.str(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	e.str(&c.LogFormat, "log-format", "text", "text or json")
	e.int(&c.MaxPayload, "max-payload", 64<<10, "largest accepted message payload in bytes")
	e.dur(&c.MaxAge, "max-age", 0, "refuse readings older than this (the retention window); 0 = any age")
	e.dur(&c.RestoreWindow, "restore-window", 30*24*time.Hour, "how far back to look for each device's latest reading on start")
	e.int(&c.BatchSize, "batch-size", 5000, "most readings per InfluxDB write")
	e.dur(&c.FlushInterval, "flush-interval", 100*time.Millisecond, "how long ingest waits to fill a batch before writing it")
	e.str(&c.CPUProfile, "cpuprofile", "", "write a Go CPU profile to this file until shutdown (diagnostics)")
	e.int(&c.GCPercent, "gc-percent", 400, "Go garbage collector target (GOGC): higher trades memory for CPU per message; the GOGC variable wins if set")
	e.str(&c.RateRead, "rate-limit-read", "50", "reads per second per client address, or per key (burst twice that); 0 = no limit")
	e.str(&c.RateWrite, "rate-limit-write", "10", "department writes per second per key; 0 = no limit")
	e.str(&c.RatePush, "rate-limit-push", "2", "HTTP device pushes per second per client address, or per device key; 0 = no limit")
	e.str(&c.TrustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client")
	e.str(&c.MapTiles, "map-tiles", "", "XYZ tile URL for the citizens' page's map, e.g. https://tiles.example.org/{z}/{x}/{y}.png; empty: districts only, no request to another host")
	e.str(&c.MapAttribution, "map-tiles-attribution", "", "attribution the tile server's licence requires, shown on the map")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if len(e.errs) > 0 {
		return c, errors.Join(e.errs...)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	for _, r := range strings.Split(c.Roles, ",") {
		if !slices.Contains([]string{"ingest", "alerts", "api"}, strings.TrimSpace(r)) {
			return c, fmt.Errorf("--roles: unknown role %q (use ingest, alerts, api)", r)
		}
	}
	for _, r := range []struct{ name, v string }{{"rate-limit-read", c.RateRead}, {"rate-limit-write", c.RateWrite}, {"rate-limit-push", c.RatePush}} {
		if f, err := strconv.ParseFloat(r.v, 64); err != nil || f < 0 {
			return c, fmt.Errorf("--%s: %q is not a rate ≥ 0", r.name, r.v)
		}
	}
	if c.TTSBroker != "" && !c.has("ingest") {
		return c, errors.New("--tts-broker needs the ingest role")
	}
	if c.InfluxTokenFile != "" {
		b, err := os.ReadFile(c.InfluxTokenFile)
		if err != nil {
			return c, fmt.Errorf("--influx-token-file: %w", err)
		}
		c.InfluxToken = strings.TrimSpace(string(b))
	}
	return c, nil
}

func sanitizeID(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

func (c serveConfig) has(role string) bool {
	for _, r := range strings.Split(c.Roles, ",") {
		if strings.TrimSpace(r) == role {
			return true
		}
	}
	return false
}

func newLogger(c serveConfig, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	o := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", c.LogFormat)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(c, stderr)
	if err != nil {
		return err
	}
	if getenv("GOGC") == "" && c.GCPercent > 0 {
		debug.SetGCPercent(c.GCPercent)
	}
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	fileCfg, devices, err := loadConfig(c.Config)
	if err != nil {
		return err
	}
	if c.UnknownDevices == "" {
		c.UnknownDevices = fileCfg.UnknownDevices
	}
	if d := fileCfg.Districts; c.Districts == "" && d.File != "" {
		c.Districts = d.File
		if !filepath.IsAbs(d.File) {
			c.Districts = filepath.Join(filepath.Dir(c.Config), d.File)
		}
		if d.NameProp != "" {
			c.DistrictProp = d.NameProp
		}
	}

	prom := prometheus.NewRegistry()
	prom.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var districts *geo.Districts
	if c.Districts != "" {
		if districts, err = geo.LoadDistrictsFile(c.Districts, c.DistrictProp, log); err != nil {
			return err
		}
		log.Info("districts loaded", "file", c.Districts, "count", len(districts.All()))
	}

	store, err := influx.New(influx.Options{URL: c.InfluxURL, Org: c.InfluxOrg, Bucket: c.InfluxBucket, Token: c.InfluxToken, Logger: log})
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Prepare(ctx); err != nil {
		return err
	}

	regOpts := registry.Options{Unknown: registry.UnknownPolicy(c.UnknownDevices), Logger: log, Journal: store}
	if districts != nil {
		regOpts.Locator = districts
	}
	reg, err := registry.New(regOpts)
	if err != nil {
		return err
	}
	if c.DeviceMetrics {
		prom.MustRegister(ingest.NewLastSeenCollector(reg))
	}
	loadCtx, cancelLoad := context.WithTimeout(ctx, 30*time.Second)
	recs, err := store.LoadDevices(loadCtx)
	cancelLoad()
	if err != nil {
		return fmt.Errorf("loading the device registry: %w", err)
	}
	reg.Load(recs)
	log.Info("device registry loaded", "devices", reg.Len())
	for _, d := range devices {
		if err := reg.Put(d); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	regCtx, stopRegistry := context.WithCancel(context.WithoutCancel(ctx))
	regDone := make(chan error, 1)
	go func() { regDone <- reg.Run(regCtx) }()
	defer func() {
		stopRegistry()
		if err := <-regDone; err != nil {
			log.Warn("final device journal write failed", "err", err)
		}
	}()
	// Refill the live state from InfluxDB while ingest already runs: the
	// registry keeps the newest reading per device, so an older restored
	// one never replaces a live one.
	restoreCtx, cancelRestore := context.WithTimeout(ctx, 60*time.Second)
	restored := make(chan struct{})
	go func() {
		defer close(restored)
		defer cancelRestore()
		now := time.Now()
		latest, err := store.Latest(restoreCtx, now.Add(-c.RestoreWindow), now.Add(time.Hour))
		if err != nil {
			log.Warn("could not restore latest readings; the live state fills as readings arrive", "err", err)
			return
		}
		reg.Observe(latest)
		log.Info("live state restored", "devices", len(latest))
	}()
	defer func() { cancelRestore(); <-restored }()

	// The alert engine sees every stored reading; it never slows ingest.
	var engine *alert.Engine
	// publishAlert is set once the broker connection exists.
	var publishAlert atomic.Pointer[func(ctx context.Context, topic string, payload []byte) error]
	if c.has("alerts") {
		hooks, err := alert.NewWebhooks(fileCfg.Webhooks, alert.WebhookOptions{Logger: log, Registerer: prom})
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		hooksCtx, stopHooks := context.WithCancel(context.WithoutCancel(ctx))
		hooksDone := make(chan error, 1)
		go func() { hooksDone <- hooks.Run(hooksCtx) }()
		defer func() { stopHooks(); <-hooksDone }()
		rules := fileCfg.Rules
		var saved []kessel.Rule
		loadCtx, cancelLoad := context.WithTimeout(ctx, 30*time.Second)
		found, err := store.LoadRules(loadCtx, &saved)
		cancelLoad()
		switch {
		case err != nil:
			log.Warn("could not load rules saved through the API; using the config's", "err", err)
		case found:
			rules = saved
			log.Info("using the rule set last changed through the API; the config's rules section is the initial set only", "rules", len(saved))
		}
		engine, err = alert.New(rules, alert.Options{Logger: log, Registerer: prom, Journal: store, RuleStore: store,
			Notify: func(ctx context.Context, a kessel.Alert) {
				hooks.Notify(a)
				pub := publishAlert.Load()
				if pub == nil {
					return
				}
				body, _ := json.Marshal(alertMessage(a))
				if err := (*pub)(ctx, kessel.AlertTopic(a), body); err != nil {
					log.Warn("could not publish an alert transition", "alert", a.ID, "err", err)
				}
			}})
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		alertCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		states, err := store.LoadAlerts(alertCtx, time.Now().Add(-7*24*time.Hour))
		cancel()
		if err != nil {
			log.Warn("could not restore alert states", "err", err)
		}
		engine.Restore(states)
		// Refill window conditions (a 24-hour mean) from InfluxDB.
		refilled := 0
		for _, r := range engine.WindowRules() {
			refillCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			now := time.Now()
			rs, err := store.Recent(refillCtx, r.Kind, r.Field, now.Add(-r.Window), now.Add(time.Minute), max(r.Window/96, time.Second))
			cancel()
			if err != nil {
				log.Warn("could not refill an alert window from InfluxDB", "rule", r.ID, "err", err)
				continue
			}
			engine.Refill(rs)
			refilled += len(rs)
		}
		engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
		engineDone := make(chan error, 1)
		go func() { engineDone <- engine.Run(engineCtx) }()
		defer func() { stopEngine(); <-engineDone }()
		log.Info("alert engine running", "rules", len(rules), "restored", len(states), "window_points_refilled", refilled)
	}

	// Long-lived parts, started in order and stopped in reverse:
	// ingest, then the embedded broker that feeds it, then HTTP.
	var (
		wg         sync.WaitGroup
		errc       = make(chan error, 4)
		emb        *broker.Broker
		ingester   *ingest.Ingester
		stopIngest context.CancelFunc = func() {}
		ingestCtx                     = context.WithoutCancel(ctx)
	)
	embedded := c.Broker == "embedded"
	ready := []api.Check{{Name: "influxdb", Check: func(ctx context.Context) error { _, err := store.Ping(ctx); return err }}}
	if c.has("ingest") {
		io := ingest.Options{
			ClientID: c.ClientID, Username: c.MQTTUser, Password: c.MQTTPassword, SharedGroup: c.SharedGroup,
			Limits: ingest.Limits{MaxPayload: c.MaxPayload, MaxAge: c.MaxAge}, Logger: log, Registerer: prom,
			BatchSize: c.BatchSize, FlushInterval: c.FlushInterval,
			TTS: ingest.TTSSource{Broker: c.TTSBroker, Username: c.TTSUser, Password: c.TTSPassword, ClientID: c.TTSClientID},
		}
		if !embedded {
			io.Broker = c.Broker // with the embedded broker, messages arrive through its hook
		}
		if engine != nil {
			io.Watch = engine.Observe // alerts evaluate readings as they arrive, not after the batch is written
		}
		ingester, err = ingest.New(store, reg, io)
		if err != nil {
			return err
		}
		var cancel context.CancelFunc
		ingestCtx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		stopIngest = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ingester.Run(ingestCtx); err != nil {
				errc <- fmt.Errorf("ingest: %w", err)
			}
		}()
		ready = append(ready, api.Check{Name: "mqtt", Check: ingester.Ready})
		if c.TTSBroker != "" {
			ready = append(ready, api.Check{Name: "tts", Check: ingester.TTSReady, Optional: true})
		}
	}
	brokerURL := c.Broker
	if embedded {
		auth := fileCfg.brokerAuth()
		if auth.Anonymous {
			log.Warn("embedded broker accepts anonymous clients (development mode); list mqtt.users in the config for production")
		}
		bo := broker.Options{Addr: c.MQTTListen, Logger: log, Auth: auth, DataDir: c.MQTTData, Registerer: prom, Visibility: reg.Visibility,
			// Larger than the ingest limit, so an oversized payload reaches
			// ingest and becomes a counted dead letter, not a disconnect.
			MaxPacket: uint32(max(1<<20, 2*c.MaxPayload)),
		}
		if ingester != nil {
			bo.Match = ingest.Match
			bo.Deliver = func(topic string, payload []byte) error { return ingester.Enqueue(ingestCtx, topic, payload) }
		}
		emb, err = broker.Start(bo)
		if err != nil {
			stopIngest()
			wg.Wait()
			return err
		}
		brokerURL = emb.URL()
		log.Info("embedded MQTT broker listening", "addr", emb.Addr())
		pub := func(_ context.Context, topic string, payload []byte) error {
			return emb.Publish(topic, payload, false, 1)
		}
		publishAlert.Store(&pub)
	} else if ingester != nil {
		pub := func(ctx context.Context, topic string, payload []byte) error {
			return ingester.Publish(ctx, topic, payload, false)
		}
		publishAlert.Store(&pub)
	}

	// An API-only instance follows the readings stream to keep its live
	// state current (it was filled from InfluxDB on start); it stores nothing.
	if !c.has("ingest") && c.has("api") {
		follower, err := ingest.NewFollower(reg, ingest.FollowerOptions{Broker: brokerURL, ClientID: c.ClientID + "-api",
			Username: c.MQTTUser, Password: c.MQTTPassword, Limits: ingest.Limits{MaxPayload: c.MaxPayload}, Logger: log, Registerer: prom})
		if err != nil {
			closeBroker(emb)
			return err
		}
		followCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stopIngest = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := follower.Run(followCtx); err != nil {
				errc <- fmt.Errorf("follow: %w", err)
			}
		}()
		ready = append(ready, api.Check{Name: "mqtt", Check: follower.Ready})
	}

	var httpSrv *http.Server
	stopUsage := func() {}
	if c.has("api") {
		apiOpts := api.Options{Logger: log, MaxBody: 2 * c.MaxPayload, Registerer: prom, Gatherer: prom, Ready: ready, Keys: fileCfg.APIKeys, DeadLetters: store,
			Writer: reg, Version: registry.Version, RateLimits: map[string]api.RateLimit{}, Catalog: fileCfg.Catalog}
		if engine != nil {
			apiOpts.Alerts = engine
			apiOpts.Rules = engine
		}
		for class, v := range map[string]string{api.ClassRead: c.RateRead, api.ClassWrite: c.RateWrite, api.ClassPush: c.RatePush} {
			f, _ := strconv.ParseFloat(v, 64)
			apiOpts.RateLimits[class] = api.RateLimit{PerSecond: f, Burst: int(max(1, 2*f))}
		}
		for _, cidr := range strings.Split(c.TrustedProxies, ",") {
			if cidr = strings.TrimSpace(cidr); cidr == "" {
				continue
			}
			p, err := netip.ParsePrefix(cidr)
			if err != nil {
				closeBroker(emb)
				stopIngest()
				wg.Wait()
				return fmt.Errorf("--trusted-proxies: %q is not a CIDR", cidr)
			}
			apiOpts.TrustedProxies = append(apiOpts.TrustedProxies, p)
		}
		if ingester != nil {
			apiOpts.Pusher = ingester
		}
		usage := api.NewUsage(store, c.ClientID, log)
		loadCtx, cancelLoad := context.WithTimeout(ctx, 10*time.Second)
		if err := usage.Load(loadCtx); err != nil {
			log.Warn("usage statistics not restored; counting from zero", "err", err)
		}
		cancelLoad()
		apiOpts.Usage = usage
		usageCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		stopUsage = stop
		wg.Add(1)
		go func() { defer wg.Done(); usage.Run(usageCtx, time.Minute) }()
		page, err := web.New(web.Options{TileURL: c.MapTiles, TileAttribution: c.MapAttribution})
		if err != nil {
			closeBroker(emb)
			stopUsage()
			stopIngest()
			wg.Wait()
			return fmt.Errorf("--map-tiles: %w", err)
		}
		apiOpts.Page = page
		handler, err := api.NewServer(reg, districtsOrNil(districts), store, apiOpts)
		if err != nil {
			closeBroker(emb)
			stopUsage()
			stopIngest()
			wg.Wait()
			return err
		}
		ln, err := net.Listen("tcp", c.HTTP)
		if err != nil {
			closeBroker(emb)
			stopUsage()
			stopIngest()
			wg.Wait()
			return fmt.Errorf("http: %w", err)
		}
		httpSrv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http: %w", err)
			}
		}()
		fmt.Fprintf(stdout, "kessel %s serving: API http://%s/api/v1/devices  metrics http://%s/metrics  MQTT %s\n", version, ln.Addr(), ln.Addr(), brokerURL)
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-errc:
		log.Error("stopping after failure", "err", runErr)
	}

	// Reverse order, each with a fresh timeout: HTTP, then ingest (drain and
	// acknowledge what was written), then the broker and the store (deferred).
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if httpSrv != nil {
		if err := httpSrv.Shutdown(shutdownCtx); err != nil {
			log.Warn("http shutdown", "err", err)
		}
	}
	stopUsage() // saves the counts once more
	if emb != nil {
		if err := emb.Close(); err != nil {
			log.Warn("broker shutdown", "err", err)
		}
	}
	stopIngest()
	wg.Wait()
	log.Info("stopped")
	return runErr
}

// keys implements `kessel keys new`: it prints a new key once, and the
// config entry (with only the key's hash) to add under api_keys.
func keys(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "new" {
		return errors.New("usage: kessel keys new --name NAME --department DEPT --scopes SCOPE[,SCOPE]  |  kessel keys new --name NAME --device ID")
	}
	fs := flag.NewFlagSet("kessel keys new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "who or what uses the key, e.g. tiefbau-dashboard")
	dept := fs.String("department", "", "the department that owns the key")
	scopes := fs.String("scopes", "", "comma-separated: "+strings.Join(api.Scopes, ", "))
	device := fs.String("device", "", "make a device key instead: it may only push this device's readings over HTTP")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	key, hash, err := api.NewKey()
	if err != nil {
		return err
	}
	k := api.Key{Name: *name, Department: *dept, Scopes: strings.Split(*scopes, ","), Hash: hash, Device: *device}
	if *scopes == "" {
		k.Scopes = nil
	}
	if err := k.Validate(); err != nil {
		return errors.New(kessel.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "key: %s\n\nThe key is shown only now; hand it to %s. Add this under api_keys in the config file:\n\n", key, k.Name)
	if k.Device != "" {
		fmt.Fprintf(stdout, "  - name: %s\n    device: %s\n    hash: %s\n", k.Name, k.Device, k.Hash)
		return nil
	}
	fmt.Fprintf(stdout, "  - name: %s\n    department: %s\n    scopes: [%s]\n    hash: %s\n", k.Name, k.Department, strings.Join(k.Scopes, ", "), k.Hash)
	return nil
}

// passwd prints the bcrypt hash of the first line read from in.
func passwd(in io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return errors.New("passwd: give the password on standard input")
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 12 {
		return errors.New("passwd: use a password of at least 12 characters")
	}
	h, err := broker.HashPassword(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, h)
	return nil
}

// alertMessage is the JSON published on kessel.AlertTopic(a):
// the same shape as in the API.
func alertMessage(a kessel.Alert) any {
	st := a.State.String()
	if a.State == kessel.Inactive && !a.ResolvedAt.IsZero() {
		st = "resolved"
	}
	return struct {
		kessel.Alert
		State string `json:"state"`
	}{a, st}
}

func closeBroker(b *broker.Broker) {
	if b != nil {
		_ = b.Close()
	}
}

// districtsOrNil keeps a nil *geo.Districts from becoming a non-nil interface.
func districtsOrNil(d *geo.Districts) api.Districts {
	if d == nil {
		return nil
	}
	return d
}
