package web_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kessel-city/kessel/internal/testenv"
)

// browser is one headless Chromium tab on the page under test. It records
// every request the page makes to a host other than Kessel's.
type browser struct {
	t       testing.TB
	ctx     context.Context
	base    string
	mu      sync.Mutex
	foreign []string
}

// recordCSP keeps the page's Content-Security-Policy violations, so that a
// blocked attempt to reach another host fails the test like a request.
const recordCSP = `window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`

func newBrowser(t testing.TB, base string) *browser {
	t.Helper()
	bin := testenv.Program(t, "chromium", "KESSEL_CHROMIUM")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			defer b.mu.Unlock()
			own, _ := url.Parse(b.base)
			u, err := url.Parse(e.Request.URL)
			if err != nil || (u.Scheme != "data" && u.Host != own.Host) {
				b.foreign = append(b.foreign, e.Request.URL)
			}
		}
	})
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	// The visitor asks for reduced motion: the page must honour it, and
	// without animations the map's DOM settles at once.
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordCSP})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}}})
		return err
	}))
	return b
}

// do runs actions with a deadline, failing the test on error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a script (awaiting a promise) and decodes its result.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %.80q: %v", js, err)
	}
	return v
}

// waitFor polls a script until it is truthy, for up to 30 s.
func (b *browser) waitFor(js, what string) {
	b.t.Helper()
	b.waitWithin(30*time.Second, js, what)
}

func (b *browser) waitWithin(d time.Duration, js, what string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// open loads the page and waits until its data is shown.
func (b *browser) open(query string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + "/" + query))
	b.waitFor(`document.body.dataset.ready === 'yes'`, "the page's data")
}

// checkOnlyKessel fails the test when the page reached, or tried to reach,
// any host but Kessel's.
func (b *browser) checkOnlyKessel() {
	b.t.Helper()
	b.mu.Lock()
	foreign := slices.Clone(b.foreign)
	b.mu.Unlock()
	if len(foreign) > 0 {
		b.t.Errorf("the page made requests to other hosts: %v", foreign)
	}
	if csp := eval[[]string](b, `window.__csp`); len(csp) > 0 {
		b.t.Errorf("the page broke its Content-Security-Policy: %v", csp)
	}
}

// screenshot writes the whole page as PNG to the screenshot folder:
// $KESSEL_SCREENSHOTS, or var/screenshots in the checkout.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("KESSEL_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(testenv.ModuleRoot(), "var", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// selectOption chooses a value in a <select> as a user would, firing change.
func (b *browser) selectOption(id, value string) {
	b.t.Helper()
	eval[bool](b, `(() => { const s = document.getElementById(`+jsString(id)+`); s.value = `+jsString(value)+`;
		s.dispatchEvent(new Event('change')); return s.value === `+jsString(value)+`; })()`)
}

func jsString(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + `'`
}
