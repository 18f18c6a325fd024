package app

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portico/app/auth"
	"portico/app/tenancy"
	"portico/store"
)

// newKeyShown finds the key that the create reply shows once.
var newKeyShown = regexp.MustCompile(`<div class="secret" id="new-key">(pk_[a-z2-9]{8}_[A-Za-z0-9_-]{43})</div>`)

// keysTab is the API keys tab's URL.
const keysTab = "/settings?tab=api-keys"

// keysTabUser creates a user of an existing client with testPassword.
func keysTabUser(t *testing.T, ts *testServer, slug string, clientID uint64, email, role string) {
	t.Helper()
	hash, _ := auth.HashPassword(testPassword)
	err := ts.store.Update(func(tx *store.Tx) error {
		return tx.CreateUser(&store.User{ResellerID: ts.ids[slug], ClientID: clientID, Email: email, Name: role + " user", Role: role, PasswordHash: hash})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// keysTabClient creates a client of the reseller whose owner signs in
// with email and testPassword.
func keysTabClient(t *testing.T, ts *testServer, slug, username, email string) *store.Client {
	t.Helper()
	hash, _ := auth.HashPassword(testPassword)
	cl := &store.Client{ResellerID: ts.ids[slug], Username: username, FirstName: "Test", LastName: username, Email: email, Country: "US"}
	err := ts.store.Update(func(tx *store.Tx) error {
		return tx.CreateClient(cl, &store.User{Email: email, Name: username, PasswordHash: hash}, "seed")
	})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// createKeyInTab posts the create form and returns the reply and the key
// it shows ("" when none).
func createKeyInTab(t *testing.T, b *browser, host, name string) (response, string) {
	t.Helper()
	form := keysForm(t, b, host)
	form.Set("name", name)
	r := b.do(http.MethodPost, host, "/settings/api-keys", form, nil)
	if m := newKeyShown.FindStringSubmatch(r.body); m != nil {
		return r, m[1]
	}
	return r, ""
}

var formTokenPattern = regexp.MustCompile(`name="form_token" value="([^"]+)"`)

// keysForm loads the API keys tab and returns its create form's hidden
// fields: the CSRF and one-time form tokens. At the key limit the tab
// has no create form; the token is then that of a form loaded earlier.
func keysForm(t *testing.T, b *browser, host string) url.Values {
	t.Helper()
	page := b.get(host, keysTab)
	csrf := csrfPattern.FindStringSubmatch(page.body)
	if csrf == nil {
		t.Fatalf("no form on the API keys tab (status %d)", page.status)
	}
	token, _ := auth.NewToken()
	if m := formTokenPattern.FindStringSubmatch(page.body); m != nil {
		token = m[1]
	}
	return url.Values{"_csrf": {csrf[1]}, "form_token": {token}}
}

// storedKey is the key whose SHA-256 is that of key.
func storedKey(t *testing.T, ts *testServer, key string) *store.APIKey {
	t.Helper()
	var k *store.APIKey
	if err := ts.store.View(func(tx *store.Tx) (err error) { k, err = tx.APIKeyByHash(auth.HashToken(key)); return err }); err != nil {
		t.Fatal(err)
	}
	return k
}

func revokePath(id uint64) string {
	return "/settings/api-keys/" + strconv.FormatUint(id, 10) + "/revoke"
}

// clientKeyEvents is acme's api_key.* audit events, oldest first.
func clientKeyEvents(t *testing.T, ts *testServer, slug string) []*store.AuditEvent {
	t.Helper()
	var out []*store.AuditEvent
	ts.store.View(func(tx *store.Tx) error {
		events, _, err := tx.AuditEvents(ts.ids[slug], 0, 1000)
		for i := len(events) - 1; i >= 0; i-- {
			if strings.HasPrefix(events[i].Action, "api_key.") {
				out = append(out, events[i])
			}
		}
		return err
	})
	return out
}

// TestAPIKeysTabAccess: only a client's owner and admins use the tab;
// other roles get 403 on its URL and its forms, staff and strangers too.
func TestAPIKeysTabAccess(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cleo := ts.cleo()
	who := map[string]*browser{"anon": ts.browser()}
	for _, role := range []string{store.RoleAdmin, store.RoleManager, store.RoleUser, store.RolePublisher} {
		keysTabUser(t, ts, "acme", cleo.ID, role+"@cleo.example", role)
		who[role] = ts.browser()
		home := "/dashboard"
		if role == store.RolePublisher {
			home = "/settings" // a publisher has no dashboard
		}
		who[role].login(acmeHost, role+"@cleo.example", home)
	}
	who["owner"] = ts.browser()
	who["owner"].login(acmeHost, "client@acme.example", "/dashboard")
	who["staff"] = ts.browser()
	who["staff"].login(acmeHost, "owner@acme.example", "/reseller")
	_, key := createKeyInTab(t, who["owner"], acmeHost, "Office PBX")
	if key == "" {
		t.Fatal("the owner could not create a key")
	}
	id := storedKey(t, ts, key).ID

	for name, b := range who {
		status := map[string]int{"owner": 200, "admin": 200, "anon": 303}[name]
		if status == 0 {
			status = http.StatusForbidden
		}
		r := b.get(acmeHost, keysTab)
		if r.status != status {
			t.Errorf("%s GET %s: %d, want %d", name, keysTab, r.status, status)
		}
		if status == 200 && (!strings.Contains(r.body, "Office PBX") || !strings.Contains(r.body, `href="/settings?tab=api-keys" aria-current="page"`)) {
			t.Errorf("%s: the tab lacks the key or its tab link:\n%s", name, r.body)
		}
		if status != http.StatusForbidden || name == "staff" {
			continue
		}
		// the forms are refused too; the token comes from a page the user may see
		form := url.Values{"name": {"sneaky"}, "_csrf": {b.csrf(acmeHost, "/settings")}}
		if r := b.do(http.MethodPost, acmeHost, "/settings/api-keys", form, nil); r.status != http.StatusForbidden || newKeyShown.MatchString(r.body) {
			t.Errorf("%s creates a key: %d", name, r.status)
		}
		if r := b.do(http.MethodPost, acmeHost, revokePath(id), form, nil); r.status != http.StatusForbidden {
			t.Errorf("%s revokes a key: %d", name, r.status)
		}
	}
	// the tab bar of the roles that may not use the tab does not offer it
	if r := who["manager"].get(acmeHost, "/settings"); r.status == http.StatusOK && strings.Contains(r.body, keysTab) {
		t.Errorf("the manager's settings offer the API keys tab")
	}
	if keys, _ := ts.app.clients.Keys(ts.ids["acme"], cleo.ID); len(keys) != 1 || !keys[0].RevokedAt.IsZero() {
		t.Errorf("refused posts changed the keys: %+v", keys)
	}
	// no CSRF token, no key
	if r := who["owner"].do(http.MethodPost, acmeHost, "/settings/api-keys", url.Values{"name": {"forged"}}, nil); r.status != http.StatusForbidden {
		t.Errorf("create without CSRF token: %d", r.status)
	}
	if r := who["owner"].do(http.MethodPost, acmeHost, revokePath(id), url.Values{"_csrf": {"AAAA"}}, nil); r.status != http.StatusForbidden {
		t.Errorf("revoke with a forged CSRF token: %d", r.status)
	}
	if keys, _ := ts.app.clients.Keys(ts.ids["acme"], cleo.ID); len(keys) != 1 || !keys[0].RevokedAt.IsZero() {
		t.Errorf("posts without a token changed the keys: %+v", keys)
	}
}

// TestAPIKeysTabLifecycle: a key is shown once, in the create reply only,
// works on the API, is listed with its use, and after revocation is 401.
func TestAPIKeysTabLifecycle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	at := ts.api(t)
	owner := ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")
	if r := owner.get(acmeHost, keysTab); r.status != http.StatusOK || !strings.Contains(r.body, "No API keys yet") || !strings.Contains(r.body, `name="_csrf"`) {
		t.Fatalf("empty tab: %d\n%s", r.status, r.body)
	}

	r, key := createKeyInTab(t, owner, acmeHost, "  Office <PBX> ")
	if r.status != http.StatusOK || key == "" {
		t.Fatalf("create: %d\n%s", r.status, r.body)
	}
	if strings.Count(r.body, key) != 1 || !strings.Contains(r.body, "will not be shown again") || !strings.Contains(r.body, `data-copy="new-key"`) ||
		!strings.Contains(r.body, "/static/js/copy.js?v=") || !strings.Contains(r.body, "Office &lt;PBX&gt;") {
		t.Errorf("the reply does not show the key once with its warning and copy button:\n%s", r.body)
	}
	if r.header.Get("Location") != "" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("location %q, cache-control %q", r.header.Get("Location"), r.header.Get("Cache-Control"))
	}
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.Contains(c, key) || strings.Contains(c, key[12:]) {
			t.Errorf("the key is in a cookie: %s", c)
		}
	}
	stored := storedKey(t, ts, key)
	secret := key[len(stored.Prefix)+1:]
	if stored.Name != "Office <PBX>" || stored.CreatedBy != "client@acme.example" || stored.ClientID != ts.cleo().ID ||
		!strings.HasPrefix(key, stored.Prefix+"_") || bytes.Contains(stored.Hash, []byte(secret)) || strings.Contains(fmt.Sprint(*stored), secret) {
		t.Errorf("stored %+v", stored)
	}

	// the key works on the real API, for cleo
	ts.clock.Advance(90 * time.Minute)
	reply := at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/account", key: key}, http.StatusOK)
	if decodeReply[apiAccount](t, reply).Username != "cleo" {
		t.Errorf("the key acts for %s", reply.body)
	}
	at.expect(apiRequest{method: "GET", host: globexHost, path: "/api/v1/account", key: key}, http.StatusUnauthorized)

	// later views list it, never show it, and show the use noted in memory
	page := owner.get(acmeHost, keysTab)
	for _, want := range []string{"Office &lt;PBX&gt;", stored.Prefix + "_…", "client@acme.example", "2 Nov 2026", "2 Nov 2026, 11:30 UTC", "status-active", "1 of 10 active"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the tab lacks %q", want)
		}
	}
	if strings.Contains(page.body, secret) || newKeyShown.MatchString(page.body) {
		t.Fatalf("a later view shows the key")
	}
	ts.app.writeTouches() // once written, the stored time is shown
	if page := owner.get(acmeHost, keysTab); !strings.Contains(page.body, "2 Nov 2026, 11:30 UTC") {
		t.Errorf("the stored last use is not shown")
	}

	// revoke: the next request with the key is 401
	r = owner.post(acmeHost, keysTab, revokePath(stored.ID), url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != keysTab {
		t.Fatalf("revoke: %d %q", r.status, r.header.Get("Location"))
	}
	reply = at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/account", key: key}, http.StatusUnauthorized)
	checkProblem(t, reply)
	page = owner.get(acmeHost, keysTab)
	if !strings.Contains(page.body, "is revoked") || !strings.Contains(page.body, "status-revoked") || !strings.Contains(page.body, "0 of 10 active") ||
		strings.Contains(page.body, revokePath(stored.ID)) {
		t.Errorf("the tab after revoking:\n%s", page.body)
	}
	// revoking again changes nothing and records nothing
	r = owner.post(acmeHost, keysTab, revokePath(stored.ID), url.Values{})
	if r.status != http.StatusSeeOther {
		t.Errorf("second revoke: %d", r.status)
	}
	if page := owner.get(acmeHost, keysTab); !strings.Contains(page.body, "was already revoked") {
		t.Errorf("second revoke not explained")
	}
	events := clientKeyEvents(t, ts, "acme")
	if len(events) != 2 || events[0].Action != "api_key.create" || events[1].Action != "api_key.revoke" {
		t.Fatalf("audit %+v", events)
	}
	for _, e := range events {
		if e.Actor != "client@acme.example" || e.IP != "127.0.0.1" || e.ClientID != stored.ClientID ||
			!strings.Contains(e.Target, stored.Prefix) || strings.Contains(e.Target, secret) {
			t.Errorf("audit event %+v", e)
		}
	}
}

// TestAPIKeysTabLimitAndValidation: the name is required and at most 100
// characters; the eleventh active key is refused with a clear message
// until one is revoked. An admin manages the same keys as the owner.
func TestAPIKeysTabLimitAndValidation(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cleo := ts.cleo()
	keysTabUser(t, ts, "acme", cleo.ID, "admin@cleo.example", store.RoleAdmin)
	owner, admin := ts.browser(), ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")
	admin.login(acmeHost, "admin@cleo.example", "/dashboard")

	for name, want := range map[string]string{"": "Enter a name", "   ": "Enter a name", strings.Repeat("x", 101): "at most 100"} {
		r, key := createKeyInTab(t, owner, acmeHost, name)
		if r.status != http.StatusUnprocessableEntity || key != "" || !strings.Contains(r.body, want) || !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Errorf("name %q: %d\n%s", name, r.status, r.body)
		}
	}
	var first string
	for i := range store.MaxActiveAPIKeys {
		b := owner
		if i%2 == 1 {
			b = admin
		}
		name := fmt.Sprintf("pbx %d", i)
		if i == 0 {
			name = strings.Repeat("é", 100)
		}
		r, key := createKeyInTab(t, b, acmeHost, name)
		if r.status != http.StatusOK || key == "" {
			t.Fatalf("key %d: %d\n%s", i+1, r.status, r.body)
		}
		if i == 0 {
			first = key
		}
	}
	r, key := createKeyInTab(t, admin, acmeHost, "eleventh")
	if r.status != http.StatusConflict || key != "" || !strings.Contains(r.body, "You already have 10 active API keys, the most allowed") ||
		!strings.Contains(r.body, "Revoke a key you no longer use") {
		t.Fatalf("11th key: %d\n%s", r.status, r.body)
	}
	page := owner.get(acmeHost, keysTab)
	if !strings.Contains(page.body, "10 of 10 active") || strings.Contains(page.body, `action="/settings/api-keys" `) {
		t.Errorf("at the limit the tab still offers the create form:\n%s", page.body)
	}
	if keys, _ := ts.app.clients.Keys(ts.ids["acme"], cleo.ID); len(keys) != store.MaxActiveAPIKeys {
		t.Fatalf("%d keys stored", len(keys))
	}
	// the admin revokes the owner's key; a place is free again
	if r := admin.post(acmeHost, keysTab, revokePath(storedKey(t, ts, first).ID), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("admin revokes: %d", r.status)
	}
	if r, key := createKeyInTab(t, admin, acmeHost, "eleventh"); r.status != http.StatusOK || key == "" {
		t.Fatalf("key after a revocation: %d", r.status)
	}
	if r, _ := createKeyInTab(t, owner, acmeHost, "twelfth"); r.status != http.StatusConflict {
		t.Fatalf("past the limit again: %d", r.status)
	}
	var creates int
	for _, e := range clientKeyEvents(t, ts, "acme") {
		if e.Action == "api_key.create" {
			creates++
		}
	}
	if creates != store.MaxActiveAPIKeys+1 {
		t.Errorf("%d create events, want %d", creates, store.MaxActiveAPIKeys+1)
	}
}

