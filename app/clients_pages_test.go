package app

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"portico/app/actor"
	"portico/app/auth"
	"portico/app/calls"
	"portico/app/textfield"
	"portico/store"
	"portico/store/money"
)

// cleo returns the seeded acme client.
func (ts *testServer) cleo() *store.Client {
	ts.t.Helper()
	var cl *store.Client
	err := ts.store.View(func(tx *store.Tx) (err error) { cl, err = tx.ClientByUsername(ts.ids["acme"], "cleo"); return err })
	if err != nil {
		ts.t.Fatal(err)
	}
	return cl
}

// addStaff creates a staff user of acme with testPassword.
func (ts *testServer) addStaff(email, role string) {
	ts.t.Helper()
	hash, _ := auth.HashPassword(testPassword)
	err := ts.store.Update(func(tx *store.Tx) error {
		return tx.CreateUser(&store.User{ResellerID: ts.ids["acme"], Email: email, Role: role, PasswordHash: hash})
	})
	if err != nil {
		ts.t.Fatal(err)
	}
}

func TestClientPagesAccess(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addStaff("billing@acme.example", store.RoleBilling)
	cleo := "/reseller/clients/" + strconv.FormatUint(ts.cleo().ID, 10)
	who := map[string]*browser{"anon": ts.browser()}
	for name, email := range map[string]string{"owner": "owner@acme.example", "support": "support@acme.example", "billing": "billing@acme.example"} {
		who[name] = ts.browser()
		who[name].login(acmeHost, email, "/reseller")
	}
	who["client"] = ts.browser()
	who["client"].login(acmeHost, "client@acme.example", "/dashboard")
	who["globex"] = ts.browser()
	who["globex"].login(globexHost, "owner@globex.example", "/reseller")
	cases := []struct {
		who, host, path string
		status          int
		contains        string
	}{
		{"anon", acmeHost, "/reseller/clients", 303, ""},
		{"client", acmeHost, "/reseller/clients", 403, ""},
		{"owner", acmeHost, "/reseller/clients", 200, "Cleo Client"},
		{"owner", acmeHost, "/reseller/clients/new", 200, "Confirm password"},
		{"owner", acmeHost, cleo, 200, "Cleo Calls"},
		{"owner", acmeHost, cleo + "/edit", 200, `value="cleo"`},
		{"owner", acmeHost, cleo + "/recharge", 200, "Recharge Credits"},
		{"owner", acmeHost, cleo + "/movements.csv", 200, "date,kind,amount"},
		{"owner", acmeHost, "/reseller/clients/999", 404, ""},
		{"support", acmeHost, "/reseller/clients/new", 200, ""},
		{"support", acmeHost, cleo + "/recharge", 403, ""},
		{"billing", acmeHost, cleo + "/recharge", 200, ""},
		{"billing", acmeHost, "/reseller/clients/new", 403, ""},
		{"billing", acmeHost, cleo + "/edit", 403, ""},
		{"globex", globexHost, cleo, 404, ""}, // another reseller's client is not found
		{"globex", globexHost, cleo + "/recharge", 404, ""},
		{"globex", globexHost, "/reseller/clients", 200, "No clients yet"},
		{"client", acmeHost, "/dashboard", 200, "Cleo Calls"},
	}
	for _, tc := range cases {
		b := who[tc.who]
		r := b.get(tc.host, tc.path)
		if r.status != tc.status || !strings.Contains(r.body, tc.contains) {
			t.Errorf("%s GET %s%s: %d, want %d with %q", tc.who, tc.host, tc.path, r.status, tc.status, tc.contains)
		}
	}
	// another reseller cannot post to acme's client either
	r := who["globex"].post(globexHost, "/reseller", cleo+"/recharge", url.Values{"amount": {"5"}, "idempotency_key": {strings.Repeat("k", 20)}})
	if r.status != http.StatusNotFound {
		t.Errorf("globex recharges acme's client: %d", r.status)
	}
}

func clientForm(username, email string) url.Values {
	return url.Values{"username": {username}, "first_name": {"Dana"}, "last_name": {"Diaz"}, "email": {email},
		"phone": {"020 7946 0018"}, "country": {"GB"}, "city": {"London"}, "company": {"Diaz Ltd"},
		"password": {"N3w-Client!pw"}, "confirm": {"N3w-Client!pw"}}
}

