package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/registry"
)

// base is the fixed clock the tests start from.
var base = time.Date(2026, 1, 5, 7, 0, 0, 0, time.UTC)

// journal is a Journal that keeps what it is given, failing with fail
// when set. during, when set, runs inside SaveDevices, while the registry
// holds no lock, to change the registry in the middle of a flush.
type journal struct {
	mu     sync.Mutex
	saves  [][]kessel.DeviceRecord
	fail   error
	during func()
}

func (j *journal) SaveDevices(_ context.Context, recs []kessel.DeviceRecord) error {
	j.mu.Lock()
	during, fail := j.during, j.fail
	j.during = nil
	j.mu.Unlock()
	if during != nil {
		during()
	}
	if fail != nil {
		return fail
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b kessel.DeviceRecord) int { return strings.Compare(a.Device.ID, b.Device.ID) })
	j.saves = append(j.saves, recs)
	return nil
}

// records returns every record saved so far, in order.
func (j *journal) records() []kessel.DeviceRecord {
	j.mu.Lock()
	defer j.mu.Unlock()
	var all []kessel.DeviceRecord
	for _, s := range j.saves {
		all = append(all, s...)
	}
	return all
}

// halves is a Locator with two districts: west and east of 9.18° E.
type halves struct{}

func (halves) District(p orb.Point) string {
	if p[0] < 9.18 {
		return "west"
	}
	return "east"
}

func newRegistry(t *testing.T, opts registry.Options) *registry.Registry {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return base }
	}
	r, err := registry.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func pt(lon, lat float64) *orb.Point { return &orb.Point{lon, lat} }

func TestNewPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy registry.UnknownPolicy
		code   string // "" = accepted
	}{
		{"", ""},
		{registry.AutoRegister, ""},
		{registry.Reject, ""},
		{"ignore", kessel.EINVALID},
	} {
		_, err := registry.New(registry.Options{Unknown: tc.policy})
		if got := kessel.ErrorCode(err); (err == nil) != (tc.code == "") || (err != nil && got != tc.code) {
			t.Errorf("New(%q) = %v, want code %q", tc.policy, err, tc.code)
		}
	}
}

// TestUnknownDevicePolicy: a reading from a device nobody registered
// registers it as internal (auto-register, the default) or is refused
// with ENOTFOUND and registers nothing (reject).
func TestUnknownDevicePolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policy   registry.UnknownPolicy
		kind     string
		wantErr  string
		wantKind string
	}{
		{"default registers", "", "noise", "", "noise"},
		{"auto-register without a kind", registry.AutoRegister, "", "", "unknown"},
		{"reject", registry.Reject, "noise", kessel.ENOTFOUND, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRegistry(t, registry.Options{Unknown: tc.policy, Locator: halves{}})
			rd := kessel.Reading{Device: "stranger", Kind: tc.kind, Location: pt(9.1, 48.7)}
			err := r.Enrich(&rd)
			if kessel.ErrorCode(err) != tc.wantErr && !(err == nil && tc.wantErr == "") {
				t.Fatalf("Enrich = %v, want %q", err, tc.wantErr)
			}
			d, _, ok := r.Get("stranger")
			if tc.wantErr != "" {
				if ok || r.Len() != 0 {
					t.Errorf("a refused device was registered: %+v", d)
				}
				return
			}
			if !ok || d.Kind != tc.wantKind || d.Visibility != kessel.Internal || d.District != "west" {
				t.Errorf("registered %+v; want kind %s, internal, district west", d, tc.wantKind)
			}
			if !rd.Internal || rd.Kind != tc.wantKind || rd.District != "west" {
				t.Errorf("reading enriched to %+v", rd)
			}
		})
	}
}

