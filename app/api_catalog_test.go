package app

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"portico/app/actor"
	"portico/app/billing"
	"portico/store"
)

// catalogAPI is the API fixture with a calling package, an add-on and a
// plan made through the API in each reseller.
type catalogAPI struct {
	*apiFixture
	acmePack, globexPack   apiPackage
	acmeAddOn, globexAddOn apiAddOn
	acmePlan, globexPlan   apiPlan
}

func newCatalogAPI(t *testing.T) *catalogAPI {
	t.Helper()
	f := &catalogAPI{apiFixture: newAPIFixture(t)}
	post := func(host, key, path, body string) response {
		return f.at.expect(apiRequest{method: "POST", host: host, path: "/api/v1" + path, key: key, body: body}, http.StatusCreated)
	}
	f.acmePack = decodeReply[apiPackage](t, post(acmeHost, f.acmeKey, "/packages",
		`{"name":"UK & Ireland","countries":["gb","IE","GB"],"domestic_only":true,"fair_use_minutes":3000,"per_seat":true}`))
	f.globexPack = decodeReply[apiPackage](t, post(globexHost, f.globexKey, "/packages", `{"name":"Globex Europe","countries":["DE"]}`))
	f.acmeAddOn = decodeReply[apiAddOn](t, post(acmeHost, f.acmeKey, "/add-ons", `{"name":"Recording","monthly_fee":"2.5","per_seat":true}`))
	f.globexAddOn = decodeReply[apiAddOn](t, post(globexHost, f.globexKey, "/add-ons", `{"name":"Globex Fax","monthly_fee":"1"}`))
	f.acmePlan = decodeReply[apiPlan](t, post(acmeHost, f.acmeKey, "/plans", fmt.Sprintf(
		`{"name":"Team","kind":"subscription","monthly_fee":"49.00","included_seats":5,"seat_fee":"6","packages":[%d],"add_ons":[%d]}`,
		f.acmePack.ID, f.acmeAddOn.ID)))
	f.globexPlan = decodeReply[apiPlan](t, post(globexHost, f.globexKey, "/plans", `{"name":"Globex Basic","kind":"per_minute"}`))
	return f
}

// TestAPICatalogReplies: what was created comes back in the contract's
// shapes (ids as numbers, money as decimal strings with the currency once,
// countries upper-cased and de-duplicated), in lists of the reseller's own
// records only, and the audit log names the key.
func TestAPICatalogReplies(t *testing.T) {
	t.Parallel()
	f := newCatalogAPI(t)
	get := func(host, key, path string) string {
		return f.at.expect(apiRequest{method: "GET", host: host, path: "/api/v1" + path, key: key}, http.StatusOK).body
	}
	wantPlan := fmt.Sprintf(`{"id":%d,"name":"Team","kind":"subscription","monthly_fee":"49.00","included_seats":5,"seat_fee":"6.00",`+
		`"packages":[%d],"add_ons":[%d],"status":"active","currency":"USD"}`, f.acmePlan.ID, f.acmePack.ID, f.acmeAddOn.ID)
	if got := get(acmeHost, f.acmeKey, fmt.Sprintf("/plans/%d", f.acmePlan.ID)); got != wantPlan {
		t.Errorf("plan\n got %s\nwant %s", got, wantPlan)
	}
	if got, want := get(acmeHost, f.acmeKey, "/plans"), `{"data":[`+wantPlan+`]}`; got != want {
		t.Errorf("plans\n got %s\nwant %s", got, want)
	}
	if got, want := get(acmeHost, f.acmeKey, "/packages"), fmt.Sprintf(`{"data":[{"id":%d,"name":"UK \u0026 Ireland","countries":["GB","IE"],`+
		`"domestic_only":true,"fair_use_minutes":3000,"per_seat":true}]}`, f.acmePack.ID); got != want {
		t.Errorf("packages\n got %s\nwant %s", got, want)
	}
	if got, want := get(acmeHost, f.acmeKey, "/add-ons"), fmt.Sprintf(`{"data":[{"id":%d,"name":"Recording","monthly_fee":"2.50","per_seat":true,"currency":"USD"}]}`,
		f.acmeAddOn.ID); got != want {
		t.Errorf("add-ons\n got %s\nwant %s", got, want)
	}
	if got, want := get(globexHost, f.globexKey, "/plans"), fmt.Sprintf(`{"data":[{"id":%d,"name":"Globex Basic","kind":"per_minute","monthly_fee":"0.00",`+
		`"included_seats":0,"seat_fee":"0.00","packages":[],"add_ons":[],"status":"active","currency":"EUR"}]}`, f.globexPlan.ID); got != want {
		t.Errorf("globex plans\n got %s\nwant %s", got, want)
	}
	r := f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/plans", key: f.acmeKey, body: `{"name":"Solo","kind":"subscription"}`}, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != fmt.Sprintf("/api/v1/plans/%d", decodeReply[apiPlan](t, r).ID) {
		t.Errorf("Location %q", loc)
	}
	if got := f.ts.auditActions("plan.create"); len(got) != 2 || !strings.HasPrefix(got[0], "api:pk_") || !strings.HasSuffix(got[1], " Team") {
		t.Errorf("plan.create events %v", got)
	}
}

