package broker

import (
	"github.com/kessel-city/kessel/internal/loglimit"
	"log/slog"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/crypto/bcrypt"

	"github.com/kessel-city/kessel"
)

// Roles of MQTT users.
const (
	// RoleDevice may publish only on kessel/devices/{its username}/readings
	// and .../meta, and read public alerts and public devices'
	// self-descriptions. It connects with its username as client id, or
	// with ClientIDSeparator and a suffix after it ("air-1@ota").
	RoleDevice = "device"
	// RoleService (Kessel's own components, gateways, bridges) may publish
	// and subscribe anywhere, internal alerts and devices included.
	RoleService = "service"
)

// ClientIDSeparator separates a device's id from a suffix of its choosing
// in the client id of a device login ("air-1@ota"); it cannot occur in a
// device id, so one device's client ids never collide with another's.
const ClientIDSeparator = "@"

// User is an MQTT login: the username (for a device, its id), a bcrypt hash
// of its password, and its role.
type User struct {
	Username     string `yaml:"username"`
	PasswordHash string `yaml:"password_hash"`
	Role         string `yaml:"role"`
}

// Validate returns an EINVALID error naming what is wrong.
func (u User) Validate() error {
	switch {
	case u.Username == "":
		return kessel.Errorf(kessel.EINVALID, "mqtt user: username is required")
	case u.Role != RoleDevice && u.Role != RoleService:
		return kessel.Errorf(kessel.EINVALID, "mqtt user %s: role must be %s or %s", u.Username, RoleDevice, RoleService)
	case u.Role == RoleDevice && !kessel.ValidDeviceID(u.Username):
		return kessel.Errorf(kessel.EINVALID, "mqtt user %s: a device's username is its device id: %s", u.Username, kessel.DeviceIDRule)
	}
	if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
		return kessel.Errorf(kessel.EINVALID, "mqtt user %s: password_hash must be a bcrypt hash, as `kessel passwd` prints", u.Username)
	}
	return nil
}

// HashPassword returns the bcrypt hash to store for a password.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// Auth decides who may connect and what they may do.
//
// With Anonymous, a client without a username may connect and publish
// anywhere but under kessel.STATopicPrefix (development only). What it may read depends on Users: with no
// users at all (development mode), an anonymous client connecting from a
// loopback address (the operator's tools on the same host: mosquitto_sub,
// the simulator) reads everything, internal alerts and devices included;
// every other anonymous client reads only what a device login may read.
//
// A client id that names a device login (its id, or its id followed by
// ClientIDSeparator and a suffix) is that device's alone: any other login
// using it is refused with CONNACK "identifier rejected" (0x02; 0x85 on
// MQTT 5), so nobody can knock a device offline by taking its session
// over. A device login must use such a client id (or none, to have the
// broker assign one).
type Auth struct {
	Anonymous bool
	Users     []User
}

type authHook struct {
	mqtt.HookBase
	anonymous bool
	users     map[string]User
	read      *readRules
	m         *metrics
	log       *slog.Logger
	limiter   *loglimit.Limiter // for refused client ids
	// connack refuses a connection with a reason code of its own; set once
	// the server exists.
	connack func(cl *mqtt.Client, code packets.Code) error
}

func newAuthHook(a Auth, read *readRules, m *metrics) (*authHook, error) {
	h := &authHook{anonymous: a.Anonymous, users: map[string]User{}, read: read, m: m}
	for _, u := range a.Users {
		if err := u.Validate(); err != nil {
			return nil, err
		}
		if _, dup := h.users[u.Username]; dup {
			return nil, kessel.Errorf(kessel.EINVALID, "mqtt user %s appears twice", u.Username)
		}
		h.users[u.Username] = u
	}
	return h, nil
}

func (h *authHook) ID() string { return "kessel-auth" }

func (h *authHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish:
		return true
	}
	return false
}

// OnConnect refuses a client id that is not the login's to use. It answers
// "identifier rejected" only to a client whose credentials are right, so
// that the answer tells nobody else which usernames are device logins; a
// client with wrong credentials is refused by OnConnectAuthenticate.
func (h *authHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	if h.clientIDAllowed(string(pk.Connect.Username), pk.Connect.ClientIdentifier) || !h.authenticate(pk) {
		return nil
	}
	h.m.refused.WithLabelValues("client_id").Inc()
	if ok, heldBack := h.limiter.Allow(); ok {
		h.log.Warn("refused a connection: its client id is another login's, or not the device login's own (its id, or its id"+ClientIDSeparator+"suffix)",
			"client", pk.Connect.ClientIdentifier, "username", string(pk.Connect.Username), "remote", cl.Net.Remote, "not_logged_since_last", heldBack)
	}
	if err := h.connack(cl, packets.ErrClientIdentifierNotValid); err != nil {
		return err
	}
	return packets.ErrClientIdentifierNotValid
}

// clientIDAllowed: a device login uses its id, its id with a suffix, or
// none (the broker assigns a unique one); nobody else uses a device's.
func (h *authHook) clientIDAllowed(username, clientID string) bool {
	if u, ok := h.users[username]; ok && u.Role == RoleDevice {
		return clientID == "" || clientID == username || strings.HasPrefix(clientID, username+ClientIDSeparator)
	}
	owner, _, _ := strings.Cut(clientID, ClientIDSeparator)
	u, ok := h.users[owner]
	return !ok || u.Role != RoleDevice
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if h.authenticate(pk) {
		return true
	}
	h.m.refused.WithLabelValues("credentials").Inc()
	return false
}

func (h *authHook) authenticate(pk packets.Packet) bool {
	name := string(pk.Connect.Username)
	if name == "" {
		return h.anonymous
	}
	u, ok := h.users[name]
	if !ok {
		// Compare anyway, so a wrong username costs as long as a wrong password.
		_ = bcrypt.CompareHashAndPassword([]byte("$2a$10$7EqJtq98hPqEX7fNZaFWoOa8tqO3nT9vS3c0VsXUOMMZq0VDiHjCq"), pk.Connect.Password)
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), pk.Connect.Password) == nil
}

// OnACLCheck decides publishes (write) on the topic and subscriptions and
// deliveries (read) of the topic or filter.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	name := string(cl.Properties.Username)
	if name == "" {
		if !h.anonymous {
			return false
		}
		if write {
			return !kessel.OwnTopic(topic)
		}
		return h.read.all(cl.Net.Remote) || h.read.public(topic)
	}
	u, ok := h.users[name]
	if !ok {
		return false
	}
	switch {
	case u.Role == RoleService:
		return true
	case !write:
		return h.read.public(topic)
	}
	rest, ok := strings.CutPrefix(topic, kessel.DeviceTopicPrefix+name+"/")
	return ok && (rest == "readings" || rest == "meta")
}

// OnPublish notes the visibility each self-description declares, before
// the broker delivers or retains it.
func (h *authHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if dev, ok := kessel.MetaTopicDevice(pk.TopicName); ok {
		h.read.observeMeta(dev, pk.Payload, pk.FixedHeader.Retain)
	}
	return pk, nil
}
