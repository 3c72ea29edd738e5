package jetstream

import (
	"hash/fnv"
	"strings"

	"github.com/kessel-city/kessel"
)

// partitionKey is what decides a message's partition: the device id of a
// device topic (kessel/devices/{id}/…, v3/{app}/devices/{id}/up), else
// the whole topic.
func partitionKey(topic string) string {
	if rest, ok := strings.CutPrefix(topic, kessel.DeviceTopicPrefix); ok {
		if dev, _, ok := strings.Cut(rest, "/"); ok && dev != "" {
			return dev
		}
	}
	if l := strings.Split(topic, "/"); len(l) == 5 && l[0] == "v3" && l[2] == "devices" {
		return l[3]
	}
	return topic
}

// DevicePartition returns the partition, of n, whose consumer carries the
// device's messages: FNV-1a of the id modulo n. Every replica computes the
// same, so one device's messages always go through one partition.
func DevicePartition(device string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(device))
	return int(h.Sum32() % uint32(n))
}

// TopicPartition returns the partition, of n, of a message on topic.
func TopicPartition(topic string, n int) int { return DevicePartition(partitionKey(topic), n) }
