package jsonfast

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// FuzzAppendStringMatchesStd holds AppendString to json.Marshal, byte for
// byte, for any string (invalid UTF-8 included).
//
//	go test ./store/jsonfast -run '^$' -fuzz FuzzAppendStringMatchesStd -fuzztime 30s
func FuzzAppendStringMatchesStd(f *testing.F) {
	for _, seed := range []string{"", "call-1", `a"b\c`, "<script>&</script>", "tab\there\nnl\r\b\f\x00\x1f\x7f",
		"Zoë 東京", "\u2028\u2029", "\xff\xfe", "a\xc3", "\xed\xa0\x80", "\U0001F600", "\ufffd"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("x"), s); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("AppendString(%q) = %s, encoding/json %s", s, got[1:], want)
		}
	})
}

// FuzzAppendTimeMatchesStd holds AppendTime to json.Marshal for any
// instant and zone offset: the same bytes, or ok false where encoding/json
// refuses the time.
//
//	go test ./store/jsonfast -run '^$' -fuzz FuzzAppendTimeMatchesStd -fuzztime 30s
func FuzzAppendTimeMatchesStd(f *testing.F) {
	f.Add(int64(1793613600), int64(0), 0, false)            // 2026-11-02T10:00:00Z
	f.Add(int64(1793613600), int64(123456789), 3600, false) // +01:00, nanoseconds
	f.Add(int64(1793613600), int64(120000000), -19800, false)
	f.Add(int64(-62135596800), int64(0), 0, false)   // year 1
	f.Add(int64(-62167219200-1), int64(0), 0, false) // year -1
	f.Add(int64(253402300800), int64(0), 0, false)   // year 10000
	f.Add(int64(0), int64(0), 24*3600, false)        // offset of 24 hours
	f.Add(int64(0), int64(0), 99*3600+59*60, false)  // offset of 99:59
	f.Add(int64(0), int64(0), 100*3600, false)       // offset of three-digit hours
	f.Add(int64(0), int64(0), 3600+30, false)        // offset with seconds
	f.Add(int64(1793613600), int64(5), 0, true)      // the local zone
	f.Add(int64(math.MaxInt64), int64(999999999), 0, false)
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int, local bool) {
		at := time.Unix(sec, nsec).In(time.FixedZone("z", offset))
		if local {
			at = time.Unix(sec, nsec)
		}
		want, werr := json.Marshal(at)
		got, ok := AppendTime([]byte("x"), at)
		switch {
		case !ok && werr == nil:
			t.Fatalf("AppendTime refused %v, encoding/json wrote %s", at, want)
		case ok && werr != nil:
			t.Fatalf("AppendTime wrote %s for %v, encoding/json refused it: %v", got[1:], at, werr)
		case !ok && !bytes.Equal(got, []byte("x")):
			t.Fatalf("AppendTime refused but changed b: %q", got)
		case ok && !bytes.Equal(got[1:], want):
			t.Fatalf("AppendTime(%v) = %s, encoding/json %s", at, got[1:], want)
		}
	})
}

// record is a small struct read both ways in FuzzReaderMatchesStd.
type record struct {
	N    int64     `json:"n"`
	U    uint64    `json:"u"`
	I    int       `json:"i"`
	S    string    `json:"s,omitempty"`
	At   time.Time `json:"at"`
	List []int64   `json:"list"`
}

func readRecord(b []byte) (rec record, ok bool) {
	r := NewReader(b)
	r.Lit(`{"n":`)
	rec.N = r.Int64()
	r.Lit(`,"u":`)
	rec.U = r.Uint64()
	r.Lit(`,"i":`)
	rec.I = r.Int()
	if r.Opt(`,"s":`) {
		rec.S = r.String()
	}
	r.Lit(`,"at":`)
	rec.At = r.Time()
	r.Lit(`,"list":`)
	if !r.Opt("null") {
		r.Lit("[")
		rec.List = []int64{}
		if !r.Opt("]") {
			for r.OK() {
				rec.List = append(rec.List, r.Int64())
				if !r.Opt(",") {
					break
				}
			}
			r.Lit("]")
		}
	}
	r.Lit("}")
	return rec, r.Done()
}

