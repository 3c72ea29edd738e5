package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/kessel-city/kessel"
)

// Archive is the open-data bulk archive: one folder per UTC day under
// Dir, served read-only under /archive/. archive.Archive has it.
type Archive interface {
	Dir() string
	// Days lists the complete days, oldest first.
	Days() ([]time.Time, error)
	// Build writes (or rewrites) one day's folder now.
	Build(ctx context.Context, day time.Time) error
}

// archivePrefix is where the archive's files are served.
const archivePrefix = "/archive/"

// handleArchive serves the archive's folders and files read-only: HTML
// directory listings, Range requests, and an ETag from each file's size
// and modification time (files are written once, whole, and never
// changed). Hidden entries (a day being written, .evidence) are not
// served, nor anything reached through a symbolic link (the archive
// writes none; one would lead out of the folder or to a hidden one).
func (s *server) handleArchive() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), strings.TrimSuffix(archivePrefix, "/"))
		name = strings.TrimPrefix(name, "/")
		if name == "" {
			name = "."
		}
		root, err := os.OpenRoot(s.opts.Archive.Dir())
		if err != nil {
			s.errorResponse(w, r, fmt.Errorf("%w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "the archive cannot be read"}, err))
			return
		}
		defer root.Close()
		if strings.HasPrefix(name, ".") && name != "." || strings.Contains(name, "/.") || linked(root, name) {
			s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "no archive file %s", r.URL.Path))
			return
		}
		fsys := root.FS()
		files := http.FileServerFS(listed{fsys})
		st, err := fs.Stat(fsys, name)
		if err != nil {
			s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "no archive file %s: archive days are folders such as %s2026/11/29/", r.URL.Path, archivePrefix))
			return
		}
		if !st.IsDir() {
			w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, st.Size(), st.ModTime().UnixNano()))
			w.Header().Set("Cache-Control", "public, max-age=86400")
			// a large file may take longer than the server's write timeout
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
		} else {
			w.Header().Set("Cache-Control", cacheHistory)
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + strings.TrimPrefix(name, ".")
		if st.IsDir() && strings.HasSuffix(r.URL.Path, "/") && name != "." {
			r2.URL.Path += "/" // else the file server redirects to the folder
		}
		files.ServeHTTP(w, r2)
	})
}

// linked reports whether a folder or file on the way to name (a clean
// slash-separated path inside root) is a symbolic link, or cannot be
// looked at.
func linked(root *os.Root, name string) bool {
	if name == "." {
		return false
	}
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '/' {
			continue
		}
		st, err := root.Lstat(name[:i])
		if err != nil {
			return !errors.Is(err, fs.ErrNotExist) // a missing file is answered below
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return true
		}
	}
	return false
}

// listed is the archive's file system as the file server lists it: a
// folder's listing names neither hidden entries nor symbolic links, which
// are not served.
type listed struct{ fs.FS }

func (l listed) Open(name string) (fs.File, error) {
	f, err := l.FS.Open(name)
	if err != nil {
		return nil, err
	}
	d, ok := f.(fs.ReadDirFile) // an *os.File is one even when it is no folder
	if st, err := f.Stat(); ok && err == nil && st.IsDir() {
		return listedDir{d}, nil
	}
	return f, nil // a file keeps its Seek, for Range requests
}

type listedDir struct{ fs.ReadDirFile }

func (d listedDir) ReadDir(n int) ([]fs.DirEntry, error) {
	es, err := d.ReadDirFile.ReadDir(n)
	return slices.DeleteFunc(es, func(e fs.DirEntry) bool {
		return strings.HasPrefix(e.Name(), ".") || e.Type()&fs.ModeSymlink != 0
	}), err
}