func TestCreateClientThroughForm(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.acmeOwner()
	bad := clientForm("cleo", "not-an-email")
	bad.Set("phone", "123")
	bad.Set("confirm", "other")
	r := b.post(acmeHost, "/reseller/clients/new", "/reseller/clients", bad)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad form: %d", r.status)
	}
	for _, want := range []string{"Enter an email address", "valid phone number", "Please correct", `value="Diaz Ltd"`, `value="GB" selected`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("bad form lacks %q", want)
		}
	}
	if strings.Contains(r.body, "N3w-Client!pw") {
		t.Errorf("password echoed")
	}
	r = b.post(acmeHost, "/reseller/clients/new", "/reseller/clients", clientForm("cleo", "dana@example.com"))
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "This username is taken") {
		t.Fatalf("duplicate username: %d", r.status)
	}
	r = b.post(acmeHost, "/reseller/clients/new", "/reseller/clients", clientForm("dana", "dana@example.com"))
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/reseller/clients/") {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	page := b.get(acmeHost, r.header.Get("Location"))
	for _, want := range []string{"Client dana created", "442079460018", "United Kingdom", "Diaz Ltd"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("client page lacks %q", want)
		}
	}
	// the new owner signs in at once
	owner := ts.browser()
	r = owner.post(acmeHost, "/login", "/login", url.Values{"email": {"dana@example.com"}, "password": {"N3w-Client!pw"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
		t.Fatalf("new owner sign-in: %d %s", r.status, r.header.Get("Location"))
	}
	if problems, _ := ts.store.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
}

var keyPattern = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)

func TestRechargeThroughForm(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.acmeOwner()
	cleo := "/reseller/clients/" + strconv.FormatUint(ts.cleo().ID, 10)
	page := b.get(acmeHost, cleo+"/recharge")
	key := keyPattern.FindStringSubmatch(page.body)[1]
	csrf := csrfPattern.FindStringSubmatch(page.body)[1]
	form := url.Values{"_csrf": {csrf}, "idempotency_key": {key}, "amount": {"100"}, "note": {"first top-up"}}
	for i := range 2 { // a double click sends the form twice
		r := b.do(http.MethodPost, acmeHost, cleo+"/recharge", form, nil)
		if r.status != http.StatusSeeOther {
			t.Fatalf("submit %d: %d %s", i, r.status, r.body)
		}
	}
	r := b.get(acmeHost, cleo)
	if !strings.Contains(r.body, "already made; nothing was charged twice") || !strings.Contains(r.body, `<span title="Available">100.00</span>`) || !strings.Contains(r.body, `<span title="Assigned">100.00</span>`) {
		t.Fatalf("after double submit:\n%s", r.body)
	}
	if strings.Count(r.body, "first top-up") != 1 {
		t.Errorf("movement listed %d times", strings.Count(r.body, "first top-up"))
	}
	// the same form with another amount is refused, nothing moves
	form.Set("amount", "5")
	r = b.do(http.MethodPost, acmeHost, cleo+"/recharge", form, nil)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "already used for another amount") {
		t.Fatalf("reused key: %d", r.status)
	}
	// bad amount
	r = b.post(acmeHost, cleo+"/recharge", cleo+"/recharge", url.Values{"amount": {"-3"}, "idempotency_key": {strings.Repeat("x", 20)}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Enter an amount") {
		t.Fatalf("bad amount: %d", r.status)
	}
	// the client sees the new figures on its next page view
	client := ts.acmeClient()
	if r := client.get(acmeHost, "/dashboard"); !strings.Contains(r.body, `<span title="Available">100.00</span>`) || !strings.Contains(r.body, "meter-ok") {
		t.Errorf("client dashboard lacks the meter")
	}
	csv := b.get(acmeHost, cleo+"/movements.csv")
	if !strings.Contains(csv.body, ",grant,100.00,USD,100.00,owner@acme.example,first top-up") {
		t.Errorf("csv:\n%s", csv.body)
	}
}

