package web_test

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/internal/testenv"
)

// TestCitizensPage drives real Chromium against a real `kessel serve`
// with a simulated fleet: what the page shows must equal what the API
// says, by mouse, keyboard and in both languages, and the page must talk
// to no host but Kessel's.
func TestCitizensPage(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	b := newBrowser(t, "") // skips before the slow start when chromium is absent
	s := startStack(t, 27)
	b.mu.Lock()
	b.base = s.base
	b.mu.Unlock()
	b.open("")
	t.Logf("first render with %d devices: %.0f ms after navigation (performance mark)", len(s.latest(t, "").Items),
		eval[float64](b, `performance.getEntriesByName('kessel-first-render')[0].startTime`))
	b.screenshot("desktop-de-map")

	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *browser, *stack)
	}{
		{"bands at their boundaries", testBands},
		{"markers equal the public devices of the chosen kind", testMarkers},
		{"list view equals /latest", testTable},
		{"keyboard opens a device panel with the API's values", testKeyboardPanel},
		{"an alert appears without a reload", testLiveAlert},
		{"values refresh by conditional GET", testRefresh},
		{"a gauge is rated by its own warning levels", testGaugeLevels},
		{"language switch", testLanguage},
		{"axe-core finds no serious or critical violation", testAxe},
		{"phone", testPhone},
		{"clusters hold every device", testClusters},
		{"an attempt to reach another host is caught", testForeignCaught},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.t = t
			tc.fn(t, b, s)
		})
		b.t = t
	}
	b.checkOnlyKessel()
}

// ubaPM10 is the Umweltbundesamt's PM10 band (1..5) of a value.
func ubaPM10(v float64) string {
	for i, limit := range []float64{20, 35, 50, 100} {
		if v <= limit {
			return strconv.Itoa(i + 1)
		}
	}
	return "5"
}

func testMarkers(t *testing.T, b *browser, s *stack) {
	parent := t
	for _, tc := range []struct{ quantity, kind string }{
		{"pm10", "air_quality"}, {"surface", "road_surface"}, {"level", "water_level"}, {"parking", "parking"}, {"laeq", "noise"},
	} {
		t.Run(tc.quantity, func(t *testing.T) {
			b.t = t
			defer func() { b.t = parent }()
			b.selectOption("quantity", tc.quantity)
			var want []string
			pm10 := map[string]string{}
			places := map[string]*point{}
			for _, d := range s.latest(t, tc.kind).Items {
				if p := d.place(); p != nil {
					want = append(want, d.ID)
					places[d.ID] = p
				}
				if d.Latest != nil {
					pm10[d.ID] = ubaPM10(d.Latest.Values["pm10"])
				}
			}
			if len(want) == 0 {
				t.Fatalf("the simulated fleet has no %s device with a location", tc.kind)
			}
			type marker struct {
				ID, Digit, Label string
				Lon, Lat         float64
			}
			got := eval[[]marker](b, `[...document.querySelectorAll('.leaflet-marker-icon[data-device]')].map(e =>
				({ID: e.dataset.device, Digit: e.textContent.trim(), Label: e.getAttribute('aria-label') || '', Lon: +e.dataset.lon, Lat: +e.dataset.lat}))`)
			ids := make([]string, len(got))
			for i, m := range got {
				ids[i] = m.ID
				if p := places[m.ID]; p != nil && (p.Lon != m.Lon || p.Lat != m.Lat) {
					t.Errorf("marker %s at %v,%v, want its latest place %v,%v", m.ID, m.Lon, m.Lat, p.Lon, p.Lat)
				}
				if m.Label == "" {
					t.Errorf("marker %s has no accessible name", m.ID)
				}
				if tc.quantity == "pm10" && pm10[m.ID] != "" && m.Digit != pm10[m.ID] {
					t.Errorf("marker %s shows band %s, want UBA band %s", m.ID, m.Digit, pm10[m.ID])
				}
			}
			slices.Sort(ids)
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Errorf("markers for %s = %v\nwant the public %s devices of /latest %v", tc.quantity, ids, tc.kind, want)
			}
		})
	}
	b.selectOption("quantity", "pm10")
	// Mobile sensors are shown at their latest place, never as a track:
	// the map's only lines are the districts' outlines.
	if n := eval[int](b, `document.querySelectorAll('#map path').length`); n != 3 {
		t.Errorf("the map draws %d paths, want the 3 districts only", n)
	}
	mobile := 0
	for _, d := range s.latest(t, "air_quality").Items {
		if d.Latest != nil && d.Latest.Location != nil {
			mobile++
		}
	}
	if mobile == 0 {
		t.Error("the simulated fleet has no mobile sensor to check")
	}
}

