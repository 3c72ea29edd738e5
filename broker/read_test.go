package broker

import (
	"strconv"
	"testing"

	"github.com/kessel-city/kessel"
)

// TestReadAllByAddress: with no users, only anonymous clients on the
// broker's own host read internal data; the same development broker
// listening on a public address shows others public data only.
func TestReadAllByAddress(t *testing.T) {
	for _, tc := range []struct {
		name    string
		devMode bool
		remote  string
		want    bool
	}{
		{"loopback v4", true, "127.0.0.1:50000", true},
		{"loopback v6", true, "[::1]:50000", true},
		{"loopback mapped", true, "[::ffff:127.0.0.1]:50000", true},
		{"LAN", true, "192.168.1.20:50000", false},
		{"public v6", true, "[2001:db8::1]:50000", false},
		{"not an address", true, "pipe", false},
		{"loopback with users configured", false, "127.0.0.1:50000", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReadRules(tc.devMode, nil)
			if got := r.all(tc.remote); got != tc.want {
				t.Errorf("all(%s) = %v, want %v", tc.remote, got, tc.want)
			}
		})
	}
}

// TestPublicTopics: what a client without the right to internal data may
// subscribe to (filters that can match a public topic; each message is
// checked again on delivery) and receive.
func TestPublicTopics(t *testing.T) {
	r := newReadRules(false, func(dev string) (kessel.Visibility, bool) {
		switch dev {
		case "made-internal":
			return kessel.Internal, true
		case "known-public":
			return kessel.Public, true
		}
		return "", false
	})
	for dev, payload := range map[string]string{
		"pub":           `{"kind":"noise"}`,
		"int":           `{"kind":"noise","visibility":"internal"}`,
		"bad":           `{"kind":"noise","visibility":"secret"}`,
		"garbage":       `not json`,
		"made-internal": `{"visibility":"public"}`,
		"known-public":  `{"visibility":"public"}`,
	} {
		r.observeMeta(dev, []byte(payload), true)
	}
	for _, tc := range []struct {
		topic string
		want  bool
	}{
		{"kessel/alerts/public/pm10/air-1", true},
		{"kessel/alerts/internal/frost/road-1", false},
		{"kessel/alerts/pm10/air-1", false}, // the layout before the split
		{"kessel/alerts/public", false},
		{"kessel/devices/pub/meta", true},
		{"kessel/devices/known-public/meta", true},
		{"kessel/devices/int/meta", false},
		{"kessel/devices/bad/meta", false},
		{"kessel/devices/garbage/meta", false},
		{"kessel/devices/made-internal/meta", false},
		{"kessel/devices/never-described/meta", false},
		{"kessel/devices/pub/readings", false},
		{"$SYS/broker/clients/connected", false},
		// filters
		{"#", true},
		{"kessel/#", true},
		{"kessel/alerts/#", true},
		{"kessel/alerts/+/pm10/+", true},
		{"kessel/alerts/public/#", true},
		{"kessel/alerts/internal/#", false},
		{"kessel/alerts/internal/+/+", false},
		{"kessel/devices/+/meta", true},
		{"kessel/devices/+/readings", false},
		{"kessel/devices/#", true},
		{"+/+/+/+", true},
		{"+/+", false},
		{"$share/g/kessel/alerts/public/#", false},
		{"v3/+/devices/+/up", false},
	} {
		if got := r.public(tc.topic); got != tc.want {
			t.Errorf("public(%s) = %v, want %v", tc.topic, got, tc.want)
		}
	}
}

// TestMetaVisibilityHistory: a device's self-description is public only
// while both its latest and its retained description say so.
func TestMetaVisibilityHistory(t *testing.T) {
	const pub, internal = `{"visibility":"public"}`, `{"visibility":"internal"}`
	type publish struct {
		payload string
		retain  bool
	}
	for _, tc := range []struct {
		name  string
		steps []publish
		want  bool
	}{
		{"retained public", []publish{{pub, true}}, true},
		{"retained internal", []publish{{internal, true}}, false},
		{"retained internal, then live public", []publish{{internal, true}, {pub, false}}, false},
		{"retained public, then live internal", []publish{{pub, true}, {internal, false}}, false},
		{"retained internal, then retained public", []publish{{internal, true}, {pub, true}}, true},
		{"retained internal cleared, then live public", []publish{{internal, true}, {"", true}, {pub, false}}, true},
		{"live public only", []publish{{pub, false}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReadRules(false, nil)
			for _, p := range tc.steps {
				r.observeMeta("d", []byte(p.payload), p.retain)
			}
			if got := r.publicDevice("d"); got != tc.want {
				t.Errorf("public = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMetaDevicesBounded: beyond maxMetaDevices, new devices are not
// remembered and count as internal; known ones still update.
func TestMetaDevicesBounded(t *testing.T) {
	r := newReadRules(false, nil)
	for i := range maxMetaDevices {
		r.meta["dev-"+strconv.Itoa(i)] = metaState{live: metaPublic}
	}
	r.observeMeta("new", []byte(`{}`), true)
	if r.publicDevice("new") || len(r.meta) != maxMetaDevices {
		t.Errorf("a device beyond the bound was remembered (%d devices)", len(r.meta))
	}
	r.observeMeta("dev-0", []byte(`{"visibility":"internal"}`), true)
	if r.publicDevice("dev-0") {
		t.Error("a known device's change was ignored at the bound")
	}
}
