package jetstream

import (
	"fmt"
	"testing"
)

func TestPartitionKey(t *testing.T) {
	tests := []struct{ topic, want string }{
		{"kessel/devices/air-1/readings", "air-1"},
		{"kessel/devices/air-1/meta", "air-1"},
		{"kessel/devices/a.b/readings", "a.b"},
		{"v3/app@ttn/devices/eui-1/up", "eui-1"},
		{"kessel/devices/", "kessel/devices/"},
		{"other/topic", "other/topic"},
	}
	for _, tt := range tests {
		if got := partitionKey(tt.topic); got != tt.want {
			t.Errorf("partitionKey(%q) = %q, want %q", tt.topic, got, tt.want)
		}
	}
}

// TestDevicePartition: one device's readings and self-description share a
// partition, every partition is used, and one partition means 0.
func TestDevicePartition(t *testing.T) {
	const n = 8
	used := make([]int, n)
	for i := range 1000 {
		dev := fmt.Sprintf("dev-%d", i)
		k := DevicePartition(dev, n)
		if k < 0 || k >= n {
			t.Fatalf("partition %d of %d", k, n)
		}
		if TopicPartition("kessel/devices/"+dev+"/readings", n) != k || TopicPartition("kessel/devices/"+dev+"/meta", n) != k {
			t.Fatalf("%s: readings, meta and the device id map to different partitions", dev)
		}
		used[k]++
	}
	for k, c := range used {
		if c < 1000/n/2 {
			t.Errorf("partition %d holds %d of 1000 devices: %v", k, c, used)
		}
	}
	if DevicePartition("x", 1) != 0 || DevicePartition("x", 0) != 0 {
		t.Error("one partition must be partition 0")
	}
}
