package api

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/evidence"
)

// Evidence is the winter service's evidence (evidence.Service) as the API
// needs it.
type Evidence interface {
	Subjects() []evidence.Subject
	Subject(typ, id string) (evidence.Subject, error)
	Build(ctx context.Context, sub evidence.Subject, through evidence.Day) ([]evidence.Record, error)
	Records(ctx context.Context, sub evidence.Subject, from, to evidence.Day) ([]evidence.Record, evidence.Result, error)
}

// evidenceRoutes serves the evidence records under /evidence, all behind
// scope alerts:manage (they name who acknowledged alerts); a subject with
// an internal sensor also needs data:internal, as its data would elsewhere.
func (s *server) evidenceRoutes(v1 *mux.Router) {
	need := s.needs(s.opts.Evidence != nil, "evidence records are not kept on this instance (they need InfluxDB and the alerts role)")
	manage := func(name string, h http.Handler) http.Handler {
		return s.instrument(name, s.limit(ClassWrite, s.require(ScopeAlertsManage, need(h))))
	}
	v1.Handle("/evidence", manage("evidence_subjects", s.handleEvidenceSubjects())).Methods(getOrHead...)
	v1.Handle("/evidence/{type}/{id}", manage("evidence_records", s.queryLimit(s.handleEvidenceRecords()))).Methods(getOrHead...)
	v1.Handle("/evidence/{type}/{id}/verify", manage("evidence_verify", s.queryLimit(s.handleEvidenceVerify()))).Methods(getOrHead...)
	v1.Handle("/evidence/{type}/{id}/build", manage("evidence_build", s.queryLimit(s.handleEvidenceBuild()))).Methods(http.MethodPost)
}

func (s *server) handleEvidenceSubjects() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items := []evidence.Subject{}
		for _, sub := range s.opts.Evidence.Subjects() {
			if s.mayReadEvidence(r, sub) {
				items = append(items, sub)
			}
		}
		s.encode(w, r, listJSON{Items: items, Count: len(items), Total: len(items)}, reply{})
	})
}

// evidenceSubject reads {type} (sensors or routes) and {id}.
func (s *server) evidenceSubject(r *http.Request) (evidence.Subject, error) {
	v := mux.Vars(r)
	typ := map[string]string{"sensors": evidence.Sensor, "routes": evidence.Route}[v["type"]]
	if typ == "" {
		return evidence.Subject{}, kessel.Errorf(kessel.ENOTFOUND, "evidence is kept for sensors and routes, not %q", v["type"])
	}
	sub, err := s.opts.Evidence.Subject(typ, v["id"])
	if err == nil && !s.mayReadEvidence(r, sub) {
		err = kessel.Errorf(kessel.ENOTFOUND, "no evidence is kept for %s %q", typ, v["id"])
	}
	return sub, err
}

// mayReadEvidence reports whether the request may see sub's records: an
// internal sensor's data needs data:internal, and so does a sensor the
// registry does not know (removed, or not announced yet), whose
// visibility is unknown.
func (s *server) mayReadEvidence(r *http.Request, sub evidence.Subject) bool {
	if s.canSeeInternal(r) {
		return true
	}
	for _, id := range sub.Devices {
		if d, _, ok := s.devices.Get(id); !ok || d.Visibility != kessel.Public {
			return false
		}
	}
	return true
}

// evidenceDays reads from and to (YYYY-MM-DD, days in Europe/Berlin,
// both included); each defaults to def.
func (s *server) evidenceDays(r *http.Request, def evidence.Day) (from, to evidence.Day, err error) {
	from, to = def, def
	for _, p := range []struct {
		name string
		day  *evidence.Day
	}{{"from", &from}, {"to", &to}} {
		if v := r.URL.Query().Get(p.name); v != "" {
			if *p.day, err = evidence.ParseDay(v); err != nil {
				return from, to, invalid("%s: %s", p.name, kessel.ErrorMessage(err))
			}
		}
	}
	return from, to, nil
}

// yesterday is the last complete day.
func (s *server) yesterday() evidence.Day {
	return evidence.DayOf(evidence.DayOf(s.opts.Now()).Start.Add(-time.Hour))
}

// handleEvidenceRecords serves a subject's records of a day or range as
// JSON, a printable German HTML report (format=html) or CSV (format=csv),
// each with the chain's verification; download=1 makes it an attachment
// to hand on (to an insurer or a court).
func (s *server) handleEvidenceRecords() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := s.evidenceSubject(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		from, to, err := s.evidenceDays(r, s.yesterday())
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		format := r.URL.Query().Get("format")
		if format != "" && format != formatJSON && format != formatCSV && format != "html" {
			s.errorResponse(w, r, invalid("format must be json, html or csv, not %q", format))
			return
		}
		recs, res, err := s.opts.Evidence.Records(r.Context(), sub, from, to)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		rep := evidence.Report{Subject: sub, From: from.Date, To: to.Date, Records: recs, Result: res, Generated: s.opts.Now()}
		s.writeEvidence(w, r, rep, format)
	})
}

// writeEvidence answers with the report in format; download=1 makes it
// an attachment.
func (s *server) writeEvidence(w http.ResponseWriter, r *http.Request, rep evidence.Report, format string) {
	var buf bytes.Buffer
	var body any
	media, ext := mediaJSON, "json"
	var err error
	switch format {
	case "html":
		media, ext, err = mediaHTML, "html", rep.WriteHTML(&buf)
		body = buf.Bytes()
	case formatCSV:
		media, ext, err = mediaCSV, "csv", rep.WriteCSV(&buf)
		body = buf.Bytes()
	default:
		recs := rep.Records
		if recs == nil {
			recs = []evidence.Record{}
		}
		body = obj{"subject": rep.Subject, "from": rep.From, "to": rep.To, "verification": rep.Result, "items": recs, "count": len(recs)}
	}
	if err != nil {
		s.errorResponse(w, r, err)
		return
	}
	if r.URL.Query().Get("download") == "1" {
		name := "nachweis-winterdienst-" + rep.Subject.Type + "-" + rep.Subject.ID + "-" + rep.From + "-" + rep.To + "." + ext
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	s.encode(w, r, body, reply{media: media})
}

func (s *server) handleEvidenceVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := s.evidenceSubject(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		y := s.yesterday()
		from, to, err := s.evidenceDays(r, y)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		if r.URL.Query().Get("from") == "" { // the last four years
			from = evidence.DayOf(to.Start.AddDate(-4, 0, 1))
		}
		_, res, err := s.opts.Evidence.Records(r.Context(), sub, from, to)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		s.encode(w, r, res, reply{})
	})
}

// handleEvidenceBuild builds the subject's records up to day (default
// yesterday) now, rather than at night.
func (s *server) handleEvidenceBuild() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := s.evidenceSubject(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		day := s.yesterday()
		if v := r.URL.Query().Get("day"); v != "" {
			if day, err = evidence.ParseDay(v); err != nil {
				s.errorResponse(w, r, err)
				return
			}
		}
		built, err := s.opts.Evidence.Build(r.Context(), sub, day)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		if built == nil {
			built = []evidence.Record{}
		}
		s.encode(w, r, obj{"items": built, "count": len(built)}, reply{})
	})
}
