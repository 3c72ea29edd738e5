package ingest

import (
	"sync"

	"github.com/kessel-city/kessel"
)

// frameCounter keeps the last LoRaWAN frame counter of each device.
type frameCounter struct {
	mu   sync.Mutex
	last map[string]uint32
}

// track records a frame counter in r's link data (f_cnt) and returns how
// many frames were lost since the device's last one: a jump of more than
// one counts the frames in between (also kept as link data, f_cnt_gap); a
// lower counter is a device reset, not a loss.
func (f *frameCounter) track(r *kessel.Reading, fcnt uint32) (gap uint32) {
	if r.Link == nil {
		r.Link = make(map[string]float64, 2)
	}
	r.Link["f_cnt"] = float64(fcnt)
	f.mu.Lock()
	if f.last == nil {
		f.last = map[string]uint32{}
	}
	last, seen := f.last[r.Device]
	f.last[r.Device] = fcnt
	f.mu.Unlock()
	if seen && fcnt > last+1 {
		gap = fcnt - last - 1
		r.Link["f_cnt_gap"] = float64(gap)
	}
	return gap
}
