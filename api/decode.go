package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/kessel-city/kessel"
)

// DefaultMaxBody is the default of Options.MaxBody: twice ingest's default
// payload limit.
const DefaultMaxBody = 128 << 10

// decode is the one way a request body is read into v. It answers
// (through the error it returns) 415 for a Content-Type that is not JSON
// (application/json or any +json type; none at all is taken as JSON), 413
// beyond Options.MaxBody, and 400 for anything but exactly one JSON value
// with no key twice in an object and, for structs, no unknown field.
// Errors v's own UnmarshalJSON returns as *kessel.Error pass unchanged.
func (s *server) decode(r *http.Request, v any) error {
	if err := jsonMedia(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body, err := readBody(r, s.opts.MaxBody)
	if err != nil {
		return err
	}
	if err := strictJSON(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ke *kessel.Error
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ke):
			return err
		case errors.As(err, &te) && te.Field != "":
			return invalid("body: %s must be %s, not a JSON %s", te.Field, jsonType(te.Type.String()), te.Value)
		case errors.As(err, &te):
			return invalid("body must be %s, not a JSON %s", jsonType(te.Type.String()), te.Value)
		}
		return invalid("body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// jsonType names a Go type the way a JSON author thinks of it.
func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "float"), strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// jsonMedia accepts an empty Content-Type, application/json and +json types.
func jsonMedia(ct string) error {
	if ct == "" {
		return nil
	}
	media, _, err := mime.ParseMediaType(ct)
	if err == nil && (media == "application/json" || strings.HasPrefix(media, "application/") && strings.HasSuffix(media, "+json")) {
		return nil
	}
	return kessel.Errorf(kessel.EUNSUPPORTED, "Content-Type %q is not accepted; send the body as application/json", ct)
}

// readBody reads at most limit bytes. Beyond, it returns the first limit+1
// bytes and an ETOOLARGE error.
func readBody(r *http.Request, limit int) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return nil, invalid("could not read the body: %v", err)
	}
	if len(body) > limit {
		return body, kessel.Errorf(kessel.ETOOLARGE, "the body is larger than %d bytes", limit)
	}
	return body, nil
}

// strictJSON checks that body is exactly one JSON value in which no object
// has a key twice (encoding/json would keep the last silently).
func strictJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := walkJSON(dec, body, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("body: unexpected data after the JSON value at byte %d; send exactly one JSON value", dec.InputOffset())
	}
	return nil
}

// maxJSONDepth bounds the nesting of a body.
const maxJSONDepth = 256

// walkJSON reads one JSON value token by token, refusing a key that an
// object already has.
func walkJSON(dec *json.Decoder, body []byte, depth int) error {
	if depth > maxJSONDepth {
		return invalid("body: nested deeper than %d levels", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(body, dec.InputOffset(), err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	keys := map[string]bool{}
	for dec.More() {
		if d == '{' {
			kt, err := dec.Token()
			if err != nil {
				return syntaxError(body, dec.InputOffset(), err)
			}
			k, _ := kt.(string)
			if keys[k] {
				return invalid("body: key %q appears twice in one object (before byte %d)", k, dec.InputOffset())
			}
			keys[k] = true
		}
		if err := walkJSON(dec, body, depth+1); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return syntaxError(body, dec.InputOffset(), err)
	}
	return nil
}

func syntaxError(body []byte, offset int64, err error) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("the body is empty; send a JSON value")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		offset = se.Offset
	}
	return invalid("body is not valid JSON at byte %d: %s", offset, strings.TrimPrefix(fmt.Sprint(err), "json: "))
}
