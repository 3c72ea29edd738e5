package alert

import (
	"slices"
	"strings"

	"github.com/kessel-city/kessel"
)

// flatLineBit is the flat line test's bit in a "qct." annotation.
var flatLineBit = 1 << slices.Index(kessel.QCTests, "flat_line")

// evaluateQuality evaluates a quality (maintenance) rule on a reading:
// it holds while a value failed quality control or is stuck (flat line,
// suspect or failed). The alert's value is the worst flag, its summary
// names the fields and the tests. Readings without flags (quality control
// off) are not evaluated.
func (e *Engine) evaluateQuality(r *Rule, rd *kessel.Reading) {
	worst, detail, flagged := qualityFindings(r, rd.Values)
	if !flagged {
		return
	}
	s := e.subject(r, rd)
	if !rd.Time.After(s.lastSeen) {
		return
	}
	s.lastSeen, s.last = rd.Time, float64(worst)
	holds := detail != ""
	if holds {
		s.alert.Summary = strings.TrimPrefix(r.Summary+": ", ": ") + detail
	}
	e.advance(s, holds, !holds, float64(worst), rd.Time)
}

// qualityFindings returns the worst flag among the values a quality rule
// looks at, the failed or stuck ones as "field: tests" (sorted, joined by
// "; "), and whether any value had a flag at all.
func qualityFindings(r *Rule, values map[string]float64) (worst kessel.Flag, detail string, flagged bool) {
	var found []string
	for k, v := range values {
		field, ok := strings.CutPrefix(k, kessel.FlagPrefix)
		if !ok || r.Field != "" && field != r.Field {
			continue
		}
		flagged = true
		f := kessel.Flag(v)
		if f != kessel.FlagMissing {
			worst = max(worst, f)
		}
		tests := int(values[kessel.TestsPrefix+field])
		if f == kessel.FlagFail || tests&flatLineBit != 0 {
			found = append(found, field+": "+strings.Join(kessel.QCTestNames(tests), ","))
		}
	}
	slices.Sort(found)
	return worst, strings.Join(found, "; "), flagged
}
