package envflag

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

type values struct {
	s string
	i int
	u uint64
	f float64
	b bool
	d time.Duration
}

func parse(args []string, env map[string]string) (values, error) {
	var v values
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e := New(fs, "KESSEL_", func(k string) string { return env[k] })
	e.String(&v.s, "name", "def", "")
	e.Int(&v.i, "max-payload", 7, "")
	e.Uint64(&v.u, "seed", 1, "")
	e.Float64(&v.f, "rate", 0.5, "")
	e.Bool(&v.b, "quiet", false, "")
	e.Duration(&v.d, "max-age", time.Second, "")
	return v, e.Parse(args)
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    values
		wantErr string
	}{
		{name: "defaults", want: values{"def", 7, 1, 0.5, false, time.Second}},
		{name: "environment beats default",
			env:  map[string]string{"KESSEL_NAME": "e", "KESSEL_MAX_PAYLOAD": "9", "KESSEL_SEED": "4", "KESSEL_RATE": "2", "KESSEL_QUIET": "true", "KESSEL_MAX_AGE": "1m"},
			want: values{"e", 9, 4, 2, true, time.Minute}},
		{name: "flag beats environment",
			args: []string{"--name", "f", "--max-payload", "3", "--quiet=false", "--max-age", "2h"},
			env:  map[string]string{"KESSEL_NAME": "e", "KESSEL_MAX_PAYLOAD": "9", "KESSEL_QUIET": "1", "KESSEL_MAX_AGE": "1m"},
			want: values{"f", 3, 1, 0.5, false, 2 * time.Hour}},
		{name: "bare bool flag", args: []string{"--quiet"}, want: values{"def", 7, 1, 0.5, true, time.Second}},
		{name: "bad int in environment", env: map[string]string{"KESSEL_MAX_PAYLOAD": "big"}, wantErr: `$KESSEL_MAX_PAYLOAD: "big" is not a whole number`},
		{name: "bad bool in environment", env: map[string]string{"KESSEL_QUIET": "yes please"}, wantErr: `$KESSEL_QUIET: "yes please" is not true or false`},
		{name: "bad duration in environment", env: map[string]string{"KESSEL_MAX_AGE": "3"}, wantErr: `$KESSEL_MAX_AGE: "3" is not a duration`},
		{name: "every bad value named", env: map[string]string{"KESSEL_SEED": "-1", "KESSEL_RATE": "fast"}, wantErr: `$KESSEL_SEED: "-1" is not a whole number ≥ 0` + "\n" + `$KESSEL_RATE: "fast" is not a number`},
		{name: "bad flag", args: []string{"--max-payload", "x"}, wantErr: `invalid value "x" for flag -max-payload`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(tc.args, tc.env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHelpNamesTheVariable(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var out strings.Builder
	fs.SetOutput(&out)
	var d time.Duration
	New(fs, "KESSEL_", func(string) string { return "" }).Duration(&d, "flush-interval", 0, "how long")
	fs.PrintDefaults()
	if !strings.Contains(out.String(), "-flush-interval duration") || !strings.Contains(out.String(), "how long ($KESSEL_FLUSH_INTERVAL)") {
		t.Errorf("help: %q", out.String())
	}
}
