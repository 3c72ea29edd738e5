package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/kessel-city/kessel"
)

// Scopes a department key may hold. ScopeAdmin implies all others.
const (
	ScopeDevicesWrite = "devices:write"
	ScopeDataInternal = "data:internal"
	ScopeRulesRead    = "rules:read"
	ScopeRulesWrite   = "rules:write"
	ScopeAlertsManage = "alerts:manage"
	// ScopeMetrics reads all of /metrics, the series naming internal
	// devices included (a Prometheus scrape job's key).
	ScopeMetrics = "metrics"
	ScopeAdmin   = "admin"
)

// Scopes lists every scope.
var Scopes = []string{ScopeDevicesWrite, ScopeDataInternal, ScopeRulesRead, ScopeRulesWrite, ScopeAlertsManage, ScopeMetrics, ScopeAdmin}

// Key is a department's API key as the configuration stores it: never the
// key itself, only its hash ("sha256:<hex>").
type Key struct {
	Name       string   `yaml:"name"`
	Department string   `yaml:"department"`
	Scopes     []string `yaml:"scopes"`
	Hash       string   `yaml:"hash"`
	// Device makes a device key: it may only push readings for this
	// device over HTTP (POST /devices/{id}/readings), and has no scopes.
	Device string `yaml:"device"`
}

// Validate returns an EINVALID error naming what is wrong with the key entry.
func (k Key) Validate() error {
	if k.Name == "" {
		return kessel.Errorf(kessel.EINVALID, "api key: name is required")
	}
	if k.Device != "" {
		if !kessel.ValidDeviceID(k.Device) {
			return kessel.Errorf(kessel.EINVALID, "api key %s: device %q is not a device id", k.Name, k.Device)
		}
		if len(k.Scopes) > 0 {
			return kessel.Errorf(kessel.EINVALID, "api key %s: a device key has no scopes; it may only push its device's readings", k.Name)
		}
		return validHash(k)
	}
	if k.Department == "" {
		return kessel.Errorf(kessel.EINVALID, "api key %s: department is required", k.Name)
	}
	if len(k.Scopes) == 0 {
		return kessel.Errorf(kessel.EINVALID, "api key %s: at least one scope is required (%s)", k.Name, strings.Join(Scopes, ", "))
	}
	for _, s := range k.Scopes {
		if !slices.Contains(Scopes, s) {
			return kessel.Errorf(kessel.EINVALID, "api key %s: unknown scope %q (known: %s)", k.Name, s, strings.Join(Scopes, ", "))
		}
	}
	return validHash(k)
}

func validHash(k Key) error {
	h, ok := strings.CutPrefix(k.Hash, "sha256:")
	if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != sha256.Size {
		return kessel.Errorf(kessel.EINVALID, "api key %s: hash must be sha256:<64 hex digits>, as `kessel keys new` prints", k.Name)
	}
	return nil
}

// HashKey returns the hash under which a key is stored.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// NewKey makes a random key (256 bits) and returns it with its hash.
func NewKey() (key, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("api: new key: %w", err)
	}
	key = "kessel_" + base64.RawURLEncoding.EncodeToString(b)
	return key, HashKey(key), nil
}

// Principal is who a request acts for.
type Principal struct {
	Name       string
	Department string
	Device     string // set for a device key
	scopes     []string
}

// Has reports whether the principal holds scope (admin holds every scope,
// rules:write includes rules:read).
func (p *Principal) Has(scope string) bool {
	return p != nil && (slices.Contains(p.scopes, scope) || slices.Contains(p.scopes, ScopeAdmin) ||
		scope == ScopeRulesRead && slices.Contains(p.scopes, ScopeRulesWrite))
}

type principalKey struct{}

func principalOf(r *http.Request) *Principal {
	p, _ := r.Context().Value(principalKey{}).(*Principal)
	return p
}

// authenticate resolves a Bearer key. Requests without one are public; a
// key that is malformed or unknown is answered 401 at once, or 429 once
// the client's address has used up its failed-authentication bucket
// (Options.FailedAuth). Responses to keyed requests are made private to
// caches (see cacheScope).
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(&cacheScope{ResponseWriter: w}, r)
			return
		}
		key, ok := strings.CutPrefix(h, "Bearer ")
		p, known := s.keys[HashKey(strings.TrimSpace(key))]
		if !ok || !known {
			s.m.authFailures.Inc()
			if ok, wait := s.limiters.allow(ClassAuth, limiterKey{addr: hostOf(s.clientAddr(r))}, s.opts.Now()); !ok {
				s.tooMany(w, r, ClassAuth, wait, "too many requests with a wrong key from your address; retry after the number of seconds in Retry-After")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="kessel", error="invalid_token"`)
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAUTHORIZED, "the Authorization header must be \"Bearer <key>\" with a key this server knows"))
			return
		}
		next.ServeHTTP(&cacheScope{ResponseWriter: w, keyed: true}, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// require answers 401 without a key and 403 with a key lacking scope.
func (s *server) require(scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r)
		switch {
		case p == nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="kessel"`)
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAUTHORIZED, "this endpoint needs a department key with scope %s", scope))
		case !p.Has(scope):
			s.errorResponse(w, r, kessel.Errorf(kessel.EFORBIDDEN, "key %q lacks scope %s", p.Name, scope))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// canSeeInternal reports whether the request may see internal devices and
// their data.
func (s *server) canSeeInternal(r *http.Request) bool { return principalOf(r).Has(ScopeDataInternal) }

// createRefused words the registry's refusal of POST /devices for a key.
// An id that exists answers 409 (change it with PUT) only to a key that
// may see and change that device. Any other key gets the 403 a key gets
// for an id it may not claim, the same whether the id belongs to an
// internal device it cannot see or to another department's public one,
// so that it learns nothing about internal devices beyond the fact,
// inherent in one namespace of ids, that this id is not free.
func (s *server) createRefused(r *http.Request, id string, err error) error {
	if kessel.ErrorCode(err) != kessel.ECONFLICT {
		return err
	}
	p := principalOf(r)
	d, _, ok := s.devices.Get(id)
	if ok && (d.Visibility != kessel.Internal || s.canSeeInternal(r)) && mayWrite(p, d.Department) {
		return err
	}
	s.log.Info("device registration refused: the id is taken by a device the key may not change", "key", p.Name, "device", id)
	return kessel.Errorf(kessel.EFORBIDDEN, "key %q may not register a device with id %q; choose another id", p.Name, id)
}
