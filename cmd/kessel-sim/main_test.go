package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestParse checks kessel-sim's flags: each defaults from $KESSEL_<FLAG>,
// a flag beats its variable, and bad values are refused naming the flag.
func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(c config) bool
		wantErr string
	}{
		{name: "defaults", check: func(c config) bool {
			return c.Devices == 20 && c.Interval == 10*time.Second && !c.Quiet && !c.Simulated && c.ReplayLon == 9.18 && c.ReplayLat == 48.7784
		}},
		{name: "quiet from the environment", env: map[string]string{"KESSEL_QUIET": "true"}, check: func(c config) bool { return c.Quiet }},
		{name: "flag beats environment", args: []string{"--quiet=false", "--devices", "3"}, env: map[string]string{"KESSEL_QUIET": "1", "KESSEL_DEVICES": "7"},
			check: func(c config) bool { return !c.Quiet && c.Devices == 3 }},
		{name: "numbers from the environment", env: map[string]string{"KESSEL_DEVICES": "7", "KESSEL_INTERVAL": "1m", "KESSEL_RATE": "2.5", "KESSEL_SEED": "42"},
			check: func(c config) bool {
				return c.Devices == 7 && c.Interval == time.Minute && c.Rate == 2.5 && c.Seed == 42
			}},
		{name: "replay location", args: []string{"--replay-location", "11.5855, 48.1315"}, check: func(c config) bool { return c.ReplayLon == 11.5855 && c.ReplayLat == 48.1315 }},
		{name: "fixed start", args: []string{"--start", "2026-01-05T06:00:00Z", "--speedup", "100"}, check: func(c config) bool {
			return c.Simulated && c.Start.Equal(time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)) && c.Speedup == 100
		}},
		{name: "relative start", args: []string{"--start", "-72h", "--scenario", "flood", "--speedup", "1000"}, check: func(c config) bool {
			return c.Simulated && time.Since(c.Start) > 71*time.Hour && time.Since(c.Start) < 73*time.Hour
		}},

		{name: "replay location not a number", args: []string{"--replay-location", "9.18,north"}, wantErr: `--replay-location must be lon,lat in degrees (e.g. 9.18,48.7784), got "9.18,north"`},
		{name: "replay location one number", args: []string{"--replay-location", "9.18"}, wantErr: `--replay-location must be lon,lat`},
		{name: "replay location out of range", env: map[string]string{"KESSEL_REPLAY_LOCATION": "48.7,190"}, wantErr: `--replay-location must be lon,lat`},
		{name: "speedup without start", args: []string{"--scenario", "feinstaubalarm", "--speedup", "20000"}, wantErr: "--speedup 20000 needs --start in the past"},
		{name: "start without pace", args: []string{"--start", "-1h", "--interval", "0"}, wantErr: "--start needs --interval or --rate"},
		{name: "start in the future", args: []string{"--start", "2999-01-01T00:00:00Z"}, wantErr: "--start must not be in the future"},
		{name: "bad start", args: []string{"--start", "yesterday"}, wantErr: `--start "yesterday": use RFC 3339`},
		{name: "bad quiet in the environment", env: map[string]string{"KESSEL_QUIET": "very"}, wantErr: `$KESSEL_QUIET: "very" is not true or false`},
		{name: "bad devices in the environment", env: map[string]string{"KESSEL_DEVICES": "many"}, wantErr: `$KESSEL_DEVICES: "many" is not a whole number`},
		{name: "no devices", args: []string{"--devices", "0"}, wantErr: "--devices must be a whole number ≥ 1, got 0"},
		{name: "every bad value named", args: []string{"--faults", "2", "--connections", "99", "--scenario", "meteor"},
			wantErr: "--faults must be in [0,1], got 2\n--connections must be 1 to 64, got 99\n--scenario \"meteor\" is unknown"},
		{name: "sensor faults", args: []string{"--sensor-faults", "spike,stuck", "--sensor-fault-share", "0.5"}, check: func(c config) bool {
			return c.SensorFaults == "spike,stuck" && c.SensorFaultShare == 0.5
		}},
		{name: "unknown sensor fault", args: []string{"--sensor-faults", "spike,gremlins"}, wantErr: `--sensor-faults: simulators: unknown sensor fault "gremlins"`},
		{name: "sensor fault share out of range", args: []string{"--sensor-fault-share", "1.5"}, wantErr: "--sensor-fault-share must be in [0,1], got 1.5"},
		{name: "airrohr needs push", args: []string{"--formats", "native,airrohr"}, wantErr: "--formats airrohr needs --push"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
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