// handleBuildArchive writes one day's archive folder now (POST
// /archive/days/{day}, day as 2026-11-29), answering 201 with where it is.
func (s *server) handleBuildArchive() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		day, err := time.Parse(time.DateOnly, mux.Vars(r)["day"])
		if err != nil {
			s.errorResponse(w, r, kessel.Errorf(kessel.EINVALID, "day must be a date such as 2026-11-29"))
			return
		}
		if !day.Before(s.opts.Now().UTC().Truncate(24 * time.Hour)) {
			s.errorResponse(w, r, kessel.Errorf(kessel.EINVALID, "day %s is not over yet (UTC): only past days are archived", day.Format(time.DateOnly)))
			return
		}
		if err := s.opts.Archive.Build(r.Context(), day); err != nil {
			s.errorResponse(w, r, unavailable(err))
			return
		}
		loc := archivePrefix + day.Format("2006/01/02") + "/"
		w.Header().Set("Location", loc)
		s.encode(w, r, map[string]string{"day": day.Format(time.DateOnly), "url": loc}, reply{status: http.StatusCreated})
	})
}

// unavailable keeps a kessel.Error and makes anything else EUNAVAILABLE:
// the archive fails when the store cannot be read.
func unavailable(err error) error {
	var ke *kessel.Error
	if errors.As(err, &ke) {
		return err
	}
	return fmt.Errorf("%w: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "the archive day could not be written"}, err)
}

// archived sets each kind's newest archive day (of the last week's) that
// holds its CSV file, for the catalogue's download distribution.
func (s *server) archived(kinds []*coverage) {
	if s.opts.Archive == nil {
		return
	}
	days, err := s.opts.Archive.Days()
	if err != nil {
		s.log.Warn("catalog: archive days unknown", "err", err)
		return
	}
	for _, k := range kinds {
		for i := len(days) - 1; i >= 0 && i >= len(days)-7; i-- {
			if _, err := os.Stat(filepath.Join(s.opts.Archive.Dir(), filepath.FromSlash(days[i].Format("2006/01/02")), k.kind+".csv.gz")); err == nil {
				k.archived = days[i]
				break
			}
		}
	}
}

// addArchiveDistribution lists a kind's daily archive: the folder as
// access URL, the newest day's file as download URL.
func addArchiveDistribution(g *graph, c Catalog, base string, k *coverage, r datasetRefs) {
	d := iri(datasetIRI(base, k.kind) + "-archive")
	g.add(iri(datasetIRI(base, k.kind)), "dcat:distribution", d)
	g.add(d, "rdf:type", qn("dcat:Distribution"))
	g.add(d, "dct:title", text("Tagesarchiv als CSV (gzip)", "de"), text("Daily archive as CSV (gzip)", "en"))
	g.add(d, "dct:description", text(fmt.Sprintf("Alle Messwerte eines UTC-Tages je Art, eine Datei pro Tag unter %s/archive/JJJJ/MM/TT/%s.csv.gz, mit SHA256SUMS.", base, k.kind), "de"),
		text(fmt.Sprintf("Every reading of one UTC day per kind, one file a day under %s/archive/YYYY/MM/DD/%s.csv.gz, with SHA256SUMS.", base, k.kind), "en"))
	g.add(d, "dcat:accessURL", resource(g, base+archivePrefix))
	g.add(d, "dcat:downloadURL", resource(g, base+archivePrefix+k.archived.Format("2006/01/02")+"/"+k.kind+".csv.gz"))
	g.add(d, "dcat:mediaType", iri(ianaMedia+"text/csv"))
	g.add(iri(ianaMedia+"text/csv"), "rdf:type", qn("dct:MediaType"))
	g.add(d, "dcat:compressFormat", iri(ianaMedia+"application/gzip"))
	g.add(iri(ianaMedia+"application/gzip"), "rdf:type", qn("dct:MediaType"))
	g.add(d, "dct:format", concept(g, euAuthority+"file-type/CSV", "dct:MediaTypeOrExtent"))
	g.add(d, "dct:license", r.lic)
	if c.needsAttribution() {
		g.add(d, "dcatde:licenseAttributionByText", text(c.Publisher, ""))
	}
	g.add(d, "dcatde:plannedAvailability", concept(g, "http://dcat-ap.de/def/plannedAvailability/stable", "skos:Concept"))
}
