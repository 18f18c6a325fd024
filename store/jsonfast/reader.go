package jsonfast

import (
	"math"
	"time"
	"unicode/utf8"
)

// Reader reads a record in its plain form, the one json.Marshal writes:
// no white space, keys spelled and ordered as the struct declares them,
// strings without escapes, integers without fraction or exponent. The
// caller spells the record out literal by literal (Lit, Opt) and reads
// each value (String, Int64, Uint64, Int, Time); the first thing that is
// not as expected makes the Reader fail, every later call does nothing,
// and Done reports false, for the caller to decode with encoding/json
// instead. So a Reader accepts less than encoding/json, never more, and
// what it accepts it reads as encoding/json would (each record's
// differential fuzz target holds it to that).
type Reader struct {
	b    []byte
	s    string // b as one string: every string read is a substring, so a record costs one copy
	i    int
	fail bool
}

// NewReader starts reading b. Invalid UTF-8 (which encoding/json reads as
// U+FFFD) fails it at once. The strings read do not refer to b, so b may
// be memory that is valid only for now (a bbolt value).
func NewReader(b []byte) Reader {
	if !utf8.Valid(b) {
		return Reader{fail: true}
	}
	return Reader{b: b, s: string(b)}
}

// Done says whether everything read so far was as expected and nothing
// is left.
func (r *Reader) Done() bool { return !r.fail && r.i == len(r.b) }

// OK says whether everything read so far was as expected.
func (r *Reader) OK() bool { return !r.fail }

// Lit reads the literal lit, exactly.
func (r *Reader) Lit(lit string) {
	if !r.Opt(lit) {
		r.fail = true
	}
}

// Opt reads lit if it comes next and says whether it did; otherwise it
// reads nothing (an omitempty key, a null).
func (r *Reader) Opt(lit string) bool {
	if r.fail || len(r.s)-r.i < len(lit) || r.s[r.i:r.i+len(lit)] != lit {
		return false
	}
	r.i += len(lit)
	return true
}

// quoted reads a string without escapes or control characters and
// returns the offsets of its contents.
func (r *Reader) quoted() (start, end int) {
	if r.fail || r.i == len(r.b) || r.b[r.i] != '"' {
		r.fail = true
		return 0, 0
	}
	for j := r.i + 1; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '"':
			start, r.i = r.i+1, j+1
			return start, j
		case c == '\\' || c < ' ':
			r.fail = true
			return 0, 0
		}
	}
	r.fail = true
	return 0, 0
}

// String reads a string.
func (r *Reader) String() string {
	start, end := r.quoted()
	return r.s[start:end]
}

// Time reads a time.Time as encoding/json does: Time.UnmarshalJSON on the
// quoted bytes.
func (r *Reader) Time() time.Time {
	var t time.Time
	start, end := r.quoted()
	if r.fail {
		return t
	}
	if err := t.UnmarshalJSON(r.b[start-1 : end+1]); err != nil {
		r.fail = true
	}
	return t
}

// digits reads the magnitude of an integer (no leading zeros, at most 19
// digits so that it fits a uint64, no fraction or exponent after it).
func (r *Reader) digits() uint64 {
	start := r.i
	var v uint64
	for r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
		if r.i-start == 19 { // a 20th digit may overflow: encoding/json decides
			r.fail = true
			return 0
		}
		v = v*10 + uint64(r.b[r.i]-'0')
		r.i++
	}
	n := r.i - start
	if n == 0 || n > 1 && r.b[start] == '0' {
		r.fail = true
		return 0
	}
	if r.i < len(r.b) && (r.b[r.i] == '.' || r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.fail = true
		return 0
	}
	return v
}

// Uint64 reads a non-negative integer.
func (r *Reader) Uint64() uint64 {
	if r.fail {
		return 0
	}
	return r.digits()
}

// Int64 reads an integer that fits an int64.
func (r *Reader) Int64() int64 {
	if r.fail {
		return 0
	}
	neg := r.Opt("-")
	v := r.digits()
	switch {
	case r.fail:
		return 0
	case neg && v <= 1<<63:
		return int64(-v) // -(1<<63) wraps to itself, which is MinInt64
	case !neg && v <= math.MaxInt64:
		return int64(v)
	}
	r.fail = true
	return 0
}

// Int reads an integer that fits an int.
func (r *Reader) Int() int {
	v := r.Int64()
	if int64(int(v)) != v {
		r.fail = true
		return 0
	}
	return int(v)
}
