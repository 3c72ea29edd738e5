package kessel

import (
	"encoding/json"
	"time"
)

// AlertState is where an alert stands, as Prometheus models it: a resolved
// alert is Inactive with a ResolvedAt time.
type AlertState int

const (
	Inactive AlertState = iota
	Pending
	Firing
)

func (s AlertState) String() string {
	switch s {
	case Pending:
		return "pending"
	case Firing:
		return "firing"
	}
	return "inactive"
}

// Alert statuses as people see them (Alert.Status): the three states, with
// an inactive alert that once fired shown as resolved.
const (
	StatusInactive = "inactive"
	StatusPending  = "pending"
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Alert is the state of one rule for one subject (a device).
//
// Its JSON form (MarshalJSON) is the one wire form of an alert: the API,
// the SSE stream, MQTT, webhooks and the alert journal in InfluxDB all use
// it. It holds the fields below under their json names plus "state", the
// Status. last_true and keep_firing_since are the evaluation timers a
// restart needs; they are left out while zero.
type Alert struct {
	// ID is a fingerprint of rule, subject and labels.
	ID         string            `json:"id"`
	RuleID     string            `json:"rule_id"`
	Subject    string            `json:"subject"`
	Kind       string            `json:"kind,omitempty"`
	District   string            `json:"district,omitempty"`
	Department string            `json:"department,omitempty"`
	State      AlertState        `json:"-"` // written as "state": Status()
	Value      float64           `json:"value"`
	Severity   string            `json:"severity"`
	Visibility Visibility        `json:"visibility"`
	Summary    string            `json:"summary,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	ActiveAt   time.Time         `json:"active_at,omitzero"`
	FiredAt    time.Time         `json:"fired_at,omitzero"`
	ResolvedAt time.Time         `json:"resolved_at,omitzero"`
	// LastTrue is when the condition last held; KeepFiringSince when it
	// first stopped holding while firing (for keep_firing_for).
	LastTrue        time.Time `json:"last_true,omitzero"`
	KeepFiringSince time.Time `json:"keep_firing_since,omitzero"`
	AckedBy         string    `json:"acked_by,omitempty"`
	AckedAt         time.Time `json:"acked_at,omitzero"`
	// AckNote is what the acknowledger said, e.g. "Streufahrzeug 3
	// ausgerückt 05:40" (at most AckNoteMax bytes).
	AckNote string `json:"ack_note,omitempty"`
}

// AckNoteMax is the longest acknowledgement note, in bytes.
const AckNoteMax = 500

// Status is the alert's state as people see it: inactive, pending,
// firing, or resolved (inactive with a ResolvedAt time).
func (a Alert) Status() string {
	if a.State == Inactive && !a.ResolvedAt.IsZero() {
		return StatusResolved
	}
	return a.State.String()
}

// Notified reports whether this state is one people are told about: a
// firing alert, or a resolved one.
func (a Alert) Notified() bool {
	return a.State == Firing || a.Status() == StatusResolved
}

// LatestAt is the alert's most recent transition time (activated, fired or
// resolved).
func (a Alert) LatestAt() time.Time {
	t := a.ActiveAt
	for _, x := range []time.Time{a.FiredAt, a.ResolvedAt} {
		if x.After(t) {
			t = x
		}
	}
	return t
}

// alertFields is Alert without its methods, for the JSON form.
type alertFields Alert

// MarshalJSON writes the alert's one wire form: its fields and "state".
func (a Alert) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		alertFields
		State string `json:"state"`
	}{alertFields(a), a.Status()})
}

// UnmarshalJSON reads the wire form. "state" may be any Status; "inactive"
// and "resolved" are both Inactive (records written before the one wire
// form stored "inactive" for resolved alerts, with resolved_at set). An
// unknown state is an EINVALID error.
func (a *Alert) UnmarshalJSON(b []byte) error {
	j := struct {
		*alertFields
		State string `json:"state"`
	}{alertFields: (*alertFields)(a)}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	switch j.State {
	case StatusInactive, StatusResolved, "":
		a.State = Inactive
	case StatusPending:
		a.State = Pending
	case StatusFiring:
		a.State = Firing
	default:
		return Errorf(EINVALID, "alert %q: unknown state %q", a.ID, j.State)
	}
	return nil
}

// AlertEvent is one notified transition. Seq numbers events in the order
// they happened, unique and increasing across restarts (it starts from the
// wall clock in microseconds), for resumable streams.
type AlertEvent struct {
	Seq   int64 `json:"seq"`
	Alert Alert `json:"alert"`
}

// AlertQuery filters alerts; zero fields match everything. Internal alerts
// are included only with IncludeInternal.
type AlertQuery struct {
	State           string // a Status: firing, pending, resolved
	Kind            string
	District        string
	Severity        string
	Since           time.Time
	IncludeInternal bool
}

// Matches reports whether q selects a. An inactive alert that never fired
// matches no query.
func (q AlertQuery) Matches(a Alert) bool {
	st := a.Status()
	switch {
	case st == StatusInactive,
		q.State != "" && q.State != st,
		q.Kind != "" && q.Kind != a.Kind,
		q.District != "" && q.District != a.District,
		q.Severity != "" && q.Severity != a.Severity,
		!q.IncludeInternal && a.Visibility != Public,
		!q.Since.IsZero() && a.LatestAt().Before(q.Since):
		return false
	}
	return true
}

// WindowAggregate summarises one device's stored values of one field in
// one bucket of an alert window, [Start, Start+width): what the engine
// needs to resume a window after a restart exactly as if it had seen each
// reading. Count is always set, of Sum, Min, Max and First only the one
// asked for. Last and LastAt, the device's newest reading, are set on the
// aggregate of the bucket holding it and zero on the others.
type WindowAggregate struct {
	Device, District, Department string
	Start                        time.Time
	Count                        int
	Sum, Min, Max, First, Last   float64
	LastAt                       time.Time
}
