// Package envflag registers command-line flags whose defaults come from the
// environment: with the prefix KESSEL_, the flag --max-payload defaults to
// $KESSEL_MAX_PAYLOAD, and a flag given on the command line beats both.
// Both of Kessel's commands read their flags this way.
package envflag

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Set registers flags on a flag.FlagSet, each defaulting from the
// environment. A value in the environment that does not parse is not
// fatal at once: Err reports every such value after the flags are
// registered. A Set is not safe for concurrent use.
type Set struct {
	fs     *flag.FlagSet
	prefix string
	getenv func(string) string
	errs   []error
}

// New returns a Set that registers on fs and reads prefix+NAME through
// getenv (os.Getenv, or a map's lookup in tests).
func New(fs *flag.FlagSet, prefix string, getenv func(string) string) *Set {
	return &Set{fs: fs, prefix: prefix, getenv: getenv}
}

// EnvName returns the variable a flag defaults from: prefix plus the
// flag's name in capitals, dashes as underscores (max-age: KESSEL_MAX_AGE).
func (s *Set) EnvName(flag string) string {
	return s.prefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// fromEnv returns the environment's value for the flag name parsed by
// parse, or def when the variable is unset or empty. A value that does not
// parse is remembered for Err, naming the variable and what it should be.
func fromEnv[T any](s *Set, name string, def T, parse func(string) (T, error), want string) T {
	v := s.getenv(s.EnvName(name))
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("$%s: %q is not %s", s.EnvName(name), v, want))
		return def
	}
	return x
}

func (s *Set) help(name, help string) string { return help + " ($" + s.EnvName(name) + ")" }

func parseString(v string) (string, error) { return v, nil }

func parseFloat(v string) (float64, error) { return strconv.ParseFloat(v, 64) }

func parseUint64(v string) (uint64, error) { return strconv.ParseUint(v, 10, 64) }

// String registers a string flag.
func (s *Set) String(p *string, name, def, help string) {
	s.fs.StringVar(p, name, fromEnv(s, name, def, parseString, "a string"), s.help(name, help))
}

// Int registers an int flag.
func (s *Set) Int(p *int, name string, def int, help string) {
	s.fs.IntVar(p, name, fromEnv(s, name, def, strconv.Atoi, "a whole number"), s.help(name, help))
}

// Uint64 registers a uint64 flag.
func (s *Set) Uint64(p *uint64, name string, def uint64, help string) {
	s.fs.Uint64Var(p, name, fromEnv(s, name, def, parseUint64, "a whole number ≥ 0"), s.help(name, help))
}

// Float64 registers a float64 flag.
func (s *Set) Float64(p *float64, name string, def float64, help string) {
	s.fs.Float64Var(p, name, fromEnv(s, name, def, parseFloat, "a number"), s.help(name, help))
}

// Bool registers a bool flag; the environment takes what strconv.ParseBool
// takes (1, true, 0, false, …).
func (s *Set) Bool(p *bool, name string, def bool, help string) {
	s.fs.BoolVar(p, name, fromEnv(s, name, def, strconv.ParseBool, "true or false"), s.help(name, help))
}

// Duration registers a time.Duration flag.
func (s *Set) Duration(p *time.Duration, name string, def time.Duration, help string) {
	s.fs.DurationVar(p, name, fromEnv(s, name, def, time.ParseDuration, "a duration such as 10s"), s.help(name, help))
}

// Err returns every environment value that did not parse, nil if none.
func (s *Set) Err() error { return errors.Join(s.errs...) }

// Parse parses args and then reports, before anything else, a value in
// the environment that did not parse.
func (s *Set) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	return s.Err()
}