func testTable(t *testing.T, b *browser, s *stack) {
	b.selectOption("kind-filter", "")
	type row struct{ ID, Name, District string }
	got := eval[[]row](b, `[...document.querySelectorAll('#device-table tbody tr')].map(r =>
		({ID: r.dataset.device, Name: r.cells[0].textContent, District: r.cells[2].textContent}))`)
	all := s.latest(t, "")
	want := map[string]row{}
	for _, d := range all.Items {
		name, district := d.Name, d.District
		if name == "" {
			name = d.ID
		}
		if district == "" {
			district = "außerhalb der Stadtbezirke"
		}
		want[d.ID] = row{d.ID, name, district}
	}
	if len(got) != len(want) {
		t.Errorf("table has %d rows, /latest %d devices", len(got), len(want))
	}
	for _, r := range got {
		if w, ok := want[r.ID]; !ok || r != w {
			t.Errorf("table row %+v, want %+v", r, w)
		}
		if r.ID == "hidden-1" {
			t.Error("an internal device is listed on the public page")
		}
	}
	b.selectOption("kind-filter", "road_surface")
	n := eval[int](b, `document.querySelectorAll('#device-table tbody tr').length`)
	if want := len(s.latest(t, "road_surface").Items); n != want {
		t.Errorf("filtered by road_surface: %d rows, want %d", n, want)
	}
	testSort(t, b)
	b.selectOption("kind-filter", "air_quality")
	b.screenshot("desktop-de-list")
	testDistrictFilter(t, b, s)
}

// testDistrictFilter filters by the district with the most air-quality
// devices: map and table show exactly that district's devices.
func testDistrictFilter(t *testing.T, b *browser, s *stack) {
	in := map[string][]string{}
	for _, d := range s.latest(t, "air_quality").Items {
		if d.District != "" && d.place() != nil {
			in[d.District] = append(in[d.District], d.ID)
		}
	}
	district := ""
	for name, ids := range in {
		if len(ids) > len(in[district]) || (len(ids) == len(in[district]) && name < district) {
			district = name
		}
	}
	if district == "" {
		t.Fatal("the simulated fleet has no air_quality device in a district")
	}
	b.selectOption("district-filter", district)
	defer b.selectOption("district-filter", "")
	markers := eval[[]string](b, `[...document.querySelectorAll('.leaflet-marker-icon[data-device]')].map(e => e.dataset.device).sort()`)
	rows := eval[[]string](b, `[...document.querySelectorAll('#device-table tbody tr')].map(r => r.dataset.device).sort()`)
	want := in[district]
	slices.Sort(want)
	if !slices.Equal(markers, want) || !slices.Equal(rows, want) {
		t.Errorf("district %s: markers %v, rows %v, want %v", district, markers, rows, want)
	}
}

// testSort clicks the value column's header: ascending, then descending.
func testSort(t *testing.T, b *browser) {
	b.selectOption("kind-filter", "air_quality")
	for _, dir := range []string{"ascending", "descending"} {
		b.do(chromedp.Click(chromedp.ID("col-value")))
		vals := eval[[]float64](b, `[...document.querySelectorAll('#device-table tbody tr')].map(r =>
			parseFloat(r.cells[3].textContent.replace(/\./g, '').replace(',', '.'))).filter(v => !isNaN(v))`)
		sorted := slices.IsSorted(vals)
		if dir == "descending" {
			slices.Reverse(vals)
			sorted = slices.IsSorted(vals)
		}
		if len(vals) < 2 || !sorted {
			t.Errorf("values after sorting %s: %v", dir, vals)
		}
		if got := eval[string](b, `document.querySelector('th[data-sort="value"]').getAttribute('aria-sort')`); got != dir {
			t.Errorf("aria-sort = %q, want %q", got, dir)
		}
	}
}

