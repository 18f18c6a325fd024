package app

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"portico/store"
)

// Who may use each route, by kind of visitor. A route missing from this
// table fails TestPermissionMatrix, so a new route cannot ship without a
// rule. "public" routes answer everyone; the rest list the visitors they
// admit. Paths are Fiber's patterns.
//
// "client:restricted" is a manager with a permission profile that allows
// calls (view) and nothing else: it must be refused wherever a module other
// than calls is needed, even where a plain manager is admitted.
var (
	everyStaff   = []string{"staff:owner", "staff:admin", "staff:billing", "staff:support"}
	everyClient  = []string{"client:owner", "client:admin", "client:manager", "client:user", "client:publisher", "client:restricted"}
	everyone     = append(slices.Clone(everyStaff), everyClient...)
	operations   = []string{"client:owner", "client:admin", "client:manager", "client:user"} // dashboard, calls, numbers, usage
	ownerAdmin   = []string{"staff:owner", "staff:admin"}
	clientOwnAdm = []string{"client:owner", "client:admin"}
	callsViewers = append(slices.Clone(operations), "client:restricted") // the restricted profile allows calls (view)
	ratesViewers = []string{"staff:owner", "staff:admin", "staff:billing"}
	billingStaff = []string{"staff:owner", "staff:admin", "staff:billing"} // access.AreaBilling
)

