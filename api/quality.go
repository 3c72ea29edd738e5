package api

import (
	"net/http"

	"github.com/kessel-city/kessel"
)

// Quality control in answers: flags beside values (see readingJSON), a
// CSV column per flag and corrected value, and the qc query parameter.

// withQC marks the columns whose field has a flag ("qc.<field>") or a
// corrected value ("cor.<field>") in any of vs: each gets a <field>_qc or
// <field>_cor column (appendCSVHeader, appendCSVValues).
func withQC(cols []csvCol, vs ...map[string]float64) {
	for i := range cols {
		for _, v := range vs {
			_, q := v[kessel.FlagPrefix+cols[i].field]
			_, c := v[kessel.CorrectedPrefix+cols[i].field]
			cols[i].qc, cols[i].cor = cols[i].qc || q, cols[i].cor || c
		}
	}
}

// qcFilter reads the qc query parameter (exclude-suspect, exclude-failed
// or all, the default).
func qcFilter(r *http.Request) (kessel.QCFilter, error) {
	return kessel.ParseQCFilter(r.URL.Query().Get("qc"))
}

// filterReadings applies the qc filter to readings read from the store
// (their maps are theirs to change).
func filterReadings(q kessel.QCFilter, rs []kessel.Reading) {
	if q == kessel.QCAll {
		return
	}
	for i := range rs {
		rs[i].Values = q.Filter(rs[i].Values)
	}
}

// filterLatest applies the qc filter to the latest readings of states,
// copying each one it changes (the live state's readings are shared).
func filterLatest(q kessel.QCFilter, states []kessel.DeviceState) {
	if q == kessel.QCAll {
		return
	}
	for i := range states {
		if l := states[i].Latest; l != nil {
			c := *l
			c.Values = q.Filter(l.Values)
			states[i].Latest = &c
		}
	}
}

// staResultQuality is an Observation's resultQuality: its QARTOD flag
// (and the tests behind a suspect or failed one), or nil without a flag.
func staResultQuality(values map[string]float64, field string) any {
	f := kessel.FlagOf(values, field)
	if f == 0 {
		return nil
	}
	q := map[string]any{"nameOfMeasure": "QARTOD quality flag", "value": int(f), "meaning": f.String()}
	if tests := kessel.QCTestNames(int(values[kessel.TestsPrefix+field])); tests != nil {
		q["tests"] = tests
	}
	return q
}
