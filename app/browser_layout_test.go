package app

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portico/app/actor"
	"portico/app/auth"
	"portico/app/billing"
	"portico/app/calls"
	"portico/app/clients"
	"portico/store"
)

// The layout test: every page of the console, and every tab of the
// client's settings, opened by each kind of user at a phone's, a laptop's
// and a desktop's width, must fit the window (no sideways scrolling of the
// page) with every visible button, link, menu item and input inside the
// window, inside its card and not cut off by a scrolling box. Every menu
// and confirmation (a <details> disclosure or a popover) is opened and
// checked the same way.
//
// The pages come from the route table: a GET route of the browser pages
// that is neither visited nor excused in layoutRoutes fails the test, so a
// new page is covered from the day it lands. The settings tabs come from
// settingsTabs and the menus from the pages themselves.
//
// PORTICO_SCREENSHOTS=1 also writes the README's screenshots
// (docs/screenshot-*.png) from the 1280 px pages, and
// PORTICO_LAYOUT_SHOTS=<dir> a screenshot of every page at every width
// into dir, to look at.

// layoutWidths are the window widths every page must fit.
var layoutWidths = []int64{390, 1280, 1440}

// layoutHeight is the window height (pages scroll down freely).
const layoutHeight = 900

// layoutVisit is one page opened by one visitor.
type layoutVisit struct {
	who  string // a key of layoutVisitors, or "anon"
	path string
	// status is the page's status when not 200 (an unknown link's page).
	status int64
}

// layoutRoute says how the test opens a GET route: the visits, or why
// the route is not a page to lay out.
type layoutRoute struct {
	visits func(s *showcase) []layoutVisit
	skip   string
}

func visitsAs(path string, who ...string) func(*showcase) []layoutVisit {
	return func(*showcase) []layoutVisit {
		out := make([]layoutVisit, len(who))
		for i, w := range who {
			out[i] = layoutVisit{who: w, path: path}
		}
		return out
	}
}

// unknownLink visits a page of a link with a token as someone whose
// token is unknown: the page that says so (404).
func unknownLink(path string) func(*showcase) []layoutVisit {
	return func(*showcase) []layoutVisit {
		return []layoutVisit{{who: "anon", path: path, status: http.StatusNotFound}}
	}
}