// TestAPIKeysTabTenancy: over two resellers, each client sees and revokes
// its own keys only; another client's or reseller's key id is 404.
func TestAPIKeysTabTenancy(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	at := ts.api(t)
	keysTabClient(t, ts, "acme", "dora", "dora@acme.example")
	keysTabClient(t, ts, "globex", "gus", "gus@globex.example")
	cleo, dora, gus := ts.browser(), ts.browser(), ts.browser()
	cleo.login(acmeHost, "client@acme.example", "/dashboard")
	dora.login(acmeHost, "dora@acme.example", "/dashboard")
	gus.login(globexHost, "gus@globex.example", "/dashboard")
	keys := map[string]string{}
	for name, b := range map[string]*browser{"cleo": cleo, "dora": dora, "gus": gus} {
		host := acmeHost
		if name == "gus" {
			host = globexHost
		}
		r, key := createKeyInTab(t, b, host, name+"'s pbx")
		if r.status != http.StatusOK || key == "" {
			t.Fatalf("%s creates: %d\n%s", name, r.status, r.body)
		}
		keys[name] = key
		if reply := at.expect(apiRequest{method: "GET", host: host, path: "/api/v1/account", key: key}, http.StatusOK); decodeReply[apiAccount](t, reply).Username != name {
			t.Errorf("%s's key acts for %s", name, reply.body)
		}
	}
	ids := map[string]uint64{}
	for name, key := range keys {
		ids[name] = storedKey(t, ts, key).ID
	}
	cases := []struct {
		who     string
		b       *browser
		host    string
		victim  string
		revoked uint64
	}{
		{"cleo revokes dora's key", cleo, acmeHost, "dora", ids["dora"]},
		{"dora revokes cleo's key", dora, acmeHost, "cleo", ids["cleo"]},
		{"cleo revokes gus's key", cleo, acmeHost, "gus", ids["gus"]},
		{"gus revokes cleo's key", gus, globexHost, "cleo", ids["cleo"]},
		{"gus revokes a key that does not exist", gus, globexHost, "", 9999},
	}
	for _, tc := range cases {
		r := tc.b.post(tc.host, keysTab, revokePath(tc.revoked), url.Values{})
		if r.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", tc.who, r.status)
		}
	}
	for name, key := range keys {
		host := acmeHost
		if name == "gus" {
			host = globexHost
		}
		at.expect(apiRequest{method: "GET", host: host, path: "/api/v1/account", key: key}, http.StatusOK)
	}
	// each tab lists its own client's keys only
	for name, view := range map[string]response{"cleo": cleo.get(acmeHost, keysTab), "dora": dora.get(acmeHost, keysTab), "gus": gus.get(globexHost, keysTab)} {
		for other := range keys {
			if strings.Contains(view.body, other+"&#39;s pbx") != (other == name) {
				t.Errorf("%s's tab and %s's key", name, other)
			}
		}
	}
	// an acme session replayed on globex's host is signed out
	if r := cleo.get(globexHost, keysTab); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Errorf("acme session on globex: %d %q", r.status, r.header.Get("Location"))
	}
	if len(clientKeyEvents(t, ts, "acme")) != 2 || len(clientKeyEvents(t, ts, "globex")) != 1 {
		t.Errorf("audit: acme %v, globex %v", clientKeyEvents(t, ts, "acme"), clientKeyEvents(t, ts, "globex"))
	}
	// the reseller key endpoint shares the rules: dora holds one key, nine more fit, not ten
	resellerKey, err := tenancy.CreateResellerAPIKey(ts.store, "acme", "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	for i := range store.MaxActiveAPIKeys - 1 {
		at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/dora/api-keys", key: resellerKey, body: fmt.Sprintf(`{"name":"k%d"}`, i)}, http.StatusCreated)
	}
	r, _ := createKeyInTab(t, dora, acmeHost, "one more")
	if r.status != http.StatusConflict {
		t.Errorf("tab after API keys filled the allowance: %d", r.status)
	}
	dora.post(acmeHost, keysTab, revokePath(ids["dora"]), url.Values{})
	at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/account", key: keys["dora"]}, http.StatusUnauthorized)
	at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/dora/api-keys", key: resellerKey, body: `{"name":"after revoke"}`}, http.StatusCreated)
	checkProblem(t, at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/dora/api-keys", key: resellerKey, body: `{"name":"over"}`}, http.StatusConflict))
}

