// Package jsonfast writes and reads the JSON of the few records on the
// API's hottest paths (a call's authorisation: its ledger movement, its
// reservation and its reply) by hand, without reflection, byte for byte
// as encoding/json does. The writers produce exactly encoding/json's
// bytes or report that they cannot (the caller then uses encoding/json);
// the Reader accepts only a plain form and the caller falls back to
// encoding/json on anything else. Differential fuzz targets here and at
// each record hold both promises. It imports nothing of Portico's, so the
// store may use it.
package jsonfast

import (
	"time"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// plain marks the ASCII bytes encoding/json writes as they are: not a
// control character, a quote or backslash, nor one of <, > and & (which
// Marshal escapes for HTML).
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendString appends s as json.Marshal writes a string: quoted; ", \
// and control characters escaped (\b \f \n \r \t short, the others
// \u00XX); <, >, & as \u003c, \u003e, \u0026; U+2028 and U+2029 escaped;
// each byte of invalid UTF-8 as \ufffd. FuzzAppendStringMatchesStd holds
// it to encoding/json.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default: // other control characters and <, >, &
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029': // valid JSON, but not valid JavaScript
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendTime appends t as json.Marshal writes a time.Time (quoted
// RFC 3339 with nanoseconds). ok is false, and b is returned as it was,
// for a time Time.MarshalJSON refuses: a year outside 0–9999, or a zone
// offset of 24 hours or more. FuzzAppendTimeMatchesStd holds it to
// encoding/json.
func AppendTime(b []byte, t time.Time) (_ []byte, ok bool) {
	n := len(b)
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	// Time.MarshalJSON's own checks, on the same bytes.
	if b[n+1+len("9999")] != '-' { // the year is not exactly four digits
		return b[:n], false
	}
	if b[len(b)-1] != 'Z' {
		c := b[len(b)-len("Z07:00")]
		hh := b[len(b)-len("07:00"):]
		if '0' <= c && c <= '9' || 10*(hh[0]-'0')+(hh[1]-'0') >= 24 {
			return b[:n], false
		}
	}
	return append(b, '"'), true
}
