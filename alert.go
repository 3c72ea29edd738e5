package kessel

import "time"

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

// Alert is the state of one rule for one subject (a device).
type Alert struct {
	// ID is a fingerprint of rule, subject and labels.
	ID         string            `json:"id"`
	RuleID     string            `json:"rule_id"`
	Subject    string            `json:"subject"`
	Kind       string            `json:"kind,omitempty"`
	District   string            `json:"district,omitempty"`
	Department string            `json:"department,omitempty"`
	State      AlertState        `json:"-"`
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
	LastTrue        time.Time `json:"-"`
	KeepFiringSince time.Time `json:"-"`
	AckedBy         string    `json:"acked_by,omitempty"`
	AckedAt         time.Time `json:"acked_at,omitzero"`
}

// AlertEvent is one notified transition, numbered for resumable streams.
type AlertEvent struct {
	Seq   int64 `json:"seq"`
	Alert Alert `json:"alert"`
}

// AlertQuery filters alerts; zero fields match everything. Internal alerts
// are included only with IncludeInternal.
type AlertQuery struct {
	State           string // firing, pending, resolved
	Kind            string
	District        string
	Severity        string
	Since           time.Time
	IncludeInternal bool
}
