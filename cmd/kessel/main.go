// Command kessel is the Kessel hub. `kessel serve` runs every role in one
// process: MQTT ingest (with an optional embedded broker), the REST API and
// the operational endpoints. Run `kessel serve -h` for its flags; each flag
// can also be set as KESSEL_<FLAG_IN_CAPS>.
//
// The files: main.go dispatches the commands; flags.go and config.go turn
// flags, environment and config file (configfile.go) into one validated
// config; serve.go lists the hub's components in start order and stops
// them in reverse; components_*.go build and start each one; keys.go holds
// the key and password helpers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
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
  evidence verify  check a chain of winter-service evidence records: kessel evidence verify --subject sensor:ID [--dir DIR]
  passwd     read an MQTT password on standard input, print its bcrypt hash for mqtt.users
  version    print the version
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// run runs the command args names, with the environment read through
// getenv and the standard streams given, until it is done or ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
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
		return passwd(stdin, stdout)
	case "evidence":
		return evidenceCmd(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