// TestOperatorBeatsDevice: a self-description never overrides what an
// operator (config or API) set; an operator overrides a self-description.
func TestOperatorBeatsDevice(t *testing.T) {
	operator := kessel.Device{ID: "road-1", Kind: "road_surface", Department: "winterdienst", Visibility: kessel.Internal, Location: pt(9.2, 48.8)}
	device := kessel.Device{ID: "road-1", Kind: "weather", Name: "self", Location: pt(9.1, 48.7)}
	for _, tc := range []struct {
		name  string
		steps []func(*registry.Registry) error
		want  kessel.Device
	}{
		{"operator, then device", []func(*registry.Registry) error{
			func(r *registry.Registry) error { return r.Put(operator) },
			func(r *registry.Registry) error { return r.Describe(device) },
		}, operator},
		{"device, then operator", []func(*registry.Registry) error{
			func(r *registry.Registry) error { return r.Describe(device) },
			func(r *registry.Registry) error { return r.Put(operator) },
		}, operator},
		{"device only (public by default)", []func(*registry.Registry) error{
			func(r *registry.Registry) error { return r.Describe(device) },
		}, kessel.Device{ID: "road-1", Kind: "weather", Name: "self", Visibility: kessel.Public, Location: pt(9.1, 48.7)}},
		{"operator via the API, then device", []func(*registry.Registry) error{
			func(r *registry.Registry) error { _, err := r.Create(context.Background(), operator); return err },
			func(r *registry.Registry) error { return r.Describe(device) },
		}, operator},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRegistry(t, registry.Options{})
			for _, step := range tc.steps {
				if err := step(r); err != nil {
					t.Fatal(err)
				}
			}
			got, _, _ := r.Get("road-1")
			if got.Kind != tc.want.Kind || got.Name != tc.want.Name || got.Department != tc.want.Department ||
				got.Visibility != tc.want.Visibility || *got.Location != *tc.want.Location {
				t.Errorf("device %+v; want %+v", got, tc.want)
			}
			if vis, ok := r.Visibility("road-1"); !ok || vis != tc.want.Visibility {
				t.Errorf("Visibility = %s, %v; want %s", vis, ok, tc.want.Visibility)
			}
		})
	}
}

// TestVersions: every change of a device moves its version, even when the
// clock does not; a repeated self-description changes nothing; API
// changes answer EPRECONDITION for a stale version and ENOTFOUND for an
// unknown device.
func TestVersions(t *testing.T) {
	ctx := context.Background()
	r := newRegistry(t, registry.Options{}) // a clock that never moves
	d := kessel.Device{ID: "air-1", Kind: "air_quality"}
	created, err := r.Create(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	v1 := registry.Version(created)
	if _, err := r.Create(ctx, d); kessel.ErrorCode(err) != kessel.ECONFLICT {
		t.Errorf("second Create: %v, want ECONFLICT", err)
	}
	d.Name = "Neckartor"
	replaced, err := r.Replace(ctx, d, v1)
	if err != nil {
		t.Fatal(err)
	}
	v2 := registry.Version(replaced)
	if v2 == v1 || !replaced.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("after Replace: version %s (was %s), created %v (was %v)", v2, v1, replaced.CreatedAt, created.CreatedAt)
	}
	for _, tc := range []struct {
		name string
		op   func() error
		code string
	}{
		{"replace with a stale version", func() error { _, err := r.Replace(ctx, d, v1); return err }, kessel.EPRECONDITION},
		{"replace an unknown device", func() error {
			_, err := r.Replace(ctx, kessel.Device{ID: "nobody"}, v1)
			return err
		}, kessel.ENOTFOUND},
		{"replace with a bad kind", func() error {
			_, err := r.Replace(ctx, kessel.Device{ID: "air-1", Kind: "Bad Kind"}, v2)
			return err
		}, kessel.EINVALID},
		{"delete with a stale version", func() error { return r.Delete(ctx, "air-1", v1) }, kessel.EPRECONDITION},
		{"delete an unknown device", func() error { return r.Delete(ctx, "nobody", "") }, kessel.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); kessel.ErrorCode(err) != tc.code && !(err == nil && tc.code == "") {
				t.Errorf("%v, want %q", err, tc.code)
			}
			if got, _, _ := r.Get("air-1"); registry.Version(got) != v2 {
				t.Errorf("version moved to %s", registry.Version(got))
			}
		})
	}
	if err := r.Delete(ctx, "air-1", v2); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := r.Get("air-1"); ok {
		t.Error("deleted device still there")
	}

	// A self-description repeated word for word keeps the version.
	desc := kessel.Device{ID: "noise-1", Kind: "noise", Labels: map[string]string{"floor": "2"}}
	r.Describe(desc)
	first, _, _ := r.Get("noise-1")
	r.Describe(desc)
	if again, _, _ := r.Get("noise-1"); registry.Version(again) != registry.Version(first) {
		t.Error("a repeated self-description moved the version")
	}
}