// TestBrowserAPIKeysTab: in a real browser under the CSP, the owner
// creates a key, copy.js shows the copy button and copies (or selects)
// the key, and the key is revoked through its confirmation.
func TestBrowserAPIKeysTab(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := newChrome(t)

	chromeSignIn(t, ctx, ts, acmeHost, "client@acme.example", "/dashboard")
	chromeRun(t, ctx, "open the tab", chromedp.NavigateResponse(ts.url(acmeHost, keysTab)))
	chromeDo(t, ctx, "name the key", chromedp.SendKeys(chromedp.ID("f-name"), "Office PBX"))
	if u, status := chromeSubmit(t, ctx, "create the key", `form[action="/settings/api-keys"] button[type=submit]`); u.Path != "/settings/api-keys" || status != http.StatusOK {
		t.Fatalf("after create: %s %d", u, status)
	}
	key := chromeText(t, ctx, "#new-key")
	if !apiKeyPattern.MatchString(key) {
		t.Fatalf("shown key %q", key)
	}
	chromeDo(t, ctx, "copy", chromedp.WaitVisible(chromedp.CSS(`button[data-copy="new-key"]`)), chromedp.Click(chromedp.CSS(`button[data-copy="new-key"]`)))
	if got := chromeText(t, ctx, "#new-key-status"); got == "" {
		t.Errorf("no word after copying")
	}
	if got := chromeRun(t, ctx, "clipboard or selection", chromedp.Evaluate[string](`window.getSelection().toString() || "clipboard"`)); got != key && got != "clipboard" {
		t.Errorf("selected %q, want the key", got)
	}

	// revoking asks first, in a dialog that says what happens
	chromeDo(t, ctx, "open the revoke confirmation", chromedp.Click(chromedp.CSS(`.row-actions button[popovertarget]`)))
	if got := chromeText(t, ctx, "dialog.confirm"); !strings.Contains(got, "Revoke “Office PBX”?") || !strings.Contains(got, "refused from its next request, for good") {
		t.Errorf("revoke confirmation = %q", got)
	}
	if u, status := chromeSubmit(t, ctx, "revoke", `dialog.confirm button[type=submit]`); u.RequestURI() != keysTab || status != http.StatusOK {
		t.Fatalf("after revoke: %s %d", u, status)
	}
	if got := chromeText(t, ctx, ".flash"); !strings.Contains(got, "is revoked") {
		t.Errorf("flash = %q", got)
	}
	if got := chromeText(t, ctx, ".status-revoked"); got != "revoked" {
		t.Errorf("status = %q", got)
	}
}