func testKeyboardPanel(t *testing.T, b *browser, s *stack) {
	eval[bool](b, `(document.activeElement.blur(), window.scrollTo(0, 0), true)`)
	reached := false
	for range 40 {
		b.do(keyTab)
		if eval[bool](b, `document.activeElement.classList.contains('leaflet-marker-icon')`) {
			reached = true
			break
		}
	}
	if !reached {
		t.Fatal("40 presses of Tab did not reach a device marker")
	}
	id := eval[string](b, `document.activeElement.dataset.device`)
	b.do(keyEnter)
	b.waitFor(`!document.getElementById('panel').hidden && document.activeElement.id === 'panel-h'`, "the panel to open and take focus")
	b.waitFor(`document.querySelector('#chart24 svg, #chart24 p:not(:only-child)')`, "the 24-hour chart")
	b.screenshot("desktop-de-panel")
	var dev apiDevice
	getJSON(t, s.base+"/api/v1/devices/"+id, &dev)
	if h := eval[string](b, `document.getElementById('panel-h').textContent`); h != dev.Name && h != dev.ID {
		t.Errorf("panel heading %q, want the device's name %q", h, dev.Name)
	}
	shown := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('#panel-values tbody tr')].map(r =>
		[r.dataset.field, r.querySelector('td').dataset.value]))`)
	if _, ok := shown["pm10"]; !ok {
		t.Errorf("panel of %s lacks pm10: %v", id, shown)
	}
	for f, v := range shown {
		got, err := strconv.ParseFloat(v, 64)
		if want, ok := dev.Latest.Values[f]; err != nil || !ok || got != want {
			t.Errorf("panel shows %s = %s, the API %v", f, v, dev.Latest.Values[f])
		}
	}
	for f := range dev.Latest.Values {
		if _, ok := shown[f]; !ok {
			t.Errorf("panel of %s lacks the API's field %s", id, f)
		}
	}
	for _, link := range []string{"dl-csv", "dl-geojson"} {
		href := eval[string](b, `document.getElementById('`+link+`').href`)
		if st := status(href); st != http.StatusOK {
			t.Errorf("download %s: %d", href, st)
		}
	}
	// The device's data quality, as GET /devices/{id}/quality says.
	b.waitFor(`document.querySelector('#panel-meta .quality')`, "the data quality line")
	var q struct {
		Periods map[string]struct{ Passing *float64 }
	}
	getJSON(t, s.base+"/api/v1/devices/"+id+"/quality", &q)
	text := eval[string](b, `document.querySelector('#panel-meta .quality').textContent`)
	if p := q.Periods["day"].Passing; p == nil || !strings.Contains(text, strconv.Itoa(int(math.Round(*p*100)))+" %") && !strings.Contains(text, strconv.Itoa(int(math.Round(*p*100)))+" %") {
		t.Errorf("panel quality %q, the API's share of the day %v", text, p)
	}
	b.do(keyEscape)
	b.waitFor(`document.getElementById('panel').hidden`, "Escape to close the panel")
	if back := eval[string](b, `document.activeElement.dataset.device || ''`); back != id {
		t.Errorf("focus after closing went to %q, want the marker of %s", back, id)
	}
}

var (
	keyTab    = chromedpKey("\t")
	keyEnter  = chromedpKey("\r")
	keyEscape = chromedpKey("\u001b")
)

func testLiveAlert(t *testing.T, b *browser, s *stack) {
	eval[bool](b, `(window.__sameDocument = true)`)
	s.publish(t, "station-1", `{"pm10":480}`)
	// The engine evaluates rules in its own time (about 13 s here).
	b.waitWithin(90*time.Second, `!document.getElementById('alerts').hidden && document.querySelector('#alert-list li[data-alert]')`, "the alert banner")
	text := eval[string](b, `document.getElementById('alert-list').textContent`)
	if !containsAll(text, "Feinstaub PM10 über 400", "Mitte") {
		t.Errorf("alert banner says %q", text)
	}
	if !eval[bool](b, `window.__sameDocument === true`) {
		t.Error("the page reloaded to show the alert")
	}
	b.waitFor(`document.querySelector('.leaflet-marker-icon[data-device="station-1"] .alerting')`, "the alerting device's marker")
	b.waitFor(`document.querySelector('#alert-list li button')`, "the banner's button to the device")
	if w := eval[string](b, `document.querySelector('#device-table tr[data-device="station-1"] .warn')?.textContent || ''`); !strings.Contains(w, "Warnung") {
		t.Errorf("the table does not mark station-1 as warned in words: %q", w)
	}
	if l := eval[string](b, `document.querySelector('.leaflet-marker-icon[data-device="station-1"]').getAttribute('aria-label')`); !strings.Contains(l, "Warnung: Feinstaub PM10 über 400") {
		t.Errorf("the marker's name does not tell of the alert: %q", l)
	}
	b.waitFor(`[...document.querySelectorAll('#district-table tbody tr')].some(r => r.cells[0].textContent === 'Mitte' && r.querySelector('.warn'))`,
		"the district alert in the district table")
	if n := eval[int](b, `document.querySelectorAll('#map path[stroke-dasharray]').length`); n != 1 {
		t.Errorf("%d districts outlined as alerted on the map, want 1 (Mitte)", n)
	}
	// The district's tooltip names the alert; a summary's markup is text.
	eval[bool](b, `document.querySelector('#map path[stroke-dasharray]').dispatchEvent(new MouseEvent('mouseover', {bubbles: true})) || true`)
	b.waitFor(`document.querySelector('.leaflet-tooltip')`, "the district's tooltip")
	if tip := eval[string](b, `document.querySelector('.leaflet-tooltip').textContent`); !strings.Contains(tip, "<img src=x") ||
		eval[bool](b, `!!document.querySelector('.leaflet-tooltip img') || window.__xss === 1`) {
		t.Errorf("the district's tooltip ran the alert summary's markup: %q", tip)
	}
	b.screenshot("desktop-de-alert")
}

func testLanguage(t *testing.T, b *browser, _ *stack) {
	read := func() []string {
		return eval[[]string](b, `[document.documentElement.lang, document.querySelector('h1').textContent,
			document.getElementById('list-h').textContent, document.querySelector('#device-table thead th').textContent]`)
	}
	if got := read(); !slices.Equal(got, []string{"de", "Messwerte der Stadt", "Alle Messstellen", "Name"}) {
		t.Errorf("German page: %q", got)
	}
	b.do(chromedp.Click(chromedp.ID("lang-switch")))
	b.waitFor(`document.documentElement.lang === 'en'`, "the English page")
	if got := read(); !slices.Equal(got, []string{"en", "City measurements", "All sensors", "Name"}) {
		t.Errorf("English page: %q", got)
	}
	if st := eval[string](b, `document.getElementById('status').textContent`); !strings.HasPrefix(st, "As of ") {
		t.Errorf("status line not translated: %q", st)
	}
	missing := eval[[]string](b, `import('/static/i18n.js').then(({texts}) => {
		const keys = (o, p = '') => Object.entries(o).flatMap(([k, v]) =>
			v && typeof v === 'object' && !Array.isArray(v) ? keys(v, p + k + '.') : [p + k + (Array.isArray(v) ? '[' + v.length + ']' : '')]);
		const de = keys(texts.de), en = keys(texts.en);
		return [...de.filter(k => !en.includes(k)).map(k => 'en lacks ' + k), ...en.filter(k => !de.includes(k)).map(k => 'de lacks ' + k)];
	})`)
	if len(missing) > 0 {
		t.Errorf("translations differ: %v", missing)
	}
	b.screenshot("desktop-en-map")
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// axeScript is axe-core from npm, installed by `make deps-test` into
// web/testdata/axe (see its package.json).
func axeScript(t *testing.T) string {
	t.Helper()
	p := filepath.Join(testenv.ModuleRoot(), "web", "testdata", "axe", "node_modules", "axe-core", "axe.min.js")
	src, err := os.ReadFile(p)
	if err != nil {
		testenv.Missing(t, "axe-core is not installed (%v); run npm ci in web/testdata/axe", err)
	}
	return string(src)
}

func chromedpKey(k string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(k) }

// testAxe runs axe-core's WCAG 2.1 A and AA rules on the page with data
// loaded, the device panel open, in both languages.
func testAxe(t *testing.T, b *browser, _ *stack) {
	eval[bool](b, `(document.querySelector('#device-table tbody button').click(), true)`)
	b.waitFor(`!document.getElementById('panel').hidden`, "the panel")
	for _, lang := range []string{"en", "de"} {
		if eval[string](b, `document.documentElement.lang`) != lang {
			b.do(chromedp.Click(chromedp.ID("lang-switch")))
			b.waitFor(`document.documentElement.lang === '`+lang+`'`, "language "+lang)
		}
		runAxe(t, b, lang)
	}
	b.do(chromedp.Click(chromedp.ID("panel-close")))
}

// runAxe injects axe-core (once per document) and fails t on every
// serious or critical violation; lesser ones are logged.
func runAxe(t *testing.T, b *browser, what string) {
	t.Helper()
	src := axeScript(t)
	eval[bool](b, `(() => { if (!window.axe) { (0, eval)(`+jsString(src)+`); } return !!window.axe; })()`)
	type violation struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []string }
	}
	vs := eval[[]violation](b, `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
		.then(r => r.violations.map(v => ({ID: v.id, Impact: v.impact || '', Help: v.help, Nodes: v.nodes.slice(0, 5).map(n => ({Target: n.target.map(String)}))})))`)
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: axe %s (%s): %s at %v", what, v.ID, v.Impact, v.Help, v.Nodes)
		} else {
			t.Logf("%s: axe %s (%s): %s", what, v.ID, v.Impact, v.Help)
		}
	}
}

// testPhone checks the page at a phone's width: no horizontal scrolling of
// the page, the map and the table both there; and takes the screenshots.
func testPhone(t *testing.T, b *browser, _ *stack) {
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	defer b.do(chromedp.EmulateViewport(1280, 900))
	for _, lang := range []string{"de", "en"} {
		b.open("?lang=" + lang)
		if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("%s: the page is %d px wide on a 390 px phone", lang, w)
		}
		if h := eval[float64](b, `document.getElementById('map').getBoundingClientRect().height`); h < 250 {
			t.Errorf("%s: map only %.0f px high on a phone", lang, h)
		}
		b.screenshot("phone-" + lang)
		runAxe(t, b, "phone "+lang)
		eval[bool](b, `(document.querySelector('#device-table tbody button').click(), true)`)
		b.waitFor(`!document.getElementById('panel').hidden && document.querySelector('#chart24 svg')`, "the panel and its chart")
		b.screenshot("phone-" + lang + "-panel")
	}
}

// publish sends one native reading for device, stamped now.
func (s *stack) publish(t *testing.T, device, values string) {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(s.mqtt).SetClientID("web-test-" + device))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt: %v", tok.Error())
	}
	defer c.Disconnect(100)
	payload := fmt.Sprintf(`{"ts":%q,"values":%s}`, time.Now().UTC().Format(time.RFC3339Nano), values)
	if tok := c.Publish("kessel/devices/"+device+"/readings", 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// testRefresh: with nothing new, a refresh costs a 304; a new reading
// shows in the table without a reload.
func testRefresh(t *testing.T, b *browser, s *stack) {
	b.open("?refresh=1")
	eval[bool](b, `(window.__sameDocument = true)`)
	b.waitFor(`window.kesselPage.stats.notModified >= 2`, "two refreshes answered 304 Not Modified")
	s.publish(t, "air-0001", `{"pm10":12.3,"pm25":5}`)
	b.waitFor(`document.querySelector('#device-table tr[data-device="air-0001"]').cells[3].textContent === '12,3 µg/m³'`, "the new value in the table")
	if !eval[bool](b, `window.__sameDocument === true`) {
		t.Error("the page reloaded to show the new value")
	}
	if d := eval[string](b, `document.querySelector('.leaflet-marker-icon[data-device="air-0001"]').textContent`); d != "1" {
		t.Errorf("marker of air-0001 at 12.3 µg/m³ shows band %q, want 1 (sehr gut)", d)
	}
}

// testForeignCaught shows that checkOnlyKessel can fail: the page's policy
// blocks a request to another host, and the test sees the attempt.
func testForeignCaught(t *testing.T, b *browser, _ *stack) {
	eval[bool](b, `fetch('http://127.0.0.2:9/tracker').then(() => true, () => true)`)
	b.waitFor(`window.__csp.some(v => v.includes('127.0.0.2'))`, "the blocked request to be recorded")
	eval[bool](b, `(window.__csp = [], true)`)
}

// testBands checks the page's band arithmetic (quantities.js) at the
// official limits: UBA's upper bounds belong to the better band, frost is
// strictly below 0 °C.
func testBands(t *testing.T, b *browser, _ *stack) {
	tests := []struct {
		quantity string
		value    float64
		band     int // 0-based; -1 no value
	}{
		{"pm10", 20, 0}, {"pm10", 20.1, 1}, {"pm10", 35, 1}, {"pm10", 50, 2}, {"pm10", 100, 3}, {"pm10", 100.1, 4},
		{"pm25", 10, 0}, {"pm25", 25, 2}, {"pm25", 50.5, 4},
		{"no2", 40, 1}, {"no2", 200, 3}, {"no2", 201, 4},
		{"surface", -0.1, 0}, {"surface", 0, 1}, {"surface", 2.9, 1}, {"surface", 3, 2},
		{"parking", 50, 1}, {"parking", 96, 3},
	}
	for _, tc := range tests {
		got := eval[int](b, fmt.Sprintf(`import('/static/quantities.js').then(m => m.bandOf(m.byId(%s), %v))`, jsString(tc.quantity), tc.value))
		if got != tc.band {
			t.Errorf("%s %v: band %d, want %d", tc.quantity, tc.value, got, tc.band)
		}
	}
	occ := eval[float64](b, `import('/static/quantities.js').then(m => m.valueOf(m.byId('parking'), {occupied: 30, free: 10}))`)
	if occ != 75 {
		t.Errorf("parking occupancy of 30 occupied, 10 free = %v %%, want 75", occ)
	}
}

// testClusters lowers the cluster limit so the small fleet is clustered:
// every device is in a cluster or shown alone, and a cluster says in words
// how many it holds.
func testClusters(t *testing.T, b *browser, s *stack) {
	b.open("?cluster=1&lang=de")
	for i := 0; i < 6 && !eval[bool](b, `!!document.querySelector('.cl-in')`); i++ {
		b.do(chromedp.Click(chromedp.CSS(".leaflet-control-zoom-out")))
	}
	b.waitFor(`document.querySelector('.cl-in')`, "clusters")
	type icon struct {
		Count int
		Words string
	}
	clusters := eval[[]icon](b, `[...document.querySelectorAll('.cl-in')].map(e =>
		({Count: parseInt(e.querySelector('[aria-hidden]').textContent), Words: e.querySelector('.vh').textContent}))`)
	singles := eval[int](b, `document.querySelectorAll('.leaflet-marker-icon[data-device]').length`)
	n := singles
	for _, c := range clusters {
		n += c.Count
		if !strings.HasPrefix(c.Words, fmt.Sprintf("%d Messstellen, ungünstigste Bewertung: ", c.Count)) {
			t.Errorf("cluster of %d says %q", c.Count, c.Words)
		}
	}
	want := 0
	for _, d := range s.latest(t, "air_quality").Items {
		if d.place() != nil {
			want++
		}
	}
	if n != want || len(clusters) == 0 {
		t.Errorf("%d clusters and %d single markers hold %d devices, want %d", len(clusters), singles, n, want)
	}
	if note := eval[string](b, `document.getElementById('legend-source').textContent`); !strings.Contains(note, "doppeltem Rand") {
		t.Errorf("legend does not explain clusters: %q", note)
	}
	b.screenshot("desktop-de-clusters")
}

// testGaugeLevels: a gauge that declares flood warning stages is rated by
// them, named in words, in the list and on the map, and the legend says so.
func testGaugeLevels(t *testing.T, b *browser, s *stack) {
	s.publish(t, "gauge-1", `{"level":300}`)
	b.open("?refresh=1&lang=de")
	b.selectOption("quantity", "level")
	row := `document.querySelector('#device-table tr[data-device="gauge-1"]')`
	b.waitFor(row+` && `+row+`.textContent.includes('Meldestufe 1')`, "the gauge rated Meldestufe 1")
	if d := eval[string](b, `document.querySelector('.leaflet-marker-icon[data-device="gauge-1"]').textContent`); d != "2" {
		t.Errorf("marker of gauge-1 at 300 cm shows band %q, want 2 (Meldestufe 1 reached)", d)
	}
	if note := eval[string](b, `document.getElementById('legend-source').textContent`); !strings.Contains(note, "eigenen Warnstufen") {
		t.Errorf("legend does not explain the gauge's own levels: %q", note)
	}
	s.publish(t, "gauge-1", `{"level":120}`)
	b.waitFor(row+`.textContent.includes('unter Meldestufe 1')`, "the gauge below its first level")
}
