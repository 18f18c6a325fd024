package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"portico/app/actor"
	"portico/app/billing"
	"portico/store"
)

// seedCatalogShowcase gives the layout test's reseller a catalogue with
// long names: packages (one with many countries), add-ons and plans (one
// archived, one per minute).
func seedCatalogShowcase(t *testing.T, ts *testServer) {
	t.Helper()
	acme, by := ts.reseller("acme"), actor.Actor{Name: "owner@acme.example", IP: "192.0.2.10"}
	svc := ts.app.billing
	europe, err := svc.CreatePackage(acme, billing.PackageInput{Name: "Europe unlimited including the United Kingdom and Switzerland",
		Countries: strings.Fields("AT BE BG CH CY CZ DE DK EE ES FI FR GB GR HR HU IE IT LT LU LV MT NL NO PL PT RO SE SI SK")}, by)
	if err != nil {
		t.Fatal(err)
	}
	domestic, err := svc.CreatePackage(acme, billing.PackageInput{Name: "US domestic", Countries: []string{"US"}, DomesticOnly: true,
		FairUseMinutes: 3000, PerSeat: true}, by)
	if err != nil {
		t.Fatal(err)
	}
	recording, err := svc.CreateAddOn(acme, billing.AddOnInput{Name: "Call recording with transcription and a 90-day archive", MonthlyFee: "4.50", PerSeat: true}, by)
	if err != nil {
		t.Fatal(err)
	}
	fax, err := svc.CreateAddOn(acme, billing.AddOnInput{Name: "Fax to email", MonthlyFee: "1.00"}, by)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []billing.PlanInput{
		{Name: "Business communications suite for teams across Europe", Kind: store.PlanSubscription, MonthlyFee: "124999.99", IncludedSeats: 250,
			SeatFee: "12.50", Packages: []uint64{europe.ID, domestic.ID}, AddOns: []uint64{recording.ID, fax.ID}},
		{Name: "Starter", Kind: store.PlanSubscription, MonthlyFee: "9", IncludedSeats: 1, SeatFee: "5", Packages: []uint64{domestic.ID}},
		{Name: "Pay as you go", Kind: store.PlanPerMinute},
		{Name: "Legacy 2024", Kind: store.PlanSubscription, MonthlyFee: "19", IncludedSeats: 3, SeatFee: "4", Status: store.CatalogArchived},
	} {
		if _, err := svc.CreatePlan(acme, in, by); err != nil {
			t.Fatal(err)
		}
	}
}

// catalogEditVisits opens the edit page of the first and of every record
// of a kind ("plans", "packages" or "add-ons") the showcase has.
func catalogEditVisits(kind string) func(*showcase) []layoutVisit {
	return func(s *showcase) []layoutVisit {
		rid := s.ts.ids["acme"]
		var ids []uint64
		err := s.ts.store.View(func(tx *store.Tx) error {
			switch kind {
			case "plans":
				list, err := store.CatalogList[*store.Plan](tx, rid)
				for _, x := range list {
					ids = append(ids, x.ID)
				}
				return err
			case "packages":
				list, err := store.CatalogList[*store.CallingPackage](tx, rid)
				for _, x := range list {
					ids = append(ids, x.ID)
				}
				return err
			}
			list, err := store.CatalogList[*store.AddOn](tx, rid)
			for _, x := range list {
				ids = append(ids, x.ID)
			}
			return err
		})
		if err != nil || len(ids) == 0 {
			panic(fmt.Sprintf("the showcase has no %s: %v", kind, err))
		}
		return []layoutVisit{{who: "staff:owner", path: "/reseller/billing/" + kind + "/" + strconv.FormatUint(ids[0], 10)}}
	}
}

