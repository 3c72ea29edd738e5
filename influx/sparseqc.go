package influx

import (
	"math"
	"strings"

	"github.com/kessel-city/kessel"
)

// Quality flags are stored sparsely: nearly every value passes, and each
// stored field costs InfluxDB a series of its own, so a reading that
// quality control ran on is stored with the flags that are not 1 (pass)
// and one marker field, qcMarker: "quality control ran on this reading;
// every value stored without its own flag passed". Readers put the
// passing flags back (expandFlags), so that a reading read back is the
// reading written: qc.<field> = 1 beside every value without a flag in a
// point with the marker, and no flag at all in a point without it (stored
// before quality control, or with it turned off). The marker itself is
// never part of a reading.
//
// The marker is an annotation (its name has a '.', which no device field
// has; see kessel.ValidFieldName) in a namespace of its own, so that
// nothing reading "qc." fields takes it for a flag.
const (
	qcMarker   = qcMarkerNS + ".rest"
	qcMarkerNS = "qcpass"
)

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// sparseFlags reports whether the flags of values can be stored sparsely:
// quality control ran on the reading (it has a flag) and every measured
// value that is stored (finite) has a flag, so that a value stored
// without one passed.
func sparseFlags(values map[string]float64) bool {
	flagged := false
	for k, v := range values {
		switch {
		case kessel.Measured(k):
			if finite(v) && kessel.FlagOf(values, k) == 0 {
				return false
			}
		case strings.HasPrefix(k, kessel.FlagPrefix):
			flagged = true
		}
	}
	return flagged
}

// appendValues appends a reading's values and their annotations; with
// sparse flags (sparseFlags), without the flags 1 of stored values and
// with the marker.
func appendValues(b []byte, values map[string]float64, first *bool) []byte {
	if !sparseFlags(values) {
		return appendFields(b, "", values, first)
	}
	b = appendSome(b, "", values, first, true)
	if !*first {
		b = append(b, ',')
	}
	*first = false
	return append(b, qcMarker+"=1i"...)
}

// impliedPass reports whether k is the flag of a value stored beside it.
func impliedPass(values map[string]float64, k string) bool {
	f, ok := strings.CutPrefix(k, kessel.FlagPrefix)
	if !ok {
		return false
	}
	v, ok := values[f]
	return ok && finite(v) && kessel.Measured(f)
}

// expandFlags puts back the passing flags a point with the marker was
// stored without: qc.<field> = 1 for each measured value of values that
// has no flag.
func expandFlags(values map[string]float64) {
	var buf [64]byte
	for k := range values {
		if !kessel.Measured(k) {
			continue
		}
		key := append(append(buf[:0], kessel.FlagPrefix...), k...)
		if _, ok := values[string(key)]; !ok {
			values[string(key)] = float64(kessel.FlagPass)
		}
	}
}