// TestAPICatalogPaging: a limit pages the list in id order with an opaque
// cursor; another list's cursor is refused.
func TestAPICatalogPaging(t *testing.T) {
	t.Parallel()
	f := newCatalogAPI(t)
	for _, name := range []string{"B", "C", "D"} {
		f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/add-ons", key: f.acmeKey, body: `{"name":"` + name + `"}`}, http.StatusCreated)
	}
	var names []string
	path := "/api/v1/add-ons?limit=3"
	for pages := 0; path != ""; pages++ {
		if pages > 2 {
			t.Fatal("too many pages")
		}
		list := decodeReply[apiList[apiAddOn]](t, f.at.expect(apiRequest{method: "GET", host: acmeHost, path: path, key: f.acmeKey}, http.StatusOK))
		for _, a := range list.Data {
			names = append(names, a.Name)
		}
		path = ""
		if list.NextCursor != "" {
			path = "/api/v1/add-ons?limit=3&cursor=" + list.NextCursor
		}
	}
	if !slices.Equal(names, []string{"Recording", "B", "C", "D"}) {
		t.Errorf("pages gave %v", names)
	}
	plans := decodeReply[apiList[apiPlan]](t, f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/plans?limit=1", key: f.acmeKey}, http.StatusOK))
	if plans.NextCursor != "" || len(plans.Data) != 1 {
		t.Errorf("a full last page has no cursor: %+v", plans)
	}
	cursor := encodeCursor("plans", "0")
	f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/add-ons?cursor=" + cursor, key: f.acmeKey}, http.StatusBadRequest)
	f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/packages?limit=0", key: f.acmeKey}, http.StatusUnprocessableEntity)
}

// TestAPICatalogScenarios: refusals and edits, on both resellers' hosts
// and with each kind of key.
func TestAPICatalogScenarios(t *testing.T) {
	t.Parallel()
	f := newCatalogAPI(t)
	acme, globex, annKey := f.acmeKey, f.globexKey, f.annKey
	acmePlan, globexPlan := fmt.Sprintf("/api/v1/plans/%d", f.acmePlan.ID), fmt.Sprintf("/api/v1/plans/%d", f.globexPlan.ID)
	scenarios := []struct {
		name     string
		req      apiRequest
		status   int
		contains []string
		absent   []string
	}{
		{"client key lists plans", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/plans", key: annKey}, 403, []string{"reseller key"}, []string{"Team"}},
		{"client key reads a plan", apiRequest{method: "GET", host: acmeHost, path: acmePlan, key: annKey}, 403, nil, []string{"Team"}},
		{"client key creates a plan", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/plans", key: annKey, body: `{"name":"X","kind":"per_minute"}`}, 403, nil, nil},
		{"client key patches a plan", apiRequest{method: "PATCH", host: acmeHost, path: acmePlan, key: annKey, body: `{"monthly_fee":"0"}`}, 403, nil, nil},
		{"client key lists packages", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/packages", key: annKey}, 403, nil, nil},
		{"client key creates a package", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/packages", key: annKey, body: `{"name":"X","countries":["GB"]}`}, 403, nil, nil},
		{"client key lists add-ons", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/add-ons", key: annKey}, 403, nil, nil},
		{"client key creates an add-on", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/add-ons", key: annKey, body: `{"name":"X"}`}, 403, nil, nil},
		{"no key", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/plans"}, 401, nil, nil},
		{"acme key on globex's host", apiRequest{method: "GET", host: globexHost, path: globexPlan, key: acme}, 401, nil, []string{"Globex Basic"}},

		{"another reseller's plan", apiRequest{method: "GET", host: acmeHost, path: globexPlan, key: acme}, 404, nil, []string{"Globex"}},
		{"patching another reseller's plan", apiRequest{method: "PATCH", host: acmeHost, path: globexPlan, key: acme, body: `{"status":"archived"}`}, 404, nil, []string{"Globex"}},
		{"globex reading acme's plan", apiRequest{method: "GET", host: globexHost, path: acmePlan, key: globex}, 404, nil, []string{"Team"}},
		{"no such plan", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/plans/999999", key: acme}, 404, nil, nil},
		{"plan id not a number", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/plans/team", key: acme}, 404, nil, nil},
		{"plan id past uint64", apiRequest{method: "PATCH", host: acmeHost, path: "/api/v1/plans/99999999999999999999", key: acme, body: `{}`}, 404, nil, nil},
		{"no package by id", apiRequest{method: "GET", host: acmeHost, path: fmt.Sprintf("/api/v1/packages/%d", f.acmePack.ID), key: acme}, 404, nil, nil},

		{"empty plan", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/plans", key: acme, body: `{}`}, 422, []string{`"field":"name"`, `"field":"kind"`}, nil},
		{"bad plan fields", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/plans", key: acme,
			body: `{"name":"team","kind":"monthly","monthly_fee":"-5","seat_fee":"1.005","included_seats":10001,"status":"gone"}`}, 422,
			[]string{`"field":"name"`, `"field":"kind"`, `"field":"monthly_fee"`, `"field":"seat_fee"`, `"field":"included_seats"`, `"field":"status"`}, nil},
		{"per-minute plan with fees", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/plans", key: acme,
			body: `{"name":"PAYG","kind":"per_minute","monthly_fee":"5","seat_fee":"1"}`}, 422, []string{`"field":"monthly_fee"`, `"field":"seat_fee"`}, []string{`"field":"name"`}},
		{"another reseller's package and add-on", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/plans", key: acme,
			body: fmt.Sprintf(`{"name":"Stolen","kind":"subscription","packages":[%d],"add_ons":[%d]}`, f.globexPack.ID, f.globexAddOn.ID)}, 422,
			[]string{`"field":"packages"`, `"field":"add_ons"`}, []string{"Globex"}},
		{"patch to per-minute keeping the fee", apiRequest{method: "PATCH", host: acmeHost, path: acmePlan, key: acme, body: `{"kind":"per_minute"}`}, 422,
			[]string{`"field":"monthly_fee"`, `"field":"seat_fee"`}, nil},
		{"patch with another reseller's package", apiRequest{method: "PATCH", host: acmeHost, path: acmePlan, key: acme,
			body: fmt.Sprintf(`{"packages":[%d]}`, f.globexPack.ID)}, 422, []string{`"field":"packages"`}, []string{"Globex"}},
		{"patch a multi-line name", apiRequest{method: "PATCH", host: acmeHost, path: acmePlan, key: acme, body: `{"name":"A\nB"}`}, 422, []string{`"field":"name"`}, nil},
		{"empty package", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/packages", key: acme, body: `{}`}, 422, []string{`"field":"name"`, `"field":"countries"`}, nil},
		{"bad package", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/packages", key: acme,
			body: `{"name":"uk & ireland","countries":["GB","ZZ"],"fair_use_minutes":-1}`}, 422, []string{`"field":"name"`, `"field":"countries"`, `"field":"fair_use_minutes"`}, nil},
		{"bad add-on", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/add-ons", key: acme, body: `{"name":"","monthly_fee":"1000000.01"}`}, 422,
			[]string{`"field":"name"`, `"field":"monthly_fee"`}, nil},

		{"fee as a number", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/plans", key: acme, body: `{"name":"X","kind":"subscription","monthly_fee":5}`}, 400,
			[]string{`"field":"monthly_fee"`, "JSON string"}, nil},
		{"package ids as strings", apiRequest{method: "PATCH", host: acmeHost, path: acmePlan, key: acme, body: `{"packages":["1"]}`}, 400, []string{`"field":"packages"`}, nil},
		{"unknown plan field", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/plans", key: acme, body: `{"name":"X","kind":"per_minute","price":"1"}`}, 400, []string{`"field":"price"`}, nil},
		{"wrongly-cased field", apiRequest{method: "PATCH", host: acmeHost, path: acmePlan, key: acme, body: `{"Status":"archived"}`}, 400, []string{`"field":"Status"`}, nil},
		{"reseller_id is not a field", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/add-ons", key: acme, body: `{"name":"X","reseller_id":2}`}, 400, nil, nil},

		{"rename in another case", apiRequest{method: "PATCH", host: acmeHost, path: acmePlan, key: acme, body: `{"name":"TEAM"}`}, 200, []string{`"name":"TEAM"`, `"monthly_fee":"49.00"`}, nil},
		{"empty patch", apiRequest{method: "PATCH", host: globexHost, path: globexPlan, key: globex, body: `{}`}, 200, []string{`"name":"Globex Basic"`, `"currency":"EUR"`}, nil},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := f.ts.api(t).do(sc.req)
			if r.status != sc.status {
				t.Fatalf("%s %s%s: status %d, want %d\n%s", sc.req.method, sc.req.host, sc.req.path, r.status, sc.status, r.body)
			}
			if sc.status >= 400 {
				checkProblem(t, r)
			}
			for _, want := range sc.contains {
				if !strings.Contains(r.body, want) {
					t.Errorf("body lacks %s\n%s", want, r.body)
				}
			}
			for _, bad := range sc.absent {
				if strings.Contains(r.body, bad) {
					t.Errorf("body contains %s\n%s", bad, r.body)
				}
			}
		})
	}
	// nothing refused was saved, and globex's records are as they were
	plans := decodeReply[apiList[apiPlan]](t, f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/plans", key: acme}, http.StatusOK))
	if len(plans.Data) != 1 || plans.Data[0].Kind != "subscription" || !slices.Equal(plans.Data[0].Packages, []uint64{f.acmePack.ID}) {
		t.Errorf("acme's plans after the refusals: %+v", plans.Data)
	}
	if got := decodeReply[apiPlan](t, f.at.expect(apiRequest{method: "GET", host: globexHost, path: globexPlan, key: globex}, http.StatusOK)); got.Status != "active" {
		t.Errorf("globex's plan: %+v", got)
	}
}

// TestAPIPlanPatchAndArchive: a patch changes only the fields it gives,
// may turn a plan per-minute when it drops the fees in the same request,
// and archiving keeps the plan's subscribers while refusing new ones.
func TestAPIPlanPatchAndArchive(t *testing.T) {
	t.Parallel()
	f := newCatalogAPI(t)
	path := fmt.Sprintf("/api/v1/plans/%d", f.acmePlan.ID)
	patch := func(body string) apiPlan {
		t.Helper()
		return decodeReply[apiPlan](t, f.at.expect(apiRequest{method: "PATCH", host: acmeHost, path: path, key: f.acmeKey, body: body}, http.StatusOK))
	}
	p := patch(`{"seat_fee":"7.25","add_ons":[]}`)
	if p.SeatFee != "7.25" || p.MonthlyFee != "49.00" || p.Name != "Team" || len(p.AddOns) != 0 || !slices.Equal(p.Packages, []uint64{f.acmePack.ID}) {
		t.Errorf("after the seat fee patch: %+v", p)
	}

	acme := f.ts.reseller("acme")
	staffActor := actor.Actor{Name: "owner@acme.example", IP: "192.0.2.1"}
	sub := billing.Change{PlanID: f.acmePlan.ID, Seats: 1}
	if _, _, err := f.ts.app.billing.ChangeSubscription(acme, f.ann.ID, sub, staffActor); err != nil {
		t.Fatal(err)
	}
	if p = patch(`{"status":"archived"}`); p.Status != "archived" || p.SeatFee != "7.25" {
		t.Errorf("archived: %+v", p)
	}
	if v, err := f.ts.app.billing.Subscription(acme, f.ann.ID); err != nil || v.Plan.ID != f.acmePlan.ID {
		t.Errorf("ann's subscription after archiving: %+v %v", v, err)
	}
	rita := f.createClient(acmeHost, f.acmeKey, "new.comer")
	if _, _, err := f.ts.app.billing.ChangeSubscription(acme, rita.ID, sub, staffActor); err == nil || !strings.Contains(err.Error(), "archived") {
		t.Errorf("a new subscriber of an archived plan: %v", err)
	}
	if p = patch(`{"kind":"per_minute","monthly_fee":"0","seat_fee":"0","status":"active"}`); p.Kind != "per_minute" || p.MonthlyFee != "0.00" || p.Status != "active" {
		t.Errorf("to per-minute: %+v", p)
	}
	if got := f.ts.auditActions("plan.update"); len(got) != 3 {
		t.Errorf("plan.update events %v", got)
	}
	var stored *store.Plan
	if err := f.ts.store.View(func(tx *store.Tx) (err error) {
		stored, err = store.Catalog[*store.Plan](tx, acme.ID, f.acmePlan.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if stored.SeatFee != 0 || stored.MonthlyFee != 0 || stored.Kind != store.PlanPerMinute {
		t.Errorf("stored %+v", stored)
	}
}
