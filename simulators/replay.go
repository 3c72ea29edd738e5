package simulators

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Point is one value of a replayed time series.
type Point struct {
	Time  time.Time
	Value float64
}

// timeHeaders name the time column of the CSV files cities and networks
// publish (LfU Bayern, Sensor.Community archive, generic exports).
var timeHeaders = []string{"datum", "timestamp", "time", "date", "zeit", "zeitstempel"}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "02.01.2006 15:04:05", "02.01.2006 15:04", "2006-01-02"}

// ReadSeries reads a time series from CSV: comma or semicolon separated,
// with a UTF-8 byte-order mark or not, metadata lines before the header,
// German decimal commas, quoted fields. column names the value column
// (case-insensitive prefix; empty: the first numeric column after the
// time). Times without an offset are in zone; a "Zeitbezug: MEZ" line
// (LfU Bayern) means UTC+1 all year. Rows without a value are skipped.
func ReadSeries(r io.Reader, column string, zone *time.Location) ([]Point, error) {
	if zone == nil {
		zone = time.UTC
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	timeCol, valueCol, sep := -1, -1, ";"
	var out []Point
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimPrefix(sc.Text(), "\ufeff")
		if strings.TrimSpace(text) == "" {
			continue
		}
		if timeCol < 0 {
			if strings.HasPrefix(strings.ToLower(text), "zeitbezug:") && strings.Contains(strings.ToUpper(text), "MEZ") {
				zone = time.FixedZone("MEZ", 3600)
			}
			sep = ";"
			if !strings.Contains(text, ";") {
				sep = ","
			}
			fields := split(text, sep)
			for i, f := range fields {
				if containsFold(timeHeaders, f) {
					timeCol = i
					break
				}
			}
			if timeCol < 0 {
				continue // a metadata line
			}
			for i, f := range fields {
				if i != timeCol && column != "" && strings.HasPrefix(strings.ToLower(f), strings.ToLower(column)) {
					valueCol = i
					break
				}
			}
			if column != "" && valueCol < 0 {
				return nil, fmt.Errorf("simulators: replay: no column %q in the header %q", column, text)
			}
			continue
		}
		fields := split(text, sep)
		if timeCol >= len(fields) {
			continue
		}
		t, err := parseTime(fields[timeCol], zone)
		if err != nil {
			return nil, fmt.Errorf("simulators: replay: line %d: %w", line, err)
		}
		if valueCol < 0 { // pick the first numeric column after the time
			for i := timeCol + 1; i < len(fields); i++ {
				if _, ok := number(fields[i], sep); ok {
					valueCol = i
					break
				}
			}
		}
		if valueCol < 0 || valueCol >= len(fields) {
			continue
		}
		v, ok := number(fields[valueCol], sep)
		if !ok {
			continue // an empty or missing value
		}
		out = append(out, Point{Time: t, Value: v})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("simulators: replay: %w", err)
	}
	if timeCol < 0 {
		return nil, fmt.Errorf("simulators: replay: no header with a time column (%s)", strings.Join(timeHeaders, ", "))
	}
	return out, nil
}

func split(line, sep string) []string {
	fs := strings.Split(line, sep)
	for i, f := range fs {
		fs[i] = strings.Trim(strings.TrimSpace(f), `"`)
	}
	return fs
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func number(s, sep string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	if sep == ";" {
		s = strings.Replace(s, ",", ".", 1) // German decimal comma
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}

func parseTime(s string, zone *time.Location) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, zone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time this reader knows", s)
}

// ReplayOptions says which device a replayed series belongs to.
type ReplayOptions struct {
	Device, Kind, Field string
	Lon, Lat            float64
	// Rate caps messages per second; 0 = as fast as the broker takes them.
	Rate float64
}

// Replay publishes a series as one device: its meta, then one native
// reading per point, with the points' own times.
func Replay(ctx context.Context, ps []Point, o ReplayOptions, pub Publisher) (Summary, error) {
	s := Summary{Devices: 1, ByKind: map[string]int{}, ByFormat: map[string]int{}, Faults: map[string]int{}}
	realStart := time.Now()
	d := &Device{ID: o.Device, Kind: o.Kind, Location: [2]float64{o.Lon, o.Lat}, Format: "native"}
	if err := pub.Publish(ctx, Meta(d)); err != nil {
		return s, fmt.Errorf("replay: meta: %w", err)
	}
	s.Meta = 1
	var gap time.Duration
	if o.Rate > 0 {
		gap = time.Duration(float64(time.Second) / o.Rate)
	}
	for _, p := range ps {
		if err := ctx.Err(); err != nil {
			break
		}
		if err := pub.Publish(ctx, NativeReading(d, p.Time, map[string]float64{o.Field: p.Value})); err != nil {
			return s, fmt.Errorf("replay: %w", err)
		}
		s.Sent++
		s.ByKind[o.Kind]++
		s.ByFormat["native"]++
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := pub.Flush(flushCtx)
	s.Errors = pub.Failed()
	s.DurationSeconds = time.Since(realStart).Seconds()
	if s.DurationSeconds > 0 {
		s.RatePerSecond = float64(s.Sent) / s.DurationSeconds
	}
	return s, err
}
