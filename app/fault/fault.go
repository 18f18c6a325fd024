// Package fault gives every error that can reach a person or an API caller
// a kind: not found, conflict, invalid (with the fields at fault),
// forbidden, rate limited, too large and a few more. Services and handlers
// return these errors unchanged; the one error handler (app/errors.go)
// maps a kind to an HTTP status and to a branded page or problem+json.
// Errors of no kind are internal: logged with the request id and never
// shown.
//
// It imports only the store, for its two sentinels, and app/gate, for its
// one, so that every layer of app/ can use it.
package fault

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"portico/app/gate"
	"portico/store"
)

// Kind is what went wrong, as far as the caller needs to know.
type Kind uint8

// The kinds, each answered with one HTTP status by the error handler.
const (
	Internal         Kind = iota // 500: our fault; logged, never described
	BadRequest                   // 400: the request could not be read
	Unauthorized                 // 401: no or bad credentials
	Forbidden                    // 403: known caller, not allowed
	NotFound                     // 404: no such thing in the caller's scope
	Conflict                     // 409: the state forbids it (duplicate, limit reached)
	TooLarge                     // 413: more than the route accepts
	Invalid                      // 422: the input has faults, listed by field
	RateLimited                  // 429: too many attempts; Retry says when to come back
	Unavailable                  // 503: busy; Retry says when to come back
	UnsupportedMedia             // 415: a body of a media type the route does not read
)

// Field is one problem with one input field, in words for people.
type Field struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Fields is every problem with one submission, in the order found. It is
// the one validation error of the application: services return it (or an
// *Error of kind Invalid that carries it), forms show it beside the
// fields, and the API lists it in problem+json's errors.
type Fields []Field

// Add appends a problem with field.
func (f *Fields) Add(field, message string) { *f = append(*f, Field{Field: field, Message: message}) }

// Has reports whether field already has a problem.
func (f Fields) Has(field string) bool {
	return slices.ContainsFunc(f, func(e Field) bool { return e.Field == field })
}

// Err is f as an error, or nil when there is no problem.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return f
}

// Map is the problems by field (the first per field), for forms.
func (f Fields) Map() map[string]string {
	m := make(map[string]string, len(f))
	for _, e := range f {
		if _, seen := m[e.Field]; !seen {
			m[e.Field] = e.Message
		}
	}
	return m
}

func (f Fields) Error() string {
	parts := make([]string, len(f))
	for i, e := range f {
		parts[i] = e.Field + ": " + e.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Invalid is a one-field validation error.
func InvalidField(field, message string) error { return Fields{{Field: field, Message: message}} }

// Error is an error with a kind and a message written for the person or
// program that made the request.
type Error struct {
	Kind    Kind
	Message string        // for people; empty means the status's usual words
	Fields  Fields        // the fields at fault (Invalid)
	Retry   time.Duration // when to try again (RateLimited, Unavailable)
	Err     error         // the cause, for the log; never shown
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	if len(e.Fields) > 0 {
		msg += " (" + e.Fields.Error() + ")"
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New is an error of kind with a message for people.
func New(kind Kind, message string) error { return &Error{Kind: kind, Message: message} }

// Newf is New with a formatted message.
func Newf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap gives cause a kind and a message for people, keeping cause for the
// log and for errors.Is.
func Wrap(kind Kind, message string, cause error) error {
	return &Error{Kind: kind, Message: message, Err: cause}
}

// Limited is a rate-limit refusal: try again after wait.
func Limited(wait time.Duration, message string) error {
	return &Error{Kind: RateLimited, Message: message, Retry: wait}
}

// Busy is a refusal for lack of capacity: try again after wait.
func Busy(wait time.Duration, message string) error {
	return &Error{Kind: Unavailable, Message: message, Retry: wait}
}

// From describes err as an *Error: itself when it is one (the outermost in
// its chain), a Fields list as Invalid, gate.ErrBusy as Unavailable, the
// store's sentinels as NotFound and Conflict, anything else as Internal
// with err as its cause.
func From(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var fields Fields
	if errors.As(err, &fields) {
		return &Error{Kind: Invalid, Fields: fields, Err: err}
	}
	switch {
	case errors.Is(err, gate.ErrBusy): // every password-hashing or image-decoding slot stayed taken
		return &Error{Kind: Unavailable, Retry: gate.RetryAfter, Err: err}
	case errors.Is(err, store.ErrNotFound):
		return &Error{Kind: NotFound, Err: err}
	case errors.Is(err, store.ErrConflict):
		return &Error{Kind: Conflict, Err: err}
	}
	return &Error{Kind: Internal, Err: err}
}

// KindOf is the kind of err (Internal when it has none).
func KindOf(err error) Kind {
	if err == nil {
		return Internal
	}
	return From(err).Kind
}

// Is reports whether err is of kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

// FieldsOf is the fields at fault in err, if it is a validation error.
func FieldsOf(err error) (Fields, bool) {
	if err == nil {
		return nil, false
	}
	e := From(err)
	return e.Fields, e.Kind == Invalid
}

var kindNames = [...]string{
	Internal: "internal error", BadRequest: "bad request", Unauthorized: "unauthorized",
	Forbidden: "forbidden", NotFound: "not found", Conflict: "conflict", TooLarge: "too large",
	Invalid: "invalid", RateLimited: "rate limited", Unavailable: "unavailable",
	UnsupportedMedia: "unsupported media type",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}
