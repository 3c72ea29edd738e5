package kessel_test

import (
	"maps"
	"testing"

	"github.com/kessel-city/kessel"
)

func TestSplitValues(t *testing.T) {
	m, a := kessel.SplitValues(map[string]float64{"pm10": 30, "qc.pm10": 3, "qct.pm10": 4 | 16, "cor.pm10": 25, "link.rssi": -70})
	if len(m) != 1 || m["pm10"] != 30 || a.Flags["pm10"] != 3 || a.Corrected["pm10"] != 25 ||
		len(a.Tests["pm10"]) != 2 || a.Tests["pm10"][0] != "spike" || a.Tests["pm10"][1] != "flat_line" {
		t.Fatalf("split: %v %+v", m, a)
	}
}

func TestQCFilter(t *testing.T) {
	values := map[string]float64{"a": 1, "qc.a": 1, "b": 2, "qc.b": 3, "cor.b": 1.5, "c": 3, "qc.c": 4, "d": 4}
	for _, tc := range []struct {
		param string
		keep  []string
	}{
		{"", []string{"a", "b", "c", "d"}},
		{"all", []string{"a", "b", "c", "d"}},
		{"exclude-failed", []string{"a", "b", "d"}},
		{"exclude-suspect", []string{"a", "d"}},
	} {
		f, err := kessel.ParseQCFilter(tc.param)
		if err != nil {
			t.Fatal(err)
		}
		got := f.Filter(values)
		for _, k := range []string{"a", "b", "c", "d"} {
			_, ok := got[k]
			want := false
			for _, kk := range tc.keep {
				want = want || kk == k
			}
			if ok != want {
				t.Errorf("qc=%s: %s kept %v, want %v", tc.param, k, ok, want)
			}
		}
		if _, cor := got["cor.b"]; cor != (tc.param == "" || tc.param == "all" || tc.param == "exclude-failed") {
			t.Errorf("qc=%s: corrected value of b kept %v", tc.param, cor)
		}
		if _, ok := got["qc.c"]; !ok {
			t.Errorf("qc=%s: flags must stay: %v", tc.param, got)
		}
	}
	if !maps.Equal(values, map[string]float64{"a": 1, "qc.a": 1, "b": 2, "qc.b": 3, "cor.b": 1.5, "c": 3, "qc.c": 4, "d": 4}) {
		t.Error("Filter changed its input")
	}
	if _, err := kessel.ParseQCFilter("good-only"); kessel.ErrorCode(err) != kessel.EINVALID {
		t.Errorf("bad qc accepted: %v", err)
	}
}
