package evidence

import (
	"embed"
	"encoding/csv"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/report.html
var templates embed.FS

var reportTemplate = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"lt": localTime,
	"gdate": func(date string) string {
		if t, err := time.Parse(time.DateOnly, date); err == nil {
			return t.Format("02.01.2006")
		}
		return date
	},
	"num":        germanNumber,
	"pct":        func(f float64) string { return germanNumber(round(f*100, 1)) + " %" },
	"quantities": func() []Quantity { return Quantities },
	"qname":      func(name string) string { return quantityNames[name] },
	"stat": func(sd SensorDay, name string) *Stats {
		if st, ok := sd.Stats[name]; ok {
			return &st
		}
		return nil
	},
}).ParseFS(templates, "templates/report.html"))

// quantityNames are the report's German names of Quantities.
var quantityNames = map[string]string{
	"surface_temperature": "Fahrbahntemperatur", "air_temperature": "Lufttemperatur", "humidity": "Relative Luftfeuchte",
	"dew_point": "Taupunkt (berechnet, Magnus)", "precipitation": "Niederschlag", "freezing_point": "Gefrierpunkt", "wetness": "Nässe",
}

// Report is what the printable report shows: one subject's records of a
// day range and their verification.
type Report struct {
	Subject   Subject
	From, To  string // YYYY-MM-DD
	Records   []Record
	Result    Result
	Generated time.Time
}

// WriteHTML writes the report as a printable German HTML page with no
// external assets.
func (r Report) WriteHTML(w io.Writer) error {
	title := r.Subject.ID
	if r.Subject.Name != "" {
		title = r.Subject.Name + " (" + r.Subject.ID + ")"
	}
	what := "Straßenzustandssensor " + r.Subject.ID
	if r.Subject.Type == Route {
		what = "Strecke " + r.Subject.ID + " mit den Sensoren " + strings.Join(r.Subject.Devices, ", ")
	}
	factor := 3
	if len(r.Records) > 0 {
		factor = r.Records[0].GapFactor
	}
	return reportTemplate.Execute(w, map[string]any{
		"Title": title, "SubjectText": what, "From": r.From, "To": r.To, "Generated": localTime(r.Generated),
		"Records": r.Records, "Result": r.Result, "GapFactor": factor,
	})
}

// CSVHeader is the CSV export's header. Each row is one entry of a day:
// "day" (the record: from, to, hash, prev), "stats" (one quantity of one
// sensor: unit to sum, and the sensor's coverage), "gap" (from, to, value
// = minutes), "alert" (rule, from = fired, to = resolved or empty while
// still firing at the day's end, value, note = summary) or "ack" (rule,
// from = when, by, note); the last row, "verification", holds the chain's
// check (day = where it breaks, hash = the last day's hash, note = the
// result). Times are RFC 3339 UTC, numbers with a decimal point; a rule,
// by or note cell that would start with = + - @, a tab or a carriage
// return starts with an apostrophe (see csvText).
var CSVHeader = []string{"entry", "subject", "day", "device", "quantity", "unit", "n", "min", "max", "mean", "below_zero_h", "sum",
	"from", "to", "rule", "value", "by", "note", "coverage", "hash", "prev"}

// WriteCSV writes the report for a department's own systems.
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	row := func(kv map[string]string) {
		out := make([]string, len(CSVHeader))
		for i, k := range CSVHeader {
			out[i] = kv[k]
			if k == "rule" || k == "by" || k == "note" {
				out[i] = csvText(out[i])
			}
		}
		_ = cw.Write(out) // the error is kept by cw and returned below
	}
	_ = cw.Write(CSVHeader)
	key := r.Subject.Key()
	for _, rec := range r.Records {
		row(map[string]string{"entry": "day", "subject": key, "day": rec.Day, "from": ts(rec.From), "to": ts(rec.To), "hash": rec.Hash, "prev": rec.Prev})
		for _, sd := range rec.Sensors {
			base := func(entry string) map[string]string {
				return map[string]string{"entry": entry, "subject": key, "day": rec.Day, "device": sd.Device}
			}
			for _, q := range Quantities {
				st, ok := sd.Stats[q.Name]
				if !ok {
					continue
				}
				m := base("stats")
				m["quantity"], m["unit"], m["n"] = q.Name, st.Unit, strconv.Itoa(st.N)
				m["min"], m["max"], m["mean"] = fnum(st.Min), fnum(st.Max), fnum(st.Mean)
				m["below_zero_h"], m["sum"], m["coverage"] = fptr(st.BelowZeroH), fptr(st.Sum), fnum(sd.Coverage)
				row(m)
			}
			for _, g := range sd.Gaps {
				m := base("gap")
				m["from"], m["to"], m["value"] = ts(g.From), ts(g.To), fnum(g.Minutes)
				row(m)
			}
			for _, a := range sd.Alerts {
				m := base("alert")
				m["rule"], m["from"], m["to"], m["value"], m["note"] = a.RuleID, ts(a.FiredAt), ts(a.ResolvedAt), fnum(a.Value), a.Summary
				row(m)
			}
			for _, a := range sd.Acks {
				m := base("ack")
				m["rule"], m["from"], m["by"], m["note"] = a.RuleID, ts(a.At), a.By, a.Note
				row(m)
			}
		}
	}
	v := map[string]string{"entry": "verification", "subject": key, "from": r.From, "to": r.To, "hash": r.Result.Head, "day": r.Result.BrokenAt, "note": "unverändert"}
	if !r.Result.OK {
		v["note"] = "Kette gebrochen: " + r.Result.Reason
	}
	row(v)
	cw.Flush()
	return cw.Error()
}

// csvText keeps a spreadsheet from running a text cell (a note, who, a
// rule's summary) as a formula: one starting with = + - @, a tab or a
// carriage return gets an apostrophe in front (OWASP's advice on CSV
// injection). Numbers are written by fnum and keep their sign.
func csvText(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func fnum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func fptr(f *float64) string {
	if f == nil {
		return ""
	}
	return fnum(*f)
}

// localTime writes t in Zone, as Germans read it.
func localTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Location()).Format("02.01.2006 15:04:05 MST")
}

// germanNumber writes f with a decimal comma.
func germanNumber(f float64) string {
	return strings.Replace(strconv.FormatFloat(f, 'f', -1, 64), ".", ",", 1)
}
