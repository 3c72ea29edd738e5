package ingest

import "github.com/eclipse/paho.mqtt.golang/packets"

// noStore is a paho Store that keeps nothing. The ingester only receives
// at QoS 1 and never publishes, so paho's default memory store (a mutex and
// a map entry per message) protects nothing: an unacknowledged message is
// redelivered by the broker from the persistent session, not by paho.
type noStore struct{}

func (noStore) Open()                             {}
func (noStore) Put(string, packets.ControlPacket) {}
func (noStore) Get(string) packets.ControlPacket  { return nil }
func (noStore) All() []string                     { return nil }
func (noStore) Del(string)                        {}
func (noStore) Close()                            {}
func (noStore) Reset()                            {}
