package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/paulmach/orb"
	"go.yaml.in/yaml/v3"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/evidence"
	"github.com/kessel-city/kessel/quality"
)

// fileConfig is the YAML config file (--config). deploy/config/kessel.example.yaml
// documents every key.
type fileConfig struct {
	UnknownDevices string          `yaml:"unknown_devices"`
	Devices        []deviceConfig  `yaml:"devices"`
	APIKeys        []api.Key       `yaml:"api_keys"`
	Rules          []alert.Rule    `yaml:"rules"`
	Webhooks       []alert.Webhook `yaml:"webhooks"`
	Catalog        api.Catalog     `yaml:"catalog"`
	// Routes are the winter service's routes: named groups of sensors
	// that get a chain of evidence records each.
	Routes  []evidence.RouteConfig `yaml:"routes"`
	Quality quality.Config         `yaml:"quality"`
	// Districts is the district file, used when --districts is not given;
	// a relative path is relative to the config file.
	Districts struct {
		File     string `yaml:"file"`
		NameProp string `yaml:"name_prop"`
	} `yaml:"districts"`
	MQTT struct {
		// Anonymous lets clients without a username do anything on the
		// embedded broker; default: true when no users are listed.
		Anonymous *bool         `yaml:"anonymous"`
		Users     []broker.User `yaml:"users"`
	} `yaml:"mqtt"`
}

// brokerAuth returns the embedded broker's access rules.
func (c fileConfig) brokerAuth() broker.Auth {
	anon := len(c.MQTT.Users) == 0
	if c.MQTT.Anonymous != nil {
		anon = *c.MQTT.Anonymous
	}
	return broker.Auth{Anonymous: anon, Users: c.MQTT.Users}
}

type deviceConfig struct {
	ID         string                      `yaml:"id"`
	Kind       string                      `yaml:"kind"`
	Name       string                      `yaml:"name"`
	Location   *struct{ Lon, Lat float64 } `yaml:"location"`
	Department string                      `yaml:"department"`
	Visibility string                      `yaml:"visibility"`
	Labels     map[string]string           `yaml:"labels"`
	Units      map[string]string           `yaml:"units"`
	Levels     map[string][]kessel.Level   `yaml:"levels"`
	Class      string                      `yaml:"measurement_class"`
}

// loadConfig reads and validates the YAML file at path; unknown keys are
// errors, so a typo never passes silently.
func loadConfig(path string) (fileConfig, []kessel.Device, error) {
	var cfg fileConfig
	if path == "" {
		return cfg, nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, nil, fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return cfg, nil, fmt.Errorf("config %s: %w", path, err)
	}
	var devs []kessel.Device
	seen := map[string]bool{}
	for i, dc := range cfg.Devices {
		vis, err := kessel.ParseVisibility(dc.Visibility)
		if err != nil {
			return cfg, nil, fmt.Errorf("config %s: devices[%d] (%s): %s", path, i, dc.ID, kessel.ErrorMessage(err))
		}
		d := kessel.Device{ID: dc.ID, Kind: dc.Kind, Name: dc.Name, Department: dc.Department, Visibility: vis, Labels: dc.Labels, Units: dc.Units, MeasurementClass: kessel.MeasurementClass(dc.Class), Levels: dc.Levels}
		if dc.Location != nil {
			d.Location = &orb.Point{dc.Location.Lon, dc.Location.Lat}
		}
		if d.Kind == "" {
			return cfg, nil, fmt.Errorf("config %s: devices[%d] (%s): kind is required", path, i, dc.ID)
		}
		if err := d.Validate(); err != nil {
			return cfg, nil, fmt.Errorf("config %s: devices[%d]: %s", path, i, kessel.ErrorMessage(err))
		}
		if seen[d.ID] {
			return cfg, nil, fmt.Errorf("config %s: devices[%d]: id %q appears twice", path, i, d.ID)
		}
		seen[d.ID] = true
		devs = append(devs, d)
	}
	if err := cfg.Catalog.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("config %s: %s", path, kessel.ErrorMessage(err))
	}
	if err := cfg.Quality.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("config %s: %s", path, kessel.ErrorMessage(err))
	}
	for i := range cfg.Rules {
		if err := cfg.Rules[i].Validate(); err != nil {
			return cfg, nil, fmt.Errorf("config %s: rules[%d]: %s", path, i, kessel.ErrorMessage(err))
		}
	}
	routes := map[string]bool{}
	for i, r := range cfg.Routes {
		if err := r.Validate(); err != nil {
			return cfg, nil, fmt.Errorf("config %s: routes[%d]: %s", path, i, kessel.ErrorMessage(err))
		}
		if routes[r.ID] {
			return cfg, nil, fmt.Errorf("config %s: routes[%d]: id %q appears twice", path, i, r.ID)
		}
		routes[r.ID] = true
	}
	for i, w := range cfg.Webhooks {
		if err := w.Validate(); err != nil {
			return cfg, nil, fmt.Errorf("config %s: webhooks[%d]: %s", path, i, kessel.ErrorMessage(err))
		}
	}
	for i, u := range cfg.MQTT.Users {
		if err := u.Validate(); err != nil {
			return cfg, nil, fmt.Errorf("config %s: mqtt.users[%d]: %s", path, i, kessel.ErrorMessage(err))
		}
	}
	for i, k := range cfg.APIKeys {
		if err := k.Validate(); err != nil {
			return cfg, nil, fmt.Errorf("config %s: api_keys[%d]: %s", path, i, kessel.ErrorMessage(err))
		}
	}
	return cfg, devs, nil
}
