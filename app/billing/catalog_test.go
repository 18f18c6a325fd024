package billing

import (
	"slices"
	"strings"
	"testing"
	"time"

	"portico/app/fault"
	"portico/store"
)

// catalogFixture is the billing fixture (acme with Basic, Pro and the
// Recording add-on) and its second reseller, globex (EUR), with a
// package of its own.
type catalogFixture struct {
	*fixture
	globex     *store.Reseller
	globexPack *store.CallingPackage
}

func newCatalogFixture(t *testing.T) *catalogFixture {
	t.Helper()
	f := &catalogFixture{fixture: newFixture(t, time.Date(2026, 3, 10, 19, 0, 0, 0, time.UTC))}
	if err := f.s.View(func(tx *store.Tx) (err error) { f.globex, err = tx.ResellerBySlug("globex"); return err }); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.globexPack, err = f.svc.CreatePackage(f.globex, PackageInput{Name: "Europe", Countries: []string{"DE", "FR"}}, staff); err != nil {
		t.Fatal(err)
	}
	return f
}

// audits is how many audit events the reseller has.
func (f *catalogFixture) audits(rid uint64) []string {
	f.t.Helper()
	var events []*store.AuditEvent
	if err := f.s.View(func(tx *store.Tx) (err error) { events, _, err = tx.AuditEvents(rid, 0, 1000); return err }); err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		out = append(out, e.Action+" "+e.Target)
	}
	return out
}

// TestCatalogCreateAndList: a package, an add-on and a plan that includes
// them are saved as given (countries upper-cased and de-duplicated,
// amounts in minor units, ids sorted), listed in id order, each with its
// audit event naming the actor.
func TestCatalogCreateAndList(t *testing.T) {
	f := newCatalogFixture(t)
	pack, err := f.svc.CreatePackage(f.r, PackageInput{Name: " UK & Ireland ", Countries: []string{" gb", "ie", "GB", ""},
		DomesticOnly: true, FairUseMinutes: 3000, PerSeat: true}, staff)
	if err != nil {
		t.Fatal(err)
	}
	if pack.Name != "UK & Ireland" || !slices.Equal(pack.Countries, []string{"GB", "IE"}) || !pack.DomesticOnly || pack.FairUseMinutes != 3000 || !pack.PerSeat {
		t.Errorf("package %+v", pack)
	}
	addOn, err := f.svc.CreateAddOn(f.r, AddOnInput{Name: "Call queue", MonthlyFee: "3.5"}, staff)
	if err != nil {
		t.Fatal(err)
	}
	if addOn.MonthlyFee != 35_000 || addOn.PerSeat {
		t.Errorf("add-on %+v", addOn)
	}
	plan, err := f.svc.CreatePlan(f.r, PlanInput{Name: "Team", Kind: store.PlanSubscription, MonthlyFee: "49.99", IncludedSeats: 10,
		SeatFee: "4", Packages: []uint64{pack.ID, pack.ID}, AddOns: []uint64{addOn.ID, f.addon.ID}}, staff)
	if err != nil {
		t.Fatal(err)
	}
	if plan.MonthlyFee != 499_900 || plan.SeatFee != 40_000 || plan.IncludedSeats != 10 || plan.Status != store.CatalogActive ||
		!slices.Equal(plan.Packages, []uint64{pack.ID}) || !slices.Equal(plan.AddOns, []uint64{f.addon.ID, addOn.ID}) {
		t.Errorf("plan %+v", plan)
	}
	free, err := f.svc.CreatePlan(f.r, PlanInput{Name: "Pay as you go", Kind: store.PlanPerMinute, MonthlyFee: "0.00"}, staff)
	if err != nil {
		t.Fatal(err)
	}
	if free.Packages == nil || free.AddOns == nil {
		t.Errorf("a plan without packages stores empty lists: %+v", free)
	}

	plans, err := f.svc.Plans(f.r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range plans {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"Basic", "Pro", "Team", "Pay as you go"}) {
		t.Errorf("plans %v", names)
	}
	packs, _ := f.svc.Packages(f.r.ID)
	addOns, _ := f.svc.AddOns(f.r.ID)
	if len(packs) != 1 || len(addOns) != 2 {
		t.Errorf("acme has %d packages and %d add-ons", len(packs), len(addOns))
	}
	if got, err := f.svc.Plan(f.r.ID, plan.ID); err != nil || got.Name != "Team" {
		t.Errorf("plan %d: %+v %v", plan.ID, got, err)
	}
	want := []string{"plan.create Pay as you go", "plan.create Team", "addon.create Call queue", "package.create UK & Ireland"}
	if got := f.audits(f.r.ID); !slices.Equal(got, want) {
		t.Errorf("audit %v, want %v", got, want)
	}
}