// layoutRoutes lists every GET route of the browser pages (Fiber's
// patterns, as in permissions_test.go's routeRules).
var layoutRoutes = map[string]layoutRoute{
	"GET /healthz":       {skip: "JSON"},
	"GET /metrics":       {skip: "Prometheus text"},
	"GET /static*":       {skip: "assets"},
	"GET /brand.css":     {skip: "stylesheet"},
	"GET /brand/:file":   {skip: "image"},
	"GET /avatars/:file": {skip: "image"},
	"GET /favicon.ico":   {skip: "image"},
	"GET /reseller/clients/:id<int>/movements.csv": {skip: "CSV"},
	"GET /reseller/rates.csv":                      {skip: "CSV"},
	"GET /calls.csv":                               {skip: "CSV"},
	"GET /settings/activity.csv":                   {skip: "CSV"},
	"GET /reseller/billing/invoices/:id<int>/pdf":  {skip: "PDF"},
	"GET /":            {skip: "redirects to the home page or the sign-in page"},
	"GET /login/code":  {skip: "the sign-in card of /login, reached only midway through a sign-in (twofactor_test.go)"},
	"GET /login/enrol": {skip: "the sign-in card of /login, reached only midway through a sign-in (twofactor_test.go)"},

	"GET /login":           {visits: visitsAs("/login", "anon")},
	"GET /password/forgot": {visits: visitsAs("/password/forgot", "anon")},
	"GET /password/reset":  {visits: unknownLink("/password/reset?token=unknown")},
	"GET /invite":          {visits: unknownLink("/invite?token=unknown")},
	"GET /email/confirm":   {visits: unknownLink("/email/confirm?token=unknown")},
	"GET /login/unlock":    {visits: unknownLink("/login/unlock?token=unknown")},
	"GET /password/change": {visits: visitsAs("/password/change", "client:must-change")},

	"GET /reseller":             {visits: visitsAs("/reseller", "staff:owner")},
	"GET /reseller/activity":    {visits: visitsAs("/reseller/activity", "staff:owner")},
	"GET /reseller/api-keys":    {visits: visitsAs("/reseller/api-keys", "staff:owner")},
	"GET /reseller/branding":    {visits: visitsAs("/reseller/branding", "staff:owner")},
	"GET /reseller/domains":     {visits: visitsAs("/reseller/domains", "staff:owner")},
	"GET /reseller/staff":       {visits: visitsAs("/reseller/staff", "staff:owner")},
	"GET /reseller/security":    {visits: visitsAs("/reseller/security", "staff:owner")},
	"GET /reseller/rates":       {visits: visitsAs("/reseller/rates", "staff:owner")},
	"GET /reseller/clients":     {visits: visitsAs("/reseller/clients", "staff:owner")},
	"GET /reseller/clients/new": {visits: visitsAs("/reseller/clients/new", "staff:owner")},
	"GET /reseller/clients/:id<int>": {visits: func(s *showcase) []layoutVisit {
		return []layoutVisit{{who: "staff:owner", path: s.clientURL("cleo")}, {who: "staff:owner", path: s.clientURL("disabled")}}
	}},
	"GET /reseller/clients/:id<int>/edit": {visits: func(s *showcase) []layoutVisit {
		return []layoutVisit{{who: "staff:owner", path: s.clientURL("cleo") + "/edit"}}
	}},
	"GET /reseller/clients/:id<int>/recharge": {visits: func(s *showcase) []layoutVisit {
		return []layoutVisit{{who: "staff:owner", path: s.clientURL("cleo") + "/recharge"}}
	}},
	"GET /reseller/billing/numbers": {visits: visitsAs("/reseller/billing/numbers", "staff:owner")},
	"GET /reseller/billing/numbers/:number": {visits: func(*showcase) []layoutVisit {
		return []layoutVisit{{who: "staff:owner", path: numberURL("+4930123456789")}, {who: "staff:owner", path: numberURL("+447400123456")},
			{who: "staff:owner", path: numberURL("+18002345678")}} // assigned with a history, available, quarantined
	}},
	// the billing catalogue (billing_catalog_pages_test.go seeds it)
	"GET /reseller/billing":                   {visits: visitsAs("/reseller/billing", "staff:owner")}, // the menu's entry: the plans tab
	"GET /reseller/billing/plans":             {visits: visitsAs("/reseller/billing/plans", "staff:owner")},
	"GET /reseller/billing/packages":          {visits: visitsAs("/reseller/billing/packages", "staff:owner")},
	"GET /reseller/billing/add-ons":           {visits: visitsAs("/reseller/billing/add-ons", "staff:owner")},
	"GET /reseller/billing/plans/:id<int>":    {visits: catalogEditVisits("plans")},
	"GET /reseller/billing/packages/:id<int>": {visits: catalogEditVisits("packages")},
	"GET /reseller/billing/add-ons/:id<int>":  {visits: catalogEditVisits("add-ons")},

	// the client's Billing tab's pages (settings_billing.go; the tab itself
	// is a settings tab; the showcase's billing: seedClientBillingShowcase)
	"GET /settings/billing/change":                {visits: clientBillingPreviews},
	"GET /settings/billing/invoices":              {visits: clientInvoiceListVisits},
	"GET /settings/billing/invoices/:id<int>":     {visits: clientInvoiceVisits},
	"GET /settings/billing/transactions":          {visits: visitsAs(billingTransactionsURL, "client:owner")},
	"GET /settings/billing/invoices/:id<int>/pdf": {skip: "PDF"},
	"GET /settings/billing/transactions.csv":      {skip: "CSV"},
	"GET /settings/billing/movements.csv":         {skip: "CSV"},

	// Reseller billing (billing_*_pages.go; the showcase's billing: seedBillingShowcase)
	"GET /reseller/billing/invoices": {visits: func(s *showcase) []layoutVisit {
		return []layoutVisit{{who: "staff:owner", path: "/reseller/billing/invoices"},
			{who: "staff:owner", path: "/reseller/billing/invoices?status=unpaid&client=cleo&period=2026-11"},
			{who: "staff:owner", path: "/reseller/billing/invoices?period=11%2F2026&client=nobody", status: http.StatusBadRequest}}
	}},
	"GET /reseller/billing/invoices/:id<int>": {visits: func(s *showcase) []layoutVisit {
		return []layoutVisit{{who: "staff:owner", path: s.invoiceURL("cleo")}, {who: "staff:owner", path: s.invoiceURL("oberhauser")},
			{who: "staff:owner", path: s.invoiceURL("low")}}
	}},
	"GET /reseller/billing/seller": {visits: visitsAs("/reseller/billing/seller", "staff:owner")},
	"GET /reseller/clients/:id<int>/subscription": {visits: func(s *showcase) []layoutVisit {
		return []layoutVisit{{who: "staff:owner", path: s.clientURL("oberhauser") + "/subscription"}, {who: "staff:owner", path: s.subscriptionPreview()},
			{who: "staff:owner", path: s.clientURL("cleo") + "/subscription?plan=&seats=none", status: http.StatusUnprocessableEntity}}
	}},

	"GET /dashboard": {visits: visitsAs("/dashboard", "client:owner", "client:user")},
	"GET /calls": {visits: func(s *showcase) []layoutVisit {
		return append(visitsAs("/calls", "client:owner", "client:user")(s),
			layoutVisit{who: "client:owner", path: "/calls?from=2+Nov&to=yesterday&number=555", status: http.StatusBadRequest}) // filters with errors
	}},
	// /settings and its tabs: settingsTabs (layoutSettingsVisits)
	"GET /settings": {visits: func(s *showcase) []layoutVisit {
		return []layoutVisit{{who: "client:owner", path: "/settings?tab=team&edit=" + strconv.FormatUint(s.invitedID, 10)},
			{who: "client:owner", path: "/settings?tab=team&edit=" + strconv.FormatUint(s.memberID, 10)},
			{who: "client:owner", path: "/settings?tab=permissions&edit=" + strconv.FormatUint(s.profileID, 10)}}
	}},
}

