// Command kessel-sim publishes a simulated city sensor fleet to an MQTT
// broker, so that Kessel can be run, tested and benchmarked without
// hardware. Progress goes to stderr; at the end one line of JSON on stdout
// summarises what was sent. Every flag can also be set as KESSEL_<FLAG>.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kessel-city/kessel/geo"
	"github.com/kessel-city/kessel/internal/envflag"
	"github.com/kessel-city/kessel/simulators"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "kessel-sim:", err)
		}
		os.Exit(2)
	}
}

type config struct {
	Broker, ClientID, Username, Password string
	Push                                 string
	Devices                              int
	Kinds, Formats, Scenario             string
	Interval                             time.Duration
	Rate                                 float64
	Count                                int
	Seed                                 uint64
	Faults                               float64
	Districts, DistrictProp              string
	Quiet                                bool
	// Start is when simulated time starts: --start, or now. Simulated
	// tells whether --start was given (the run then follows the simulated
	// clock, not the wall clock).
	Start     time.Time
	Simulated bool
	Speedup   float64
	// start and replayAt are --start and --replay-location as given.
	start, replayAt                     string
	Replay, ReplayDevice, ReplayKind    string
	ReplayField, ReplayColumn, ReplayTZ string
	ReplayLon, ReplayLat                float64
	Connections                         int
	Mobile                              float64
	// InfluxURL and InfluxBucket: write straight to InfluxDB instead of
	// publishing (fast backfills for benchmarks).
	InfluxURL, InfluxBucket string
	SensorFaults            string
	SensorFaultShare        float64
}

