package airquality_test

import (
	"fmt"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/airquality"
)

// Two days of PM10 at a reference station: 17 hourly values of 80 µg/m³
// on 10 March (no daily mean) and 18 of 60 on 11 March (an exceedance).
func ExampleCompute() {
	var hours []airquality.Hour
	for day, n := range map[int]int{10: 17, 11: 18} {
		v := map[int]float64{10: 80, 11: 60}[day]
		for h := range n {
			hours = append(hours, airquality.Hour{Start: time.Date(2025, 3, day, h, 0, 0, 0, airquality.CET), Mean: v})
		}
	}
	st := airquality.Compute(2025, airquality.PM10, kessel.Reference, hours, true)
	for _, d := range st.Daily {
		if d.Mean == nil {
			fmt.Printf("%s: %d hours, no daily mean\n", d.Date, d.Hours)
		} else {
			fmt.Printf("%s: %d hours, daily mean %.0f\n", d.Date, d.Hours, *d.Mean)
		}
	}
	for _, a := range st.Assessments {
		fmt.Printf("%s %s limit %.0f: %.4g (coverage %.3f) %s\n", a.Standard, a.Period, a.Limit.Value, a.Value, a.Coverage, a.Status)
	}
	// Output:
	// 2025-03-10: 17 hours, no daily mean
	// 2025-03-11: 18 hours, daily mean 60
	// 2008/50/EC 1d limit 50: 1 (coverage 0.003) insufficient_coverage
	// 2008/50/EC 1y limit 40: 69.71 (coverage 0.004) insufficient_coverage
	// (EU) 2024/2881 1d limit 45: 1 (coverage 0.003) insufficient_coverage
	// (EU) 2024/2881 1y limit 20: 69.71 (coverage 0.004) insufficient_coverage
}