// layoutVisitors are the kinds of user the layout test signs in as: the
// sign-in email and the page they land on.
var layoutVisitors = map[string][2]string{
	"staff:owner":        {"owner@acme.example", "/reseller"},
	"client:owner":       {"client@acme.example", "/dashboard"},
	"client:user":        {"user@cleo.example", "/dashboard"},
	"client:must-change": {"newcomer@cleo.example", "/password/change"},
}

// showcase is a reseller with data on every page: clients in every state
// of credit (one with a call in progress holding credit), calls in both
// directions, blocked callers, a team with an invitation and a profile,
// API keys, a pending domain.
type showcase struct {
	ts        *testServer
	clients   map[string]uint64 // username → id
	invitedID uint64
	memberID  uint64
	profileID uint64
}

func (s *showcase) clientURL(username string) string {
	return "/reseller/clients/" + strconv.FormatUint(s.clients[username], 10)
}

// newShowcase seeds acme through its services and forms.
func newShowcase(t *testing.T, ts *testServer) *showcase {
	t.Helper()
	s := &showcase{ts: ts, clients: map[string]uint64{}}
	acme := ts.reseller("acme")
	by := actor.Actor{Name: "owner@acme.example", IP: "192.0.2.10"}
	ts.importDeck("acme", pagesDeck+"4930,Germany Berlin,0.0385,1/1\n33,France,0.0250,60/60\n")
	cleo := ts.cleo()
	s.clients["cleo"] = cleo.ID

	// Clients with long names, companies and emails, and every credit state.
	people := []struct{ user, first, last, company, email, credit string }{
		{"oberhauser", "Maximilian", "Oberhauser-Lindqvist", "Oberhauser Lindqvist Telekommunikation GmbH", "m.oberhauser-lindqvist@telekommunikation.example", "500.00"},
		{"low", "Lena", "Low", "Low Balance Ltd", "lena@low.example", "10.00"},
		{"empty", "Omar", "Empty", "", "omar@empty.example", "1.00"},
		{"fresh", "Fiona", "Fresh", "Fresh Start Co", "fiona@fresh.example", ""},
		{"disabled", "Dora", "Disabled", "Dormant Dialling", "dora@disabled.example", "25.00"},
	}
	for i := range 8 {
		people = append(people, struct{ user, first, last, company, email, credit string }{
			fmt.Sprintf("client%02d", i), "Ana", fmt.Sprintf("Smith%02d", i), fmt.Sprintf("Company %d", i), fmt.Sprintf("c%02d@example.com", i), strconv.Itoa(10*(i+1)) + ".00"})
	}
	for _, p := range people {
		cl, err := ts.app.clients.Create(acme, clients.Input{Username: p.user, FirstName: p.first, LastName: p.last, Email: p.email,
			Country: "DE", Company: p.company, Password: testPassword, Confirm: testPassword}, by)
		if err != nil {
			t.Fatalf("create %s: %v", p.user, err)
		}
		s.clients[p.user] = cl.ID
		if p.credit != "" {
			if _, err := ts.app.clients.Recharge(acme, cl.ID, p.credit, "opening credit", "seed-"+p.user, by); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := ts.app.clients.Recharge(acme, cleo.ID, "10.00", "welcome credit", "seed-cleo", by); err != nil {
		t.Fatal(err)
	}
	now := ts.clock.Now()
	clientOf := func(username string) *store.Client {
		var cl *store.Client
		if err := ts.store.View(func(tx *store.Tx) (err error) { cl, err = tx.Client(acme.ID, s.clients[username]); return err }); err != nil {
			t.Fatal(err)
		}
		return cl
	}
	// low: 7.60 of 10.00 used (24 % left); empty: all of 1.00 used
	// 760 minutes in four calls: one CDR may last no longer than the
	// longest call authorised plus an hour
	for i := range 4 {
		ts.ingest("acme", clientOf("low"), call("low-"+strconv.Itoa(i+1), store.Outbound, "+14155550100", "+14155550111", now.Add(-time.Duration(5+i)*time.Hour), 190*60, store.Answered))
	}
	ts.ingest("acme", clientOf("empty"), call("empty-1", store.Outbound, "+14155550100", "+14155550111", now.Add(-5*time.Hour), 100*60, store.Answered))
	if _, err := ts.app.clients.SetStatus(acme, s.clients["disabled"], store.ClientDisabled, true, "unpaid", by); err != nil {
		t.Fatal(err)
	}

	// Cleo's calls: both directions, costs of every precision, and one
	// call in progress that holds credit.
	var records []calls.CDRInput
	for i := range 24 {
		started := now.Add(-time.Duration(i*7+1) * time.Hour)
		switch i % 4 {
		case 0:
			records = append(records, call(fmt.Sprintf("out-us-%d", i), store.Outbound, "+14155550100", "+14155550111", started, int64(60+i*13), store.Answered))
		case 1:
			records = append(records, call(fmt.Sprintf("out-de-%d", i), store.Outbound, "+14155550100", "+493012345678", started, int64(61+i*7), store.Answered))
		case 2:
			records = append(records, call(fmt.Sprintf("in-%d", i), store.Inbound, fmt.Sprintf("+4420712345%02d", i), "+14155550100", started, int64(30+i*11), store.Answered))
		default:
			records = append(records, call(fmt.Sprintf("out-fr-%d", i), store.Outbound, "+14155550100", "+33123456789", started, 0, store.NoAnswer))
		}
	}
	ts.ingest("acme", cleo, records...)
	if auth, err := ts.app.calls.Authorize(acme, clientOf("cleo"), calls.AuthorizeRequest{CallID: "live-1", Direction: store.Outbound,
		From: "+14155550100", To: "+14155550111"}, "test"); err != nil || !auth.Allow {
		t.Fatalf("authorise a call in progress: %+v %v", auth, err)
	}
	for _, b := range []struct{ number, note string }{
		{"+14155550199", "Robocalls every morning at 8, reported by the front desk three times this month"},
		{"+442071234502", ""},
		{"+4930123456789", "Wrong number, keeps calling back"},
	} {
		if _, err := ts.app.calls.Block(acme, cleo.ID, b.number, b.note, by); err != nil {
			t.Fatal(err)
		}
	}

	// Phone numbers: assigned with a past holder, available, quarantined,
	// with long labels and large fees.
	for _, n := range []billing.NumberInput{
		{Number: "+4930123456789", MonthlyFee: "1250.00", SetupFee: "25000.00", Label: "Berlin head office switchboard, main line for the whole building"},
		{Number: "+447400123456", MonthlyFee: "4.50"},
		{Number: "+18002345678", MonthlyFee: "12.00", SetupFee: "30.00", Label: "Support"},
	} {
		if _, err := ts.app.billing.AddNumber(acme, n, by); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []struct{ number, client string }{{"+4930123456789", "oberhauser"}, {"+18002345678", "low"}} {
		if _, err := ts.app.billing.AssignNumber(acme, a.number, a.client, by); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ts.app.billing.ReleaseNumber(acme, "+18002345678", by); err != nil {
		t.Fatal(err)
	}
	err := ts.store.Update(func(tx *store.Tx) error { // a holder before this one, who left long ago
		n, err := tx.Number(acme.ID, "+4930123456789")
		if err != nil {
			return err
		}
		n.History = append([]store.NumberHolding{{ClientID: cleo.ID, From: now.AddDate(0, -9, 0), To: now.AddDate(0, -3, 0),
			By: "agent.with.a.rather.long.address@cleo-calls-international.example", ReleasedBy: "owner@acme.example"}}, n.History...)
		return tx.PutNumber(n, false)
	})
	if err != nil {
		t.Fatal(err)
	}

	// Cleo's team: a plain user (a visitor of this test), a manager with a
	// profile, an invited member and a member who must change the
	// password chosen for them.
	ts.addClientUser("user@cleo.example", store.RoleUser)
	s.profileID = ts.profileID("Call centre agents", map[string]string{"dashboard": "view", "calls": "edit"})
	s.memberID = ts.addProfiledUser("agent.with.a.rather.long.address@cleo-calls-international.example", store.RoleManager, "Night shift", map[string]string{"calls": "view"})
	owner := ts.acmeClient()
	for _, m := range []url.Values{memberValues("Ivy", "Invited", "ivy@cleo.example", store.RoleAdmin, "invite"),
		memberValues("Nico", "Newcomer", "newcomer@cleo.example", store.RoleUser, "password")} {
		m.Set("password", testPassword)
		m.Set("confirm", testPassword)
		if r := owner.post(acmeHost, teamTabURL, "/settings/team", m); r.status != http.StatusSeeOther && r.status != http.StatusOK {
			t.Fatalf("add member %s: %d\n%s", m.Get("email"), r.status, r.body)
		}
	}
	s.invitedID = ts.userByEmail("acme", "ivy@cleo.example").ID
	for _, name := range []string{"Office PBX", "Reporting script that exports the call log every night"} {
		if _, err := ts.app.clients.CreateKey(acme.ID, cleo.ID, name, by); err != nil {
			t.Fatal(err)
		}
	}
	old, err := ts.app.clients.CreateKey(acme.ID, cleo.ID, "Old PBX", by)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.app.clients.RevokeKey(acme.ID, cleo.ID, old.ID, by); err != nil {
		t.Fatal(err)
	}

	// The reseller's side: a key, a pending domain, more staff.
	hash := auth.HashToken("showcase-form")
	if _, err := ts.app.clients.CreateResellerKeyOnce(acme.ID, "Billing sync", hash, by); err != nil {
		t.Fatal(err)
	}
	ts.addStaff("billing@acme.example", store.RoleBilling)
	seedCatalogShowcase(t, ts)
	staff := ts.acmeOwner()
	if r := staff.post(acmeHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {"portal.cleo-calls-international.example"}}); r.status != http.StatusSeeOther {
		t.Fatalf("add domain: %d\n%s", r.status, r.body)
	}
	seedBillingShowcase(t, ts, s)
	seedClientBillingShowcase(t, ts, s) // after the catalogue and the reseller's billing: the client's Billing tab
	return s
}

// layoutCheck is run in the page: it returns what does not fit. scope is
// a CSS selector of the elements to check ("" for the whole page);
// vertical also wants them inside the window's height (what opens in the
// top layer cannot be scrolled to).
const layoutCheck = `((scope, vertical) => {
  const out = [];
  const vw = window.innerWidth, tol = 0.5;
  const root = document.documentElement;
  if (!scope && root.scrollWidth > vw) out.push("the page is " + root.scrollWidth + " px wide in a " + vw + " px window");
  const name = (el) => {
    const text = (el.getAttribute("aria-label") || el.textContent || el.value || el.name || "").trim().replace(/\s+/g, " ").slice(0, 50);
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " “" + text + "”";
  };
  const shown = (el) => {
    if (el.closest(".visually-hidden, .skip-link")) return false;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) return false;
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1;
  };
  const inner = (el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el), px = (v) => parseFloat(v) || 0;
    return {left: r.left + px(s.borderLeftWidth) + px(s.paddingLeft), right: r.right - px(s.borderRightWidth) - px(s.paddingRight),
      top: r.top + px(s.borderTopWidth), bottom: r.bottom - px(s.borderBottomWidth)};
  };
  const cards = ".card, .table-wrap, fieldset, .dialog, dialog, [popover], .auth-card, .notice, .brand-preview, .form-error, .flash";
  const topLayer = (el) => el.matches(":popover-open, dialog[open], :modal");
  const base = scope ? document.querySelectorAll(scope) : [document];
  for (const b of base) {
    for (const el of b.querySelectorAll("a[href], button, summary, input:not([type=hidden]), select, textarea, [role=menuitem]")) {
      if (!shown(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.left < -tol || r.right > vw + tol) {
        out.push(name(el) + " is outside the window (" + Math.round(r.left) + " to " + Math.round(r.right) + " of " + vw + " px)");
        continue;
      }
      if (vertical && (r.top < -tol || r.bottom > window.innerHeight + tol)) {
        out.push(name(el) + " is above or below the window (" + Math.round(r.top) + " to " + Math.round(r.bottom) + " of " + window.innerHeight + " px)");
        continue;
      }
      const card = el.parentElement && el.parentElement.closest(cards);
      if (card) {
        const c = inner(card);
        if (r.left < c.left - tol || r.right > c.right + tol) {
          out.push(name(el) + " crosses the edge of its " + card.tagName.toLowerCase() + "." + String(card.className).split(" ")[0] +
            " (" + Math.round(r.left) + " to " + Math.round(r.right) + ", inside " + Math.round(c.left) + " to " + Math.round(c.right) + ")");
          continue;
        }
      }
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const s = getComputedStyle(p);
        if (s.overflowX !== "visible" || s.overflowY !== "visible") {
          const c = p.getBoundingClientRect();
          if (r.left < c.left - tol || r.right > c.right + tol || r.top < c.top - tol || r.bottom > c.bottom + tol) {
            out.push(name(el) + " is cut off by " + p.tagName.toLowerCase() + "." + String(p.className).split(" ")[0]);
            break;
          }
        }
        if (topLayer(p)) break; // drawn above the page: no ancestor clips it
      }
    }
  }
  if (!scope) {
    // a filter bar's controls on one line stand level, their labels too
    for (const bar of document.querySelectorAll(".filters")) {
      const rows = new Map();
      for (const el of bar.querySelectorAll("input:not([type=hidden]), select, button, .button, label:not(.visually-hidden)")) {
        if (!shown(el)) continue;
        const r = el.getBoundingClientRect(), kind = el.matches("label") ? "label" : "control";
        const line = Math.round((el.closest(".filters .field, .filters .actions") || el).getBoundingClientRect().top / 4);
        const key = kind + "@" + line;
        const edge = kind === "label" ? r.top : r.bottom;
        if (!rows.has(key)) rows.set(key, []);
        rows.get(key).push([edge, name(el)]);
      }
      for (const [key, items] of rows) {
        const edges = items.map((i) => i[0]);
        if (Math.max(...edges) - Math.min(...edges) > 1.5) {
          out.push("filters out of line (" + key.split("@")[0] + "s): " + items.map((i) => i[1] + " at " + Math.round(i[0])).join(", "));
        }
      }
    }
    // chart text is readable: at least 11 px high as drawn
    for (const text of document.querySelectorAll("svg text")) {
      const r = text.getBoundingClientRect();
      if (text.checkVisibility() && r.height < 11) out.push("chart text “" + text.textContent + "” is " + r.height.toFixed(1) + " px high");
    }
  }
  return out;
})`

// layoutMenus opens each closed disclosure and each popover of the page
// in turn, checks what it shows with layoutCheck and closes it again.
const layoutMenus = `(() => {
  const check = ` + layoutCheck + `;
  const out = [];
  const label = (el) => (el.getAttribute("aria-label") || el.textContent).trim().replace(/\s+/g, " ").slice(0, 40);
  for (const d of document.querySelectorAll("details:not([open])")) {
    const summary = d.querySelector(":scope > summary");
    if (!summary || !summary.checkVisibility()) continue;
    d.id = d.id || "layout-details-" + Math.random().toString(36).slice(2);
    d.open = true;
    for (const p of check("#" + CSS.escape(d.id), false)) out.push("opened “" + label(summary) + "”: " + p);
    d.open = false;
  }
  for (const b of document.querySelectorAll("button[popovertarget]")) {
    const pop = document.getElementById(b.getAttribute("popovertarget"));
    if (!pop || pop.matches(":popover-open") || b.closest("[popover]") || !b.checkVisibility()) continue;
    b.scrollIntoView({block: "nearest"}); // as a person would before pressing it
    b.click();
    if (!pop.matches(":popover-open")) { out.push("“" + label(b) + "” does not open " + pop.id); continue; }
    for (const p of check("#" + CSS.escape(pop.id), true)) out.push("opened “" + label(b) + "”: " + p);
    pop.hidePopover();
  }
  window.scrollTo(0, 0);
  return out;
})()`

// TestBrowserLayout opens every page as each kind of user at each width.
func TestBrowserLayout(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s := newShowcase(t, ts)
	ctx := newChromeFor(t, 8*time.Minute)

	// The visits: every GET page route, and every settings tab each
	// client visitor may open.
	plan := map[string][]string{}  // who → paths, in order
	statuses := map[string]int64{} // path → status when not 200
	var unlisted []string
	for _, r := range ts.app.Fiber().GetRoutes(true) {
		if r.Method != http.MethodGet || strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		key := r.Method + " " + r.Path
		if r.Path != "/" {
			key = r.Method + " " + strings.TrimSuffix(r.Path, "/")
		}
		route, ok := layoutRoutes[key]
		switch {
		case !ok:
			unlisted = append(unlisted, key)
		case route.visits != nil:
			for _, v := range route.visits(s) {
				if !slices.Contains(plan[v.who], v.path) {
					plan[v.who] = append(plan[v.who], v.path)
				}
				if v.status != 0 {
					statuses[v.path] = v.status
				}
			}
		}
	}
	sort.Strings(unlisted)
	if len(unlisted) > 0 {
		t.Fatalf("GET routes the layout test neither opens nor excuses (add them to layoutRoutes):\n  %s", strings.Join(unlisted, "\n  "))
	}
	for _, who := range []string{"client:owner", "client:user"} {
		u := ts.userByEmail("acme", layoutVisitors[who][0])
		m, err := ts.app.accessFor(u)
		if err != nil {
			t.Fatal(err)
		}
		for _, tab := range settingsTabs {
			if tabAllowed(u, m, tab) {
				plan[who] = append(plan[who], "/settings?tab="+tab.Key)
			}
		}
	}

	shots := os.Getenv("PORTICO_SCREENSHOTS") == "1"
	screenshots := map[string]string{ // who + path → docs/screenshot-<name>.png
		"anon /login":                   "login",
		"staff:owner /reseller/clients": "clients",
		"client:owner /dashboard":       "dashboard",
	}
	for _, who := range []string{"anon", "staff:owner", "client:owner", "client:user", "client:must-change"} {
		if who != "anon" {
			login := layoutVisitors[who]
			chromeSignIn(t, ctx, ts, acmeHost, login[0], login[1])
			// the menu's entries are pages this visitor must see laid out
			nav := chromeRun(t, ctx, "read the menu", chromedp.Evaluate[[]string](
				`Array.from(document.querySelectorAll("nav a[href]"), (a) => a.getAttribute("href"))`))
			for _, href := range nav {
				if !slices.Contains(plan[who], href) && !slices.ContainsFunc(plan[who], func(p string) bool { return strings.HasPrefix(p, href+"?") }) {
					t.Errorf("%s's menu links %s, which the layout test does not open (add it to layoutRoutes)", who, href)
				}
			}
		}
		for _, path := range plan[who] {
			resp := chromeRun(t, ctx, "open "+path, chromedp.NavigateResponse(ts.url(acmeHost, path)))
			if want := cmp.Or(statuses[path], http.StatusOK); resp.Status != want {
				t.Errorf("%s as %s: status %d, want %d", path, who, resp.Status, want)
			}
			for _, width := range layoutWidths {
				chromeDo(t, ctx, "resize", chromedp.EmulateViewport(width, layoutHeight))
				problems := chromeRun(t, ctx, "check the layout", chromedp.Evaluate[[]string](layoutCheck+`("", false)`))
				problems = append(problems, chromeRun(t, ctx, "check the menus", chromedp.Evaluate[[]string](layoutMenus))...)
				if len(problems) > 0 {
					t.Errorf("%s as %s at %d px:\n  %s", path, who, width, strings.Join(problems, "\n  "))
				}
				if dir := os.Getenv("PORTICO_LAYOUT_SHOTS"); dir != "" { // every page, to look at
					png := chromeRun(t, ctx, "screenshot "+path, chromedp.FullScreenshot(100))
					name := strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "-", ":", "-").Replace(fmt.Sprintf("%s%s-%d.png", who, path, width))
					if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if name, ok := screenshots[who+" "+path]; ok && shots && width == 1280 {
					png := chromeRun(t, ctx, "screenshot "+path, chromedp.FullScreenshot(100))
					if err := os.WriteFile(filepath.Join("..", "docs", "screenshot-"+name+".png"), png, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if who != "anon" && who != "client:must-change" {
			chromeRun(t, ctx, "open the home page", chromedp.NavigateResponse(ts.url(acmeHost, layoutVisitors[who][1])))
			chromeSubmit(t, ctx, "sign out", `form[action="/logout"] button[type=submit]`)
		}
	}
}