// FuzzReaderMatchesStd holds the Reader to encoding/json: whatever it
// accepts, json.Unmarshal accepts too and reads to the same value.
//
//	go test ./store/jsonfast -run '^$' -fuzz FuzzReaderMatchesStd -fuzztime 30s
func FuzzReaderMatchesStd(f *testing.F) {
	for _, seed := range []string{
		`{"n":-5,"u":7,"i":3,"s":"a","at":"2026-11-02T10:00:00Z","list":[1,-2]}`,
		`{"n":0,"u":0,"i":0,"at":"2026-11-02T10:00:00.5+01:00","list":null}`,
		`{"n":-0,"u":0,"i":0,"at":"2026-11-02T10:00:00Z","list":[]}`,
		`{"n":9223372036854775807,"u":18446744073709551615,"i":-9223372036854775808,"at":"2026-11-02T10:00:00Z","list":[]}`,
		`{"n":-9223372036854775809,"u":1,"i":1,"at":"2026-11-02T10:00:00Z","list":[]}`,
		`{"n":01,"u":1,"i":1,"at":"2026-11-02T10:00:00Z","list":[]}`,
		`{"n":1.0,"u":1e2,"i":1,"at":"2026-11-02T10:00:00Z","list":[]}`,
		`{"n":1,"u":1,"i":1,"s":"a\"b","at":"2026-11-02T10:00:00Z","list":[]}`,
		`{"n":1,"u":1,"i":1,"at":"2026-11-02T24:00:00Z","list":[]}`,
		`{"n":1,"u":1,"i":1,"at":"2026-11-02 10:00:00Z","list":[]}`,
		`{"n":1,"u":1,"i":1,"at":"2026-11-02T10:00:00+24:00","list":[]}`,
		"{\"n\":1,\"u\":1,\"i\":1,\"s\":\"\xff\",\"at\":\"2026-11-02T10:00:00Z\",\"list\":[]}",
		"{\"n\":1,\"u\":1,\"i\":1,\"s\":\"\u2028<&>\",\"at\":\"2026-11-02T10:00:00Z\",\"list\":[1,]}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := readRecord(b)
		if !ok {
			return
		}
		var want record
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("the Reader accepted what encoding/json refuses (%v): %q", err, b)
		}
		if !equalRecord(fast, want) {
			t.Fatalf("Reader %+v, encoding/json %+v (%q)", fast, want, b)
		}
	})
}

// equalRecord compares the times by their encoding as well as their
// instant (Equal alone would miss a lost zone), the rest deeply.
func equalRecord(a, b record) bool {
	at, _ := a.At.MarshalJSON()
	bt, _ := b.At.MarshalJSON()
	sameTime := a.At.Equal(b.At) && bytes.Equal(at, bt)
	a.At, b.At = time.Time{}, time.Time{}
	return sameTime && reflect.DeepEqual(a, b)
}

// TestReaderIntegers covers the integer edges one by one against
// strconv: the range ends read, one past them does not.
func TestReaderIntegers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"7", 7, true}, {"-7", -7, true},
		{strconv.FormatInt(math.MaxInt64, 10), math.MaxInt64, true},
		{strconv.FormatInt(math.MinInt64, 10), math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"99999999999999999999", 0, false}, {"01", 0, false}, {"-", 0, false}, {"", 0, false},
		{"1.5", 0, false}, {"1e3", 0, false}, {"1E3", 0, false}, {"+1", 0, false},
	} {
		r := NewReader([]byte(tc.in))
		got := r.Int64()
		if ok := r.Done(); ok != tc.ok || ok && got != tc.want {
			t.Errorf("Int64(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	r := NewReader([]byte("18446744073709551615"))
	if r.Uint64(); r.Done() {
		t.Error("a 20-digit Uint64 is left to encoding/json")
	}
	r = NewReader([]byte("-1"))
	if r.Uint64(); r.Done() {
		t.Error("Uint64 read a negative number")
	}
}
