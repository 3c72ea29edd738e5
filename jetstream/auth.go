package jetstream

import (
	"crypto/rand"
	"encoding/hex"
	"github.com/kessel-city/kessel/internal/loglimit"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/crypto/bcrypt"

	"github.com/kessel-city/kessel"
)

// Roles of MQTT users, as in the embedded mochi broker.
const (
	// RoleDevice may publish only on kessel/devices/{its username}/readings
	// and .../meta, and read public alerts.
	RoleDevice = "device"
	// RoleService may publish and subscribe anywhere.
	RoleService = "service"
)

// ClientIDSeparator separates a device's id from a suffix of its choosing
// in a client id ("air-1@ota").
const ClientIDSeparator = "@"

// User is an MQTT login. PasswordHash is a bcrypt hash.
type User struct {
	Username, PasswordHash, Role string
}

// authenticator decides who may connect and registers each client's
// permissions on the converted subjects. Until ready, only Kessel's own
// in-process connection gets in: devices are refused (CONNACK "not
// authorized", and they retry) until the ingest consumer exists, so no
// acknowledged message can fall into the interest-retention gap.
type authenticator struct {
	users     map[string]User
	anonymous bool
	devMode   bool // anonymous and no users: loopback clients read everything
	internal  struct{ user, password string }
	ready     atomic.Bool
	// clientID returns the MQTT client id of the connection with the
	// server's id; set once the server exists.
	clientID func(id uint64) string
	m        *metrics
	log      *slog.Logger
	limiter  *loglimit.Limiter
}

func newAuthenticator(users []User, anonymous bool, m *metrics, log *slog.Logger, limiter *loglimit.Limiter) (*authenticator, error) {
	a := &authenticator{users: map[string]User{}, anonymous: anonymous, devMode: anonymous && len(users) == 0, m: m, log: log, limiter: limiter}
	for _, u := range users {
		switch {
		case u.Username == "":
			return nil, kessel.Errorf(kessel.EINVALID, "mqtt user: username is required")
		case u.Role != RoleDevice && u.Role != RoleService:
			return nil, kessel.Errorf(kessel.EINVALID, "mqtt user %s: role must be %s or %s", u.Username, RoleDevice, RoleService)
		case u.Role == RoleDevice && !kessel.ValidDeviceID(u.Username):
			return nil, kessel.Errorf(kessel.EINVALID, "mqtt user %s: a device's username is its device id", u.Username)
		}
		if _, dup := a.users[u.Username]; dup {
			return nil, kessel.Errorf(kessel.EINVALID, "mqtt user %s appears twice", u.Username)
		}
		a.users[u.Username] = u
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	a.internal.user, a.internal.password = "kessel-internal-"+hex.EncodeToString(b[:8]), hex.EncodeToString(b[8:])
	return a, nil
}

// Check implements server.Authentication.
func (a *authenticator) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if o.Username == a.internal.user {
		if o.Password != a.internal.password {
			return a.refuse("credentials")
		}
		c.RegisterUser(&server.User{Username: o.Username})
		return true
	}
	if !a.ready.Load() {
		return a.refuse("starting")
	}
	if o.Username == "" {
		if !a.anonymous {
			return a.refuse("credentials")
		}
		var perms *server.Permissions
		if !a.devMode || !loopback(c.RemoteAddress()) {
			perms = readPublic(nil)
			if !a.devMode { // development mode: the tools on loopback only
				perms.Subscribe.Allow = append(perms.Subscribe.Allow, staRead...)
			}
		}
		c.RegisterUser(&server.User{Permissions: withoutSTAPublish(perms)})
		return true
	}
	u, ok := a.users[o.Username]
	if !ok {
		// Compare anyway, so a wrong username costs as long as a wrong password.
		_ = bcrypt.CompareHashAndPassword([]byte("$2a$10$7EqJtq98hPqEX7fNZaFWoOa8tqO3nT9vS3c0VsXUOMMZq0VDiHjCq"), []byte(o.Password))
		return a.refuse("credentials")
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(o.Password)) != nil {
		return a.refuse("credentials")
	}
	cid := a.clientID(c.GetID())
	if !a.clientIDAllowed(u, cid) {
		a.refuse("client_id")
		if ok, heldBack := a.limiter.Allow(); ok {
			a.log.Warn("refused a connection: its client id is another device login's, or not the device login's own (its id, or its id"+ClientIDSeparator+"suffix)",
				"client", cid, "username", u.Username, "remote", c.RemoteAddress(), "not_logged_since_last", heldBack)
		}
		return false
	}
	var perms *server.Permissions
	if u.Role == RoleDevice {
		perms = readPublic(&server.SubjectPermission{Allow: []string{
			Subject(kessel.ReadingsTopic(u.Username)), Subject(kessel.MetaTopic(u.Username)),
		}})
	}
	c.RegisterUser(&server.User{Username: u.Username, Permissions: perms})
	return true
}

func (a *authenticator) refuse(reason string) bool {
	a.m.refused.WithLabelValues(reason).Inc()
	return false
}

// clientIDAllowed: a device login uses its id or its id with a suffix;
// nobody else uses a client id that names a device login. (The listener
// replaces an empty client id by a random one before authentication, so
// "none" cannot be told apart here: a device login may also use any
// client id that names no device.)
func (a *authenticator) clientIDAllowed(u User, cid string) bool {
	if u.Role == RoleDevice && (cid == u.Username || strings.HasPrefix(cid, u.Username+ClientIDSeparator)) {
		return true
	}
	owner, _, _ := strings.Cut(cid, ClientIDSeparator)
	o, ok := a.users[owner]
	return !ok || o.Role != RoleDevice
}

// readPublic returns permissions that let a client read public alerts only
// (internal alerts and every device's self-description stay with service
// logins: a device's visibility is known only from its latest
// self-description, and the listener's permissions are fixed when a
// client connects), and publish as pub says (nil: anywhere).
func readPublic(pub *server.SubjectPermission) *server.Permissions {
	return &server.Permissions{
		Publish: pub,
		// A filter "a/#" is also a subscription to "a" itself.
		Subscribe: &server.SubjectPermission{Allow: []string{
			Subject(kessel.PublicAlertTopicPrefix + "#"), Subject(strings.TrimSuffix(kessel.PublicAlertTopicPrefix, "/")),
		}},
	}
}

func loopback(addr net.Addr) bool {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.IsLoopback()
	}
	return false
}
