package kessel

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the api package.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict" // the thing exists already
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	EUNAVAILABLE  = "unavailable"
	EINTERNAL     = "internal"

	// EPRECONDITION: the version the caller named (If-Match) moved on.
	EPRECONDITION = "precondition_failed"
	// EPRECONDITIONREQUIRED: a change that must name the version it replaces did not.
	EPRECONDITIONREQUIRED = "precondition_required"
	ETOOLARGE             = "too_large"              // a body over the limit
	EUNSUPPORTED          = "unsupported_media_type" // a body in a format not accepted
	ERATELIMIT            = "rate_limited"
	EMETHOD               = "method_not_allowed" // a known resource, another method
	// EGONE: the data asked for existed but is no longer kept (raw
	// readings older than the raw retention window).
	EGONE = "gone"
)

// Error is an error a user may see: a code from the list above and a message
// written for the person who caused it.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("kessel error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of the first *Error in err's
// chain, or a generic text that leaks nothing for any other error.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "internal error"
}
