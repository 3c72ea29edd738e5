package api

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// staRoot is the service root of the OGC SensorThings API 1.1 (read).
const staRoot = "/sta/v1.1"

// staConformance lists the conformance classes the service root claims.
var staConformance = []string{
	"http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
	"http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
	"http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
	// Observations of each Datastream on v1.1/Datastreams('id')/Observations
	// (Kessel's broker; not the entity-set, entity or property topics).
	"http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates",
}

// handleSTA serves every read of the SensorThings API: the service root,
// entity sets, entities, navigation, properties, $value and $ref.
func (s *server) handleSTA() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, media, err := s.staAnswer(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		s.encode(w, r, body, reply{media: media, cache: cacheLive})
	})
}

func (s *server) staAnswer(r *http.Request) (any, string, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, staRoot)
	if !ok || rest != "" && rest[0] != '/' {
		return nil, "", kessel.Errorf(kessel.ENOTFOUND, "no resource at %s", r.URL.Path)
	}
	q, err := parseSTAQuery(r.URL.Query())
	if err != nil {
		return nil, "", err
	}
	m := s.staModel(r)
	if rest == "" || rest == "/" {
		sets := make([]any, len(staSets))
		for i, name := range staSets {
			sets[i] = map[string]string{"name": name, "url": m.base + "/" + name}
		}
		return map[string]any{"value": sets, "serverSettings": map[string]any{"conformance": staConformance}}, "", nil
	}
	return m.resolve(strings.Split(rest[1:], "/"), q)
}

var staSegment = regexp.MustCompile(`^([A-Za-z]+|\$value|\$ref)(?:\((.*)\))?$`)

// staState is where resolving a path has got to: a collection (ents) or
// one entity (one), the path so far and, after a property, its name.
type staState struct {
	ents     []*staEntity
	one      *staEntity
	link     string
	property string
}

// resolve follows a resource path (OGC 18-088 §9.2) and answers it.
func (m *staModel) resolve(segs []string, q *staQuery) (any, string, error) {
	notFound := kessel.Errorf(kessel.ENOTFOUND, "no SensorThings resource at %s/%s", staRoot, strings.Join(segs, "/"))
	var cur staState
	for i, seg := range segs {
		sm := staSegment.FindStringSubmatch(seg)
		if sm == nil {
			return nil, "", notFound
		}
		name, rawID, hasID := sm[1], sm[2], strings.HasSuffix(seg, ")")
		id, err := staID(rawID)
		if hasID && err != nil {
			return nil, "", err
		}
		last := i == len(segs)-1
		switch {
		case i == 0 && name == "Observations" && !hasID && last:
			return m.observationCollection(nil, "", q, m.base+"/Observations")
		case i == 0:
			if _, ok := staNavs[name]; !ok {
				return nil, "", notFound
			}
			cur.link = m.base + "/" + name
			if hasID {
				if cur.one, err = m.get(name, id); err != nil {
					return nil, "", err
				}
				cur.link = m.self(cur.one)
			} else {
				cur.ents = m.list(name)
			}
		case name == "$value" && cur.property != "" && last && !hasID:
			v := cur.one.props[cur.property]
			if t, ok := v.(time.Time); ok {
				v = t.Format(time.RFC3339Nano)
			}
			if v == nil {
				return nil, "", kessel.Errorf(kessel.ENOTFOUND, "%s is null", cur.property)
			}
			if _, isText := v.(string); !isText {
				b, err := marshal(v)
				return b, "", err
			}
			return []byte(fmt.Sprint(v)), "text/plain; charset=utf-8", nil
		case name == "$ref" && cur.property == "" && last && !hasID:
			return m.refs(cur, q)
		case cur.one != nil && cur.property == "" && (cur.one.set == "Datastreams" || cur.one.set == "FeaturesOfInterest" && !cur.one.track) && name == "Observations" && !hasID && last:
			return m.observationCollection(cur.one.st, cur.one.field, q, m.self(cur.one)+"/Observations")
		case cur.one != nil && cur.property == "" && staNavs[cur.one.set][name] != "":
			rel, err := m.related(cur.one, name, q)
			if err != nil {
				return nil, "", err
			}
			cur = staState{ents: rel, link: m.self(cur.one) + "/" + name}
			if staSingular(name) || hasID {
				if cur.one = staPick(rel, id, hasID); cur.one == nil {
					return nil, "", notFound
				}
				cur.ents, cur.link = nil, m.self(cur.one)
			}
		case cur.one != nil && cur.property == "" && !hasID && staHasProperty(cur.one, name):
			cur.property = name
		default:
			return nil, "", notFound
		}
	}
	switch {
	case cur.property != "":
		v, _ := m.value(cur.one, []string{cur.property})
		key := cur.property
		if key == "id" {
			key = "@iot.id"
		}
		return map[string]any{key: v}, "", nil
	case cur.one != nil:
		out, err := m.render(cur.one, q)
		return out, "", err
	}
	return m.collection(cur.ents, q, cur.link)
}