// TestObserve: the newest reading is a device's latest, whatever the order
// of arrival; a mobile device moves to where it reported from; a reading
// from a device nobody described makes an internal entry.
func TestObserve(t *testing.T) {
	r := newRegistry(t, registry.Options{Locator: halves{}})
	r.Put(kessel.Device{ID: "bus-1", Kind: "air_quality", Location: pt(9.1, 48.7)})
	r.Observe([]kessel.Reading{
		{Device: "bus-1", Time: base.Add(2 * time.Minute), Values: map[string]float64{"pm10": 2}, Location: pt(9.25, 48.8), District: "east"},
		{Device: "bus-1", Time: base.Add(time.Minute), Values: map[string]float64{"pm10": 1}},
		{Device: "ghost", Kind: "noise", Time: base},
	})
	d, latest, _ := r.Get("bus-1")
	if latest == nil || latest.Values["pm10"] != 2 || !d.LastSeen.Equal(base.Add(2*time.Minute)) {
		t.Errorf("latest %+v, last seen %v; want the newer reading", latest, d.LastSeen)
	}
	if *d.Location != (orb.Point{9.25, 48.8}) || d.District != "east" {
		t.Errorf("mobile device at %v in %q; want where it reported from", *d.Location, d.District)
	}
	r.Observe([]kessel.Reading{{Device: "bus-1", Time: base.Add(3 * time.Minute), Values: map[string]float64{}, Link: map[string]float64{"rssi": -90}}})
	d, latest, _ = r.Get("bus-1")
	if latest == nil || latest.Values["pm10"] != 2 || latest.Link["rssi"] != -90 || !d.LastSeen.Equal(base.Add(3*time.Minute)) {
		t.Errorf("after link data only: latest %+v, last seen %v; want the values kept, the link and the time it was heard", latest, d.LastSeen)
	}
	if hits := r.Query(kessel.DeviceQuery{Near: pt(9.25, 48.8), Radius: 100}); len(hits) != 1 || hits[0].Device.ID != "bus-1" {
		t.Errorf("not found where it moved: %+v", hits)
	}
	if vis, ok := r.Visibility("ghost"); !ok || vis != kessel.Internal {
		t.Errorf("an undescribed device: %s %v, want internal", vis, ok)
	}
	if _, ok := r.Visibility("nobody"); ok {
		t.Error("Visibility knows a device nobody mentioned")
	}
}