// TestAPIKeysTabResubmitCreatesNothing: reloading the reply that shows a
// new key sends the same form again; it creates no second key and says
// which key the form made. A fresh form creates one; a form without its
// one-time token is refused.
func TestAPIKeysTabResubmitCreatesNothing(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "client@acme.example", "/dashboard")
	form := keysForm(t, b, acmeHost)
	form.Set("name", "Office PBX")
	first := b.do(http.MethodPost, acmeHost, "/settings/api-keys", form, nil)
	if first.status != http.StatusOK || !newKeyShown.MatchString(first.body) {
		t.Fatalf("first submission: %d", first.status)
	}
	prefix := storedKey(t, ts, newKeyShown.FindStringSubmatch(first.body)[1]).Prefix
	for _, name := range []string{"Office PBX", "changed name"} { // a reload, then the back button with an edit
		form.Set("name", name)
		again := b.do(http.MethodPost, acmeHost, "/settings/api-keys", form, nil)
		if again.status != http.StatusConflict || newKeyShown.MatchString(again.body) ||
			!strings.Contains(again.body, "This form was sent already: it created the key “Office PBX” ("+prefix+"_…)") ||
			!strings.Contains(again.body, "no new key was created") {
			t.Fatalf("resubmission with %q: %d\n%s", name, again.status, again.body)
		}
	}
	if keys, _ := ts.app.clients.Keys(ts.ids["acme"], ts.cleo().ID); len(keys) != 1 {
		t.Fatalf("%d keys after resubmitting, want 1", len(keys))
	}
	if r, key := createKeyInTab(t, b, acmeHost, "Second"); r.status != http.StatusOK || key == "" {
		t.Fatalf("a fresh form: %d", r.status)
	}
	missing := url.Values{"_csrf": {b.csrf(acmeHost, keysTab)}, "name": {"no token"}}
	if r := b.do(http.MethodPost, acmeHost, "/settings/api-keys", missing, nil); r.status != http.StatusBadRequest {
		t.Errorf("form without its token: %d", r.status)
	}
	if keys, _ := ts.app.clients.Keys(ts.ids["acme"], ts.cleo().ID); len(keys) != 2 {
		t.Fatalf("%d keys, want 2", len(keys))
	}
}
