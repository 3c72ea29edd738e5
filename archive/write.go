package archive

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// FieldLister names the fields a kind has in a span of time; the CSV
// header is made of them, so every row of a kind has the same columns.
type FieldLister interface {
	FieldKeys(ctx context.Context, kind string, from, to time.Time) ([]string, error)
}

// WriteDay writes the archive of day (the UTC day holding it) and returns
// what it wrote. An existing folder of that day is replaced as a whole. It
// returns an error, and leaves any earlier folder of the day in place,
// when the store cannot be read. Writes run one at a time.
func (a *Archive) WriteDay(ctx context.Context, day time.Time) (Day, error) {
	a.writing.Lock()
	defer a.writing.Unlock()
	from := day.UTC().Truncate(24 * time.Hour)
	out := Day{Day: from}
	tmp, err := os.MkdirTemp(a.dir, ".day-")
	if err != nil {
		return out, fmt.Errorf("archive: %w", err)
	}
	defer os.RemoveAll(tmp)
	byKind := map[string][]kessel.DeviceState{}
	for _, st := range a.devices.Query(kessel.DeviceQuery{}) {
		byKind[st.Device.Kind] = append(byKind[st.Device.Kind], st)
	}
	delete(byKind, "") // a device that never said its kind has no readings
	kinds := slices.Sorted(maps.Keys(byKind))
	last := map[string]kessel.Reading{} // each device's last reading of the day
	for _, kind := range kinds {
		f, err := a.writeKind(ctx, tmp, kind, byKind[kind], from, last)
		if err != nil {
			a.failed.Inc()
			return out, fmt.Errorf("archive: %s %s: %w", from.Format(time.DateOnly), kind, err)
		}
		out.Files = append(out.Files, f)
		a.rows.Add(float64(f.Rows))
	}
	f, err := writeFile(tmp, "devices.geojson", func(w io.Writer) (int, error) {
		return writePositions(w, byKind, last, from)
	})
	if err != nil {
		return out, fmt.Errorf("archive: %w", err)
	}
	out.Files = append(out.Files, f)
	if err := writeSums(tmp, out.Files); err != nil {
		return out, fmt.Errorf("archive: %w", err)
	}
	if err := a.place(tmp, from); err != nil {
		a.failed.Inc()
		return out, err
	}
	a.days.Inc()
	return out, nil
}

