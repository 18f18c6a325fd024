package calls

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"portico/app/testkit"
	"portico/store"
)

// The deck of the package tests: the UK with a premium range, France, the
// USA (Canada shares +1 and is priced with it).
const packageDeckCSV = "prefix,description,rate_per_minute,increment,premium\n" +
	"1,North America,0.0100,60/60,false\n" + // 100 a minute
	"33,France,0.0300,60/60,false\n" + // 300 a minute
	"44,UK,0.0600,1/1,false\n" + // 10 a second
	"449,UK premium,1.2000,60/60,true\n"

const (
	ukNumber     = "+442079460958"
	ukPremium    = "+449098790000"
	frNumber     = "+33612345678"
	usNumber     = "+16502530000"
	caNumber     = "+12042345678"
	fourHours    = 4 * 3600
	ukCostPerSec = 10
	usCostPerMin = 100
	frCostPerMin = 300
)

// packageFixture is the calls fixture with the package deck, and a plan
// per test built from the packages given.
type packageFixture struct {
	*fixture
}

func newPackageFixture(t *testing.T, timezone string) *packageFixture {
	t.Helper()
	clock := testkit.NewClock(t0)
	s := testkit.OpenStore(t, clock)
	res, err := s.ReconcileResellers([]store.ResellerSpec{{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example", Timezone: timezone}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, s: s, svc: New(s), clock: clock, r: res.NeedOwner[0]}
	f.c = f.newClient("ann") // in the US
	if _, err := f.svc.ImportRates(f.r, []byte(packageDeckCSV), staff); err != nil {
		t.Fatal(err)
	}
	return &packageFixture{f}
}

// clientIn adds a client whose country is country.
func (f *packageFixture) clientIn(username, country string) *store.Client {
	c := &store.Client{ResellerID: f.r.ID, Username: username, FirstName: "A", LastName: "B", Email: username + "@example.com", Country: country}
	if err := f.s.Update(func(tx *store.Tx) error {
		return tx.CreateClient(c, &store.User{Email: c.Email, PasswordHash: "x"}, "seed")
	}); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// addPackage stores a package in the catalogue.
func (f *packageFixture) addPackage(p store.CallingPackage) *store.CallingPackage {
	f.t.Helper()
	p.ResellerID = f.r.ID
	if err := f.s.Update(func(tx *store.Tx) error { return store.PutCatalog(tx, &p) }); err != nil {
		f.t.Fatal(err)
	}
	return &p
}

// subscribe puts c on a new plan including pkgs, with seats.
func (f *packageFixture) subscribe(c *store.Client, seats int, pkgs ...*store.CallingPackage) *store.Plan {
	f.t.Helper()
	plan := &store.Plan{ResellerID: f.r.ID, Name: "Plan", Kind: store.PlanSubscription, MonthlyFee: 10_0000, Status: store.CatalogActive}
	for _, p := range pkgs {
		plan.Packages = append(plan.Packages, p.ID)
	}
	err := f.s.Update(func(tx *store.Tx) error {
		if err := store.PutCatalog(tx, plan); err != nil {
			return err
		}
		return tx.PutSubscription(&store.Subscription{ResellerID: f.r.ID, ClientID: c.ID, PlanID: plan.ID, Seats: seats,
			Status: store.SubscriptionActive, StartedAt: t0})
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return plan
}

// call authorises a call to to and reports it ended after seconds,
// started at; it returns the authorisation and the stored CDR.
func (f *packageFixture) call(c *store.Client, id, to string, seconds int64, at time.Time) (*Authorization, *store.CDR) {
	f.t.Helper()
	a := f.authorize(c, id, store.Outbound, "+14155550100", to)
	if !a.Allow {
		return a, nil
	}
	return a, f.report(c, id, to, seconds, at)
}

// report ingests one outbound CDR and returns it as stored.
func (f *packageFixture) report(c *store.Client, id, to string, seconds int64, at time.Time) *store.CDR {
	f.t.Helper()
	if res := f.ingest(c, cdr(id, store.Outbound, "+14155550100", to, at, seconds, store.Answered)); res.Accepted != 1 {
		f.t.Fatalf("cdr %s: %+v", id, res)
	}
	var got *store.CDR
	f.s.View(func(tx *store.Tx) (err error) { got, err = tx.CDRByCallID(f.r.ID, c.ID, id); return err })
	return got
}

func (f *packageFixture) usage(c *store.Client) []PackageUse {
	f.t.Helper()
	u, err := f.svc.PackageUsage(f.r, c.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// TestPackageCoversCall: a call to a country of the client's package,
// within fair use, is allowed without any credit, reserves nothing, may
// last the maximum call length, costs nothing and names the package in
// its CDR; its minutes (rounded up) count against fair use.
func TestPackageCoversCall(t *testing.T) {
	t.Parallel()
	f := newPackageFixture(t, "")
	uk := f.addPackage(store.CallingPackage{Name: "UK", Countries: []string{"GB"}, FairUseMinutes: 100})
	f.subscribe(f.c, 1, uk)
	a := f.authorize(f.c, "k1", store.Outbound, "+14155550100", ukNumber)
	if !a.Allow || a.Reserved != 0 || a.MaxDurationS != fourHours || a.RatePerMinute != 600 || a.Package != uk.ID {
		t.Fatalf("covered authorisation with no credit: %+v", a)
	}
	if again := f.authorize(f.c, "k1", store.Outbound, "+14155550100", ukNumber); *again != *a {
		t.Fatalf("same call id: %+v", again)
	}
	if cr := f.credit(f.c); cr != (store.Credit{}) {
		t.Fatalf("credit moved: %+v", cr)
	}
	got := f.report(f.c, "k1", ukNumber, 125, t0)
	if got.Cost != 0 || got.PackageID != uk.ID || got.RatePerMinute != 600 || got.BillableS != 125 || got.Reserved != 0 {
		t.Fatalf("covered CDR: %+v", got)
	}
	if cr := f.credit(f.c); cr != (store.Credit{}) {
		t.Fatalf("credit after the CDR: %+v", cr)
	}
	if u := f.usage(f.c); len(u) != 1 || u[0].Package.ID != uk.ID || u[0].UsedMinutes != 3 || u[0].AllowanceMinutes != 100 || u[0].Period != "2026-11" {
		t.Fatalf("usage: %+v", u)
	}
	// asking again once the CDR has come: the package, no time
	if a := f.authorize(f.c, "k1", store.Outbound, "+14155550100", ukNumber); !a.Allow || a.MaxDurationS != 0 || a.Package != uk.ID {
		t.Fatalf("after the CDR: %+v", a)
	}
	// the call log names the package
	page, err := f.svc.CallLog(f.r.ID, f.c.ID, CallLogQuery{Limit: 10})
	if err != nil || len(page.Rows) != 1 || page.Rows[0].Package != "UK" {
		t.Fatalf("call log: %+v %v", page, err)
	}
	// a destination the package does not cover is charged as before
	if a := f.authorize(f.c, "k2", store.Outbound, "+14155550100", frNumber); a.Allow || a.Reason != ReasonInsufficientCredit {
		t.Fatalf("France, no credit: %+v", a)
	}
	f.verify()
}

// TestPackagePastFairUse: fair use counts whole calls. The call that
// starts with fair use left is covered entirely, even past the
// allowance; a call authorised as covered stays covered when other calls
// spend the fair use meanwhile; once it is spent, calls are reserved and
// charged at the deck rate from credit, also a CDR that was never
// authorised.
func TestPackagePastFairUse(t *testing.T) {
	t.Parallel()
	f := newPackageFixture(t, "")
	uk := f.addPackage(store.CallingPackage{Name: "UK 2", Countries: []string{"GB"}, FairUseMinutes: 2})
	f.subscribe(f.c, 1, uk)
	// two calls start while 2 minutes are left
	a1 := f.authorize(f.c, "p1", store.Outbound, "+14155550100", ukNumber)
	a2 := f.authorize(f.c, "p2", store.Outbound, "+14155550100", ukNumber)
	if a1.Package != uk.ID || a2.Package != uk.ID || a1.Reserved != 0 || a2.Reserved != 0 {
		t.Fatalf("both covered at the start: %+v %+v", a1, a2)
	}
	if c := f.report(f.c, "p1", ukNumber, 150, t0); c.PackageID != uk.ID || c.Cost != 0 { // 3 minutes: past the 2
		t.Fatalf("crossing call: %+v", c)
	}
	if c := f.report(f.c, "p2", ukNumber, 30, t0); c.PackageID != uk.ID || c.Cost != 0 {
		t.Fatalf("promised call: %+v", c)
	}
	if u := f.usage(f.c); u[0].UsedMinutes != 4 {
		t.Fatalf("usage: %+v", u)
	}
	// spent: no credit, no call
	if a := f.authorize(f.c, "p3", store.Outbound, "+14155550100", ukNumber); a.Allow || a.Reason != ReasonInsufficientCredit {
		t.Fatalf("past fair use without credit: %+v", a)
	}
	f.fund(f.c, 1_0000)
	a, c := f.call(f.c, "p4", ukNumber, 60, t0)
	if !a.Allow || a.Package != 0 || a.Reserved != 1_0000 || a.MaxDurationS != 1000 || c.PackageID != 0 || c.Cost != 60*ukCostPerSec {
		t.Fatalf("charged call: %+v %+v", a, c)
	}
	if c := f.report(f.c, "p5", ukNumber, 10, t0); c.PackageID != 0 || c.Cost != 10*ukCostPerSec { // never authorised
		t.Fatalf("unauthorised CDR: %+v", c)
	}
	if cr := f.credit(f.c); cr.Used != 700 || cr.Available != 1_0000-700 || cr.Reserved != 0 {
		t.Fatalf("credit: %+v", cr)
	}
	if u := f.usage(f.c); u[0].UsedMinutes != 4 || u[0].AllowanceMinutes != 2 {
		t.Fatalf("charged calls are not counted: %+v", u)
	}
	// a new period (the reseller's month) starts with the whole allowance
	f.clock.Advance(time.Date(2026, 12, 1, 0, 0, 1, 0, time.UTC).Sub(t0))
	if a, c := f.call(f.c, "p6", ukNumber, 60, f.clock.Now()); a.Package != uk.ID || c.Cost != 0 {
		t.Fatalf("next period: %+v %+v", a, c)
	}
	f.verify()
}

// TestPackagePerSeatFairUse: a per-seat allowance is the minutes times
// the subscription's seats (a subscription without seats counts one).
func TestPackagePerSeatFairUse(t *testing.T) {
	t.Parallel()
	f := newPackageFixture(t, "")
	uk := f.addPackage(store.CallingPackage{Name: "UK per seat", Countries: []string{"GB"}, FairUseMinutes: 2, PerSeat: true})
	plan := f.subscribe(f.c, 3, uk)
	for i, seconds := range []int64{120, 120, 60} { // 5 minutes of 6
		if a, c := f.call(f.c, "s"+string(rune('a'+i)), ukNumber, seconds, t0); a.Package != uk.ID || c.Cost != 0 {
			t.Fatalf("call %d within 3 seats' fair use: %+v %+v", i, a, c)
		}
	}
	if u := f.usage(f.c); u[0].AllowanceMinutes != 6 || u[0].UsedMinutes != 5 {
		t.Fatalf("usage: %+v", u)
	}
	if a, _ := f.call(f.c, "sd", ukNumber, 60, t0); a.Package != uk.ID { // 5 < 6: covered, now 6
		t.Fatalf("last minute: %+v", a)
	}
	if a := f.authorize(f.c, "se", store.Outbound, "+14155550100", ukNumber); a.Allow {
		t.Fatalf("6 of 6 used: %+v", a)
	}
	// a fourth seat adds 2 minutes (the subscription write is seen at once)
	err := f.s.Update(func(tx *store.Tx) error {
		return tx.PutSubscription(&store.Subscription{ResellerID: f.r.ID, ClientID: f.c.ID, PlanID: plan.ID, Seats: 4, Status: store.SubscriptionActive})
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := f.authorize(f.c, "sf", store.Outbound, "+14155550100", ukNumber); a.Package != uk.ID {
		t.Fatalf("after adding a seat: %+v", a)
	}
	// no seats: one seat's allowance
	bob := f.newClient("bob")
	f.subscribe(bob, 0, uk)
	if u := f.usage(bob); u[0].AllowanceMinutes != 2 {
		t.Fatalf("no seats: %+v", u)
	}
	f.verify()
}

// TestPackageDomesticOnly: a domestic-only package covers only calls to
// the client's own country among its countries: a client in the UK with
// a domestic-only UK + France package pays for France ("domestic-only
// abroad"); the same package includes nothing for a client in the USA.
// A package that is not domestic-only covers every one of its countries.
func TestPackageDomesticOnly(t *testing.T) {
	t.Parallel()
	f := newPackageFixture(t, "")
	domestic := f.addPackage(store.CallingPackage{Name: "Home", Countries: []string{"GB", "FR"}, DomesticOnly: true})
	gb := f.clientIn("gwen", "GB")
	f.subscribe(gb, 1, domestic)
	if a, c := f.call(gb, "d1", ukNumber, 60, t0); a.Package != domestic.ID || c.Cost != 0 {
		t.Fatalf("domestic call: %+v %+v", a, c)
	}
	if a := f.authorize(gb, "d2", store.Outbound, "+442079460000", frNumber); a.Allow || a.Reason != ReasonInsufficientCredit {
		t.Fatalf("domestic-only abroad, no credit: %+v", a)
	}
	if c := f.report(gb, "d3", frNumber, 60, t0); c.PackageID != 0 || c.Cost != frCostPerMin {
		t.Fatalf("domestic-only abroad CDR: %+v", c)
	}
	// national numbers are read in the client's country and covered too
	if a := f.authorize(gb, "d4", store.Outbound, "+442079460000", "020 7946 0958"); a.Package != domestic.ID {
		t.Fatalf("national number: %+v", a)
	}
	f.subscribe(f.c, 1, domestic) // ann is in the USA
	if c := f.report(f.c, "d5", ukNumber, 60, t0); c.PackageID != 0 || c.Cost != 60*ukCostPerSec {
		t.Fatalf("a US client's domestic-only UK package: %+v", c)
	}
	world := f.addPackage(store.CallingPackage{Name: "World", Countries: []string{"FR", "US"}})
	f.subscribe(f.c, 1, domestic, world)
	if c := f.report(f.c, "d6", frNumber, 60, t0); c.PackageID != world.ID || c.Cost != 0 {
		t.Fatalf("international package: %+v", c)
	}
	// Canada shares +1 with the USA, but is not the USA
	if c := f.report(f.c, "d7", usNumber, 60, t0); c.PackageID != world.ID {
		t.Fatalf("USA: %+v", c)
	}
	if c := f.report(f.c, "d8", caNumber, 60, t0); c.PackageID != 0 || c.Cost != usCostPerMin {
		t.Fatalf("Canada: %+v", c)
	}
	f.verify()
}

// TestPackageNeverIncludesPremium: a premium destination in a package's
// country is reserved and charged at its rate, whatever the package.
func TestPackageNeverIncludesPremium(t *testing.T) {
	t.Parallel()
	f := newPackageFixture(t, "")
	uk := f.addPackage(store.CallingPackage{Name: "UK unlimited", Countries: []string{"GB"}})
	f.subscribe(f.c, 1, uk)
	if a := f.authorize(f.c, "x1", store.Outbound, "+14155550100", ukPremium); a.Allow || a.Reason != ReasonDestinationNotAllowed {
		t.Fatalf("premium not allowed: %+v", a)
	}
	if _, err := f.svc.SetAllowPremium(f.r, f.c.ID, true, staff); err != nil {
		t.Fatal(err)
	}
	if a := f.authorize(f.c, "x2", store.Outbound, "+14155550100", ukPremium); a.Allow || a.Reason != ReasonInsufficientCredit {
		t.Fatalf("premium without credit: %+v", a)
	}
	f.fund(f.c, 12_0000)
	a, c := f.call(f.c, "x3", ukPremium, 60, t0)
	if !a.Allow || a.Package != 0 || a.Reserved != 12_0000 || c.PackageID != 0 || c.Cost != 1_2000 {
		t.Fatalf("premium call: %+v %+v", a, c)
	}
	if u := f.usage(f.c); u[0].UsedMinutes != 0 {
		t.Fatalf("premium minutes counted: %+v", u)
	}
	f.verify()
}

// TestNoSubscriptionChargesAsBefore: without a subscription (or with a
// canceled one) nothing is included.
func TestNoSubscriptionChargesAsBefore(t *testing.T) {
	t.Parallel()
	f := newPackageFixture(t, "")
	f.addPackage(store.CallingPackage{Name: "UK", Countries: []string{"GB"}})
	if a := f.authorize(f.c, "n1", store.Outbound, "+14155550100", ukNumber); a.Allow || a.Reason != ReasonInsufficientCredit {
		t.Fatalf("no subscription, no credit: %+v", a)
	}
	f.fund(f.c, 1_0000)
	if a, c := f.call(f.c, "n2", ukNumber, 60, t0); a.Reserved != 1_0000 || a.Package != 0 || c.Cost != 600 || c.PackageID != 0 {
		t.Fatalf("no subscription: %+v %+v", a, c)
	}
	if u := f.usage(f.c); len(u) != 0 {
		t.Fatalf("usage without a subscription: %+v", u)
	}
	f.verify()
}

// TestUnlimitedPackage: 0 fair-use minutes is unlimited; the minutes are
// still counted for the billing page.
func TestUnlimitedPackage(t *testing.T) {
	t.Parallel()
	f := newPackageFixture(t, "")
	us := f.addPackage(store.CallingPackage{Name: "US unlimited", Countries: []string{"US"}, DomesticOnly: true})
	f.subscribe(f.c, 1, us)
	for i := range 5 {
		if a, c := f.call(f.c, "u"+string(rune('0'+i)), usNumber, fourHours, t0); a.Package != us.ID || a.MaxDurationS != fourHours || c.Cost != 0 {
			t.Fatalf("call %d: %+v %+v", i, a, c)
		}
	}
	if u := f.usage(f.c); u[0].UsedMinutes != 5*240 || u[0].AllowanceMinutes != 0 {
		t.Fatalf("usage: %+v", u)
	}
	f.verify()
}

// TestPackageCatalogueChangeSeenAtOnce: rating keeps the client's packages
// in memory, and a catalogue write (a package's countries, the plan's
// packages) is seen by the next call.
func TestPackageCatalogueChangeSeenAtOnce(t *testing.T) {
	t.Parallel()
	f := newPackageFixture(t, "")
	p := f.addPackage(store.CallingPackage{Name: "Europe", Countries: []string{"FR"}})
	plan := f.subscribe(f.c, 1, p)
	if c := f.report(f.c, "c1", ukNumber, 60, t0); c.PackageID != 0 {
		t.Fatalf("UK not in the package yet: %+v", c)
	}
	p.Countries = []string{"FR", "GB"}
	if err := f.s.Update(func(tx *store.Tx) error { return store.PutCatalog(tx, p) }); err != nil {
		t.Fatal(err)
	}
	if c := f.report(f.c, "c2", ukNumber, 60, t0); c.PackageID != p.ID {
		t.Fatalf("UK added to the package: %+v", c)
	}
	plan.Packages = nil
	if err := f.s.Update(func(tx *store.Tx) error { return store.PutCatalog(tx, plan) }); err != nil {
		t.Fatal(err)
	}
	if c := f.report(f.c, "c3", ukNumber, 60, t0); c.PackageID != 0 {
		t.Fatalf("package taken off the plan: %+v", c)
	}
}

// TestFairUsePeriodIsTheResellersMonth: calls count in the calendar month
// of the reseller's time zone: 30 November 12:00 UTC is already December
// in Auckland.
func TestFairUsePeriodIsTheResellersMonth(t *testing.T) {
	t.Parallel()
	f := newPackageFixture(t, "Pacific/Auckland")
	uk := f.addPackage(store.CallingPackage{Name: "UK", Countries: []string{"GB"}, FairUseMinutes: 1})
	f.subscribe(f.c, 1, uk)
	f.clock.Advance(time.Date(2026, 11, 30, 12, 30, 0, 0, time.UTC).Sub(t0))
	if c := f.report(f.c, "m1", ukNumber, 60, time.Date(2026, 11, 30, 10, 59, 0, 0, time.UTC)); c.PackageID != uk.ID { // 23:59 in Auckland
		t.Fatalf("November: %+v", c)
	}
	if c := f.report(f.c, "m2", ukNumber, 60, time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC)); c.PackageID != uk.ID { // 1 December 00:00
		t.Fatalf("December: %+v", c)
	}
	if c := f.report(f.c, "m3", ukNumber, 60, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)); c.PackageID != 0 {
		t.Fatalf("December spent: %+v", c)
	}
	if u := f.usage(f.c); u[0].Period != "2026-12" || u[0].UsedMinutes != 1 {
		t.Fatalf("usage: %+v", u)
	}
	f.verify()
}

// TestPendingDowngradeAppliesAtItsTime: a downgrade waiting for the period
// end changes what is included at that time, though nothing is written
// then (the invoice run applies it to the record later): the packages
// rating keeps in memory expire with it.
func TestPendingDowngradeAppliesAtItsTime(t *testing.T) {
	t.Parallel()
	f := newPackageFixture(t, "")
	uk := f.addPackage(store.CallingPackage{Name: "UK", Countries: []string{"GB"}})
	plan := f.subscribe(f.c, 1, uk)
	basic := &store.Plan{ResellerID: f.r.ID, Name: "Basic", Kind: store.PlanPerMinute, Status: store.CatalogActive}
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	err := f.s.Update(func(tx *store.Tx) error {
		if err := store.PutCatalog(tx, basic); err != nil {
			return err
		}
		return tx.PutSubscription(&store.Subscription{ResellerID: f.r.ID, ClientID: f.c.ID, PlanID: plan.ID, Seats: 1,
			Status: store.SubscriptionActive, Pending: &store.PendingChange{PlanID: basic.ID, Seats: 1, EffectiveAt: end}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := f.authorize(f.c, "w1", store.Outbound, "+14155550100", ukNumber); a.Package != uk.ID {
		t.Fatalf("before the period end: %+v", a)
	}
	f.clock.Advance(end.Sub(t0))
	if a := f.authorize(f.c, "w2", store.Outbound, "+14155550100", ukNumber); a.Allow || a.Reason != ReasonInsufficientCredit {
		t.Fatalf("after the period end, on the per-minute plan: %+v", a)
	}
}

// TestFairUseUnderConcurrentIngest: CDRs reported at once by many
// requests (sharing commits) are counted one after the other: with 10
// minutes of fair use, exactly 10 one-minute calls are covered and the
// other 10 charged.
func TestFairUseUnderConcurrentIngest(t *testing.T) {
	t.Parallel()
	f := newPackageFixture(t, "")
	uk := f.addPackage(store.CallingPackage{Name: "UK", Countries: []string{"GB"}, FairUseMinutes: 10})
	f.subscribe(f.c, 1, uk)
	f.fund(f.c, 1_0000)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			in := []CDRInput{cdr(fmt.Sprint("cc", i), store.Outbound, "+14155550100", ukNumber, t0, 60, store.Answered)}
			if res, err := f.svc.Ingest(f.r, f.c, in, nil, "api:test"); err != nil || res.Accepted != 1 {
				t.Errorf("cdr %d: %+v %v", i, res, err)
			}
		})
	}
	wg.Wait()
	covered := 0
	page, err := f.svc.CallLog(f.r.ID, f.c.ID, CallLogQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Rows {
		if r.PackageID == uk.ID {
			covered++
		}
	}
	if u := f.usage(f.c); covered != 10 || u[0].UsedMinutes != 10 || f.credit(f.c).Used != 10*600 {
		t.Fatalf("%d covered, usage %+v, credit %+v", covered, u, f.credit(f.c))
	}
	f.verify()
}
