package app

import (
	"encoding/json"
	"net/http"
	"testing"

	"portico/app/calls"
	"portico/store/money"
)

// apiAllowed and apiRefused are the two replies of POST /calls/authorize
// as structs, as the handler wrote them with c.JSON before
// appendAuthorizeReply: the reference it is held to.
type apiAllowed struct {
	Allow         bool   `json:"allow"`
	CallID        string `json:"call_id"`
	MaxDurationS  int    `json:"max_duration_s"`
	RatePerMinute string `json:"rate_per_minute"`
	Reserved      string `json:"reserved"`
	Currency      string `json:"currency"`
	Package       uint64 `json:"package,omitempty"`
}

type apiRefused struct {
	Allow  bool   `json:"allow"`
	CallID string `json:"call_id"`
	Reason string `json:"reason"`
}

// authorizeReplyStd is the reply as encoding/json writes it.
func authorizeReplyStd(res *calls.Authorization, currency string) ([]byte, error) {
	if !res.Allow {
		return json.Marshal(apiRefused{CallID: res.CallID, Reason: res.Reason})
	}
	return json.Marshal(apiAllowed{Allow: true, CallID: res.CallID, MaxDurationS: res.MaxDurationS,
		RatePerMinute: money.Decimal(res.RatePerMinute, currency), Reserved: money.Decimal(res.Reserved, currency),
		Currency: currency, Package: res.Package})
}

// FuzzAuthorizeReplyMatchesStd holds appendAuthorizeReply to json.Marshal
// of the reply structs, byte for byte, for any authorisation.
//
//	go test ./app -run '^$' -fuzz FuzzAuthorizeReplyMatchesStd -fuzztime 30s
func FuzzAuthorizeReplyMatchesStd(f *testing.F) {
	f.Add(true, "call-1", "", 7200, int64(100), int64(12_0000), "USD", uint64(0))
	f.Add(true, "c<&>\"\\", "", -1, int64(-350), int64(-1<<63), "JPY", uint64(1<<64-1))
	f.Add(false, "call-2", calls.ReasonInsufficientCredit, 0, int64(0), int64(0), "EUR", uint64(0))
	f.Add(false, "\xff\x00", "why\n", 0, int64(0), int64(0), "", uint64(3))
	f.Fuzz(func(t *testing.T, allow bool, callID, reason string, maxDuration int, rate, reserved int64, currency string, pkg uint64) {
		res := &calls.Authorization{Allow: allow, CallID: callID, Reason: reason, MaxDurationS: maxDuration,
			RatePerMinute: rate, Reserved: reserved, Package: pkg}
		want, err := authorizeReplyStd(res, currency)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendAuthorizeReply(nil, res, currency); string(got) != string(want) {
			t.Fatalf("appendAuthorizeReply:\n%s\nencoding/json:\n%s", got, want)
		}
	})
}

// TestAuthorizeRepliesOverHTTP: the replies the server sends, allowed and
// refused, are whole what encoding/json wrote for them, as application/json.
func TestAuthorizeRepliesOverHTTP(t *testing.T) {
	t.Parallel()
	f := newCallsFixture(t, "10.00")
	for _, tc := range []struct {
		body string
		want calls.Authorization
	}{
		{authorizeBody("r1", "outbound", "+14155550100", "+442079460958"),
			calls.Authorization{Allow: true, CallID: "r1", MaxDurationS: 10000, RatePerMinute: 600, Reserved: 10_0000}},
		{authorizeBody("r2<&>", "outbound", "+14155550100", "+442079460958"),
			calls.Authorization{CallID: "r2<&>", Reason: calls.ReasonInsufficientCredit}},
		{authorizeBody("r3", "outbound", "+14155550100", "+33123456789"),
			calls.Authorization{CallID: "r3", Reason: calls.ReasonNoRate}},
	} {
		r := f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey, body: tc.body}, http.StatusOK)
		want, _ := authorizeReplyStd(&tc.want, "USD")
		if r.body != string(want) || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("reply %s (%s), want %s (application/json)", r.body, r.header.Get("Content-Type"), want)
		}
	}
	f.verify(t)
}

// BenchmarkAuthorizeReply writes an allowed call's reply by hand and with
// encoding/json, in the same run:
//
//	go test ./app -run '^$' -bench AuthorizeReply -benchmem
func BenchmarkAuthorizeReply(b *testing.B) {
	res := &calls.Authorization{Allow: true, CallID: "b-123456", MaxDurationS: 3600, RatePerMinute: 100, Reserved: 6_0000}
	b.Run("std", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			authorizeReplyStd(res, "USD")
		}
	})
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		var buf [256]byte
		for b.Loop() {
			appendAuthorizeReply(buf[:0], res, "USD")
		}
	})
}