var routeRules = map[string][]string{
	"GET /healthz": {"public"}, "GET /metrics": {"public"}, "GET /static*": {"public"}, "GET /brand.css": {"public"},
	"GET /": {"public"}, "GET /login": {"public"}, "POST /login": {"public"}, "POST /logout": {"public"},
	"GET /password/forgot": {"public"}, "POST /password/forgot": {"public"},
	"GET /password/reset": {"public"}, "POST /password/reset": {"public"},
	"GET /login/unlock": {"public"}, "POST /login/unlock": {"public"}, // a mailed link (lockout.go)
	"GET /brand/:file": {"public"}, "GET /favicon.ico": {"public"},
	"GET /invite": {"public"}, "POST /invite": {"public"},
	"GET /password/change": everyone, "POST /password/change": everyone,

	"GET /reseller":                                everyStaff,
	"GET /reseller/activity":                       ownerAdmin,
	"GET /reseller/api-keys":                       ownerAdmin,
	"POST /reseller/api-keys":                      ownerAdmin,
	"POST /reseller/api-keys/:id<int>/revoke":      ownerAdmin,
	"GET /reseller/clients":                        everyStaff,
	"GET /reseller/clients/new":                    {"staff:owner", "staff:admin", "staff:support"},
	"POST /reseller/clients":                       {"staff:owner", "staff:admin", "staff:support"},
	"GET /reseller/clients/:id<int>":               everyStaff,
	"GET /reseller/clients/:id<int>/movements.csv": everyStaff,
	"GET /reseller/clients/:id<int>/edit":          {"staff:owner", "staff:admin", "staff:support"},
	"POST /reseller/clients/:id<int>":              {"staff:owner", "staff:admin", "staff:support"},
	"POST /reseller/clients/:id<int>/status":       {"staff:owner", "staff:admin", "staff:support"},
	"GET /reseller/clients/:id<int>/recharge":      {"staff:owner", "staff:admin", "staff:billing"},
	"POST /reseller/clients/:id<int>/recharge":     {"staff:owner", "staff:admin", "staff:billing"},
	"GET /reseller/staff":                          ownerAdmin,
	"POST /reseller/staff":                         ownerAdmin,
	"POST /reseller/staff/:id<int>":                ownerAdmin,
	"GET /reseller/branding":                       ownerAdmin,
	"POST /reseller/branding":                      ownerAdmin,
	"GET /reseller/domains":                        ownerAdmin,
	"POST /reseller/domains":                       ownerAdmin,
	"POST /reseller/domains/:host/verify":          ownerAdmin,
	"POST /reseller/domains/:host/remove":          ownerAdmin,
	"GET /reseller/rates":                          ratesViewers,
	"GET /reseller/rates.csv":                      ratesViewers,
	"POST /reseller/rates":                         ownerAdmin,
	"POST /reseller/clients/:id<int>/premium":      ownerAdmin,

	// Reseller billing pages: invoices, seller and tax, client subscriptions (billing_*_pages.go)
	"GET /reseller/billing/invoices":                         {"staff:owner", "staff:admin", "staff:billing"},
	"POST /reseller/billing/invoices/run":                    {"staff:owner", "staff:admin", "staff:billing"},
	"GET /reseller/billing/invoices/:id<int>":                {"staff:owner", "staff:admin", "staff:billing"},
	"GET /reseller/billing/invoices/:id<int>/pdf":            {"staff:owner", "staff:admin", "staff:billing"},
	"POST /reseller/billing/invoices/:id<int>/void":          {"staff:owner", "staff:admin", "staff:billing"},
	"POST /reseller/billing/invoices/:id<int>/paid":          {"staff:owner", "staff:admin", "staff:billing"},
	"POST /reseller/billing/invoices/:id<int>/uncollectible": {"staff:owner", "staff:admin", "staff:billing"},
	"GET /reseller/billing/seller":                           {"staff:owner", "staff:admin", "staff:billing"},
	"POST /reseller/billing/seller":                          {"staff:owner", "staff:admin", "staff:billing"},
	"GET /reseller/clients/:id<int>/subscription":            {"staff:owner", "staff:admin", "staff:billing"},
	"POST /reseller/clients/:id<int>/subscription":           {"staff:owner", "staff:admin", "staff:billing"},
	// Billing area (owner, admin, billing): the number inventory.
	"GET /reseller/billing/numbers":                  ratesViewers,
	"POST /reseller/billing/numbers":                 ratesViewers,
	"POST /reseller/billing/numbers/import":          ratesViewers,
	"GET /reseller/billing/numbers/:number":          ratesViewers,
	"POST /reseller/billing/numbers/:number":         ratesViewers,
	"POST /reseller/billing/numbers/:number/assign":  ratesViewers,
	"POST /reseller/billing/numbers/:number/release": ratesViewers,
	"POST /reseller/billing/numbers/:number/delete":  ratesViewers,
	// The billing catalogue (billing_catalog_pages.go)
	"GET /reseller/billing":                    billingStaff,
	"GET /reseller/billing/plans":              billingStaff,
	"POST /reseller/billing/plans":             billingStaff,
	"GET /reseller/billing/plans/:id<int>":     billingStaff,
	"POST /reseller/billing/plans/:id<int>":    billingStaff,
	"GET /reseller/billing/packages":           billingStaff,
	"POST /reseller/billing/packages":          billingStaff,
	"GET /reseller/billing/packages/:id<int>":  billingStaff,
	"POST /reseller/billing/packages/:id<int>": billingStaff,
	"GET /reseller/billing/add-ons":            billingStaff,
	"POST /reseller/billing/add-ons":           billingStaff,
	"GET /reseller/billing/add-ons/:id<int>":   billingStaff,
	"POST /reseller/billing/add-ons/:id<int>":  billingStaff,

	"GET /dashboard":                                 operations,
	"GET /calls":                                     callsViewers,
	"GET /calls.csv":                                 callsViewers,
	"POST /calls/block":                              clientOwnAdm, // blocked callers: owner/admin (settings edit)
	"POST /settings/qualified-calls":                 operations,   // usage edit
	"POST /settings/blocked-callers":                 clientOwnAdm,
	"POST /settings/blocked-callers/unblock":         clientOwnAdm,
	"GET /settings":                                  everyClient,
	"POST /settings/password":                        everyClient,
	"POST /settings/sessions/revoke-others":          everyClient,
	"POST /settings/sessions/:id":                    everyClient,
	"POST /settings/team":                            clientOwnAdm,
	"POST /settings/team/transfer":                   {"client:owner"},
	"POST /settings/team/:id<int>":                   clientOwnAdm,
	"POST /settings/team/:id<int>/delete":            clientOwnAdm,
	"POST /settings/team/:id<int>/invitation":        clientOwnAdm,
	"POST /settings/team/:id<int>/invitation/revoke": clientOwnAdm,
	"POST /settings/profiles":                        clientOwnAdm,
	"POST /settings/profiles/:id<int>":               clientOwnAdm,
	"POST /settings/profiles/:id<int>/delete":        clientOwnAdm,
	"POST /settings/api-keys":                        clientOwnAdm,
	"POST /settings/api-keys/:id<int>/revoke":        clientOwnAdm,
	"GET /settings/activity.csv":                     clientOwnAdm,

	// The Billing tab's pages and forms (settings_billing.go): the billing
	// module, owners and admins only. A manager or user whose profile says
	// billing = edit is still refused (settings_billing_test.go): a profile
	// never widens a role.
	"GET /settings/billing/change":                clientOwnAdm,
	"POST /settings/billing/subscription":         clientOwnAdm,
	"POST /settings/billing/details":              clientOwnAdm,
	"GET /settings/billing/invoices":              clientOwnAdm,
	"GET /settings/billing/invoices/:id<int>":     clientOwnAdm,
	"GET /settings/billing/invoices/:id<int>/pdf": clientOwnAdm,
	"GET /settings/billing/transactions":          clientOwnAdm,
	"GET /settings/billing/transactions.csv":      clientOwnAdm,
	"GET /settings/billing/movements.csv":         clientOwnAdm,

	// Profile tab (settings_profile.go)
	"POST /settings/profile":       everyClient,
	"POST /settings/avatar":        everyClient,
	"POST /settings/avatar/remove": everyClient,
	"POST /settings/email":         everyClient,
	"GET /avatars/:file":           append(append([]string{}, everyStaff...), everyClient...),
	"GET /email/confirm":           {"public"},
	"POST /email/confirm":          {"public"},

	// Two-factor sign-in (twofactor.go, twofactor_settings.go)
	"GET /login/code":                     {"public"},
	"POST /login/code":                    {"public"},
	"GET /login/enrol":                    {"public"},
	"POST /login/enrol":                   {"public"},
	"POST /settings/2fa/enrol":            everyClient,
	"POST /settings/2fa/cancel":           everyClient,
	"POST /settings/2fa/confirm":          everyClient,
	"POST /settings/2fa/disable":          everyClient,
	"GET /reseller/security":              everyStaff,
	"POST /reseller/security/2fa/enrol":   everyStaff,
	"POST /reseller/security/2fa/cancel":  everyStaff,
	"POST /reseller/security/2fa/confirm": everyStaff,
	"POST /reseller/security/2fa/disable": everyStaff,
	"POST /reseller/security/require-2fa": ownerAdmin,
}