// staID reads an entity id: 'text' (” is a quote) or a bare number.
func staID(raw string) (string, error) {
	if len(raw) >= 2 && raw[0] == '\'' && raw[len(raw)-1] == '\'' {
		return strings.ReplaceAll(raw[1:len(raw)-1], "''", "'"), nil
	}
	if _, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return raw, nil
	}
	return "", invalid("entity id %q is neither 'text' nor a number", raw)
}

func staHasProperty(e *staEntity, name string) bool {
	_, ok := e.props[name]
	return ok || name == "id"
}

func staPick(ents []*staEntity, id string, byID bool) *staEntity {
	for _, e := range ents {
		if !byID || e.id == id {
			return e
		}
	}
	return nil
}

// collection answers one page of ents with @iot.count and @iot.nextLink.
func (m *staModel) collection(ents []*staEntity, q *staQuery, link string) (any, string, error) {
	page, total, err := q.apply(m, ents)
	if err != nil {
		return nil, "", err
	}
	out := map[string]any{}
	if q.count {
		out["@iot.count"] = total
	}
	if q.top > 0 && q.skip+len(page) < total { // $top=0 asks for the count alone
		out["@iot.nextLink"] = m.nextLink(link, q, m.r.URL.Query())
	}
	vals := make([]any, len(page))
	for i, e := range page {
		if vals[i], err = m.render(e, q); err != nil {
			return nil, "", err
		}
	}
	out["value"] = vals
	return out, "", nil
}

// nextLink is link with the query v, its $skip moved one page on.
func (m *staModel) nextLink(link string, q *staQuery, v url.Values) string {
	v.Set("$skip", strconv.Itoa(q.skip+q.top))
	v.Set("$top", strconv.Itoa(q.top))
	return link + "?" + strings.ReplaceAll(v.Encode(), "+", "%20")
}

// refs answers $ref: the selfLinks of the entities reached.
func (m *staModel) refs(cur staState, q *staQuery) (any, string, error) {
	if cur.one != nil {
		return map[string]any{"@iot.selfLink": m.self(cur.one)}, "", nil
	}
	page, total, err := q.apply(m, cur.ents)
	if err != nil {
		return nil, "", err
	}
	vals := make([]any, len(page))
	for i, e := range page {
		vals[i] = map[string]any{"@iot.selfLink": m.self(e)}
	}
	out := map[string]any{"value": vals}
	if q.count {
		out["@iot.count"] = total
	}
	return out, "", nil
}

// render is one entity as JSON with its links, $select and $expand.
func (m *staModel) render(e *staEntity, q *staQuery) (map[string]any, error) {
	self := m.self(e)
	out := map[string]any{"@iot.id": e.id, "@iot.selfLink": self}
	for k, v := range e.props {
		out[k] = v
	}
	for nav := range staNavs[e.set] {
		out[nav+"@iot.navigationLink"] = self + "/" + nav
	}
	if len(q.selects) > 0 {
		kept := map[string]any{}
		for _, k := range q.selects {
			key := k
			switch {
			case k == "id" || k == "@iot.id" || k == "selfLink" || k == "@iot.selfLink":
				key = "@iot." + strings.TrimPrefix(k, "@iot.")
			case staNavs[e.set][k] != "":
				key = k + "@iot.navigationLink"
			default:
				if _, ok := e.props[k]; !ok {
					return nil, invalid("$select: %s have no property %s", e.set, k)
				}
			}
			kept[key] = out[key]
		}
		out = kept
	}
	for _, ex := range q.expand {
		if err := m.expand(out, e, self, ex); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (m *staModel) expand(out map[string]any, e *staEntity, self string, ex staExpand) error {
	if staNavs[e.set][ex.nav] == "" {
		return invalid("$expand: %s have no navigation property %s", e.set, ex.nav)
	}
	rel, err := m.related(e, ex.nav, ex.q)
	if err != nil {
		return err
	}
	if staSingular(ex.nav) {
		out[ex.nav] = nil
		if len(rel) > 0 {
			out[ex.nav], err = m.render(rel[0], ex.q)
		}
		return err
	}
	page, total, err := ex.q.apply(m, rel)
	if err != nil {
		return err
	}
	vals := make([]any, len(page))
	for i, x := range page {
		if vals[i], err = m.render(x, ex.q); err != nil {
			return err
		}
	}
	out[ex.nav] = vals
	if ex.q.count {
		out[ex.nav+"@iot.count"] = total
	}
	if ex.q.top > 0 && ex.q.skip+len(page) < total {
		v := url.Values{}
		for k, vs := range ex.q.raw {
			v[k] = vs
		}
		out[ex.nav+"@iot.nextLink"] = m.nextLink(self+"/"+ex.nav, ex.q, v)
	}
	return nil
}
