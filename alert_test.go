package kessel_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

var at = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// TestAlertWireForm: one JSON form with "state" as people see it, read
// back to the same alert; records of the older journal form still read.
func TestAlertWireForm(t *testing.T) {
	tests := []struct {
		name   string
		alert  kessel.Alert
		status string
	}{
		{"never fired", kessel.Alert{ID: "a", State: kessel.Inactive}, "inactive"},
		{"pending", kessel.Alert{ID: "a", State: kessel.Pending, ActiveAt: at, LastTrue: at}, "pending"},
		{"firing, keeping on", kessel.Alert{ID: "a", State: kessel.Firing, FiredAt: at, KeepFiringSince: at.Add(time.Minute), Labels: map[string]string{"x": "y"}}, "firing"},
		{"resolved", kessel.Alert{ID: "a", State: kessel.Inactive, FiredAt: at, ResolvedAt: at.Add(time.Hour), AckedBy: "tiefbau", AckedAt: at}, "resolved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.alert.Status(); got != tc.status {
				t.Errorf("Status() = %q, want %q", got, tc.status)
			}
			b, err := json.Marshal(tc.alert)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil || m["state"] != tc.status || m["id"] != "a" {
				t.Errorf("wire form %s: state %v, want %q", b, m["state"], tc.status)
			}
			var back kessel.Alert
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, tc.alert) {
				t.Errorf("read back %+v (%v), want %+v", back, err, tc.alert)
			}
		})
	}
}

func TestAlertWireFormReading(t *testing.T) {
	tests := []struct {
		name, doc string
		want      kessel.Alert
		err       string
	}{
		{"older journal record: resolved stored as inactive, zero timers written",
			`{"id":"o","rule_id":"r","subject":"d","value":3,"severity":"warning","visibility":"public","fired_at":"2026-11-23T08:00:00Z","resolved_at":"2026-11-23T09:00:00Z","state":"inactive","last_true":"2026-11-23T08:00:00Z","keep_firing_since":"0001-01-01T00:00:00Z"}`,
			kessel.Alert{ID: "o", RuleID: "r", Subject: "d", Value: 3, Severity: "warning", Visibility: kessel.Public, FiredAt: at, ResolvedAt: at.Add(time.Hour), LastTrue: at}, ""},
		{"firing", `{"id":"f","state":"firing","fired_at":"2026-11-23T08:00:00Z"}`, kessel.Alert{ID: "f", State: kessel.Firing, FiredAt: at}, ""},
		{"unknown state", `{"id":"x","state":"exploded"}`, kessel.Alert{}, "unknown state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a kessel.Alert
			err := json.Unmarshal([]byte(tc.doc), &a)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(a, tc.want) {
				t.Errorf("read %+v (%v), want %+v", a, err, tc.want)
			}
		})
	}
}

// TestAlertQueryMatches: the filters of GET /alerts.
func TestAlertQueryMatches(t *testing.T) {
	firing := kessel.Alert{State: kessel.Firing, Kind: "air_quality", Severity: "warning", Visibility: kessel.Public, FiredAt: at}
	resolved := kessel.Alert{State: kessel.Inactive, Visibility: kessel.Public, FiredAt: at, ResolvedAt: at.Add(time.Hour)}
	internal := firing
	internal.Visibility = kessel.Internal
	tests := []struct {
		name string
		q    kessel.AlertQuery
		a    kessel.Alert
		want bool
	}{
		{"everything", kessel.AlertQuery{}, firing, true},
		{"never fired is never listed", kessel.AlertQuery{IncludeInternal: true}, kessel.Alert{Visibility: kessel.Public}, false},
		{"resolved by state", kessel.AlertQuery{State: "resolved"}, resolved, true},
		{"firing is not resolved", kessel.AlertQuery{State: "resolved"}, firing, false},
		{"internal hidden", kessel.AlertQuery{}, internal, false},
		{"internal shown", kessel.AlertQuery{IncludeInternal: true}, internal, true},
		{"since the last change", kessel.AlertQuery{Since: at.Add(30 * time.Minute)}, resolved, true},
		{"older than since", kessel.AlertQuery{Since: at.Add(30 * time.Minute)}, firing, false},
		{"other kind", kessel.AlertQuery{Kind: "noise"}, firing, false},
	}
	for _, tc := range tests {
		if got := tc.q.Matches(tc.a); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}
