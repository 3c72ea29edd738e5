package kessel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Conditions a rule can test.
const (
	CondThreshold = "threshold" // the latest value
	CondMean      = "mean"      // mean over Window
	CondMax       = "max"       // max over Window
	CondMin       = "min"       // min over Window
	CondRate      = "rate"      // change over Window (latest minus oldest)
	CondSilence   = "silence"   // no reading for Silence
)

// Rule selects devices and says when their readings make an alert.
type Rule struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name"`
	Kind     string   `yaml:"kind"`     // device kind; required
	Devices  []string `yaml:"devices"`  // scope: these devices only
	District string   `yaml:"district"` // scope: devices in this district
	// Area makes one alert for the whole District: the condition is tested
	// on the mean of the latest values of its public devices of Kind.
	Area  bool   `yaml:"area"`
	Field string `yaml:"field"` // not for silence

	Condition string        `yaml:"condition"`
	Op        string        `yaml:"op"` // >, >=, <, <=
	Threshold float64       `yaml:"threshold"`
	Window    time.Duration `yaml:"window"`
	Silence   time.Duration `yaml:"silence"`
	// Clear, when set, is the threshold the value must cross back over
	// before a firing alert resolves (hysteresis).
	Clear *float64 `yaml:"clear"`

	For           time.Duration     `yaml:"for"`
	KeepFiringFor time.Duration     `yaml:"keep_firing_for"`
	Severity      string            `yaml:"severity"`   // info, warning, critical
	Visibility    Visibility        `yaml:"visibility"` // public or internal
	Labels        map[string]string `yaml:"labels"`
	Summary       string            `yaml:"summary"`
}

// Validate checks a rule and returns an EINVALID error naming the rule and
// the field at fault.
func (r *Rule) Validate() error {
	bad := func(field, format string, args ...any) error {
		return Errorf(EINVALID, "rule %q: %s: %s", r.ID, field, fmt.Sprintf(format, args...))
	}
	if !ValidDeviceID(r.ID) {
		return bad("id", "%s", DeviceIDRule)
	}
	if !ValidFieldName(r.Kind) {
		return bad("kind", "a device kind such as air_quality is required")
	}
	switch r.Condition {
	case CondThreshold, CondMean, CondMax, CondMin, CondRate:
		if !ValidFieldName(r.Field) {
			return bad("field", "a field name such as pm10 is required")
		}
		if !slices.Contains([]string{">", ">=", "<", "<="}, r.Op) {
			return bad("op", "use >, >=, < or <=, not %q", r.Op)
		}
		if r.Condition != CondThreshold && r.Window <= 0 {
			return bad("window", "%s needs a window such as 24h", r.Condition)
		}
		if r.Window > 7*24*time.Hour {
			return bad("window", "at most 7 days")
		}
	case CondSilence:
		if r.Silence <= 0 {
			return bad("silence", "a duration such as 30m is required")
		}
	default:
		return bad("condition", "use threshold, mean, max, min, rate or silence, not %q", r.Condition)
	}
	if r.For < 0 || r.KeepFiringFor < 0 {
		return bad("for", "durations must not be negative")
	}
	if r.Severity == "" {
		r.Severity = "warning"
	}
	if !slices.Contains([]string{"info", "warning", "critical"}, r.Severity) {
		return bad("severity", "use info, warning or critical, not %q", r.Severity)
	}
	if r.Visibility == "" {
		r.Visibility = Internal
	}
	if _, err := ParseVisibility(string(r.Visibility)); err != nil {
		return bad("visibility", "use public or internal")
	}
	if r.Area && (r.District == "" || r.Condition == CondSilence) {
		return bad("area", "an area rule needs a district and a value condition")
	}
	for _, d := range r.Devices {
		if !ValidDeviceID(d) {
			return bad("devices", "%q is not a device id", d)
		}
	}
	return nil
}

// ruleJSON is Rule with durations as strings ("24h"), for the API.
type ruleJSON struct {
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	Kind          string            `json:"kind"`
	Devices       []string          `json:"devices,omitempty"`
	District      string            `json:"district,omitempty"`
	Area          bool              `json:"area,omitempty"`
	Field         string            `json:"field,omitempty"`
	Condition     string            `json:"condition"`
	Op            string            `json:"op,omitempty"`
	Threshold     float64           `json:"threshold"`
	Window        string            `json:"window,omitempty"`
	Silence       string            `json:"silence,omitempty"`
	Clear         *float64          `json:"clear,omitempty"`
	For           string            `json:"for,omitempty"`
	KeepFiringFor string            `json:"keep_firing_for,omitempty"`
	Severity      string            `json:"severity,omitempty"`
	Visibility    Visibility        `json:"visibility,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Summary       string            `json:"summary,omitempty"`
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// MarshalJSON writes durations as Go duration strings.
func (r Rule) MarshalJSON() ([]byte, error) {
	return json.Marshal(ruleJSON{r.ID, r.Name, r.Kind, r.Devices, r.District, r.Area, r.Field, r.Condition, r.Op, r.Threshold,
		durString(r.Window), durString(r.Silence), r.Clear, durString(r.For), durString(r.KeepFiringFor), r.Severity, r.Visibility, r.Labels, r.Summary})
}

// UnmarshalJSON reads durations such as "24h"; unknown keys are errors.
func (r *Rule) UnmarshalJSON(b []byte) error {
	var j ruleJSON
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Errorf(EINVALID, "rule: %v", err)
	}
	parse := func(field, s string) (time.Duration, error) {
		if s == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, Errorf(EINVALID, "rule %q: %s: %q is not a duration such as 15m or 24h", j.ID, field, s)
		}
		return d, nil
	}
	*r = Rule{ID: j.ID, Name: j.Name, Kind: j.Kind, Devices: j.Devices, District: j.District, Area: j.Area, Field: j.Field, Condition: j.Condition, Op: j.Op,
		Threshold: j.Threshold, Clear: j.Clear, Severity: j.Severity, Visibility: j.Visibility, Labels: j.Labels, Summary: j.Summary}
	var err error
	if r.Window, err = parse("window", j.Window); err != nil {
		return err
	}
	if r.Silence, err = parse("silence", j.Silence); err != nil {
		return err
	}
	if r.For, err = parse("for", j.For); err != nil {
		return err
	}
	r.KeepFiringFor, err = parse("keep_firing_for", j.KeepFiringFor)
	return err
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
