package archive

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// RollupReader reads stored rollups; influx.Client has it. A day whose
// raw readings have expired (the raw retention) is written from the
// hourly rollups of its devices instead.
type RollupReader interface {
	Rollups(ctx context.Context, q kessel.RollupQuery, fn func(kessel.Rollup) error) error
}

// rollupStats are the columns of each field in a file written from the
// hourly rollups, after the field's name: <field>_mean and so on.
var rollupStats = []string{"mean", "min", "max", "count"}

// HourColumn is the first column of a file written from the hourly
// rollups, in place of "time": each row is one device's hour, and each
// field has the columns <field>_mean, _min, _max (with its unit) and
// _count. The gzip header's comment says so too.
const HourColumn = "hour_start"

// hourRow is one device's hour: its fields' rollups, merged when the
// device changed district within the hour (two series).
type hourRow struct {
	device, district string
	start            time.Time
	fields           map[string]kessel.Rollup
}

// hourRows reads the hourly rollups of kind's devs in [from, from+24h),
// ordered by device then hour, and the fields they hold, sorted.
func hourRows(ctx context.Context, rr RollupReader, kind string, devs []kessel.DeviceState, from time.Time) ([]*hourRow, []string, error) {
	public := make(map[string]bool, len(devs))
	for _, st := range devs {
		public[st.Device.ID] = true
	}
	type key struct {
		device string
		start  int64
	}
	rows := map[key]*hourRow{}
	fields := map[string]bool{}
	err := rr.Rollups(ctx, kessel.RollupQuery{Resolution: kessel.ResolutionHour, From: from, To: from.Add(24 * time.Hour), Kind: kind}, func(r kessel.Rollup) error {
		if !public[r.Device] || !kessel.ValidFieldName(r.Field) || kessel.ReservedField(r.Field) {
			return nil
		}
		k := key{r.Device, r.Time.UnixNano()}
		h := rows[k]
		if h == nil {
			h = &hourRow{device: r.Device, district: r.District, start: r.Time.UTC(), fields: map[string]kessel.Rollup{}}
			rows[k] = h
		}
		fields[r.Field] = true
		h.fields[r.Field] = merge(h.fields[r.Field], r)
		return nil
	})
	out := slices.Collect(maps.Values(rows))
	slices.SortFunc(out, func(x, y *hourRow) int {
		if c := strings.Compare(x.device, y.device); c != 0 {
			return c
		}
		return x.start.Compare(y.start)
	})
	return out, slices.Sorted(maps.Keys(fields)), err
}

// merge adds rollup r of the same hour and field to a (empty: Count 0).
func merge(a, r kessel.Rollup) kessel.Rollup {
	if a.Count == 0 {
		return r
	}
	n := a.Count + r.Count
	a.Mean = (a.Sum() + r.Sum()) / float64(n)
	a.Min, a.Max, a.Count = min(a.Min, r.Min), max(a.Max, r.Max), n
	return a
}

// writeKindFromRollups writes kind.csv.gz from the hourly rollups of
// day [from, from+24h); ok is false, and nothing written, when there are
// none. File.Rows counts readings (the largest count of a row's fields,
// summed), as a file of raw readings does.
func (a *Archive) writeKindFromRollups(ctx context.Context, rr RollupReader, dir, kind string, devs []kessel.DeviceState, from time.Time, last map[string]kessel.Reading) (File, bool, error) {
	rows, fields, err := hourRows(ctx, rr, kind, devs, from)
	if err != nil || len(rows) == 0 {
		return File{}, false, err
	}
	byID := make(map[string]kessel.Device, len(devs))
	for _, st := range devs {
		byID[st.Device.ID] = st.Device
	}
	f, err := writeFile(dir, kind+".csv.gz", func(w io.Writer) (int, error) {
		zw := gzip.NewWriter(w)
		zw.Comment = "Kessel archive of " + kind + " on " + from.Format(time.DateOnly) + " (UTC): hourly means, minima, maxima and counts per device from the hourly rollups; the raw readings had expired"
		cw := csv.NewWriter(zw)
		header := []string{HourColumn, "device", "district", "lon", "lat"}
		for _, f := range fields {
			for _, s := range rollupStats {
				col := f + "_" + s
				if s != "count" {
					col = a.column(kind, f)
					col = f + "_" + s + strings.TrimPrefix(col, f)
				}
				header = append(header, col)
			}
		}
		if err := cw.Write(header); err != nil {
			return 0, err
		}
		readings := 0
		for _, h := range rows {
			d := byID[h.device]
			r := kessel.Reading{Device: h.device, Kind: kind, District: h.district, Time: h.start}
			last[h.device] = r
			rec := row(r, d, nil)
			var n int64
			for _, f := range fields {
				ru, ok := h.fields[f]
				if !ok {
					rec = append(rec, "", "", "", "")
					continue
				}
				n = max(n, ru.Count)
				rec = append(rec, ftoa(ru.Mean), ftoa(ru.Min), ftoa(ru.Max), ftoa(float64(ru.Count)))
			}
			readings += int(n)
			if err := cw.Write(rec); err != nil {
				return readings, err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return readings, err
		}
		return readings, zw.Close()
	})
	f.Resolution = kessel.ResolutionHour
	return f, err == nil, err
}
