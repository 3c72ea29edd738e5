package web_test

import (
	"context"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// BenchmarkFirstRender opens the citizens' page in headless Chromium
// against a real `kessel serve` holding 10,000 simulated devices and
// reports the time from navigation to the page's first render of the map
// with its data (the performance mark kessel-first-render, set once the
// markers are drawn). Each iteration is one navigation with the browser's
// cache disabled, as for a first-time visitor; the figure is the median
// over the iterations (-benchtime 3x gives three), and the first
// navigation of a freshly started browser is printed apart.
func BenchmarkFirstRender(b *testing.B) {
	const devices = 10000
	br := newBrowser(b, "")
	s := startStack(b, devices)
	br.mu.Lock()
	br.base = s.base
	br.mu.Unlock()
	br.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
		return err
	}))
	var ms []float64
	b.ResetTimer()
	for range b.N {
		br.do(chromedp.Navigate("about:blank"))
		br.open("")
		ms = append(ms, eval[float64](br, `performance.getEntriesByName('kessel-first-render')[0].startTime`))
	}
	b.StopTimer()
	markers := eval[int](br, `document.querySelectorAll('.leaflet-marker-icon').length`)
	if markers == 0 {
		b.Fatal("the map shows no marker")
	}
	sorted := slices.Sorted(slices.Values(ms))
	med := sorted[len(sorted)/2]
	b.ReportMetric(med, "ms/first-render")
	b.Logf("first render of the map with %d devices (%d marker icons drawn): median %.0f ms over %d navigations, each %v ms",
		devices, markers, med, len(ms), ms)
}
