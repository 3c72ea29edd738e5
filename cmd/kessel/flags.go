package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kessel-city/kessel/internal/envflag"
)

// serveFlags holds the flags of `kessel serve` as given, each defaulting
// from $KESSEL_<FLAG>. newConfig turns them into a validated config.
type serveFlags struct {
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
	Archive         string // the bulk archive's directory; empty: none
	MapAttribution  string
	BatchSize       int
	FlushInterval   time.Duration
	TTSBroker       string
	TTSUser         string
	TTSPassword     string
	TTSClientID     string
	DeviceMetrics   bool
	QC              bool
	STAMQTT         string // auto, all or off (startSTA)
	natsFlags
	EvidenceDir     string
	EvidenceBucket  string
	EvidenceBuild   string
	RawRetention    time.Duration
	RollupRetention time.Duration
	Rollups         bool
	RollupGrace     time.Duration
}

// parseFlags registers the flags of `kessel serve` and parses args; -h
// prints them to stderr and returns flag.ErrHelp.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (serveFlags, error) {
	var c serveFlags
	fs := flag.NewFlagSet("kessel serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host, _ := os.Hostname()
	e := envflag.New(fs, "KESSEL_", getenv)
	e.String(&c.HTTP, "http", "127.0.0.1:8080", "HTTP listen address")
	e.String(&c.Broker, "mqtt-broker", brokerEmbedded, "MQTT broker: embedded (durable: NATS JetStream, MQTT 3.1.1), mochi (in memory, MQTT 3.1.1 and 5), or tcp://host:port, ssl://…, ws://… for an external one")
	e.String(&c.MQTTListen, "mqtt-listen", "127.0.0.1:1883", "listen address of the embedded broker")
	e.String(&c.MQTTData, "mqtt-data", "", "directory where the embedded broker keeps its stored messages, retained messages and sessions; empty: a temporary directory (nothing survives a restart)")
	e.String(&c.ClientID, "mqtt-client-id", "kessel-"+sanitizeID(host), "stable MQTT client id of the persistent ingest session")
	e.String(&c.SharedGroup, "mqtt-shared-group", "", "join $share/<group>/ so several ingesters split the readings")
	e.String(&c.MQTTUser, "mqtt-username", "", "MQTT username of the ingester")
	e.String(&c.MQTTPassword, "mqtt-password", "", "MQTT password of the ingester (prefer the environment)")
	e.String(&c.TTSBroker, "tts-broker", "", "The Things Stack MQTT server to read uplinks from as well, e.g. ssl://eu1.cloud.thethings.network:8883")
	e.String(&c.TTSUser, "tts-username", "", "TTS application id, with @tenant on TTS Cloud and TTN (app1@ttn)")
	e.String(&c.TTSPassword, "tts-password", "", "TTS API key of the application (prefer the environment)")
	e.String(&c.TTSClientID, "tts-client-id", "kessel-"+sanitizeID(host)+"-tts", "MQTT client id of the TTS connection")
	e.Bool(&c.DeviceMetrics, "device-metrics", true, "export kessel_device_last_seen_timestamp_seconds, one series per device")
	e.String(&c.InfluxURL, "influx-url", "http://127.0.0.1:8086", "InfluxDB URL")
	e.String(&c.InfluxOrg, "influx-org", "kessel", "InfluxDB organisation (ignored by 1.8)")
	e.String(&c.InfluxBucket, "influx-bucket", "kessel/autogen", "InfluxDB bucket, or database/retention-policy on 1.8")
	e.String(&c.InfluxToken, "influx-token", "", "InfluxDB token, or user:password on 1.8 (prefer the environment)")
	e.String(&c.InfluxTokenFile, "influx-token-file", "", "file holding the InfluxDB token")
	e.Duration(&c.RawRetention, "raw-retention", 0, "how long InfluxDB keeps raw readings (the bucket's retention, set on start; older readings are refused as dead letters); 0 = forever (make run: 90 days)")
	e.Duration(&c.RollupRetention, "rollup-retention", 0, "how long the hourly and daily rollups are kept; 0 = forever")
	e.Bool(&c.Rollups, "rollups", true, "compute the hourly and daily rollups (role ingest)")
	e.Duration(&c.RollupGrace, "rollup-grace", 15*time.Minute, "how late a reading may arrive and still count in its hour's rollup")
	e.String(&c.Districts, "districts", "", "GeoJSON FeatureCollection of district polygons")
	e.String(&c.DistrictProp, "district-name-prop", "name", "feature property that names a district")
	e.String(&c.Config, "config", "", "YAML config file (devices, policies); see deploy/config/kessel.example.yaml")
	e.String(&c.Roles, "roles", "ingest,alerts,api", "comma-separated roles to run: ingest, alerts, api")
	e.String(&c.UnknownDevices, "unknown-devices", "", "readings from unregistered devices: auto-register (as internal) or reject")
	e.String(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	e.String(&c.LogFormat, "log-format", "text", "text or json")
	e.Int(&c.MaxPayload, "max-payload", 64<<10, "largest accepted message payload in bytes")
	e.Duration(&c.MaxAge, "max-age", 0, "refuse readings older than this (the retention window); 0 = any age")
	e.Duration(&c.RestoreWindow, "restore-window", 30*24*time.Hour, "how far back to look for each device's latest reading on start")
	e.String(&c.STAMQTT, "sta-mqtt", staAuto, "SensorThings MQTT receive feed: auto (on the embedded brokers, which render an Observation only for a subscriber, and on a NATS cluster; off on an external MQTT broker, which cannot tell who subscribes), all (on an external broker too: every public Observation, QoS 0), off")
	e.Bool(&c.QC, "qc", true, "quality control on every reading (flags qc.<field>, corrections cor.<field>; config file section quality)")
	e.Int(&c.BatchSize, "batch-size", 5000, "most readings per InfluxDB write")
	e.Duration(&c.FlushInterval, "flush-interval", 100*time.Millisecond, "how long ingest waits to fill a batch before writing it")
	e.String(&c.CPUProfile, "cpuprofile", "", "write a Go CPU profile to this file until shutdown (diagnostics)")
	e.Int(&c.GCPercent, "gc-percent", 400, "Go garbage collector target (GOGC): higher trades memory for CPU per message; the GOGC variable wins if set")
	e.String(&c.RateRead, "rate-limit-read", "50", "reads per second per client address, or per key (burst twice that); 0 = no limit")
	e.String(&c.RateWrite, "rate-limit-write", "10", "department writes per second per key; 0 = no limit")
	e.String(&c.RatePush, "rate-limit-push", "2", "HTTP device pushes per second per client address, or per device key; 0 = no limit")
	e.String(&c.TrustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client")
	e.String(&c.MapTiles, "map-tiles", "", "XYZ tile URL for the citizens' page's map, e.g. https://tiles.example.org/{z}/{x}/{y}.png; empty: districts only, no request to another host")
	e.String(&c.MapAttribution, "map-tiles-attribution", "", "attribution the tile server's licence requires, shown on the map")
	e.String(&c.Archive, "archive", "", "directory of the open-data bulk archive (a folder per UTC day, written nightly by the ingest role, served under /archive/ by the api role); empty: no archive")
	c.natsFlags.register(e)
	e.String(&c.EvidenceDir, "evidence-dir", "", "directory that receives a file of every winter-service evidence record as well (DIR/<type>/<id>/<day>.json); empty: the --archive directory's hidden .evidence folder (never served), or without an archive InfluxDB only")
	e.String(&c.EvidenceBucket, "evidence-bucket", "", "InfluxDB bucket (1.8: database/retention-policy) of the evidence chains, kept apart from the readings' retention; default: the readings' database with retention policy kessel_evidence (infinite), which Kessel creates on 1.8")
	e.String(&c.EvidenceBuild, "evidence-build-at", "01:00", "local time (Europe/Berlin) after which the alerts role builds the day before's evidence records; off: only on demand (POST /api/v1/evidence/{type}/{id}/build)")
	if err := e.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return c, nil
}

// sanitizeID makes s usable in an MQTT client id.
func sanitizeID(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, s)
}
