package broker

import (
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/crypto/bcrypt"

	"github.com/kessel-city/kessel"
)

// Roles of MQTT users.
const (
	// RoleDevice may publish only on kessel/devices/{its username}/readings
	// and .../meta, and read the alerts topics.
	RoleDevice = "device"
	// RoleService (Kessel's own components, gateways, bridges) may publish
	// and subscribe anywhere.
	RoleService = "service"
)

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
		return kessel.Errorf(kessel.EINVALID, "mqtt user %s: a device's username is its device id", u.Username)
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

// Auth decides who may connect and what they may do. With Anonymous, a
// client without a username may do anything (development only).
type Auth struct {
	Anonymous bool
	Users     []User
}

type authHook struct {
	mqtt.HookBase
	anonymous bool
	users     map[string]User
}

func newAuthHook(a Auth) (*authHook, error) {
	h := &authHook{anonymous: a.Anonymous, users: map[string]User{}}
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
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
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

func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	name := string(cl.Properties.Username)
	if name == "" {
		return h.anonymous
	}
	u, ok := h.users[name]
	if !ok {
		return false
	}
	if u.Role == RoleService {
		return true
	}
	if !write {
		return strings.HasPrefix(topic, "kessel/alerts/")
	}
	rest, ok := strings.CutPrefix(topic, kessel.DeviceTopicPrefix+name+"/")
	return ok && (rest == "readings" || rest == "meta")
}
