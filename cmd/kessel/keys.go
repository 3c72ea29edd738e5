package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/broker"
)

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

// passwd implements `kessel passwd`: it prints the bcrypt hash of the
// first line read from in, for an entry under mqtt.users.
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
