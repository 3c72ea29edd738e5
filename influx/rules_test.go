package influx_test

import (
	"context"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
)

// TestRuleSet: a rule set saved by an earlier version (its keys in another
// order) loads, and one saved now in Rule's JSON form loads back equal.
func TestRuleSet(t *testing.T) {
	c, srv := newClient(t)
	ctx := context.Background()
	var got []kessel.Rule
	if found, err := c.LoadRules(ctx, &got); err != nil || found {
		t.Fatalf("an empty store: found %v, %v", found, err)
	}
	clear := 45.0
	want := []kessel.Rule{{ID: "pm", Name: "n", Kind: "air_quality", District: "Mitte", Field: "pm10", Condition: "mean", Op: ">", Threshold: 50,
		Window: 24 * time.Hour, Clear: &clear, For: 10 * time.Minute, Severity: "warning", Visibility: kessel.Public, Labels: map[string]string{"x": "y"}}}
	old := `[{"id":"pm","name":"n","kind":"air_quality","district":"Mitte","field":"pm10","condition":"mean","op":"\u003e","threshold":50,"window":"24h0m0s","clear":45,"for":"10m0s","severity":"warning","visibility":"public","labels":{"x":"y"}}]`
	escaped := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(old)
	line := influx.RuleMeasurement + ` doc="` + escaped + `" ` + strconv.FormatInt(time.Now().Add(-time.Minute).UnixNano(), 10)
	resp, err := http.Post(srv.URL+"/write?db=kessel&rp=autogen", "text/plain", strings.NewReader(line))
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("writing an old rule set: %v %v", err, resp)
	}
	if found, err := c.LoadRules(ctx, &got); err != nil || !found || !reflect.DeepEqual(got, want) {
		t.Fatalf("old rule set: found %v, %v: %+v, want %+v", found, err, got, want)
	}
	want[0].Silence, want[0].KeepFiringFor, want[0].Summary = time.Minute, time.Hour, "s"
	want = append(want, kessel.Rule{ID: "quiet", Kind: "wildfire", Condition: "silence", Silence: 2 * time.Hour})
	if err := c.SaveRules(ctx, want); err != nil {
		t.Fatal(err)
	}
	got = nil
	if found, err := c.LoadRules(ctx, &got); err != nil || !found || !reflect.DeepEqual(got, want) {
		t.Errorf("saved rule set: found %v, %v: %+v, want %+v", found, err, got, want)
	}
}
