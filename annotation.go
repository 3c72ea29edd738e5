package kessel

import (
	"strings"
	"time"
)

// Measured values and Kessel's annotations share a stored reading. A
// device's field name never contains '.' (ValidFieldName), so every stored
// field whose name does is an annotation Kessel added, named
// "<namespace>.<name>", and never a measured value:
//
//	link.<name>  radio and transport data (Reading.Link): rssi, snr, …
//	qc.<field>   the quality flag of a value; qct.<field> the tests behind
//	             it; cor.<field> its corrected value (see FlagPrefix)
//
// Readers put dot-free fields and the quality annotations into
// Reading.Values, "link." fields into Reading.Link and leave every other
// namespace out unless they are asked for it; means, aggregates, quantity
// lists and rule fields take measured values only (Measured).

// LinkNamespace is the namespace of Reading.Link's stored fields.
const LinkNamespace = "link"

// AnnotationField is the stored name of annotation name in namespace ns.
func AnnotationField(ns, name string) string { return ns + "." + name }

// SplitAnnotation splits a stored field into its namespace and name; ok
// is false for a measured value's field (no '.').
func SplitAnnotation(field string) (ns, name string, ok bool) {
	return strings.Cut(field, ".")
}

// Quality annotations: unlike link data, they stay in a reading's Values
// beside the values they annotate, named "<prefix>.<field>": the quality
// flag of a value (qc.pm10), the tests that flagged it (qct.pm10, a bit
// set of QCTests) and a corrected value (cor.pm10, by the correction named
// in Reading.Correction), so that a value and its flag travel together.
// Code that wants the measured values alone uses Measured or SplitValues.
// Measured values are never changed by Kessel.
const (
	FlagPrefix      = "qc."
	TestsPrefix     = "qct."
	CorrectedPrefix = "cor."
)

// Flag is a QARTOD quality flag of one value.
type Flag uint8

// The QARTOD flags. A value stored without quality control has flag 0.
const (
	FlagPass         Flag = 1
	FlagNotEvaluated Flag = 2
	FlagSuspect      Flag = 3
	FlagFail         Flag = 4
	FlagMissing      Flag = 9
)

func (f Flag) String() string {
	switch f {
	case FlagPass:
		return "pass"
	case FlagNotEvaluated:
		return "not_evaluated"
	case FlagSuspect:
		return "suspect"
	case FlagFail:
		return "fail"
	case FlagMissing:
		return "missing"
	}
	return "none"
}

// Passing reports whether a value with flag f counts as good data by
// default: it passed, no test could judge it (1 or 2), or it was stored
// before quality control (0).
func (f Flag) Passing() bool { return f == FlagPass || f == FlagNotEvaluated || f == 0 }

// QCTests names the quality tests by their bit in a "qct." annotation.
var QCTests = []string{"gross_range", "climate_range", "spike", "rate_of_change", "flat_line", "timing"}

// QCTestNames lists the tests of a "qct." bit set.
func QCTestNames(bits int) []string {
	var out []string
	for i, n := range QCTests {
		if bits&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// FlagOf returns the flag stored with field in values, 0 when none. It
// does not allocate for field names up to 60 bytes.
func FlagOf(values map[string]float64, field string) Flag {
	var buf [64]byte
	key := append(append(buf[:0], FlagPrefix...), field...)
	return Flag(values[string(key)])
}

// Measured reports whether a key of Values names a measured value rather
// than an annotation.
func Measured(key string) bool { return strings.IndexByte(key, '.') < 0 }

// Annotations are a reading's annotations split by kind; maps without
// entries are nil.
type Annotations struct {
	Flags     map[string]int
	Tests     map[string][]string
	Corrected map[string]float64
}

// SplitValues separates values into the measured values and their
// annotations. Unknown annotations (other prefixes) are left out of both.
func SplitValues(values map[string]float64) (measured map[string]float64, a Annotations) {
	measured = make(map[string]float64, len(values))
	for k, v := range values {
		switch {
		case Measured(k):
			measured[k] = v
		case strings.HasPrefix(k, FlagPrefix):
			a.Flags = putKey(a.Flags, k[len(FlagPrefix):], int(v))
		case strings.HasPrefix(k, TestsPrefix):
			if names := QCTestNames(int(v)); names != nil {
				a.Tests = putKey(a.Tests, k[len(TestsPrefix):], names)
			}
		case strings.HasPrefix(k, CorrectedPrefix):
			a.Corrected = putKey(a.Corrected, k[len(CorrectedPrefix):], v)
		}
	}
	return measured, a
}

func putKey[V any](m map[string]V, k string, v V) map[string]V {
	if m == nil {
		m = map[string]V{}
	}
	m[k] = v
	return m
}

// QCFilter is a query's choice of values by quality: QCAll keeps every
// value, QCExcludeSuspect drops values flagged suspect or fail (and
// missing), QCExcludeFailed those flagged fail.
type QCFilter string

// The QC filters (query parameter qc).
const (
	QCAll            QCFilter = ""
	QCExcludeSuspect QCFilter = "exclude-suspect"
	QCExcludeFailed  QCFilter = "exclude-failed"
)

// ParseQCFilter reads the query parameter qc; other values are EINVALID.
func ParseQCFilter(s string) (QCFilter, error) {
	switch f := QCFilter(s); f {
	case QCAll, QCExcludeSuspect, QCExcludeFailed, "all":
		if f == "all" {
			f = QCAll
		}
		return f, nil
	}
	return "", Errorf(EINVALID, "qc: use exclude-suspect, exclude-failed or all, not %q", s)
}

// Drops reports whether the filter leaves out a value with flag f.
func (q QCFilter) Drops(f Flag) bool {
	switch q {
	case QCExcludeSuspect:
		return f == FlagSuspect || f == FlagFail
	case QCExcludeFailed:
		return f == FlagFail
	}
	return false
}

// Filter returns values without the measured values (and their corrected
// values) the filter drops; the flags stay, so that a client sees why a
// value is absent. values itself is not changed.
func (q QCFilter) Filter(values map[string]float64) map[string]float64 {
	if q == QCAll {
		return values
	}
	out := make(map[string]float64, len(values))
	for k, v := range values {
		field := k
		if strings.HasPrefix(k, CorrectedPrefix) {
			field = k[len(CorrectedPrefix):]
		} else if !Measured(k) {
			out[k] = v
			continue
		}
		if !q.Drops(FlagOf(values, field)) {
			out[k] = v
		}
	}
	return out
}

// FlagCount is how many values of one field of a device got one flag in
// the window starting at Start.
type FlagCount struct {
	Field string
	Flag  Flag
	Start time.Time
	Count int
}