// parse reads the flags, each defaulting from $KESSEL_<FLAG>, and checks
// them; every bad value is reported, each naming its flag.
func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	c, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return c, err
	}
	now := time.Now()
	return c, errors.Join(c.checkFleet(), c.checkPace(), c.parseStart(now), c.parseReplayLocation())
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("kessel-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	e := envflag.New(fs, "KESSEL_", getenv)
	e.String(&c.Broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	e.String(&c.ClientID, "client-id", fmt.Sprintf("kessel-sim-%d", os.Getpid()), "MQTT client id")
	e.String(&c.Username, "username", "", "MQTT username")
	e.String(&c.Password, "password", "", "MQTT password (prefer the environment)")
	e.String(&c.Push, "push", "", "Kessel's HTTP base URL, for devices that push over HTTP (airrohr), e.g. http://127.0.0.1:8080")
	e.Int(&c.Devices, "devices", 20, "fleet size")
	e.String(&c.Kinds, "kinds", strings.Join(simulators.Kinds, ","), "comma-separated device kinds")
	e.String(&c.Formats, "formats", "native", "wire formats, assigned round-robin: "+strings.Join(simulators.Formats, ","))
	e.Duration(&c.Interval, "interval", 10*time.Second, "how often each device sends; 0 = as fast as --rate allows")
	e.Float64(&c.Rate, "rate", 0, "cap on messages per second over the fleet; 0 = no cap")
	e.Int(&c.Count, "count", 0, "stop after this many readings; 0 = run until stopped")
	e.Uint64(&c.Seed, "seed", 1, "random seed: same seed, same fleet and values (and, with --start, the same messages)")
	e.Float64(&c.Faults, "faults", 0, "share of bad messages (0..1)")
	e.String(&c.Scenario, "scenario", "", "scenario to play: "+strings.Join(simulators.Scenarios, ", "))
	e.String(&c.start, "start", "", "simulated start time: RFC 3339 or relative such as -72h (backfills history); default now, on the wall clock")
	e.Float64(&c.Speedup, "speedup", 1, "simulated time runs this many times faster than real time (needs --start; stops at the present)")
	e.String(&c.Districts, "districts", "", "GeoJSON of districts to place devices in")
	e.String(&c.DistrictProp, "district-name-prop", "name", "feature property naming a district")
	e.Bool(&c.Quiet, "quiet", false, "no progress lines on stderr")
	e.Int(&c.Connections, "connections", 1, "MQTT connections to publish over (a device always uses the same one)")
	e.Float64(&c.Mobile, "mobile", 0, "share (0..1) of air_quality devices that ride the tram line and report their position")
	e.String(&c.SensorFaults, "sensor-faults", "", "sensor faults some devices have, taken in turn: "+strings.Join(simulators.SensorFaults, ",")+" (well-formed messages with a failing sensor's values)")
	e.Float64(&c.SensorFaultShare, "sensor-fault-share", 0.1, "share (0..1) of devices with a --sensor-faults fault")
	e.String(&c.Replay, "replay", "", "replay a real time series from this CSV file as one device instead of simulating a fleet")
	e.String(&c.ReplayDevice, "replay-device", "replay-1", "device id for --replay")
	e.String(&c.ReplayKind, "replay-kind", "water_level", "device kind for --replay")
	e.String(&c.ReplayField, "replay-field", "level", "field name for the replayed values")
	e.String(&c.ReplayColumn, "replay-column", "", "CSV column to replay (prefix of its header; default: the first numeric column)")
	e.String(&c.ReplayTZ, "replay-tz", "UTC", "zone of times without an offset, e.g. Europe/Berlin (an LfU file's 'Zeitbezug: MEZ' is honoured)")
	e.String(&c.replayAt, "replay-location", "9.1800,48.7784", "lon,lat of the replayed device")
	e.String(&c.InfluxURL, "influx-url", "", "write the readings straight to this InfluxDB instead of publishing them (a fast backfill with --start, bypassing the hub; MQTT formats only)")
	e.String(&c.InfluxBucket, "influx-bucket", "kessel/autogen", "bucket (database/retention-policy on 1.8) for --influx-url")
	return c, e.Parse(args)
}

// checkFleet checks what makes the fleet: its size, formats, faults,
// connections, mobile share and scenario.
func (c *config) checkFleet() error {
	var errs []error
	if c.Devices < 1 {
		errs = append(errs, fmt.Errorf("--devices must be a whole number ≥ 1, got %d", c.Devices))
	}
	if c.Faults < 0 || c.Faults > 1 {
		errs = append(errs, fmt.Errorf("--faults must be in [0,1], got %g", c.Faults))
	}
	for _, f := range strings.Split(c.Formats, ",") {
		if !slices.Contains(simulators.Formats, f) {
			errs = append(errs, fmt.Errorf("--formats: %q is unknown (known: %s)", f, strings.Join(simulators.Formats, ",")))
		}
		if f == "airrohr" && c.Push == "" {
			errs = append(errs, errors.New("--formats airrohr needs --push (Kessel's HTTP base URL)"))
		}
	}
	if c.Mobile < 0 || c.Mobile > 1 {
		errs = append(errs, fmt.Errorf("--mobile must be in [0,1], got %g", c.Mobile))
	}
	if c.Connections < 1 || c.Connections > 64 {
		errs = append(errs, fmt.Errorf("--connections must be 1 to 64, got %d", c.Connections))
	}
	if c.SensorFaults != "" {
		if err := simulators.CheckSensorFaults(strings.Split(c.SensorFaults, ",")); err != nil {
			errs = append(errs, fmt.Errorf("--sensor-faults: %w", err))
		}
	}
	if c.SensorFaultShare < 0 || c.SensorFaultShare > 1 {
		errs = append(errs, fmt.Errorf("--sensor-fault-share must be in [0,1], got %g", c.SensorFaultShare))
	}
	if c.Scenario != "" && !slices.Contains(simulators.Scenarios, c.Scenario) {
		errs = append(errs, fmt.Errorf("--scenario %q is unknown (known: %s)", c.Scenario, strings.Join(simulators.Scenarios, ", ")))
	}
	return errors.Join(errs...)
}

// checkPace checks how fast the run goes.
func (c *config) checkPace() error {
	var errs []error
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("--interval must be ≥ 0, got %s", c.Interval))
	}
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("--rate must be ≥ 0, got %g", c.Rate))
	}
	if c.Count < 0 {
		errs = append(errs, fmt.Errorf("--count must be a whole number ≥ 0, got %d", c.Count))
	}
	if c.Speedup < 1 {
		errs = append(errs, fmt.Errorf("--speedup must be a number ≥ 1, got %g", c.Speedup))
	}
	if c.Speedup > 1 && c.start == "" {
		errs = append(errs, fmt.Errorf("--speedup %g needs --start in the past (e.g. --start -72h): simulated time runs ahead of real time from there and stops at the present; without --start it starts at the present and there is nothing to send", c.Speedup))
	}
	if c.start != "" && c.Interval == 0 && c.Rate == 0 {
		errs = append(errs, errors.New("--start needs --interval or --rate: simulated time advances by them"))
	}
	return errors.Join(errs...)
}

// parseStart sets Start from --start: RFC 3339, or relative to now.
func (c *config) parseStart(now time.Time) error {
	c.Start = now
	if c.start == "" {
		return nil
	}
	c.Simulated = true
	var err error
	if rel, ok := strings.CutPrefix(c.start, "-"); ok {
		var d time.Duration
		d, err = time.ParseDuration(rel)
		c.Start = now.Add(-d)
	} else {
		c.Start, err = time.Parse(time.RFC3339, c.start)
	}
	if err != nil {
		return fmt.Errorf("--start %q: use RFC 3339 or a relative time such as -72h", c.start)
	}
	if c.Start.After(now.Add(time.Minute)) {
		return errors.New("--start must not be in the future: Kessel refuses readings from the future")
	}
	return nil
}