func TestDisableSignsClientOut(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	staff := ts.acmeOwner()
	client := ts.acmeClient()
	cleo := "/reseller/clients/" + strconv.FormatUint(ts.cleo().ID, 10)
	r := staff.post(acmeHost, cleo, cleo+"/status", url.Values{"status": {"disabled"}, "note": {"unpaid"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.status)
	}
	page := staff.get(acmeHost, cleo)
	if !strings.Contains(page.body, "will be deleted for good on") || !strings.Contains(page.body, "unpaid") {
		t.Errorf("client page does not show the deletion date and note")
	}
	if r := staff.get(acmeHost, "/reseller/clients?status=disabled"); !strings.Contains(r.body, "Cleo Client") || !strings.Contains(r.body, "will be deleted on 31 Jan 2027") {
		t.Errorf("list does not show the deletion date")
	}
	if r := client.get(acmeHost, "/dashboard"); r.status != http.StatusSeeOther {
		t.Errorf("disabled client's session still works: %d", r.status)
	}
	r = ts.browser().post(acmeHost, "/login", "/login", url.Values{"email": {"client@acme.example"}, "password": {testPassword}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "is disabled, so you cannot sign in") {
		t.Fatalf("disabled sign-in: %d", r.status)
	}
	// a note on two lines is refused, and the page names the field
	r = staff.post(acmeHost, cleo, cleo+"/status", url.Values{"status": {"active"}, "note": {"paid\nin full"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(r.body), "Note: "+textfield.SingleLineMessage+" Nothing was changed.") {
		t.Fatalf("two-line note: %d\n%s", r.status, r.body)
	}
	staff.post(acmeHost, cleo, cleo+"/status", url.Values{"status": {"active"}})
	ts.acmeClient() // re-enabled: the client signs in again
}

func TestClientListSearchAndPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	err := ts.store.Update(func(tx *store.Tx) error {
		for i := range 60 {
			c := &store.Client{ResellerID: ts.ids["acme"], Username: fmt.Sprintf("user%02d", i), FirstName: "F", LastName: fmt.Sprintf("L%02d", i),
				Email: fmt.Sprintf("u%02d@example.com", i), Company: map[bool]string{true: "Zebra Inc", false: "Yak Co"}[i%2 == 0]}
			if err := tx.CreateClient(c, &store.User{Email: c.Email, PasswordHash: "h"}, "seed"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := ts.acmeOwner()
	r := b.get(acmeHost, "/reseller/clients")
	if strings.Count(r.body, "<tr data-client=") != 50 || !strings.Contains(r.body, "Page 1 of 2 · 61 clients") {
		t.Fatalf("first page: %d rows", strings.Count(r.body, "<tr data-client="))
	}
	r = b.get(acmeHost, "/reseller/clients?page=2")
	if strings.Count(r.body, "<tr data-client=") != 11 {
		t.Errorf("second page: %d rows", strings.Count(r.body, "<tr data-client="))
	}
	r = b.get(acmeHost, "/reseller/clients?q=zebra")
	if !strings.Contains(r.body, "30 clients") {
		t.Errorf("search by company")
	}
	r = b.get(acmeHost, "/reseller/clients?q=U07%40EXAMPLE")
	if !strings.Contains(r.body, "Page 1 of 1 · 1 client<") || !strings.Contains(r.body, "user07") {
		t.Errorf("search by email: one client, counted in the singular")
	}
	r = b.get(acmeHost, "/reseller/clients?status=disabled")
	if !strings.Contains(r.body, "No client matches") {
		t.Errorf("status filter")
	}
}

func TestActivityFilters(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.acmeOwner()
	support := ts.signedIn(acmeHost, "support@acme.example", "/reseller")
	cleo := "/reseller/clients/" + strconv.FormatUint(ts.cleo().ID, 10)
	support.post(acmeHost, cleo, cleo+"/status", url.Values{"status": {"disabled"}})
	r := b.get(acmeHost, "/reseller/activity?action=client.&actor=SUPPORT")
	if !strings.Contains(r.body, "client.disable") || strings.Contains(r.body, `"Action">login</td>`) || strings.Contains(r.body, "owner@acme.example</td>") {
		t.Errorf("filtered activity:\n%s", r.body)
	}
	r = b.get(acmeHost, "/reseller/activity?action=login&from=2026-11-02&to=2026-11-02")
	if strings.Count(r.body, `"Action">login</td>`) != 2 || !strings.Contains(r.body, `value="2 Nov 2026"`) {
		t.Errorf("two sign-ins on that day, got %d", strings.Count(r.body, `"Action">login</td>`))
	}
	// days are typed as the pages show them
	if r := b.get(acmeHost, "/reseller/activity?action=login&from=2+Nov+2026&to=2+nov+2026"); strings.Count(r.body, `"Action">login</td>`) != 2 {
		t.Errorf("a day typed as 2 Nov 2026: %d sign-ins", strings.Count(r.body, `"Action">login</td>`))
	}
	if r := b.get(acmeHost, "/reseller/activity?from=2026-11-03"); !strings.Contains(r.body, "No event matches") {
		t.Errorf("future filter")
	}
	if r := b.get(acmeHost, "/reseller/activity?from=yesterday"); r.status != http.StatusBadRequest {
		t.Errorf("bad date: %d", r.status)
	}
}

// TestMeterOf: the meter's figures add up with the credit held by calls
// in progress, and its level is said in words as well as by colour.
func TestMeterOf(t *testing.T) {
	t.Parallel()
	r := &store.Reseller{Currency: "USD"}
	const unit = 10000 // money.Unit
	cases := []struct {
		name         string
		credit       store.Credit
		level, state string
		held         string
	}{
		{"no credit yet", store.Credit{}, "none", "No credit yet", ""},
		{"plenty", store.Credit{Available: 8 * unit, Used: 2 * unit, Assigned: 10 * unit}, "ok", "80\u00a0% left", ""},
		{"low", store.Credit{Available: 2 * unit, Used: 8 * unit, Assigned: 10 * unit}, "low", "Low: 20\u00a0% left", ""},
		{"critical", store.Credit{Available: 8000, Used: 9*unit + 2000, Assigned: 10 * unit}, "critical", "Low: 8\u00a0% left", ""},
		{"a crumb", store.Credit{Available: 50, Used: 10*unit - 50, Assigned: 10 * unit}, "critical", "Low: under 1\u00a0% left", ""},
		{"out", store.Credit{Available: 0, Used: 10 * unit, Assigned: 10 * unit}, "critical", "Out of credit", ""},
		{"in debt", store.Credit{Available: -4000, Used: 10*unit + 4000, Assigned: 10 * unit}, "critical", "Out of credit", ""},
		{"held by a call", store.Credit{Available: 0, Used: 9*unit + 6000, Reserved: 4000, Assigned: 10 * unit}, "critical", "Out of credit", "0.40"},
	}
	for _, c := range cases {
		m := meterOf(r, c.credit)
		if m.Level != c.level || m.State != c.state || m.Held != c.held {
			t.Errorf("%s: level %q state %q held %q, want %q %q %q", c.name, m.Level, m.State, m.Held, c.level, c.state, c.held)
		}
	}
	if m := meterOf(&store.Reseller{Currency: "USD", LowCreditPercent: 50}, store.Credit{Available: 4 * unit, Used: 6 * unit, Assigned: 10 * unit}); m.Level != "low" {
		t.Errorf("the reseller's own low threshold: %q", m.Level)
	}
}

// TestMeterShowsHeldCredit: a call in progress holds credit, and every
// page with the client's meter says how much, so the figures add up.
func TestMeterShowsHeldCredit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.importDeck("acme", pagesDeck)
	cleo := ts.cleo()
	acme := ts.reseller("acme")
	if _, err := ts.app.clients.Recharge(acme, cleo.ID, "10.00", "", "held-test", actor.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	auth, err := ts.app.calls.Authorize(acme, ts.cleo(), calls.AuthorizeRequest{CallID: "live", Direction: store.Outbound, From: "+14155550100", To: "+14155550111"}, "test")
	if err != nil || !auth.Allow || auth.Reserved <= 0 {
		t.Fatalf("authorise: %+v %v", auth, err)
	}
	held := money.FormatNumber(auth.Reserved, "USD") + " held for calls in progress"
	staff := ts.acmeOwner()
	client := ts.acmeClient()
	page := "/reseller/clients/" + strconv.FormatUint(cleo.ID, 10)
	for _, view := range []struct {
		b    *browser
		path string
	}{{staff, "/reseller/clients"}, {staff, page}, {staff, page + "/recharge"}, {client, "/dashboard"}} {
		if r := view.b.get(acmeHost, view.path); r.status != http.StatusOK || !strings.Contains(r.body, held) || !strings.Contains(r.body, `class="meter-state"`) {
			t.Errorf("%s lacks %q", view.path, held)
		}
	}
}