// tabRules says who may open each tab of /settings (settings.go's
// settingsTabs); a tab without a rule fails TestPermissionMatrix.
var tabRules = map[string][]string{
	"profile":     everyClient,
	"security":    everyClient,
	"team":        clientOwnAdm,
	"permissions": clientOwnAdm,
	"api-keys":    clientOwnAdm,
	"activity":    clientOwnAdm,
	"billing":     clientOwnAdm, // invoices, transactions, payment data: never managers or users
	// usage module: who may see usage sees the threshold
	"qualified-calls": operations,
	"blocked-callers": clientOwnAdm,
}

// TestPermissionMatrix signs in one visitor of every staff and client
// role and requests every page route: each is admitted exactly as the
// table says (403 otherwise, sign-in for visitors without a session), and
// every unsafe route refuses the visitors the table does not list, before
// doing anything. The API has its own scenario tables (api_test.go).
func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cleo := ts.cleo()
	visitors := map[string]*browser{"anon": ts.browser()}
	for _, role := range []string{store.RoleAdmin, store.RoleBilling} {
		ts.addStaff(role+"@acme.example", role)
	}
	for _, role := range []string{store.RoleAdmin, store.RoleManager, store.RoleUser, store.RolePublisher} {
		ts.addClientUser(role+"@cleo.example", role)
	}
	ts.addProfiledUser("restricted@cleo.example", store.RoleManager, "Calls viewers", map[string]string{"calls": "view"})
	logins := map[string][2]string{
		"staff:owner": {"owner@acme.example", "/reseller"}, "staff:admin": {"admin@acme.example", "/reseller"},
		"staff:billing": {"billing@acme.example", "/reseller"}, "staff:support": {"support@acme.example", "/reseller"},
		"client:owner": {"client@acme.example", "/dashboard"},
		// no dashboard: they land on the first menu entry they may open
		"client:publisher": {"publisher@cleo.example", "/settings"}, "client:restricted": {"restricted@cleo.example", "/calls"},
	}
	for _, role := range []string{"admin", "manager", "user"} {
		logins["client:"+role] = [2]string{role + "@cleo.example", "/dashboard"}
	}
	for who, l := range logins {
		b := ts.browser()
		b.login(acmeHost, l[0], l[1])
		visitors[who] = b
	}

	var missing []string
	for _, r := range ts.app.Fiber().GetRoutes(true) {
		if strings.HasPrefix(r.Path, "/api/") || r.Method == http.MethodHead {
			continue
		}
		key := r.Method + " " + strings.TrimSuffix(r.Path, "/")
		if r.Path == "/" {
			key = r.Method + " /"
		}
		if _, ok := routeRules[key]; !ok {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("routes without a rule in routeRules:\n  %s", strings.Join(missing, "\n  "))
	}

	var missingTabs []string
	for _, tab := range settingsTabs {
		if _, ok := tabRules[tab.Key]; !ok {
			missingTabs = append(missingTabs, tab.Key)
		}
	}
	if len(missingTabs) > 0 {
		t.Fatalf("settings tabs without a rule in tabRules: %v", missingTabs)
	}
	for tab, allowed := range tabRules {
		for who, b := range visitors {
			if who == "anon" {
				continue
			}
			r := b.get(acmeHost, "/settings?tab="+tab)
			admitted := contains(allowed, who)
			if admitted != (r.status == http.StatusOK) || !admitted && r.status != http.StatusForbidden {
				t.Errorf("tab %s as %s: %d, admitted %v", tab, who, r.status, admitted)
			}
			if strings.HasPrefix(who, "client:") {
				// the tab bar shows exactly the tabs the visitor may open
				home := b.get(acmeHost, "/settings")
				if shown := strings.Contains(home.body, `href="/settings?tab=`+tab+`"`); shown != admitted {
					t.Errorf("tab bar of %s shows %s: %v, want %v", who, tab, shown, admitted)
				}
				// and the menu links the dashboard only for those it admits
				if shown, want := strings.Contains(home.body, `href="/dashboard"`), contains(routeRules["GET /dashboard"], who); shown != want {
					t.Errorf("menu of %s links the dashboard: %v, want %v", who, shown, want)
				}
				if shown, want := strings.Contains(home.body, `href="/calls"`), contains(routeRules["GET /calls"], who); shown != want {
					t.Errorf("menu of %s links the call log: %v, want %v", who, shown, want)
				}
			}
		}
	}

	concrete := strings.NewReplacer(":id<int>", strconv.FormatUint(cleo.ID, 10), ":host", "portal.acme.example", ":id", "0")
	for route, allowed := range routeRules {
		method, pattern, _ := strings.Cut(route, " ")
		if allowed[0] == "public" || strings.HasPrefix(pattern, "/static") {
			continue
		}
		path := concrete.Replace(pattern)
		if pattern == "/reseller/staff/:id<int>" {
			path = "/reseller/staff/999999" // never a real user: an admitted request is a 404, not a change
		}
		for who, b := range visitors {
			admitted := who != "anon" && contains(allowed, who)
			var r response
			if method == http.MethodGet {
				r = b.get(acmeHost, path)
			} else {
				if admitted {
					continue // admitted writes are exercised by each feature's own tests
				}
				form := url.Values{}
				if who != "anon" {
					form.Set("_csrf", b.csrf(acmeHost, homeOf(who)))
				}
				r = b.do(method, acmeHost, path, form, nil)
			}
			switch {
			case who == "anon" && (r.status == http.StatusSeeOther || r.status == http.StatusUnauthorized || r.status == http.StatusForbidden):
			case who == "anon":
				t.Errorf("%s as a visitor: %d, want sign-in", route, r.status)
			case admitted && (r.status == http.StatusForbidden || r.status == http.StatusSeeOther && strings.HasPrefix(r.header.Get("Location"), "/login")):
				t.Errorf("%s as %s: %d, want admitted", route, who, r.status)
			case !admitted && r.status != http.StatusForbidden:
				t.Errorf("%s as %s: %d, want 403", route, who, r.status)
			}
		}
	}
}

func homeOf(who string) string {
	if strings.HasPrefix(who, "staff:") {
		return "/reseller"
	}
	return "/settings" // every client user may open it
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
