package calls

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/app/actor"
	"portico/app/fault"
	"portico/app/testkit"
	"portico/store"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

type fixture struct {
	t     *testing.T
	s     *store.Store
	svc   *Service
	clock *testkit.Clock
	r     *store.Reseller // acme
	other *store.Reseller // globex
	c     *store.Client   // acme's client, country US
}

var staff = actor.Actor{Name: "staff@acme.example", IP: "127.0.0.1"}

const deckCSV = "prefix,description,rate_per_minute,increment,premium\n" +
	"1,USA,0.0100,60/60,false\n" + // 100 units a minute
	"1900,USA premium,1.0000,60/60,true\n" +
	"44,UK,0.0600,1/1,false\n" + // 600 a minute = 10 a second
	"447,UK mobile,0.0600,30/6,false\n"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := testkit.NewClock(t0)
	s, err := store.Open(filepath.Join(t.TempDir(), "p.db"), store.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	res, err := s.ReconcileResellers([]store.ResellerSpec{
		{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example"},
		{Slug: "globex", Name: "Globex", Currency: "EUR", OwnerEmail: "o@globex.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, s: s, svc: New(s), clock: clock}
	for _, r := range res.NeedOwner {
		if r.Slug == "acme" {
			f.r = r
		} else {
			f.other = r
		}
	}
	f.c = f.newClient("ann")
	if _, err := f.svc.ImportRates(f.r, []byte(deckCSV), staff); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) newClient(username string) *store.Client {
	c := &store.Client{ResellerID: f.r.ID, Username: username, FirstName: "A", LastName: "B", Email: username + "@example.com", Country: "US"}
	err := f.s.Update(func(tx *store.Tx) error {
		return tx.CreateClient(c, &store.User{Email: username + "@example.com", PasswordHash: "x"}, "seed")
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) fund(c *store.Client, amount int64) {
	f.t.Helper()
	err := f.s.Update(func(tx *store.Tx) error {
		_, _, err := tx.GrantCredit(f.r.ID, c.ID, amount, "", "", "staff", "")
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) credit(c *store.Client) store.Credit {
	var cr store.Credit
	f.s.View(func(tx *store.Tx) error { cl, _ := tx.Client(f.r.ID, c.ID); cr = tx.Credit(cl); return nil })
	return cr
}

func (f *fixture) authorize(c *store.Client, callID, direction, from, to string) *Authorization {
	f.t.Helper()
	a, err := f.svc.Authorize(f.r, c, AuthorizeRequest{CallID: callID, Direction: direction, From: from, To: to}, "api:test")
	if err != nil {
		f.t.Fatalf("authorize %s: %v", callID, err)
	}
	return a
}

func (f *fixture) verify() {
	f.t.Helper()
	if problems, err := f.s.Verify(); err != nil || len(problems) > 0 {
		f.t.Fatalf("verify: %v %v", err, problems)
	}
}

func (f *fixture) ingest(c *store.Client, records ...CDRInput) *IngestResult {
	f.t.Helper()
	for i := range records {
		records[i].Index = i
	}
	res, err := f.svc.Ingest(f.r, c, records, nil, "api:test")
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func cdr(callID, direction, from, to string, started time.Time, duration int64, disposition string) CDRInput {
	return CDRInput{CallID: callID, Direction: direction, From: from, To: to, StartedAt: started.Format(time.RFC3339),
		DurationS: &duration, Disposition: disposition}
}

func TestAuthorizeRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// no credit yet
	if a := f.authorize(f.c, "c0", store.Outbound, "+14155550100", "+442079460958"); a.Allow || a.Reason != ReasonInsufficientCredit {
		t.Fatalf("no credit: %+v", a)
	}
	f.fund(f.c, 1000) // 0.10: 100 s to the UK at 10 a second
	a := f.authorize(f.c, "c1", store.Outbound, "+14155550100", "+442079460958")
	if !a.Allow || a.MaxDurationS != 100 || a.Reserved != 1000 || a.RatePerMinute != 600 {
		t.Fatalf("allowed: %+v", a)
	}
	if cr := f.credit(f.c); cr.Available != 0 || cr.Reserved != 1000 {
		t.Fatalf("credit after reserving %+v", cr)
	}
	again := f.authorize(f.c, "c1", store.Outbound, "+14155550100", "+442079460958")
	if *again != *a {
		t.Fatalf("same call id: %+v, first %+v", again, a)
	}
	var ledger []*store.LedgerTx
	f.s.View(func(tx *store.Tx) error { ledger, _ = tx.ClientLedger(f.r.ID, f.c.ID); return nil })
	if len(ledger) != 2 { // the grant and one reservation
		t.Fatalf("ledger has %d entries", len(ledger))
	}
	if a := f.authorize(f.c, "c2", store.Outbound, "+14155550100", "+442079460958"); a.Allow || a.Reason != ReasonInsufficientCredit {
		t.Fatalf("all credit held: %+v", a)
	}
	f.fund(f.c, 1_000_000)
	for _, tc := range []struct{ to, reason string }{
		{"+33123456789", ReasonNoRate},
		{"+19005550100", ReasonDestinationNotAllowed},
	} {
		if a := f.authorize(f.c, "x"+tc.to, store.Outbound, "+14155550100", tc.to); a.Allow || a.Reason != tc.reason {
			t.Errorf("%s: %+v, want %s", tc.to, a, tc.reason)
		}
	}
	if _, err := f.svc.SetAllowPremium(f.r, f.c.ID, true, staff); err != nil {
		t.Fatal(err)
	}
	// premium allowed; and a long-enough balance is capped at 4 hours
	if a := f.authorize(f.c, "p1", store.Outbound, "+14155550100", "+19005550100"); !a.Allow || a.MaxDurationS != 6000 {
		t.Errorf("premium after allowing: %+v", a) // 100.00 at 1.00/min = 100 minutes
	}
	f.fund(f.c, 10_000_000)
	if a := f.authorize(f.c, "cap", store.Outbound, "+14155550100", "(415) 555-0100"); !a.Allow || a.MaxDurationS != 4*3600 || a.Reserved != 240*100 {
		t.Errorf("capped: %+v", a)
	}
	// statuses
	status := func(set func(tx *store.Tx) error) {
		if err := f.s.Update(set); err != nil {
			t.Fatal(err)
		}
	}
	status(func(tx *store.Tx) error {
		_, err := tx.SetClientStatus(f.r.ID, f.c.ID, store.ClientDisabled, false, "staff", "")
		return err
	})
	if a := f.authorize(f.c, "d1", store.Outbound, "+14155550100", "+14155550100"); !a.Allow {
		t.Errorf("disabled without restriction keeps calling: %+v", a)
	}
	status(func(tx *store.Tx) error {
		_, err := tx.SetClientStatus(f.r.ID, f.c.ID, store.ClientDisabled, true, "staff", "")
		return err
	})
	if a := f.authorize(f.c, "d2", store.Outbound, "+14155550100", "+14155550100"); a.Allow || a.Reason != ReasonAccountDisabled {
		t.Errorf("restricted: %+v", a)
	}
	if a := f.authorize(f.c, "d3", store.Inbound, "+14155550199", "+14155550100"); a.Allow || a.Reason != ReasonAccountDisabled {
		t.Errorf("restricted inbound: %+v", a)
	}
	status(func(tx *store.Tx) error {
		_, err := tx.SetClientStatus(f.r.ID, f.c.ID, store.ClientActive, false, "staff", "")
		return err
	})
	status(func(tx *store.Tx) error {
		_, err := tx.SetClientBillingStatus(f.r.ID, f.c.ID, store.ClientPaused, "billing", "unpaid")
		return err
	})
	if a := f.authorize(f.c, "s1", store.Outbound, "+14155550100", "+14155550100"); a.Allow || a.Reason != ReasonAccountPaused {
		t.Errorf("paused outbound: %+v", a)
	}
	if a := f.authorize(f.c, "s2", store.Inbound, "+14155550199", "+14155550100"); !a.Allow || a.Reserved != 0 || a.MaxDurationS != 4*3600 {
		t.Errorf("paused inbound: %+v", a)
	}
	status(func(tx *store.Tx) error {
		_, err := tx.SetClientBillingStatus(f.r.ID, f.c.ID, store.ClientClosed, "billing", "")
		return err
	})
	for _, dir := range []string{store.Outbound, store.Inbound} {
		if a := f.authorize(f.c, "z"+dir, dir, "+14155550199", "+14155550100"); a.Allow || a.Reason != ReasonAccountClosed {
			t.Errorf("closed %s: %+v", dir, a)
		}
	}
	// invalid input is every field at fault
	_, err := f.svc.Authorize(f.r, f.c, AuthorizeRequest{CallID: "has space", Direction: "sideways", From: "x", To: "12"}, "api")
	var errs fault.Fields
	if !errors.As(err, &errs) || len(errs) != 4 || !fault.Is(err, fault.Invalid) {
		t.Errorf("invalid: %v", err)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "invalid call request: ") { // it once said "invalid client"
		t.Errorf("invalid request described as %q", err)
	}
	// another reseller's client is not found, in words for the caller
	_, err = f.svc.Authorize(f.other, f.c, AuthorizeRequest{CallID: "x", Direction: "outbound", From: "+14155550100", To: "+14155550100"}, "api")
	if fe := fault.From(err); !errors.Is(err, store.ErrNotFound) || fe.Kind != fault.NotFound || fe.Message != "There is no such client." {
		t.Errorf("cross-tenant: %v", err)
	}
	f.verify()
}

// TestInboundBlockedCaller: a blocked number is refused and counted,
// nothing is written for other inbound calls, and unblocking lets it in.
func TestInboundBlockedCaller(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.svc.Block(f.r, f.c.ID, "(415) 555-0199", "spam", staff); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Block(f.r, f.c.ID, "+14155550199", "", staff); !errors.Is(err, ErrAlreadyBlocked) {
		t.Fatalf("twice: %v", err)
	}
	var errs fault.Fields
	if _, err := f.svc.Block(f.r, f.c.ID, "12345", "", staff); !errors.As(err, &errs) || errs[0].Field != "number" {
		t.Fatalf("invalid number: %v", err)
	}
	writes := f.s.Writes()
	if a := f.authorize(f.c, "i1", store.Inbound, "+14155550100", "+14155550111"); !a.Allow {
		t.Fatalf("other caller: %+v", a)
	}
	if a := f.authorize(f.c, "i2", store.Inbound, "anonymous", "+14155550111"); !a.Allow {
		t.Fatalf("anonymous caller: %+v", a)
	}
	if f.s.Writes() != writes {
		t.Fatal("an allowed inbound call wrote")
	}
	for i := range 3 {
		if a := f.authorize(f.c, fmt.Sprint("b", i), store.Inbound, "+1 415 555 0199", "+14155550111"); a.Allow || a.Reason != ReasonBlockedCaller {
			t.Fatalf("blocked caller: %+v", a)
		}
	}
	list, err := f.svc.BlockedCallers(f.r.ID, f.c.ID, f.clock.Now())
	if err != nil || len(list) != 1 || list[0].Number != "+14155550199" || list[0].BlockedLast30Days != 3 || list[0].Note != "spam" || list[0].CreatedBy != staff.Name {
		t.Fatalf("list %+v %v", list, err)
	}
	if later, _ := f.svc.BlockedCallers(f.r.ID, f.c.ID, f.clock.Now().AddDate(0, 0, 30)); later[0].BlockedLast30Days != 0 {
		t.Fatalf("30 days later: %d", later[0].BlockedLast30Days)
	}
	if _, err := f.svc.BlockedCallers(f.other.ID, f.c.ID, f.clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other reseller: %v", err)
	}
	if err := f.svc.Unblock(f.other, f.c.ID, "+14155550199", staff); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other reseller unblocks: %v", err)
	}
	if err := f.svc.Unblock(f.r, f.c.ID, "+14155550199", staff); err != nil {
		t.Fatal(err)
	}
	if a := f.authorize(f.c, "b9", store.Inbound, "+14155550199", "+14155550111"); !a.Allow {
		t.Fatalf("after unblocking: %+v", a)
	}
}

// TestIngestSettlesExactly: authorised calls settle to their exact cost,
// the rest of each reservation goes back, records are checked one by one,
// duplicates change nothing, and the usage counts them.
func TestIngestSettlesExactly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fund(f.c, 10_0000)                                                   // 10.00
	f.authorize(f.c, "a", store.Outbound, "+14155550100", "+442079460958") // UK 1/1 at 10/s
	f.authorize(f.c, "b", store.Outbound, "+14155550100", "+447911123456") // UK mobile 30/6
	if cr := f.credit(f.c); cr.Reserved != 10_0000 {                       // "a" holds everything; "b" got nothing
		t.Logf("credit %+v", cr)
	}
	start := t0.Add(-time.Hour)
	res := f.ingest(f.c,
		cdr("a", store.Outbound, "+14155550100", "+442079460958", start, 61, store.Answered), // 610
		cdr("b", store.Outbound, "+14155550100", "+447911123456", start, 31, store.Answered), // 36 s → 360
		cdr("n", store.Outbound, "+14155550100", "+14155550123", start, 0, store.NoAnswer),   // 0
		cdr("in", store.Inbound, "+14155550100", "+14155550111", start, 95, store.Answered),  // free
		cdr("a", store.Outbound, "+14155550100", "+442079460958", start, 61, store.Answered), // duplicate in batch
		badRecord(), // invalid
		cdr("fr", store.Outbound, "+14155550100", "+33123456789", start, 10, store.Answered), // no rate
	)
	if res.Accepted != 4 || res.Duplicates != 1 || res.Charged != 970 {
		t.Fatalf("ingest: %+v", res)
	}
	fields := map[string]bool{}
	for _, e := range res.Errors {
		if e.Index != 5 && !(e.Index == 6 && e.Field == "to") {
			t.Errorf("unexpected error %+v", e)
		}
		fields[e.Field] = true
	}
	for _, field := range []string{"direction", "from", "to", "started_at", "duration_s", "disposition"} {
		if !fields[field] {
			t.Errorf("no error for %s: %+v", field, res.Errors)
		}
	}
	cr := f.credit(f.c)
	if cr.Used != 970 || cr.Reserved != 0 || cr.Available != 10_0000-970 {
		t.Fatalf("credit %+v", cr)
	}
	again := f.ingest(f.c, cdr("a", store.Outbound, "+14155550100", "+442079460958", start, 61, store.Answered))
	if again.Accepted != 0 || again.Duplicates != 1 || f.credit(f.c) != cr {
		t.Fatalf("replay: %+v", again)
	}
	// Asking again for a call whose CDR has come holds nothing.
	if a := f.authorize(f.c, "a", store.Outbound, "+14155550100", "+442079460958"); !a.Allow || a.MaxDurationS != 0 || a.Reserved != 0 || a.RatePerMinute == 0 {
		t.Errorf("authorising a settled call again: %+v", a)
	}
	if got := f.credit(f.c); got != cr {
		t.Fatalf("credit after authorising a settled call again: %+v, want %+v", got, cr)
	}
	u, err := f.svc.Usage(f.r.ID, f.c.ID, t0)
	if err != nil || u.Calls != 4 || u.CallsOut != 3 || u.SecondsIn != 95 || u.SecondsOut != 92 || u.Qualified != 1 || u.Cost != 970 || u.ThresholdS != 90 {
		t.Fatalf("usage %+v %v", u, err)
	}
	// a lower threshold applies at once to the past
	if _, err := f.svc.SetQualifiedThreshold(f.r, f.c.ID, 31, staff); err != nil {
		t.Fatal(err)
	}
	if u, _ := f.svc.Usage(f.r.ID, f.c.ID, t0); u.Qualified != 3 || u.ThresholdS != 31 {
		t.Fatalf("after lowering the threshold: %+v", u)
	}
	var errs fault.Fields
	if _, err := f.svc.SetQualifiedThreshold(f.r, f.c.ID, 3601, staff); !errors.As(err, &errs) {
		t.Fatalf("threshold 3601: %v", err)
	}
	page, err := f.svc.CallLog(f.r.ID, f.c.ID, CallLogQuery{Limit: 10, Direction: store.Outbound})
	if err != nil || len(page.Rows) != 3 || page.Rows[0].CDR.LedgerID == 0 {
		t.Fatalf("call log %+v %v", page, err)
	}
	for _, r := range page.Rows {
		if r.Qualified != (r.DurationS >= 31) {
			t.Errorf("row %s qualified %v", r.CallID, r.Qualified)
		}
	}
	f.verify()
}

// TestConcurrentAuthorizationsNeverOverspend: 200 concurrent calls on
// credit for exactly 50 one-minute calls: at most 50 are allowed, the
// rest refused for credit, nothing negative; then the CDRs settle.
func TestConcurrentAuthorizationsNeverOverspend(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.svc.ImportRates(f.r, []byte("prefix,description,rate_per_minute,increment\n1,USA,0.0100,60/60\n"), staff)
	r := *f.r
	r.MaxCallSeconds = 60 // each call reserves exactly one minute: 100
	f.fund(f.c, 50*100)
	var wg sync.WaitGroup
	results := make([]*Authorization, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := f.svc.Authorize(&r, f.c, AuthorizeRequest{CallID: fmt.Sprint("call-", i), Direction: store.Outbound, From: "+14155550100", To: "+14155550123"}, "api")
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = a
		}()
	}
	wg.Wait()
	var allowed []CDRInput
	for i, a := range results {
		if a == nil {
			t.FailNow()
		}
		if a.Allow {
			if a.Reserved != 100 {
				t.Fatalf("reserved %d", a.Reserved)
			}
			allowed = append(allowed, cdr(fmt.Sprint("call-", i), store.Outbound, "+14155550100", "+14155550123", t0, int64(1+i%60), store.Answered))
		} else if a.Reason != ReasonInsufficientCredit {
			t.Fatalf("refused for %s", a.Reason)
		}
	}
	if len(allowed) != 50 {
		t.Fatalf("%d allowed, want exactly 50 (credit for 50)", len(allowed))
	}
	if cr := f.credit(f.c); cr.Available != 0 || cr.Reserved != 5000 {
		t.Fatalf("credit %+v", cr)
	}
	f.verify()
	res := f.ingest(f.c, allowed...)
	if res.Accepted != 50 || res.Charged != 5000 {
		t.Fatalf("settle %+v", res)
	}
	if cr := f.credit(f.c); cr != (store.Credit{Available: 0, Used: 5000, Assigned: 5000}) {
		t.Fatalf("after settling %+v", cr)
	}
	f.verify()
}

func TestDashboardFromAggregates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fund(f.c, 100_0000)
	var records []CDRInput
	for i := range 40 { // one call a day for 40 days, 10 s longer each day
		day := t0.AddDate(0, 0, -i)
		records = append(records, cdr(fmt.Sprint("d", i), store.Outbound, "+14155550100", "+14155550123", day, int64(60+10*i), store.Answered))
	}
	records = append(records, cdr("old", store.Inbound, "+14155550100", "+14155550111", t0.AddDate(0, -11, 0), 600, store.Answered))
	if res := f.ingest(f.c, records...); res.Accepted != 41 {
		t.Fatalf("%+v", res)
	}
	d, err := f.svc.Dashboard(f.r.ID, f.c.ID, t0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Today.Calls != 1 || d.Today.Qualified != 0 || d.Today.Cost != 100 {
		t.Errorf("today %+v", d.Today)
	}
	if d.Month.Calls != 2 || d.Month.SecondsOut != 130 { // Nov 1 and 2
		t.Errorf("month %+v", d.Month)
	}
	if len(d.Days) != 30 || d.Days[29].Calls != 1 || d.Days[0].Calls != 1 || !d.Days[29].Day.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("days %+v", d.Days)
	}
	if len(d.Months) != 12 || d.Months[11].Calls != 2 || d.Months[10].Calls != 31 || d.Months[9].Calls != 7 || d.Months[0].SecondsIn != 600 {
		t.Errorf("months %+v", d.Months)
	}
	if d.Credit.Used == 0 || d.ThresholdS != 90 {
		t.Errorf("credit %+v", d.Credit)
	}
}

// TestReleaseAndRetentionJobs: an unsettled reservation is released
// after the maximum call length and grace, once; old CDR months go.
func TestReleaseAndRetentionJobs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fund(f.c, 1000)
	f.authorize(f.c, "lost", store.Outbound, "+14155550100", "+442079460958")
	if n, _ := f.svc.ReleaseExpired(t0.Add(4 * time.Hour)); n != 0 {
		t.Fatalf("released %d too early", n)
	}
	if n, _ := f.svc.ReleaseExpired(t0.Add(4*time.Hour + ReleaseGrace + time.Second)); n != 1 {
		t.Fatalf("released %d", n)
	}
	if n, _ := f.svc.ReleaseExpired(t0.Add(5 * time.Hour)); n != 0 {
		t.Fatalf("released again: %d", n)
	}
	if cr := f.credit(f.c); cr.Available != 1000 || cr.Reserved != 0 {
		t.Fatalf("after release %+v", cr)
	}
	// a late CDR is charged in full from the wallet
	f.ingest(f.c, cdr("lost", store.Outbound, "+14155550100", "+442079460958", t0, 10, store.Answered))
	if cr := f.credit(f.c); cr.Available != 900 || cr.Used != 100 {
		t.Fatalf("late cdr %+v", cr)
	}
	f.ingest(f.c, cdr("old", store.Inbound, "+14155550100", "+14155550111", t0.AddDate(0, -13, 0), 100, store.Answered),
		cdr("kept", store.Inbound, "+14155550100", "+14155550111", t0.AddDate(0, -12, 0), 100, store.Answered))
	ret, err := f.svc.ApplyRetention(t0)
	if err != nil || ret.Months != 1 || ret.CDRs != 1 {
		t.Fatalf("retention %+v %v", ret, err)
	}
	if again, _ := f.svc.ApplyRetention(t0); again.Months != 0 {
		t.Fatalf("second run %+v", again)
	}
	if u, _ := f.svc.Usage(f.r.ID, f.c.ID, t0.AddDate(0, -13, 0)); u.Calls != 1 {
		t.Fatalf("usage of the dropped month: %+v", u)
	}
	f.verify()
}

func badRecord() CDRInput {
	c := cdr("bad", "sideways", "x12", "nope", t0, -1, "hung")
	c.StartedAt = "2026-13-01"
	return c
}
