// Package strictjson decodes JSON request bodies the way the API contract
// wants them read: object member names match the Go field's JSON name
// exactly (case-sensitive), each name appears at most once per object,
// unknown names are refused, strings are valid UTF-8, and nothing follows
// the one top-level value. encoding/json matches names case-insensitively
// and lets the last of a duplicated name win, so {"amount":"0.01",
// "Amount":"2.00"} read as 2.00; this package never reads such a body.
//
// It is built on github.com/go-json-experiment/json (the encoding/json/v2
// design), whose defaults already refuse duplicates and case variants. It
// imports nothing of Portico's and never imports Fiber.
package strictjson

import (
	"errors"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// options are the decoder's settings beyond the v2 defaults (names
// case-sensitive, duplicate names and invalid UTF-8 refused, one value).
var options = json.RejectUnknownMembers(true)

// Unmarshal decodes data, which must hold exactly one JSON value, into v
// strictly (see the package comment). Explain says what went wrong.
func Unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v, options)
}

// Raw holds a JSON value to decode later. Decoding into it still checks
// the value whole: syntax, UTF-8 and duplicate names at any depth.
type Raw = jsontext.Value

// Kind classifies a decoding failure.
type Kind int

// The kinds of failure Explain tells apart.
const (
	// Malformed: not JSON, or more than one value.
	Malformed Kind = iota
	// Duplicate: an object names the same member twice.
	Duplicate
	// Unknown: a member name the target does not have, including a known
	// name spelled in another case.
	Unknown
	// WrongType: a value of the wrong JSON type (or out of range) for its
	// field.
	WrongType
)

// Problem is what Explain found.
type Problem struct {
	Kind Kind
	// Path is where the problem is, as dotted names with [i] for array
	// elements ("records[3].duration_s"); "" for the whole body.
	Path string
	// Name is the last member name on Path ("duration_s"), "" if none.
	Name string
	// Want names the JSON type the field takes (for WrongType): "string",
	// "number", "boolean", "object" or "array".
	Want string
	// Offset is the byte offset near the problem.
	Offset int64
}

// Explain classifies an error returned by Unmarshal.
func Explain(err error) Problem {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		p := Problem{Kind: Malformed, Offset: syn.ByteOffset}
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			p.Kind = Duplicate
			p.Path, p.Name = path(syn.JSONPointer)
		}
		return p
	case errors.As(err, &sem):
		p := Problem{Kind: WrongType, Offset: sem.ByteOffset}
		p.Path, p.Name = path(sem.JSONPointer)
		switch {
		case errors.Is(sem.Err, json.ErrUnknownName):
			p.Kind = Unknown
		case sem.GoType == nil || sem.JSONKind == 0:
			p.Kind = Malformed
		default:
			p.Want = jsonKind(sem.GoType)
		}
		return p
	}
	return Problem{Kind: Malformed}
}

// path turns a JSON pointer into dotted form and its last member name.
// Bodies have no member names made of digits, so a token of digits is an
// array index.
func path(ptr jsontext.Pointer) (dotted, name string) {
	var b strings.Builder
	for tok := range ptr.Tokens() {
		if _, err := strconv.ParseUint(tok, 10, 32); err == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
		name = tok
	}
	return b.String(), name
}

// jsonKind names the JSON type a Go type takes.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "number"
}