// TestQueryVisibility: internal devices appear only to queries that
// include them, spatial or not.
func TestQueryVisibility(t *testing.T) {
	r := newRegistry(t, registry.Options{Locator: halves{}})
	r.Put(kessel.Device{ID: "pub", Kind: "noise", Location: pt(9.2, 48.8)})
	r.Put(kessel.Device{ID: "int", Kind: "noise", Visibility: kessel.Internal, Department: "winterdienst", Location: pt(9.2001, 48.8)})
	box := orb.Bound{Min: orb.Point{9.1, 48.7}, Max: orb.Point{9.3, 48.9}}
	for _, tc := range []struct {
		name string
		q    kessel.DeviceQuery
		want string
	}{
		{"all public", kessel.DeviceQuery{}, "pub"},
		{"all", kessel.DeviceQuery{IncludeInternal: true}, "int,pub"},
		{"box", kessel.DeviceQuery{BBox: &box}, "pub"},
		{"box with internal", kessel.DeviceQuery{BBox: &box, IncludeInternal: true}, "int,pub"},
		{"nearest", kessel.DeviceQuery{Near: pt(9.2001, 48.8), K: 5}, "pub"},
		{"nearest with internal", kessel.DeviceQuery{Near: pt(9.2001, 48.8), K: 5, IncludeInternal: true}, "int,pub"},
		{"department", kessel.DeviceQuery{Department: "winterdienst", IncludeInternal: true}, "int"},
		{"district", kessel.DeviceQuery{District: "west", IncludeInternal: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ids []string
			for _, st := range r.Query(tc.q) {
				ids = append(ids, st.Device.ID)
			}
			if got := strings.Join(ids, ","); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestJournalFlush: changes reach the journal once; API changes before
// their call returns; a failed write keeps them for the next flush, and a
// change made while the write was failing is not overwritten by the older
// record.
func TestJournalFlush(t *testing.T) {
	ctx := context.Background()
	j := &journal{}
	r := newRegistry(t, registry.Options{Journal: j})
	r.Put(kessel.Device{ID: "a", Kind: "noise"})
	r.Describe(kessel.Device{ID: "b", Kind: "noise"})
	if len(j.records()) != 0 {
		t.Fatal("Put wrote before a flush")
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := describe(j.records()); got != "a:noise:operator b:noise:device" {
		t.Errorf("journal %s", got)
	}
	if _, err := r.Create(ctx, kessel.Device{ID: "c", Kind: "parking"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, "a", ""); err != nil {
		t.Fatal(err)
	}
	if got := describe(j.records()[2:]); got != "c:parking:operator a:deleted" {
		t.Errorf("API changes journaled as %s", got)
	}

	down := errors.New("store down")
	j.fail = down
	r.Put(kessel.Device{ID: "d", Kind: "noise"})
	j.during = func() { r.Put(kessel.Device{ID: "d", Kind: "weather"}) }
	if err := r.Flush(ctx); !errors.Is(err, down) {
		t.Fatalf("Flush = %v, want the journal's error", err)
	}
	j.fail = nil
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := describe(j.records()[4:]); got != "d:weather:operator" {
		t.Errorf("after the failure the journal got %s; want the newer record only", got)
	}
}

func describe(recs []kessel.DeviceRecord) string {
	var s []string
	for _, rec := range recs {
		switch {
		case rec.Deleted:
			s = append(s, rec.Device.ID+":deleted")
		case rec.ByOperator:
			s = append(s, rec.Device.ID+":"+rec.Device.Kind+":operator")
		default:
			s = append(s, rec.Device.ID+":"+rec.Device.Kind+":device")
		}
	}
	return strings.Join(s, " ")
}

// TestJournalReload: a new registry loaded from the journal has the same
// devices: the last record of each wins, deleted devices stay away, and an
// operator's device still outranks self-descriptions.
func TestJournalReload(t *testing.T) {
	ctx := context.Background()
	j := &journal{}
	clock := base
	r := newRegistry(t, registry.Options{Journal: j, Locator: halves{}, Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	r.Put(kessel.Device{ID: "op", Kind: "noise", Department: "umweltamt", Location: pt(9.1, 48.7)})
	r.Describe(kessel.Device{ID: "self", Kind: "noise", Visibility: kessel.Internal})
	r.Describe(kessel.Device{ID: "self", Kind: "weather", Visibility: kessel.Internal})
	r.Put(kessel.Device{ID: "gone", Kind: "noise"})
	r.Flush(ctx)
	if err := r.Delete(ctx, "gone", ""); err != nil {
		t.Fatal(err)
	}

	loaded := newRegistry(t, registry.Options{Locator: halves{}})
	loaded.Put(kessel.Device{ID: "gone", Kind: "noise"}) // from the config, deleted later through the API
	loaded.Load(j.records())
	want := r.Query(kessel.DeviceQuery{IncludeInternal: true})
	got := loaded.Query(kessel.DeviceQuery{IncludeInternal: true})
	if len(got) != len(want) {
		t.Fatalf("loaded %d devices, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i].Device, want[i].Device
		if g.ID != w.ID || g.Kind != w.Kind || g.Department != w.Department || g.Visibility != w.Visibility ||
			g.District != w.District || registry.Version(g) != registry.Version(w) {
			t.Errorf("loaded %+v\nwant   %+v", g, w)
		}
	}
	loaded.Describe(kessel.Device{ID: "op", Kind: "weather"})
	if d, _, _ := loaded.Get("op"); d.Kind != "noise" {
		t.Errorf("after a reload a self-description overrode the operator's device: %+v", d)
	}
	// A record without a visibility (an older journal) is internal.
	loaded.Load([]kessel.DeviceRecord{{Device: kessel.Device{ID: "old", Kind: "noise"}}})
	if vis, _ := loaded.Visibility("old"); vis != kessel.Internal {
		t.Errorf("a record without visibility loaded as %q", vis)
	}
}

// TestRunFlushesOnStop: Run writes what is pending when its context ends,
// and returns only after that.
func TestRunFlushesOnStop(t *testing.T) {
	j := &journal{}
	r := newRegistry(t, registry.Options{Journal: j})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.Put(kessel.Device{ID: "late", Kind: "noise"})
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := describe(j.records()); got != "late:noise:operator" {
		t.Errorf("journal after Run: %q", got)
	}
}