// TestCatalogPagesCreate: staff add a package, an add-on and a plan that
// includes them through the forms; each lands in its list with prices in
// the reseller's currency, and the audit log names the person.
func TestCatalogPagesCreate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addStaff("billing@acme.example", store.RoleBilling)
	b := ts.signedIn(acmeHost, "billing@acme.example", "/reseller")

	r := b.post(acmeHost, "/reseller/billing/packages", "/reseller/billing/packages", url.Values{"name": {"UK & Ireland"},
		"countries": {"gb, ie;  GB"}, "fair_use_minutes": {"3000"}, "per_seat": {"1"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/reseller/billing/packages" {
		t.Fatalf("create package: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	page := b.get(acmeHost, "/reseller/billing/packages")
	for _, want := range []string{"The calling package UK &amp; Ireland was created.", "GB, IE", "3,000 min per seat", "International"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("packages page lacks %q", want)
		}
	}
	r = b.post(acmeHost, "/reseller/billing/add-ons", "/reseller/billing/add-ons", url.Values{"name": {"Recording"}, "monthly_fee": {"2.5"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create add-on: %d\n%s", r.status, r.body)
	}
	if page := b.get(acmeHost, "/reseller/billing/add-ons"); !strings.Contains(page.body, "2.50 USD") || !strings.Contains(page.body, "Flat") {
		t.Errorf("add-ons page:\n%s", page.body)
	}

	acme := ts.reseller("acme")
	packs, _ := ts.app.billing.Packages(acme.ID)
	addOns, _ := ts.app.billing.AddOns(acme.ID)
	if len(packs) != 1 || len(addOns) != 1 {
		t.Fatalf("%d packages, %d add-ons", len(packs), len(addOns))
	}
	form := url.Values{"name": {"Team"}, "kind": {"subscription"}, "monthly_fee": {"1249.5"}, "included_seats": {"5"}, "seat_fee": {"6"},
		"packages": {fmt.Sprint(packs[0].ID)}, "add_ons": {fmt.Sprint(addOns[0].ID)}}
	if r := b.post(acmeHost, "/reseller/billing/plans", "/reseller/billing/plans", form); r.status != http.StatusSeeOther {
		t.Fatalf("create plan: %d\n%s", r.status, r.body)
	}
	page = b.get(acmeHost, "/reseller/billing/plans")
	for _, want := range []string{"The plan Team was created.", "1,249.50 USD", "6.00 USD", "UK &amp; Ireland", "Recording", `status-active">active`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("plans page lacks %q", want)
		}
	}
	plans, _ := ts.app.billing.Plans(acme.ID)
	if len(plans) != 1 || plans[0].MonthlyFee != 12_495_000 || plans[0].IncludedSeats != 5 || len(plans[0].Packages) != 1 || len(plans[0].AddOns) != 1 {
		t.Errorf("stored plans %+v", plans)
	}
	if got := ts.auditActions("plan.create"); len(got) != 1 || got[0] != "billing@acme.example Team" {
		t.Errorf("audit %v", got)
	}
}

// TestCatalogPagesRefused: a form with faults comes back with 422, every
// fault beside its field, the values as typed and the boxes as ticked,
// and nothing saved; another reseller's package id is a fault, not a
// leak.
func TestCatalogPagesRefused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.acmeOwner()
	acme, globex := ts.reseller("acme"), ts.reseller("globex")
	by := actor.Actor{Name: "test"}
	mine, err := ts.app.billing.CreatePackage(acme, billing.PackageInput{Name: "Domestic", Countries: []string{"US"}}, by)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := ts.app.billing.CreatePackage(globex, billing.PackageInput{Name: "Globex secret package", Countries: []string{"DE"}}, by)
	if err != nil {
		t.Fatal(err)
	}

	form := url.Values{"name": {"PAYG"}, "kind": {"per_minute"}, "monthly_fee": {"5,00"}, "included_seats": {"many"}, "seat_fee": {"1"},
		"packages": {fmt.Sprint(mine.ID), fmt.Sprint(theirs.ID)}}
	r := b.post(acmeHost, "/reseller/billing/plans", "/reseller/billing/plans", form)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d\n%s", r.status, r.body)
	}
	for _, want := range []string{"Please correct the fields marked below.", "Enter an amount of zero or more", "Enter a whole number from 0 to 10000",
		"A per-minute plan has no seat fee", "There is no calling package " + fmt.Sprint(theirs.ID), `value="PAYG"`, `value="5,00"`, `value="many"`,
		fmt.Sprintf(`value="%d" checked`, mine.ID), `<option value="per_minute" selected>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("refused form lacks %q", want)
		}
	}
	if strings.Contains(r.body, "Globex secret package") {
		t.Error("the page names another reseller's package")
	}
	if plans, _ := ts.app.billing.Plans(acme.ID); len(plans) != 0 {
		t.Errorf("saved %+v", plans)
	}
	if got := ts.auditActions("plan.create"); len(got) != 0 {
		t.Errorf("audit %v", got)
	}

	r = b.post(acmeHost, "/reseller/billing/packages", "/reseller/billing/packages", url.Values{"name": {"domestic"}, "countries": {"US, XX"}, "fair_use_minutes": {"-5"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("package: status %d", r.status)
	}
	for _, want := range []string{"Another calling package has this name.", `Not ISO 3166 country codes: &#34;XX&#34;`, "from 0 (unlimited)", `value="US, XX"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("refused package form lacks %q", want)
		}
	}
	r = b.post(acmeHost, "/reseller/billing/add-ons", "/reseller/billing/add-ons", url.Values{"name": {"Fax\r\nBcc: x"}, "monthly_fee": {"1.001"}, "per_seat": {"1"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Use plain text on one line") || !strings.Contains(r.body, "Use at most 2 decimals.") ||
		!strings.Contains(r.body, `name="per_seat" value="1" checked`) {
		t.Errorf("add-on: status %d\n%s", r.status, r.body)
	}
	if addOns, _ := ts.app.billing.AddOns(acme.ID); len(addOns) != 0 {
		t.Errorf("saved %+v", addOns)
	}
}

// TestCatalogPagesEdit: the edit page shows the record as stored; a save
// replaces it (archiving a plan, unticking its add-ons); a refused save
// changes nothing and keeps the stored name in the heading; another
// reseller's records are 404 to read and to write.
func TestCatalogPagesEdit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.acmeOwner()
	acme, globex := ts.reseller("acme"), ts.reseller("globex")
	by := actor.Actor{Name: "test"}
	addOn, err := ts.app.billing.CreateAddOn(acme, billing.AddOnInput{Name: "Recording", MonthlyFee: "2"}, by)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := ts.app.billing.CreatePlan(acme, billing.PlanInput{Name: "Team", Kind: store.PlanSubscription, MonthlyFee: "49", IncludedSeats: 5,
		SeatFee: "6", AddOns: []uint64{addOn.ID}}, by)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := ts.app.billing.CreatePlan(globex, billing.PlanInput{Name: "Globex Gold", Kind: store.PlanPerMinute}, by)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/reseller/billing/plans/%d", plan.ID)
	page := b.get(acmeHost, path)
	for _, want := range []string{"Edit Team", `value="49.00"`, `value="6.00"`, `value="5"`, fmt.Sprintf(`value="%d" checked`, addOn.ID), `<option value="active" selected>`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("edit page lacks %q", want)
		}
	}

	form := url.Values{"name": {"Team 2024"}, "kind": {"subscription"}, "monthly_fee": {"55"}, "included_seats": {"5"}, "seat_fee": {"6"}, "status": {"archived"}}
	if r := b.post(acmeHost, path, path, form); r.status != http.StatusSeeOther || r.header.Get("Location") != "/reseller/billing/plans" {
		t.Fatalf("save: %d\n%s", r.status, r.body)
	}
	saved, err := ts.app.billing.Plan(acme.ID, plan.ID)
	if err != nil || saved.Name != "Team 2024" || saved.Status != store.CatalogArchived || saved.MonthlyFee != 550_000 || len(saved.AddOns) != 0 {
		t.Errorf("saved %+v %v", saved, err)
	}
	if page := b.get(acmeHost, "/reseller/billing/plans"); !strings.Contains(page.body, "The plan Team 2024 was saved.") || !strings.Contains(page.body, `status-paused">archived`) {
		t.Errorf("list after the save:\n%s", page.body)
	}

	form.Set("name", "")
	form.Set("status", "deleted")
	r := b.post(acmeHost, path, path, form)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Edit Team 2024") || !strings.Contains(r.body, "Enter a name.") || !strings.Contains(r.body, "Use active or archived.") {
		t.Errorf("refused save: %d\n%s", r.status, r.body)
	}
	if again, _ := ts.app.billing.Plan(acme.ID, plan.ID); again.Name != "Team 2024" || again.UpdatedAt != saved.UpdatedAt {
		t.Errorf("a refused save changed %+v", again)
	}

	addOnPath := fmt.Sprintf("/reseller/billing/add-ons/%d", addOn.ID)
	if r := b.post(acmeHost, addOnPath, addOnPath, url.Values{"name": {"Recording"}, "monthly_fee": {"3"}, "per_seat": {"1"}}); r.status != http.StatusSeeOther {
		t.Errorf("add-on save: %d", r.status)
	}
	if x, _ := ts.app.billing.AddOn(acme.ID, addOn.ID); x.MonthlyFee != 30_000 || !x.PerSeat {
		t.Errorf("add-on %+v", x)
	}

	their := fmt.Sprintf("/reseller/billing/plans/%d", theirs.ID)
	if r := b.get(acmeHost, their); r.status != http.StatusNotFound || strings.Contains(r.body, "Globex Gold") {
		t.Errorf("another reseller's plan: %d", r.status)
	}
	form.Set("name", "Stolen")
	form.Set("status", "active")
	form.Set("_csrf", b.csrf(acmeHost, path))
	if r := b.do(http.MethodPost, acmeHost, their, form, nil); r.status != http.StatusNotFound {
		t.Errorf("saving another reseller's plan: %d", r.status)
	}
	if p, _ := ts.app.billing.Plan(globex.ID, theirs.ID); p.Name != "Globex Gold" {
		t.Errorf("globex's plan changed: %+v", p)
	}
	for _, p := range []string{"/reseller/billing/packages/999999", "/reseller/billing/add-ons/999999"} {
		if r := b.get(acmeHost, p); r.status != http.StatusNotFound {
			t.Errorf("%s: %d", p, r.status)
		}
	}
}

