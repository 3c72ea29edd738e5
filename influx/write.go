package influx

import (
	"context"
	"regexp"
	"strings"

	"github.com/kessel-city/kessel"
)

// maxWriteRounds bounds how often WriteReadings writes what is left after
// the server refused part of a batch.
const maxWriteRounds = 4

// WriteReadings stores readings: measurement = kind, tags device, district,
// department and source, fields = values (plus lat and lon when a reading has
// a location). A reading with the same device, kind, tags and time overwrites
// the earlier one, so redelivery never duplicates data.
//
// When the server refuses some readings and names them (a line it cannot
// parse, a field whose type conflicts with the stored one, a tag over a
// limit), the rest is written again (a rewrite overwrites, so whether the
// server kept the rest or not, it is then stored) and the answer is a
// *kessel.PartialWriteError naming the refused readings. A refusal that
// names nothing is an EINVALID error for the whole batch.
func (c *Client) WriteReadings(ctx context.Context, rs []kessel.Reading) error {
	b := make([]byte, 0, 160*len(rs)) // a typical line's length: no regrowth
	ends := make([]int, len(rs))
	for i := range rs {
		b = appendReading(b, &rs[i])
		ends[i] = len(b)
	}
	err := c.writeLines(ctx, string(b))
	if kessel.ErrorCode(err) != kessel.EINVALID {
		return err
	}
	line := func(i int) string {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		return string(b[start : ends[i]-1])
	}
	pending := make([]int, len(rs))
	for i := range pending {
		pending[i] = i
	}
	rejected := map[int]string{}
	for round := 0; ; round++ {
		bad := refusedLines(kessel.ErrorMessage(err), rs, pending, line)
		if len(bad) == 0 || round == maxWriteRounds {
			return err
		}
		kept := pending[:0]
		var rest strings.Builder
		for _, i := range pending {
			if why, ok := bad[i]; ok {
				rejected[i] = why
				continue
			}
			kept = append(kept, i)
			rest.WriteString(line(i))
			rest.WriteByte('\n')
		}
		pending = kept
		if err = c.writeLines(ctx, rest.String()); kessel.ErrorCode(err) != kessel.EINVALID {
			break
		}
	}
	if err != nil {
		return err
	}
	return &kessel.PartialWriteError{Rejected: rejected}
}

var (
	// unable to parse '<line>': <reason> (one per line, 1.x and 2.x)
	parseErrorRE = regexp.MustCompile(`unable to parse '((?:[^'\\]|\\.|'[^:])*)': ([^\n]*)`)
	// field type conflict / invalid field name: input field "f" on measurement "m" …
	fieldErrorRE = regexp.MustCompile(`input field \\?"([^"\\]*)\\?" on measurement \\?"([^"\\]*)\\?"`)
	// max-values-per-tag limit exceeded (…): measurement="m" tag="k" value="v"
	tagErrorRE = regexp.MustCompile(`measurement=\\?"([^"\\]*)\\?" tag=\\?"([^"\\]*)\\?" value=\\?"([^"\\]*)\\?"`)
)

// refusedLines finds the pending readings a write error names, with the
// server's reason; none when it names none.
func refusedLines(msg string, rs []kessel.Reading, pending []int, line func(int) string) map[int]string {
	bad := map[int]string{}
	lines := map[string]string{}
	for _, m := range parseErrorRE.FindAllStringSubmatch(msg, -1) {
		lines[m[1]] = "unable to parse: " + m[2]
	}
	fields := fieldErrorRE.FindAllStringSubmatch(msg, -1)
	tags := tagErrorRE.FindAllStringSubmatch(msg, -1)
	for _, i := range pending {
		r := &rs[i]
		if why, ok := lines[line(i)]; ok {
			bad[i] = why
			continue
		}
		for _, f := range fields {
			if measurement(r) == f[2] && hasField(r, f[1]) {
				bad[i] = "field " + f[1] + " of " + f[2] + ": " + reasonOf(msg, f[0])
			}
		}
		for _, t := range tags {
			if measurement(r) == t[1] && tagValue(r, t[2]) == t[3] {
				bad[i] = "tag " + t[2] + "=" + t[3] + ": " + reasonOf(msg, t[0])
			}
		}
	}
	return bad
}

// reasonOf returns the clause of msg that holds match, without the
// "partial write:" prefix and "dropped=" suffix.
func reasonOf(msg, match string) string {
	i := strings.Index(msg, match)
	line := msg[strings.LastIndex(msg[:i], "\n")+1:]
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	line = strings.TrimPrefix(strings.TrimSpace(line), "partial write: ")
	if j := strings.Index(line, " dropped="); j >= 0 {
		line = line[:j]
	}
	return line
}

func measurement(r *kessel.Reading) string {
	if r.Kind == "" {
		return UnknownKind
	}
	return r.Kind
}

func hasField(r *kessel.Reading, f string) bool {
	if f == qcMarker {
		return sparseFlags(r.Values)
	}
	if v, ok := r.Values[f]; ok { // a passing flag is written only where flags are not sparse
		return !(v == float64(kessel.FlagPass) && impliedPass(r.Values, f) && sparseFlags(r.Values))
	}
	if ns, name, ok := kessel.SplitAnnotation(f); ok && ns == kessel.LinkNamespace {
		_, ok := r.Link[name]
		return ok
	}
	return r.Location != nil && (f == "lat" || f == "lon") || len(r.Values) == 0 && len(r.Link) == 0 && r.Location == nil && f == "empty"
}

func tagValue(r *kessel.Reading, k string) string {
	switch k {
	case "device":
		return r.Device
	case "district":
		return r.District
	case "department":
		return r.Department
	case "source":
		return r.Source
	}
	return ""
}