// parseReplayLocation sets ReplayLon and ReplayLat from --replay-location.
func (c *config) parseReplayLocation() error {
	bad := fmt.Errorf("--replay-location must be lon,lat in degrees (e.g. 9.18,48.7784), got %q", c.replayAt)
	lon, lat, ok := strings.Cut(c.replayAt, ",")
	if !ok {
		return bad
	}
	var err1, err2 error
	c.ReplayLon, err1 = strconv.ParseFloat(strings.TrimSpace(lon), 64)
	c.ReplayLat, err2 = strconv.ParseFloat(strings.TrimSpace(lat), 64)
	if err1 != nil || err2 != nil || math.Abs(c.ReplayLon) > 180 || math.Abs(c.ReplayLat) > 90 || math.IsNaN(c.ReplayLon) || math.IsNaN(c.ReplayLat) {
		return bad
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	if c.Replay != "" {
		return replay(ctx, c, stdout, stderr)
	}
	fo := simulators.FleetOptions{Devices: c.Devices, Kinds: strings.Split(c.Kinds, ","), Seed: c.Seed, Formats: strings.Split(c.Formats, ","), Mobile: c.Mobile}
	if c.Districts != "" {
		ds, err := geo.LoadDistrictsFile(c.Districts, c.DistrictProp, nil)
		if err != nil {
			return err
		}
		for _, d := range ds.List() {
			fo.Areas = append(fo.Areas, simulators.Area{Name: d.Name, Geometry: d.Geometry})
		}
	}
	fleet, err := simulators.NewFleet(fo)
	if err != nil {
		return err
	}
	if c.SensorFaults != "" {
		simulators.AssignSensorFaults(fleet, strings.Split(c.SensorFaults, ","), c.SensorFaultShare)
	}
	var pub simulators.Publisher
	if c.InfluxURL != "" {
		sink, err := newStoreSink(ctx, c.InfluxURL, c.InfluxBucket, fleet)
		if err != nil {
			return err
		}
		defer sink.Close()
		pub = sink
	} else {
		pool, err := simulators.DialPool(ctx, c.Broker, c.ClientID, c.Username, c.Password, c.Connections)
		if err != nil {
			return err
		}
		defer pool.Close()
		pub = pool
	}
	ro := simulators.RunOptions{Interval: c.Interval, Rate: c.Rate, Count: c.Count, Faults: c.Faults, Seed: c.Seed, Speedup: c.Speedup}
	if c.Simulated {
		ro.Start = c.Start
	}
	if c.Scenario != "" {
		if ro.Scenario, err = simulators.NewScenario(c.Scenario, c.Start); err != nil {
			return err
		}
	}
	router := simulators.Router{MQTT: pub}
	if c.Push != "" {
		router.HTTP = simulators.NewHTTPPusher(strings.TrimRight(c.Push, "/"))
	}
	if !c.Quiet {
		ro.Progress = stderr
		fmt.Fprintf(stderr, "kessel-sim: %d devices publishing to %s\n", len(fleet), cmp.Or(c.InfluxURL, c.Broker))
	}
	sum, runErr := simulators.Run(ctx, fleet, router, ro)
	line, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(line))
	return runErr
}

// replay publishes a real time series as one device.
func replay(ctx context.Context, c config, stdout, stderr io.Writer) error {
	zone, err := time.LoadLocation(c.ReplayTZ)
	if err != nil {
		return fmt.Errorf("--replay-tz: %w", err)
	}
	f, err := os.Open(c.Replay)
	if err != nil {
		return fmt.Errorf("--replay: %w", err)
	}
	defer f.Close()
	points, err := simulators.ReadSeries(f, c.ReplayColumn, zone)
	if err != nil {
		return err
	}
	pub, err := simulators.DialMQTT(ctx, c.Broker, c.ClientID, c.Username, c.Password)
	if err != nil {
		return err
	}
	defer pub.Close()
	if !c.Quiet {
		fmt.Fprintf(stderr, "kessel-sim: replaying %d points of %s as %s.%s\n", len(points), c.Replay, c.ReplayDevice, c.ReplayField)
	}
	sum, runErr := simulators.Replay(ctx, points, simulators.ReplayOptions{Device: c.ReplayDevice, Kind: c.ReplayKind, Field: c.ReplayField,
		Lon: c.ReplayLon, Lat: c.ReplayLat, Rate: c.Rate}, pub)
	line, _ := json.Marshal(sum)
	fmt.Fprintln(stdout, string(line))
	return runErr
}
