package kessel_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestRuleJSON: durations as Go duration strings; every field round-trips;
// unknown keys and bad durations are EINVALID naming what is wrong.
func TestRuleJSON(t *testing.T) {
	clear := 45.0
	full := kessel.Rule{ID: "pm", Name: "n", Kind: "air_quality", Devices: []string{"a"}, District: "Mitte", Area: true, Field: "pm10", Condition: "mean", Op: ">",
		Threshold: 50, Window: 24 * time.Hour, Silence: time.Minute, Clear: &clear, For: 10 * time.Minute, KeepFiringFor: 90 * time.Second,
		Severity: "warning", Visibility: kessel.Public, Labels: map[string]string{"x": "y"}, Summary: "s"}
	b, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["window"] != "24h0m0s" || m["keep_firing_for"] != "1m30s" || len(m) != 19 {
		t.Errorf("JSON form %s: want 19 keys with durations as strings", b)
	}
	var back kessel.Rule
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, full) {
		t.Errorf("read back %+v (%v), want %+v", back, err, full)
	}
	if b, _ := json.Marshal(kessel.Rule{ID: "x", Kind: "k", Condition: "silence"}); string(b) != `{"id":"x","kind":"k","condition":"silence","threshold":0}` {
		t.Errorf("empty fields written: %s", b)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown key", `{"id":"x","kind":"k","condition":"mean","windw":"1h"}`, "windw"},
		{"bad duration", `{"id":"x","kind":"k","condition":"mean","window":"a day"}`, "window"},
		{"bad for", `{"id":"x","kind":"k","condition":"mean","for":"5"}`, "for"},
	} {
		var r kessel.Rule
		err := json.Unmarshal([]byte(tc.doc), &r)
		if kessel.ErrorCode(err) != kessel.EINVALID || !strings.Contains(kessel.ErrorMessage(err), tc.want) {
			t.Errorf("%s: %v, want EINVALID naming %s", tc.name, err, tc.want)
		}
	}
}
