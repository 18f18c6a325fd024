package app

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"portico/app/calls"
	"portico/app/tenancy"
)

// topRateDeck is the probe's deck: a line at the highest rate a deck may
// carry (1,000,000.0000 a minute).
const topRateDeck = "prefix,description,rate_per_minute,increment,premium\n" +
	"1,USA,0.0100,60/60,false\n" +
	"44,United Kingdom,1000000.0000,60/60,false\n"

// TestAPIBalanceOverflowProbe replays the probe that overflowed a
// client's balance: a client key posting 93 batches of 1,000 CDRs of
// 604,800 s each to the top-rate line. Before, ~91,500 of them wrapped
// `used` past int64 into the negative and `available` to about
// 907,234,407,370,955, verify still passed and authorise allowed calls.
// Now every such record is refused by index (field duration_s) while a
// sane record of the same batch is charged; the balances say what was
// really charged, verify passes, and the client in debt is refused.
func TestAPIBalanceOverflowProbe(t *testing.T) {
	t.Parallel()
	f := newCallsFixture(t, "10.00")
	f.at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/rates", key: f.acmeKey, body: topRateDeck,
		header: map[string]string{"Content-Type": "text/csv"}}, http.StatusOK)
	started := f.ts.clock.Now().Add(-time.Hour)
	const batches, sane = 93, 500 // the last batch's record 500 is an ordinary one-minute call
	var body strings.Builder
	for b := range batches {
		body.Reset()
		body.WriteString(`{"records":[`)
		for i := range calls.MaxBatch {
			if i > 0 {
				body.WriteByte(',')
			}
			duration := 604800
			if b == batches-1 && i == sane {
				duration = 60
			}
			body.WriteString(cdrJSON(fmt.Sprintf("probe-%d-%d", b, i), "outbound", "+14155550100", "+442079460958", started, duration, "answered"))
		}
		body.WriteString(`]}`)
		r := f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey, body: body.String()}, http.StatusOK)
		reply := decodeReply[apiIngest](t, r)
		wantAccepted, wantErrors := 0, calls.MaxBatch
		if b == batches-1 {
			wantAccepted, wantErrors = 1, calls.MaxBatch-1
		}
		if reply.Accepted != wantAccepted || reply.Duplicates != 0 || len(reply.Errors) != wantErrors {
			t.Fatalf("batch %d: accepted %d, duplicates %d, %d errors; want %d accepted, %d errors", b, reply.Accepted, reply.Duplicates, len(reply.Errors), wantAccepted, wantErrors)
		}
		next := 0
		for _, e := range reply.Errors {
			if next == sane && b == batches-1 {
				next++
			}
			if e.Index != next || e.Field != "duration_s" || !strings.Contains(e.Message, "18000") {
				t.Fatalf("batch %d: error %+v, want index %d field duration_s naming the 18000 s ceiling", b, e, next)
			}
			next++
		}
	}
	// one minute at 1,000,000.00 a minute was charged, nothing else
	if got, want := f.annCredit(t), (apiCredit{Available: "-999990.00", Used: "1000000.00", Assigned: "10.00", Reserved: "0.00", Currency: "USD"}); got != want {
		t.Fatalf("credit %+v, want %+v", got, want)
	}
	f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/usage?month=2026-11", key: f.annKey}, http.StatusOK)
	f.verify(t)
	r := f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey,
		body: authorizeBody("after-probe", "outbound", "+14155550100", "+14155550123")}, http.StatusOK)
	if !strings.Contains(r.body, `"allow":false`) || !strings.Contains(r.body, `"reason":"insufficient_credit"`) {
		t.Fatalf("authorise after the probe: %s", r.body)
	}
}

// TestAPIRechargeOverflowIs422: with a maximum recharge large enough, two
// recharges would take the reseller's pool past what an amount holds. The
// second is refused with 422 (field amount) and moves nothing; a small
// one still goes through, and verify passes.
func TestAPIRechargeOverflowIs422(t *testing.T) {
	t.Parallel()
	resellers := twoResellers()
	resellers[0].MaxRecharge = "500000000000000.00" // 5·10^18 minor units
	ts := newServerWith(t, false, "test.portico", resellers)
	key, err := tenancy.CreateResellerAPIKey(ts.store, "acme", "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	f := &apiFixture{ts: ts, at: ts.api(t), acmeKey: key}
	f.createClient(acmeHost, key, "ann.lee")
	f.createClient(acmeHost, key, "bob.b")
	recharge := func(client, amount, idempotencyKey string, want int) response {
		t.Helper()
		return f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + client + "/credits", key: key,
			body: `{"amount":"` + amount + `"}`, header: map[string]string{"Idempotency-Key": idempotencyKey}}, want)
	}
	recharge("ann.lee", "500000000000000.00", "first", http.StatusCreated)
	r := recharge("bob.b", "500000000000000.00", "second", http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, `"field":"amount"`) || !strings.Contains(r.body, "largest amount") {
		t.Fatalf("overflowing recharge: %s", r.body)
	}
	r = recharge("ann.lee", "500000000000000.00", "third", http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, `"field":"amount"`) {
		t.Fatalf("overflowing recharge of the same client: %s", r.body)
	}
	// a refused request does not use up its key: the same key, a sane amount
	recharge("bob.b", "1.00", "second", http.StatusCreated)
	for client, want := range map[string]string{"ann.lee": "500000000000000.00", "bob.b": "1.00"} {
		r := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/" + client, key: key}, http.StatusOK)
		if !strings.Contains(r.body, `"available":"`+want+`"`) || !strings.Contains(r.body, `"assigned":"`+want+`"`) {
			t.Errorf("%s: %s", client, r.body)
		}
	}
	f.verify(t)
}
