package kessel_test

import (
	"testing"

	"github.com/kessel-city/kessel"
)

// TestAlertTopic: the topic says whether an alert is internal, so that a
// broker can let only service logins read internal ones; an alert without
// a visibility counts as internal.
func TestAlertTopic(t *testing.T) {
	for _, tc := range []struct {
		name string
		vis  kessel.Visibility
		want string
	}{
		{"public", kessel.Public, "kessel/alerts/public/frost/road-1"},
		{"internal", kessel.Internal, "kessel/alerts/internal/frost/road-1"},
		{"unset", "", "kessel/alerts/internal/frost/road-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kessel.AlertTopic(kessel.Alert{RuleID: "frost", Subject: "road-1", Visibility: tc.vis}); got != tc.want {
				t.Errorf("AlertTopic = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestMetaTopicDevice(t *testing.T) {
	for _, tc := range []struct {
		topic, dev string
		ok         bool
	}{
		{"kessel/devices/air-1/meta", "air-1", true},
		{kessel.MetaTopic("urn:dev:1"), "urn:dev:1", true},
		{"kessel/devices/air-1/readings", "", false},
		{"kessel/devices//meta", "", false},
		{"kessel/devices/a/b/meta", "", false},
		{"kessel/devices/+/meta", "", false},
		{"kessel/alerts/public/x/meta", "", false},
	} {
		dev, ok := kessel.MetaTopicDevice(tc.topic)
		if dev != tc.dev || ok != tc.ok {
			t.Errorf("MetaTopicDevice(%q) = %q, %v; want %q, %v", tc.topic, dev, ok, tc.dev, tc.ok)
		}
	}
}

func TestSTATopicDevice(t *testing.T) {
	for _, tc := range []struct {
		topic, dev string
		ok         bool
	}{
		{kessel.STAObservationsTopic("air-1", "pm10"), "air-1", true},
		{kessel.STAObservationsTopic("urn:dev:1", "pm25"), "urn:dev:1", true},
		{"v1.1/Datastreams('air-1')/Observations", "", false},
		{"v1.1/Datastreams('air-1:PM10')/Observations", "", false},
		{"v1.1/Datastreams(+)/Observations", "", false},
		{"v1.1/Datastreams('air-1:pm10')/Thing", "", false},
		{"v1.0/Datastreams('air-1:pm10')/Observations", "", false},
	} {
		dev, ok := kessel.STATopicDevice(tc.topic)
		if dev != tc.dev || ok != tc.ok {
			t.Errorf("STATopicDevice(%q) = %q, %v; want %q, %v", tc.topic, dev, ok, tc.dev, tc.ok)
		}
	}
}