// place moves a written day folder into the archive, replacing an earlier one.
func (a *Archive) place(tmp string, day time.Time) error {
	final := filepath.Join(a.dir, DayPath(day))
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	old := ""
	if _, err := os.Stat(final); err == nil {
		old = tmp + ".old"
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("archive: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// writeKind writes kind.csv.gz: a row per stored reading of the kind's
// devices in [from, from+24h), ordered by device then time, with every
// value and its quality flag (column <field>_qc, empty without one); when
// the day has no raw readings of the kind, a row per device and hour from
// the hourly rollups (writeKindFromRollups).
func (a *Archive) writeKind(ctx context.Context, dir, kind string, devs []kessel.DeviceState, from time.Time, last map[string]kessel.Reading) (File, error) {
	a.yield(ctx)
	var fields []string
	if fl, ok := a.store.(FieldLister); ok {
		keys, err := fl.FieldKeys(ctx, kind, from, from.Add(24*time.Hour))
		if err != nil {
			return File{}, err
		}
		fields = archived(keys)
	}
	slices.SortFunc(devs, func(x, y kessel.DeviceState) int { return strings.Compare(x.Device.ID, y.Device.ID) })
	f, err := a.writeRaw(ctx, dir, kind, devs, fields, from, last)
	if rr, ok := a.store.(RollupReader); ok && err == nil && f.Rows == 0 { // no raw readings (expired?): the hourly rollups
		if rf, ok, err := a.writeKindFromRollups(ctx, rr, dir, kind, devs, from, last); ok || err != nil {
			return rf, err
		}
	}
	return f, err
}

// writeRaw writes kind.csv.gz from the raw readings of devs.
func (a *Archive) writeRaw(ctx context.Context, dir, kind string, devs []kessel.DeviceState, fields []string, from time.Time, last map[string]kessel.Reading) (File, error) {
	return writeFile(dir, kind+".csv.gz", func(w io.Writer) (int, error) {
		zw := gzip.NewWriter(w)
		cw := csv.NewWriter(zw)
		header := []string{"time", "device", "district", "lon", "lat"}
		for _, f := range fields {
			header = append(header, a.column(kind, f))
		}
		if err := cw.Write(header); err != nil {
			return 0, err
		}
		rows := 0
		for _, st := range devs {
			a.yield(ctx)
			q := kessel.HistoryQuery{Device: st.Device.ID, From: from, To: from.Add(24 * time.Hour)}
			err := a.store.StreamHistory(ctx, q, func(r kessel.Reading) error {
				if !r.Time.Before(q.To) {
					return nil // InfluxDB 1.8 answers a point at the range's stop too
				}
				rows++
				last[r.Device] = r
				return cw.Write(row(r, st.Device, fields))
			})
			if err != nil {
				return rows, err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return rows, err
		}
		return rows, zw.Close()
	})
}

// column is a CSV column's name: the field and, where known, its unit in
// brackets ("pm10 [µg/m³]"); a quality flag's is "<field>_qc".
func (a *Archive) column(kind, field string) string {
	if f, ok := strings.CutPrefix(field, kessel.FlagPrefix); ok {
		return f + "_qc"
	}
	if u := a.opts.UnitOf(kind, field); u != "" {
		return field + " [" + u + "]"
	}
	return field
}

// archived keeps the names of measured values, each followed by its
// quality flag ("qc.<field>") where the kind has flags for it: not the
// other annotations (names with a '.') nor the columns a reading's place
// is stored in. The archive is raw data: every value is in it, whatever
// its flag says.
func archived(keys []string) []string {
	flagged := map[string]bool{}
	var out []string
	for _, k := range keys {
		if f, ok := strings.CutPrefix(k, kessel.FlagPrefix); ok {
			flagged[f] = true
		} else if kessel.ValidFieldName(k) && !kessel.ReservedField(k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	for i := len(out) - 1; i >= 0; i-- {
		if flagged[out[i]] {
			out = slices.Insert(out, i+1, kessel.FlagPrefix+out[i])
		}
	}
	return out
}

func row(r kessel.Reading, d kessel.Device, fields []string) []string {
	rec := make([]string, 0, 5+len(fields))
	district := r.District
	if district == "" {
		district = d.District
	}
	rec = append(rec, r.Time.UTC().Format(time.RFC3339Nano), r.Device, district)
	p := place(r, d)
	if p != nil {
		rec = append(rec, ftoa(p[0]), ftoa(p[1]))
	} else {
		rec = append(rec, "", "")
	}
	for _, f := range fields {
		if v, ok := r.Values[f]; ok {
			rec = append(rec, ftoa(v))
		} else {
			rec = append(rec, "")
		}
	}
	return rec
}

// place is where a reading was taken: a mobile sensor's reported place,
// else its device's registered one.
func place(r kessel.Reading, d kessel.Device) *orb.Point {
	if r.Location != nil {
		return r.Location
	}
	return d.Location
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// writeFile writes name in dir through fill and returns its size, SHA-256
// and the rows fill reported.
func writeFile(dir, name string, fill func(io.Writer) (int, error)) (File, error) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return File{}, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	rows, err := fill(cw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, err
	}
	return File{Name: name, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil)), Rows: rows}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeSums writes the day's SHA256SUMS, last: its presence marks the day complete.
func writeSums(dir string, files []File) error {
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "%s  %s\n", f.SHA256, f.Name)
	}
	return os.WriteFile(filepath.Join(dir, SumsFile), []byte(b.String()), 0o644)
}