// TestCatalogPagesNavigation: the menu's Billing entry is for owner,
// admin and billing staff and opens the plans tab; the tab bar shows only
// tabs whose pages are served, the current one marked.
func TestCatalogPagesNavigation(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addStaff("billing@acme.example", store.RoleBilling)
	billingStaff := ts.signedIn(acmeHost, "billing@acme.example", "/reseller")
	support := ts.signedIn(acmeHost, "support@acme.example", "/reseller")
	if home := billingStaff.get(acmeHost, "/reseller"); !strings.Contains(home.body, `href="/reseller/billing"`) {
		t.Error("billing staff's menu has no Billing entry")
	}
	if home := support.get(acmeHost, "/reseller"); strings.Contains(home.body, `href="/reseller/billing"`) {
		t.Error("support's menu has a Billing entry")
	}
	if r := billingStaff.get(acmeHost, "/reseller/billing"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/reseller/billing/plans" {
		t.Errorf("/reseller/billing: %d %q", r.status, r.header.Get("Location"))
	}
	page := billingStaff.get(acmeHost, "/reseller/billing/packages")
	if !strings.Contains(page.body, `<a href="/reseller/billing/packages" aria-current="page">Packages</a>`) ||
		!strings.Contains(page.body, `<a href="/reseller/billing/plans">Plans</a>`) || !strings.Contains(page.body, `<a href="/reseller/billing/add-ons">Add-ons</a>`) {
		t.Errorf("tab bar:\n%s", page.body)
	}
	if !strings.Contains(page.body, `href="/reseller/billing" aria-current="page"`) {
		t.Error("the Billing menu entry is not current on a billing page")
	}
	served := map[string]bool{}
	for _, r := range ts.app.Fiber().GetRoutes(true) {
		served[r.Method+" "+r.Path] = true
	}
	for _, tab := range billingTabs {
		if shown := strings.Contains(page.body, `<a href="`+tab.URL+`"`); shown != served["GET "+tab.URL] {
			t.Errorf("tab %s shown %v, its page served %v", tab.Label, shown, served["GET "+tab.URL])
		}
	}
}
