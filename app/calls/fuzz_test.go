package calls

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"portico/app/fault"
	"portico/app/strictjson"
	"portico/store"
)

// FuzzDecodeCDRs: whatever body arrives, decoding never panics, reports
// each problem at an index inside the batch, returns records in order,
// and never more than the batch limit.
//
//	go test ./app/calls -run '^$' -fuzz FuzzDecodeCDRs -fuzztime 30s
func FuzzDecodeCDRs(f *testing.F) {
	for _, seed := range []string{
		`{"records":[{"call_id":"a","direction":"outbound","from":"+14155550100","to":"+442079460958","started_at":"2026-11-02T10:00:00Z","duration_s":61,"disposition":"answered"}]}`,
		`{"records":[{"duration_s":"12"},7,null,{"call_id":1}]}`, `{"records":[]}`, `{}`, `[]`, `{"records":{}}`,
		`{"records":[{"x":1}]}`, `{"records":[{}]} {}`, `{"records":[{"duration_s":1e99}]}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		records, errs, err := DecodeCDRs(body)
		if err != nil {
			if k := fault.KindOf(err); k != fault.BadRequest && k != fault.Invalid || records != nil || errs != nil {
				t.Fatalf("error %v with results", err)
			}
			return
		}
		if len(records)+len(errs) > MaxBatch*2 || len(records) > MaxBatch {
			t.Fatalf("%d records", len(records))
		}
		last := -1
		for _, r := range records {
			if r.Index <= last {
				t.Fatalf("records out of order: %d after %d", r.Index, last)
			}
			last = r.Index
		}
		for _, e := range errs {
			if e.Index < 0 || e.Index >= MaxBatch || e.Field == "" || e.Message == "" {
				t.Fatalf("bad record error %+v", e)
			}
		}
		c := &store.Client{Country: "US"}
		maxDuration := MaxCDRDuration(&store.Reseller{})
		for i := range records {
			cdr, problems := validateCDR(&records[i], c, t0, maxDuration)
			if len(problems) == 0 && (cdr.CallID == "" || cdr.DurationS < 0 || cdr.DurationS > maxDuration || !isE164(cdr.To)) {
				t.Fatalf("accepted a bad record %+v", cdr)
			}
		}
	})
}

// FuzzParseRates: any file either imports a deck that is sorted, unique,
// within limits and exports to a file that imports back the same, or is
// refused with line-numbered errors; it never panics.
//
//	go test ./app/calls -run '^$' -fuzz FuzzParseRates -fuzztime 30s
func FuzzParseRates(f *testing.F) {
	for _, seed := range []string{
		deckCSV, "prefix,description,rate_per_minute,increment\n44,\"UK, \"\"all\"\"\",0.02,60/60\n",
		"prefix,description,rate_per_minute,increment\n44,UK,0.02,60/60\n44,UK,0.02,60/60\n",
		"a,b\n", "", "prefix,description,rate_per_minute,increment\n\"unterminated,x,1,1/1\n",
		"prefix,description,rate_per_minute,increment,premium\n1,x,99999999999999,3600/3600,yes\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rates, err := ParseRates(data)
		if err != nil {
			var errs RateErrors
			if !errors.As(err, &errs) || len(errs) == 0 || len(errs) > MaxRateErrors+1 || rates != nil {
				t.Fatalf("refusal %v", err)
			}
			return
		}
		for i, r := range rates {
			if r.Prefix == "" || strings.Trim(r.Prefix, "0123456789") != "" || r.First < 1 || r.Next < 1 || r.RatePerMinute < 0 || r.RatePerMinute > MaxRatePerMinute {
				t.Fatalf("bad rate %+v", r)
			}
			if i > 0 && rates[i-1].Prefix >= r.Prefix {
				t.Fatalf("not sorted or duplicate: %q then %q", rates[i-1].Prefix, r.Prefix)
			}
		}
		var buf bytes.Buffer
		if err := WriteRatesCSV(&buf, rates); err != nil {
			t.Fatal(err)
		}
		again, err := ParseRates(buf.Bytes())
		if err != nil || len(again) != len(rates) {
			t.Fatalf("export does not import back: %v", err)
		}
		for i := range rates {
			if again[i] != rates[i] {
				t.Fatalf("round trip changed %+v into %+v", rates[i], again[i])
			}
		}
	})
}

// FuzzNormalizeNumber: any input is refused or becomes E.164, and an
// E.164 result normalises to itself.
//
//	go test ./app/calls -run '^$' -fuzz FuzzNormalizeNumber -fuzztime 30s
func FuzzNormalizeNumber(f *testing.F) {
	for _, seed := range []struct{ number, region string }{
		{"+14155550100", ""}, {"(415) 555-0100", "US"}, {"020 7946 0958", "GB"}, {"0044 20 7946 0958", ""},
		{"+0", ""}, {"tel:+1-415-555-0100", ""}, {"+1 415 555 0100 ext. 12", "US"}, {"", "ZZ"}, {"+٤٤٢٠٧٩٤٦٠٩٥٨", ""},
	} {
		f.Add(seed.number, seed.region)
	}
	f.Fuzz(func(t *testing.T, number, region string) {
		for _, fn := range []func(string, string) (string, error){NormalizeNumber, NormalizeBlockedNumber} {
			out, err := fn(number, region)
			if err != nil {
				if out != "" {
					t.Fatalf("%q: error with result %q", number, out)
				}
				continue
			}
			if !isE164(out) {
				t.Fatalf("%q (%s) → %q is not E.164", number, region, out)
			}
			if again, err := NormalizeNumber(out, ""); err != nil || again != out {
				t.Fatalf("%q → %q → %q, %v", number, out, again, err)
			}
		}
	})
}

// FuzzDecodeFastMatchesStd holds the fast CDR decoder (cdrjson.go) to the
// strict standard decoder (app/strictjson: known fields only, names
// case-sensitive and unique, nothing after the object): whatever the fast
// one accepts, the strict one accepts too and decodes to the same records.
// What it refuses takes the strict path, so refusing more is always safe.
//
//	go test ./app/calls -run '^$' -fuzz FuzzDecodeFastMatchesStd -fuzztime 60s
func FuzzDecodeFastMatchesStd(f *testing.F) {
	for _, seed := range []string{
		`{"records":[{"call_id":"a","direction":"outbound","from":"+14155550100","to":"+442079460958","started_at":"2026-11-02T10:00:00Z","duration_s":61,"disposition":"answered"}]}`,
		` { "records" : [ { "call_id" : "a" , "duration_s" : -0 } , {} ] } `,
		`{"records":[{"CALL_ID":"a","Duration_S":1}]}`, `{"records":[{"call_id":"a\u00e9b"}]}`,
		`{"records":[{"duration_s":1.0}]}`, `{"records":[{"duration_s":1e2}]}`, `{"records":[{"call_id":"a","call_id":"b"}]}`,
		`{"records":null}`, `{"records":[null]}`, `{"records":[]}`, `{"records":[{}]}x`, "{\"records\":[{\"call_id\":\"\xff\"}]}",
		`{"records":[{"duration_s":9223372036854775807}]}`, `{"records":[{"duration_s":123456789012345678}]}`,
		`{"records":[{"duration_s":01}]}`, `{"records":[{"duration_s":-}]}`, `{"records":[{"duration_s":null}]}`,
		`{"records":[{"to":"+1","to":"+2"}]}`, `{"records":[{"call_id":"tab	in"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodeFast(body)
		if !ok {
			return
		}
		var whole struct {
			Records *[]CDRInput `json:"records"`
		}
		if err := strictjson.Unmarshal(body, &whole); err != nil {
			t.Fatalf("the fast decoder accepted what the strict decoder refuses (%v): %q", err, body)
		}
		if whole.Records == nil || len(*whole.Records) != len(fast) || len(fast) > MaxBatch {
			t.Fatalf("record count differs: %q", body)
		}
		for i, want := range *whole.Records {
			want.Index = i
			if !reflect.DeepEqual(fast[i], want) {
				t.Fatalf("record %d: fast %+v, strict decoder %+v (%q)", i, fast[i], want, body)
			}
		}
	})
}

// FuzzDecodeAuthorizeFastMatchesStd: whatever DecodeAuthorizeFast accepts,
// the strict standard decoder (app/strictjson) accepts and decodes the
// same.
//
//	go test ./app/calls -run '^$' -fuzz FuzzDecodeAuthorizeFastMatchesStd -fuzztime 60s
func FuzzDecodeAuthorizeFastMatchesStd(f *testing.F) {
	for _, seed := range []string{
		`{"call_id":"c1","direction":"outbound","from":"+14155550100","to":"+14155550123"}`,
		` { "to" : "+1" } `, `{}`, `{"CALL_ID":"x"}`, `{"call_id":"a","call_id":"b"}`, `{"call_id":"\u0041"}`,
		`{"call_id":null}`, `{"call_id":1}`, `{"x":"y"}`, `{"to":"+1"} {}`, "{\"to\":\"\xff\"}", `{"to":"+1",}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := DecodeAuthorizeFast(body)
		if !ok {
			return
		}
		var want AuthorizeRequest
		if err := strictjson.Unmarshal(body, &want); err != nil {
			t.Fatalf("accepted what the strict decoder refuses (%v): %q", err, body)
		}
		if fast != want {
			t.Fatalf("fast %+v, strict decoder %+v (%q)", fast, want, body)
		}
	})
}
