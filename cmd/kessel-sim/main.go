// Command kessel-sim publishes a simulated city sensor fleet to an MQTT
// broker, so that Kessel can be run, tested and benchmarked without
// hardware. Progress goes to stderr; at the end one line of JSON on stdout
// summarises what was sent. Every flag can also be set as KESSEL_<FLAG>.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kessel-city/kessel/geo"
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
	Start                                time.Time
	Speedup                              float64
	Replay, ReplayDevice, ReplayKind     string
	ReplayField, ReplayColumn, ReplayTZ  string
	ReplayLon, ReplayLat                 float64
	Connections                          int
	Mobile                               float64
}

func envName(name string) string {
	return "KESSEL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("kessel-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var errs []error
	env := func(name, def string) string {
		if v := getenv(envName(name)); v != "" {
			return v
		}
		return def
	}
	str := func(p *string, name, def, help string) {
		fs.StringVar(p, name, env(name, def), help+" ($"+envName(name)+")")
	}
	num := func(name, def, help string) *string {
		s := new(string)
		fs.StringVar(s, name, env(name, def), help+" ($"+envName(name)+")")
		return s
	}
	str(&c.Broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	str(&c.ClientID, "client-id", fmt.Sprintf("kessel-sim-%d", os.Getpid()), "MQTT client id")
	str(&c.Username, "username", "", "MQTT username")
	str(&c.Password, "password", "", "MQTT password (prefer the environment)")
	str(&c.Push, "push", "", "Kessel's HTTP base URL, for devices that push over HTTP (airrohr), e.g. http://127.0.0.1:8080")
	devices := num("devices", "20", "fleet size")
	str(&c.Kinds, "kinds", strings.Join(simulators.Kinds, ","), "comma-separated device kinds")
	str(&c.Formats, "formats", "native", "wire formats, assigned round-robin: "+strings.Join(simulators.Formats, ","))
	interval := num("interval", "10s", "how often each device sends; 0 = as fast as --rate allows")
	rate := num("rate", "0", "cap on messages per second over the fleet; 0 = no cap")
	count := num("count", "0", "stop after this many readings; 0 = run until stopped")
	seed := num("seed", "1", "random seed: same seed, same fleet and values")
	faults := num("faults", "0", "share of bad messages (0..1)")
	str(&c.Scenario, "scenario", "", "scenario to play: "+strings.Join(simulators.Scenarios, ", "))
	start := num("start", "", "simulated start time: RFC 3339 or relative such as -72h (backfills history); default now")
	speedup := num("speedup", "1", "simulated time runs this many times faster than real time (stops at the present)")
	str(&c.Districts, "districts", "", "GeoJSON of districts to place devices in")
	str(&c.DistrictProp, "district-name-prop", "name", "feature property naming a district")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress lines on stderr")
	conns := num("connections", "1", "MQTT connections to publish over (a device always uses the same one)")
	mobile := num("mobile", "0", "share (0..1) of air_quality devices that ride the tram line and report their position")
	str(&c.Replay, "replay", "", "replay a real time series from this CSV file as one device instead of simulating a fleet")
	str(&c.ReplayDevice, "replay-device", "replay-1", "device id for --replay")
	str(&c.ReplayKind, "replay-kind", "water_level", "device kind for --replay")
	str(&c.ReplayField, "replay-field", "level", "field name for the replayed values")
	str(&c.ReplayColumn, "replay-column", "", "CSV column to replay (prefix of its header; default: the first numeric column)")
	str(&c.ReplayTZ, "replay-tz", "UTC", "zone of times without an offset, e.g. Europe/Berlin (an LfU file's 'Zeitbezug: MEZ' is honoured)")
	replayAt := num("replay-location", "9.1800,48.7784", "lon,lat of the replayed device")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var err error
	if c.Devices, err = strconv.Atoi(*devices); err != nil || c.Devices < 1 {
		errs = append(errs, fmt.Errorf("--devices must be a whole number ≥ 1, got %q", *devices))
	}
	if c.Interval, err = time.ParseDuration(*interval); err != nil || c.Interval < 0 {
		errs = append(errs, fmt.Errorf("--interval must be a duration such as 10s, got %q", *interval))
	}
	if c.Rate, err = strconv.ParseFloat(*rate, 64); err != nil || c.Rate < 0 {
		errs = append(errs, fmt.Errorf("--rate must be ≥ 0, got %q", *rate))
	}
	if c.Count, err = strconv.Atoi(*count); err != nil || c.Count < 0 {
		errs = append(errs, fmt.Errorf("--count must be a whole number ≥ 0, got %q", *count))
	}
	if c.Seed, err = strconv.ParseUint(*seed, 10, 64); err != nil {
		errs = append(errs, fmt.Errorf("--seed must be a whole number, got %q", *seed))
	}
	if c.Faults, err = strconv.ParseFloat(*faults, 64); err != nil || c.Faults < 0 || c.Faults > 1 {
		errs = append(errs, fmt.Errorf("--faults must be in [0,1], got %q", *faults))
	}
	for _, f := range strings.Split(c.Formats, ",") {
		if !slices.Contains(simulators.Formats, f) {
			errs = append(errs, fmt.Errorf("--formats: %q is unknown (known: %s)", f, strings.Join(simulators.Formats, ",")))
		}
		if f == "airrohr" && c.Push == "" {
			errs = append(errs, errors.New("--formats airrohr needs --push (Kessel's HTTP base URL)"))
		}
	}
	if c.Mobile, err = strconv.ParseFloat(*mobile, 64); err != nil || c.Mobile < 0 || c.Mobile > 1 {
		errs = append(errs, fmt.Errorf("--mobile must be in [0,1], got %q", *mobile))
	}
	if c.Connections, err = strconv.Atoi(*conns); err != nil || c.Connections < 1 || c.Connections > 64 {
		errs = append(errs, fmt.Errorf("--connections must be 1 to 64, got %q", *conns))
	}
	if ll := strings.Split(*replayAt, ","); len(ll) == 2 {
		c.ReplayLon, _ = strconv.ParseFloat(ll[0], 64)
		c.ReplayLat, _ = strconv.ParseFloat(ll[1], 64)
	} else {
		errs = append(errs, fmt.Errorf("--replay-location must be lon,lat, got %q", *replayAt))
	}
	if c.Scenario != "" && !slices.Contains(simulators.Scenarios, c.Scenario) {
		errs = append(errs, fmt.Errorf("--scenario %q is unknown (known: %s)", c.Scenario, strings.Join(simulators.Scenarios, ", ")))
	}
	if c.Speedup, err = strconv.ParseFloat(*speedup, 64); err != nil || c.Speedup < 1 {
		errs = append(errs, fmt.Errorf("--speedup must be a number ≥ 1, got %q", *speedup))
	}
	c.Start = time.Now()
	switch {
	case *start == "":
	case strings.HasPrefix(*start, "-"):
		d, err := time.ParseDuration((*start)[1:])
		if err != nil {
			errs = append(errs, fmt.Errorf("--start %q: use RFC 3339 or a relative time such as -72h", *start))
		}
		c.Start = c.Start.Add(-d)
	default:
		t, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			errs = append(errs, fmt.Errorf("--start %q: use RFC 3339 or a relative time such as -72h", *start))
		}
		c.Start = t
	}
	if c.Start.After(time.Now().Add(time.Minute)) {
		errs = append(errs, errors.New("--start must not be in the future: Kessel refuses readings from the future"))
	}
	return c, errors.Join(errs...)
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
	pub, err := simulators.DialPool(ctx, c.Broker, c.ClientID, c.Username, c.Password, c.Connections)
	if err != nil {
		return err
	}
	defer pub.Close()
	ro := simulators.RunOptions{Interval: c.Interval, Rate: c.Rate, Count: c.Count, Faults: c.Faults, Seed: c.Seed, Speedup: c.Speedup}
	if c.Speedup > 1 || !c.Start.IsZero() {
		simStart, realStart, speed := c.Start, time.Now(), c.Speedup
		ro.Now = func() time.Time { return simStart.Add(time.Duration(float64(time.Since(realStart)) * speed)) }
	}
	if c.Scenario != "" {
		ro.Scenario, _ = simulators.NewScenario(c.Scenario, c.Start)
	}
	router := simulators.Router{MQTT: pub}
	if c.Push != "" {
		router.HTTP = simulators.NewHTTPPusher(strings.TrimRight(c.Push, "/"))
	}
	if !c.Quiet {
		ro.Progress = stderr
		fmt.Fprintf(stderr, "kessel-sim: %d devices publishing to %s\n", len(fleet), c.Broker)
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
