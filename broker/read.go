package broker

import (
	"encoding/json"
	"net/netip"
	"strings"
	"sync"

	"github.com/kessel-city/kessel"
)

// publicFilters are the topics a client without the right to read
// internal data may read: public alerts, devices' self-descriptions and
// SensorThings Datastreams' observations (of public devices only, checked
// per device on every delivery).
var publicFilters = [][]string{
	strings.Split(kessel.PublicAlertTopicPrefix+"#", "/"),
	strings.Split(kessel.DeviceTopicPrefix+"+/meta", "/"),
	strings.Split(kessel.STATopicPrefix+"+/Observations", "/"),
}

// maxMetaDevices bounds the devices whose declared visibility the broker
// remembers; a self-description beyond it is treated as internal.
const maxMetaDevices = 1 << 17

// Declared visibility of a device's self-description.
const (
	metaNone int8 = iota
	metaPublic
	metaInternal
)

// readRules decides what clients without the right to read everything may
// read. It is safe for concurrent use.
type readRules struct {
	devMode bool // anonymous and no users: loopback clients read everything
	// visibility is the operator's word on a device (the registry's), if
	// known; nil when the broker has no registry at hand.
	visibility func(device string) (kessel.Visibility, bool)
	mu         sync.RWMutex
	meta       map[string]metaState
}

// metaState is what a device's latest self-description declared, and its
// retained one (the one a new subscriber gets).
type metaState struct{ live, retained int8 }

// newReadRules returns the rules; devMode is set when anonymous clients
// are allowed and there are no users.
func newReadRules(devMode bool, visibility func(string) (kessel.Visibility, bool)) *readRules {
	return &readRules{devMode: devMode, visibility: visibility, meta: map[string]metaState{}}
}

// all reports whether an anonymous client at remote may read everything:
// in development mode, the tools on the broker's own host.
func (r *readRules) all(remote string) bool {
	if !r.devMode {
		return false
	}
	ap, err := netip.ParseAddrPort(remote)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// public reports whether a client without the right to internal data may
// read topic. For a filter with wildcards it reports whether the filter
// can match a public topic: the broker checks each message's topic again
// when it delivers it, so such a subscription receives only public ones.
func (r *readRules) public(topic string) bool {
	if strings.ContainsAny(topic, "+#") {
		levels := strings.Split(topic, "/")
		for _, f := range publicFilters {
			if filtersOverlap(levels, f) {
				return true
			}
		}
		return false
	}
	if strings.HasPrefix(topic, kessel.PublicAlertTopicPrefix) {
		return true
	}
	if dev, ok := kessel.STATopicDevice(topic); ok {
		v, known := kessel.Visibility(""), false
		if r.visibility != nil {
			v, known = r.visibility(dev)
		}
		return known && v == kessel.Public
	}
	dev, ok := kessel.MetaTopicDevice(topic)
	return ok && r.publicDevice(dev)
}

// filtersOverlap reports whether some topic matches both filters, given as
// their levels.
func filtersOverlap(a, b []string) bool {
	for i := 0; ; i++ {
		switch {
		case i < len(a) && a[i] == "#", i < len(b) && b[i] == "#":
			return true
		case i == len(a) || i == len(b):
			return len(a) == len(b)
		case a[i] != "+" && b[i] != "+" && a[i] != b[i]:
			return false
		}
	}
}

// publicDevice: the device's self-descriptions (the latest and the
// retained one) say public, and the operator has not made it internal.
// A device the broker has no self-description of is not public.
func (r *readRules) publicDevice(dev string) bool {
	r.mu.RLock()
	st, ok := r.meta[dev]
	r.mu.RUnlock()
	if !ok || st.live != metaPublic || st.retained == metaInternal {
		return false
	}
	if r.visibility != nil {
		if v, known := r.visibility(dev); known && v != kessel.Public {
			return false
		}
	}
	return true
}

// observeMeta records what a self-description published for dev declares.
// A payload that does not declare a valid visibility counts as internal;
// an empty retained one removes the retained description.
func (r *readRules) observeMeta(dev string, payload []byte, retain bool) {
	vis := metaVisibility(payload)
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.meta[dev]
	if !ok && len(r.meta) >= maxMetaDevices {
		return
	}
	st.live = vis
	if retain {
		st.retained = vis
		if len(payload) == 0 {
			st.retained = metaNone
		}
	}
	r.meta[dev] = st
}

func metaVisibility(payload []byte) int8 {
	var m struct {
		Visibility string `json:"visibility"`
	}
	if json.Unmarshal(payload, &m) != nil {
		return metaInternal
	}
	if v, err := kessel.ParseVisibility(m.Visibility); err != nil || v != kessel.Public {
		return metaInternal
	}
	return metaPublic
}