// TestCatalogValidation: every field's rule refuses with the API's field
// name, all problems at once, and nothing is saved.
func TestCatalogValidation(t *testing.T) {
	f := newCatalogFixture(t)
	good := PlanInput{Name: "Gold", Kind: store.PlanSubscription, MonthlyFee: "10", SeatFee: "1"}
	plan := func(edit func(*PlanInput)) PlanInput { in := good; edit(&in); return in }
	for _, tc := range []struct {
		name   string
		in     PlanInput
		fields []string
	}{
		{"empty", PlanInput{}, []string{"name", "kind"}},
		{"two lines", plan(func(p *PlanInput) { p.Name = "Gold\nBcc: x" }), []string{"name"}},
		{"long name", plan(func(p *PlanInput) { p.Name = strings.Repeat("é", MaxCatalogName+1) }), []string{"name"}},
		{"taken name, other case", plan(func(p *PlanInput) { p.Name = " basic " }), []string{"name"}},
		{"unknown kind", plan(func(p *PlanInput) { p.Kind = "yearly" }), []string{"kind"}},
		{"per-minute with fees", plan(func(p *PlanInput) { p.Kind = store.PlanPerMinute }), []string{"monthly_fee", "seat_fee"}},
		{"negative fee", plan(func(p *PlanInput) { p.MonthlyFee = "-1" }), []string{"monthly_fee"}},
		{"fee not a number", plan(func(p *PlanInput) { p.MonthlyFee = "ten"; p.SeatFee = "1e3" }), []string{"monthly_fee", "seat_fee"}},
		{"fee past the ceiling", plan(func(p *PlanInput) { p.SeatFee = "1000000.01" }), []string{"seat_fee"}},
		{"fee finer than the currency", plan(func(p *PlanInput) { p.MonthlyFee = "1.005" }), []string{"monthly_fee"}},
		{"fee past int64", plan(func(p *PlanInput) { p.MonthlyFee = "99999999999999999999" }), []string{"monthly_fee"}},
		{"negative seats", plan(func(p *PlanInput) { p.IncludedSeats = -1 }), []string{"included_seats"}},
		{"too many seats", plan(func(p *PlanInput) { p.IncludedSeats = MaxIncludedSeats + 1 }), []string{"included_seats"}},
		{"unknown status", plan(func(p *PlanInput) { p.Status = "deleted" }), []string{"status"}},
		{"unknown package", plan(func(p *PlanInput) { p.Packages = []uint64{999} }), []string{"packages"}},
		{"another reseller's package", plan(func(p *PlanInput) { p.Packages = []uint64{f.globexPack.ID} }), []string{"packages"}},
		{"unknown add-on", plan(func(p *PlanInput) { p.AddOns = []uint64{f.addon.ID, 999} }), []string{"add_ons"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.audits(f.r.ID)
			p, err := f.svc.CreatePlan(f.r, tc.in, staff)
			if !fault.Is(err, fault.Invalid) || p != nil {
				t.Fatalf("saved %+v, err %v", p, err)
			}
			var got []string
			for _, e := range fieldsOf(err) {
				got = append(got, e.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("fields %v, want %v (%v)", got, tc.fields, err)
			}
			if strings.Contains(err.Error(), "Europe") {
				t.Errorf("the message names another reseller's package: %v", err)
			}
			if after := f.audits(f.r.ID); len(after) != len(before) {
				t.Errorf("audit grew: %v", after)
			}
		})
	}
	if plans, _ := f.svc.Plans(f.r.ID); len(plans) != 2 {
		t.Errorf("%d plans saved", len(plans))
	}

	for _, tc := range []struct {
		name   string
		in     PackageInput
		fields []string
	}{
		{"empty", PackageInput{}, []string{"name", "countries"}},
		{"not countries", PackageInput{Name: "X", Countries: []string{"GB", "XX", "GBR", "<script>alert(1)</script>"}}, []string{"countries"}},
		{"negative fair use", PackageInput{Name: "X", Countries: []string{"GB"}, FairUseMinutes: -1}, []string{"fair_use_minutes"}},
		{"too much fair use", PackageInput{Name: "X", Countries: []string{"GB"}, FairUseMinutes: MaxFairUseMinutes + 1}, []string{"fair_use_minutes"}},
	} {
		t.Run("package "+tc.name, func(t *testing.T) {
			p, err := f.svc.CreatePackage(f.r, tc.in, staff)
			var got []string
			for _, e := range fieldsOf(err) {
				got = append(got, e.Field)
			}
			if p != nil || !slices.Equal(got, tc.fields) {
				t.Errorf("saved %+v, fields %v, want %v", p, got, tc.fields)
			}
		})
	}
	// a name another reseller uses is free here
	if _, err := f.svc.CreatePackage(f.r, PackageInput{Name: "EUROPE", Countries: []string{"de"}}, staff); err != nil {
		t.Errorf("another reseller's package name: %v", err)
	}
	if _, err := f.svc.CreatePackage(f.r, PackageInput{Name: "europe", Countries: []string{"fr"}}, staff); !fieldsOf(err).Has("name") {
		t.Errorf("taken package name: %v", err)
	}

	for _, tc := range []struct {
		name   string
		in     AddOnInput
		fields []string
	}{
		{"empty name", AddOnInput{MonthlyFee: "1"}, []string{"name"}},
		{"taken name", AddOnInput{Name: "RECORDING"}, []string{"name"}},
		{"bad fee", AddOnInput{Name: "Fax", MonthlyFee: "1,50"}, []string{"monthly_fee"}},
	} {
		t.Run("add-on "+tc.name, func(t *testing.T) {
			a, err := f.svc.CreateAddOn(f.r, tc.in, staff)
			var got []string
			for _, e := range fieldsOf(err) {
				got = append(got, e.Field)
			}
			if a != nil || !slices.Equal(got, tc.fields) {
				t.Errorf("saved %+v, fields %v, want %v", a, got, tc.fields)
			}
		})
	}
}

// TestCatalogUpdate: an edit changes only what it sets; a plan keeps its
// own name in another case; another reseller's records are not found and
// stay as they were.
func TestCatalogUpdate(t *testing.T) {
	f := newCatalogFixture(t)
	p, err := f.svc.UpdatePlan(f.r, f.basic.ID, func(in *PlanInput) { in.Name, in.MonthlyFee = "BASIC", "12.00" }, staff)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "BASIC" || p.MonthlyFee != 120_000 || p.SeatFee != f.basic.SeatFee || p.IncludedSeats != 2 ||
		!slices.Equal(p.AddOns, f.basic.AddOns) || p.CreatedAt != f.basic.CreatedAt {
		t.Errorf("updated plan %+v", p)
	}
	if _, err := f.svc.UpdatePlan(f.r, f.basic.ID, func(in *PlanInput) { in.Name = "pro" }, staff); !fieldsOf(err).Has("name") {
		t.Errorf("renamed to a taken name: %v", err)
	}
	// a per-minute plan must drop its fees in the same edit
	if _, err := f.svc.UpdatePlan(f.r, f.basic.ID, func(in *PlanInput) { in.Kind = store.PlanPerMinute }, staff); !fieldsOf(err).Has("monthly_fee") {
		t.Errorf("per-minute with a fee: %v", err)
	}
	if p, err := f.svc.UpdatePlan(f.r, f.basic.ID, func(in *PlanInput) { in.Kind, in.MonthlyFee, in.SeatFee = store.PlanPerMinute, "0", "" }, staff); err != nil || p.Kind != store.PlanPerMinute {
		t.Errorf("to per-minute: %+v %v", p, err)
	}

	if _, err := f.svc.UpdatePackage(f.r, f.globexPack.ID, func(in *PackageInput) { in.Name = "Mine" }, staff); !fault.Is(err, fault.NotFound) {
		t.Errorf("another reseller's package: %v", err)
	}
	if _, err := f.svc.UpdatePlan(f.globex, f.basic.ID, func(in *PlanInput) { in.Status = store.CatalogArchived }, staff); !fault.Is(err, fault.NotFound) {
		t.Errorf("another reseller's plan: %v", err)
	}
	if _, err := f.svc.Plan(f.globex.ID, f.basic.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("read another reseller's plan: %v", err)
	}
	if got, _ := f.svc.Package(f.globex.ID, f.globexPack.ID); got == nil || got.Name != "Europe" {
		t.Errorf("globex's package changed: %+v", got)
	}

	pack, err := f.svc.UpdatePackage(f.globex, f.globexPack.ID, func(in *PackageInput) { in.Countries = append(in.Countries, "es"); in.FairUseMinutes = 500 }, staff)
	if err != nil || !slices.Equal(pack.Countries, []string{"DE", "FR", "ES"}) || pack.FairUseMinutes != 500 || pack.Name != "Europe" {
		t.Errorf("package edit: %+v %v", pack, err)
	}
	a, err := f.svc.UpdateAddOn(f.r, f.addon.ID, func(in *AddOnInput) { in.PerSeat = false }, staff)
	if err != nil || a.PerSeat || a.MonthlyFee != f.addon.MonthlyFee || a.Name != "Recording" {
		t.Errorf("add-on edit: %+v %v", a, err)
	}
	if _, err := f.svc.UpdateAddOn(f.r, 999, func(*AddOnInput) {}, staff); !fault.Is(err, fault.NotFound) {
		t.Errorf("no such add-on: %v", err)
	}
	if got := f.audits(f.globex.ID); !slices.Equal(got, []string{"package.update Europe", "package.create Europe"}) {
		t.Errorf("globex audit %v", got)
	}
}

// TestArchivedPlanKeepsSubscribers: archiving a plan leaves its
// subscribers on it (they may still change seats) and refuses new ones.
func TestArchivedPlanKeepsSubscribers(t *testing.T) {
	f := newCatalogFixture(t)
	ann, bob := f.newClient("ann"), f.newClient("bob")
	if _, _, err := f.svc.ChangeSubscription(f.r, ann.ID, Change{PlanID: f.basic.ID, Seats: 2}, staff); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdatePlan(f.r, f.basic.ID, func(in *PlanInput) { in.Status = store.CatalogArchived }, staff); err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Subscription(f.r, ann.ID)
	if err != nil || v.Plan.ID != f.basic.ID || v.Plan.Status != store.CatalogArchived {
		t.Fatalf("ann's subscription: %+v %v", v, err)
	}
	if _, _, err := f.svc.ChangeSubscription(f.r, ann.ID, Change{PlanID: f.basic.ID, Seats: 3}, staff); err != nil {
		t.Errorf("a subscriber of an archived plan adds a seat: %v", err)
	}
	if _, _, err := f.svc.ChangeSubscription(f.r, bob.ID, Change{PlanID: f.basic.ID, Seats: 1}, staff); !fieldsOf(err).Has("plan") {
		t.Errorf("a new subscriber of an archived plan: %v", err)
	}
}
