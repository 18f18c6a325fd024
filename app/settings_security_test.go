package app

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"portico/app/account"
	"portico/app/auth"
	"portico/store"
)

// User agents the security tests sign in with, to tell sessions apart.
const (
	uaFirefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaChromeIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
	uaSafariMac    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
	newPassword    = "N3w-Passw0rd!z"
)

// loginAgent signs in with password from a browser that says it is ua and
// fails the test unless it lands on want.
func (b *browser) loginAgent(host, email, password, ua, want string) {
	b.t.Helper()
	form := url.Values{"_csrf": {b.csrf(host, "/login")}, "email": {email}, "password": {password}}
	r := b.do(http.MethodPost, host, "/login", form, map[string]string{"User-Agent": ua})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
		b.t.Fatalf("login %s as %q: %d %q, want %q\n%s", email, ua, r.status, r.header.Get("Location"), want, r.body)
	}
}

// signedIn reports whether the browser's session still opens /settings.
func (b *browser) signedIn(host, path string) bool {
	b.t.Helper()
	r := b.get(host, path)
	switch r.status {
	case http.StatusOK:
		return true
	case http.StatusSeeOther:
		if !strings.HasPrefix(r.header.Get("Location"), "/login") {
			b.t.Fatalf("%s: redirected to %q", path, r.header.Get("Location"))
		}
		return false
	}
	b.t.Fatalf("%s: status %d", path, r.status)
	return false
}

// userByEmail loads a user of reseller slug.
func (ts *testServer) userByEmail(slug, email string) *store.User {
	ts.t.Helper()
	var u *store.User
	err := ts.store.View(func(tx *store.Tx) (err error) { u, err = tx.UserByEmail(ts.ids[slug], email); return err })
	if err != nil {
		ts.t.Fatal(err)
	}
	return u
}

// sessionIDFor is the URL id of the user's session signed in with ua.
func (ts *testServer) sessionIDFor(slug, email, ua string) string {
	ts.t.Helper()
	u := ts.userByEmail(slug, email)
	var id string
	err := ts.store.View(func(tx *store.Tx) error {
		sessions, err := tx.UserSessions(u.ResellerID, u.ID)
		for _, s := range sessions {
			if s.UserAgent == ua {
				id = account.SessionID(s.Hash)
			}
		}
		return err
	})
	if err != nil || id == "" {
		ts.t.Fatalf("no session of %s with %q: %v", email, ua, err)
	}
	return id
}

// addMember adds a user with role to acme's client cleo.
func (ts *testServer) addMember(email, role string) {
	ts.t.Helper()
	hash, _ := auth.HashPassword(testPassword)
	err := ts.store.Update(func(tx *store.Tx) error {
		return tx.CreateUser(&store.User{ResellerID: ts.ids["acme"], ClientID: ts.cleo().ID, Email: email, Role: role, PasswordHash: hash})
	})
	if err != nil {
		ts.t.Fatal(err)
	}
}

// auditActions lists the acme events with action, as "actor target".
func (ts *testServer) auditActions(action string) []string {
	ts.t.Helper()
	var out []string
	err := ts.store.View(func(tx *store.Tx) error {
		events, _, err := tx.AuditEvents(ts.ids["acme"], 0, 1000)
		for _, e := range events {
			if e.Action == action {
				out = append(out, e.Actor+" "+e.Target)
			}
		}
		return err
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	return out
}

const securityTab = "/settings?tab=security"

func TestSecurityTabListsSessions(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	laptop, phone := ts.browser(), ts.browser()
	laptop.loginAgent(acmeHost, "client@acme.example", testPassword, uaFirefoxLinux, "/dashboard")
	phone.loginAgent(acmeHost, "client@acme.example", testPassword, uaChromeIPhone, "/dashboard")
	ts.clock.Advance(5 * time.Minute)
	phone.get(acmeHost, "/dashboard") // last seen 10:05, in memory only

	r := laptop.get(acmeHost, securityTab)
	if r.status != http.StatusOK {
		t.Fatalf("settings: %d\n%s", r.status, r.body)
	}
	phoneID, laptopID := ts.sessionIDFor("acme", "client@acme.example", uaChromeIPhone), ts.sessionIDFor("acme", "client@acme.example", uaFirefoxLinux)
	for _, want := range []string{
		"Change password", `action="/settings/password"`, `name="current"`, `autocomplete="new-password"`,
		"8–20 characters with a digit", // the reseller's policy as a hint
		"Firefox on Linux", "Chrome on iPhone", "This device", "127.0.0.1", "2 Nov 2026, 10:00 UTC", "2 Nov 2026, 10:05 UTC",
		`action="/settings/sessions/` + phoneID + `"`, `action="/settings/sessions/revoke-others"`, "Sign out all other sessions",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("security tab lacks %q", want)
		}
	}
	if strings.Contains(r.body, `action="/settings/sessions/`+laptopID+`"`) {
		t.Errorf("this device has a revoke button; the top bar signs it out")
	}
	if strings.Index(r.body, "Firefox on Linux") > strings.Index(r.body, "Chrome on iPhone") {
		t.Errorf("this device is not listed first")
	}
	if n := strings.Count(r.body, `name="_csrf"`); n != 5 { // sign out, password, two-factor set-up, one session, all others
		t.Errorf("%d CSRF inputs, want 5", n)
	}
	// the raw hash or cookie never reaches the page
	token := ""
	for _, c := range laptop.client.Jar.Cookies(&url.URL{Scheme: "http", Host: acmeHost}) {
		if c.Name == sessionCookie {
			token = c.Value
		}
	}
	if token == "" || strings.Contains(r.body, token) || strings.Contains(r.body, hex.EncodeToString(auth.HashToken(token))) {
		t.Errorf("session token on the page")
	}

	// a session past its idle deadline is not listed (the sweeper has not run)
	ts.clock.Advance(11 * time.Hour)
	laptop.get(acmeHost, "/dashboard")
	ts.clock.Advance(2 * time.Hour) // the phone was last seen 13 h ago; idle timeout is 12 h
	r = laptop.get(acmeHost, securityTab)
	if strings.Contains(r.body, "Chrome on iPhone") || !strings.Contains(r.body, "You are not signed in anywhere else.") {
		t.Errorf("expired session listed")
	}
}

func TestSecurityTabForEveryClientRole(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, role := range []string{store.RoleAdmin, store.RoleManager, store.RoleUser, store.RolePublisher} {
		email := role + "@cleo.example"
		ts.addMember(email, role)
		b := ts.browser()
		home := "/dashboard"
		if role == store.RolePublisher {
			home = "/settings" // a publisher has no dashboard
		}
		b.login(acmeHost, email, home)
		if r := b.get(acmeHost, securityTab); r.status != http.StatusOK || !strings.Contains(r.body, "Active sessions") {
			t.Errorf("%s: security tab %d", role, r.status)
		}
		if r := b.post(acmeHost, securityTab, "/settings/sessions/revoke-others", url.Values{}); r.status != http.StatusSeeOther {
			t.Errorf("%s: revoke others %d", role, r.status)
		}
	}
}

func TestSettingsAreForClientUsers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	staff := ts.browser()
	staff.login(acmeHost, "owner@acme.example", "/reseller")
	for _, path := range []string{"/settings", securityTab} {
		if r := staff.get(acmeHost, path); r.status != http.StatusForbidden {
			t.Errorf("staff GET %s: %d, want 403", path, r.status)
		}
	}
	for _, action := range []string{"/settings/password", "/settings/sessions/revoke-others", "/settings/sessions/0123456789abcdef"} {
		r := staff.post(acmeHost, "/reseller", action, url.Values{"current": {testPassword}, "password": {newPassword}, "confirm": {newPassword}})
		if r.status != http.StatusForbidden {
			t.Errorf("staff POST %s: %d, want 403", action, r.status)
		}
	}
	if !staff.signedIn(acmeHost, "/reseller") {
		t.Errorf("staff signed out")
	}
	if err := auth.CheckPassword(ts.userByEmail("acme", "owner@acme.example").PasswordHash, testPassword); err != nil {
		t.Errorf("staff password changed")
	}
	anon := ts.browser()
	if r := anon.get(acmeHost, securityTab); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fsettings%3Ftab%3Dsecurity" {
		t.Errorf("anonymous: %d %q", r.status, r.header.Get("Location"))
	}
	if r := anon.post(acmeHost, "/login", "/settings/sessions/revoke-others", url.Values{}); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous POST: %d, want 401", r.status)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addMember("mia@cleo.example", store.RoleManager)
	here, other := ts.browser(), ts.browser()
	here.loginAgent(acmeHost, "client@acme.example", testPassword, uaFirefoxLinux, "/dashboard")
	other.loginAgent(acmeHost, "client@acme.example", testPassword, uaSafariMac, "/dashboard")
	mia := ts.browser()
	mia.login(acmeHost, "mia@cleo.example", "/dashboard")
	staff := ts.browser()
	staff.login(acmeHost, "owner@acme.example", "/reseller")
	before := ts.userByEmail("acme", "client@acme.example").PasswordHash

	r := here.post(acmeHost, securityTab, "/settings/password", url.Values{"current": {testPassword}, "password": {newPassword}, "confirm": {newPassword}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != securityTab {
		t.Fatalf("change: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	page := here.get(acmeHost, securityTab)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Your password has been changed. 1 other session signed out.") {
		t.Fatalf("after change: %d\n%s", page.status, page.body)
	}
	if strings.Contains(page.body, "Safari on macOS") {
		t.Errorf("the other session is still listed")
	}
	if other.signedIn(acmeHost, "/settings") {
		t.Errorf("the other browser of the same user is still signed in")
	}
	if !mia.signedIn(acmeHost, "/settings") || !staff.signedIn(acmeHost, "/reseller") {
		t.Errorf("other users were signed out")
	}
	after := ts.userByEmail("acme", "client@acme.example").PasswordHash
	if after == before || auth.CheckPassword(after, newPassword) != nil {
		t.Fatalf("hash not changed to the new password")
	}
	if got := ts.auditActions("password.change"); len(got) != 1 || got[0] != "client@acme.example 1 other session signed out" {
		t.Errorf("audit: %q", got)
	}
	// the next sign-in takes the new password only
	old := ts.browser().post(acmeHost, "/login", "/login", url.Values{"email": {"client@acme.example"}, "password": {testPassword}})
	if old.status != http.StatusUnprocessableEntity {
		t.Errorf("old password still signs in: %d", old.status)
	}
	ts.browser().loginAgent(acmeHost, "client@acme.example", newPassword, uaSafariMac, "/dashboard")
	// and this session keeps working for further changes
	if r := here.post(acmeHost, securityTab, "/settings/password", url.Values{"current": {newPassword}, "password": {testPassword}, "confirm": {testPassword}}); r.status != http.StatusSeeOther {
		t.Errorf("second change: %d", r.status)
	}
}

func TestChangePasswordRejects(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	here, other := ts.browser(), ts.browser()
	here.login(acmeHost, "client@acme.example", "/dashboard")
	other.login(acmeHost, "client@acme.example", "/dashboard")
	before := ts.userByEmail("acme", "client@acme.example").PasswordHash
	cases := []struct {
		name                       string
		current, password, confirm string
		field, message             string
	}{
		{"wrong current password", "Wr0ng-Passw0rd!", newPassword, newPassword, "current", "The current password is incorrect."},
		{"no current password", "", newPassword, newPassword, "current", "Enter your current password."},
		{"too short", testPassword, "Sh0rt!", "Sh0rt!", "password", "Use 8–20 characters."},
		{"too long", testPassword, "Longer-Than-Twenty-1!", "Longer-Than-Twenty-1!", "password", "Use 8–20 characters."},
		{"no digit", testPassword, "No-Digits-Here!", "No-Digits-Here!", "password", "Add a digit."},
		{"no special character", testPassword, "NoSpecial1234", "NoSpecial1234", "password", "Add a special character such as ! or #."},
		{"empty new password", testPassword, "", "", "password", "Use 8–20 characters"},
		{"mismatch", testPassword, newPassword, newPassword + "x", "confirm", "The two passwords differ."},
		{"same as current", testPassword, testPassword, testPassword, "password", "Choose a password different from the current one."},
	}
	for _, tc := range cases {
		r := here.post(acmeHost, securityTab, "/settings/password", url.Values{"current": {tc.current}, "password": {tc.password}, "confirm": {tc.confirm}})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", tc.name, r.status)
			continue
		}
		if !strings.Contains(r.body, `<p class="field-error" id="e-`+tc.field+`">`+tc.message) {
			t.Errorf("%s: no %q at %s", tc.name, tc.message, tc.field)
		}
		for _, secret := range []string{tc.current, tc.password, tc.confirm} {
			if len(secret) > 3 && strings.Contains(r.body, secret) {
				t.Errorf("%s: a password was echoed", tc.name)
			}
		}
		if !strings.Contains(r.body, "Active sessions") || !strings.Contains(r.body, `aria-current="page">Security`) {
			t.Errorf("%s: the tab is not shown again", tc.name)
		}
	}
	if ts.userByEmail("acme", "client@acme.example").PasswordHash != before {
		t.Errorf("password changed by a refused form")
	}
	if !other.signedIn(acmeHost, "/settings") || !here.signedIn(acmeHost, "/settings") {
		t.Errorf("a refused form signed sessions out")
	}
	if got := ts.auditActions("password.change_failed"); len(got) != 1 {
		t.Errorf("failed changes audited: %q, want 1 (the wrong current password)", got)
	}
	// the form without its CSRF token is refused before anything else
	r := here.do(http.MethodPost, acmeHost, "/settings/password", url.Values{"current": {testPassword}, "password": {newPassword}, "confirm": {newPassword}}, nil)
	if r.status != http.StatusForbidden || ts.userByEmail("acme", "client@acme.example").PasswordHash != before {
		t.Errorf("change without CSRF token: %d", r.status)
	}
}

func TestChangePasswordWrongCurrentIsRateLimited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "client@acme.example", "/dashboard")
	wrong := url.Values{"current": {"Wr0ng-Passw0rd!"}, "password": {newPassword}, "confirm": {newPassword}}
	for i := range 10 {
		if r := b.post(acmeHost, securityTab, "/settings/password", wrong); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: %d", i+1, r.status)
		}
	}
	r := b.post(acmeHost, securityTab, "/settings/password", url.Values{"current": {testPassword}, "password": {newPassword}, "confirm": {newPassword}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("11th attempt, with the right password: %d", r.status)
	}
	// one budget of guesses per account: the sign-in form waits too
	r = ts.browser().post(acmeHost, "/login", "/login", url.Values{"email": {"client@acme.example"}, "password": {testPassword}})
	if r.status != http.StatusTooManyRequests {
		t.Errorf("sign-in during the lock-out: %d", r.status)
	}
	if auth.CheckPassword(ts.userByEmail("acme", "client@acme.example").PasswordHash, testPassword) != nil {
		t.Errorf("password changed during the lock-out")
	}
	ts.clock.Advance(16 * time.Minute)
	r = b.post(acmeHost, securityTab, "/settings/password", url.Values{"current": {testPassword}, "password": {newPassword}, "confirm": {newPassword}})
	if r.status != http.StatusSeeOther {
		t.Errorf("after the window: %d", r.status)
	}
}

func TestRevokeSession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	here, other := ts.browser(), ts.browser()
	here.loginAgent(acmeHost, "client@acme.example", testPassword, uaFirefoxLinux, "/dashboard")
	other.loginAgent(acmeHost, "client@acme.example", testPassword, uaSafariMac, "/dashboard")
	otherID := ts.sessionIDFor("acme", "client@acme.example", uaSafariMac)

	r := here.post(acmeHost, securityTab, "/settings/sessions/"+otherID, url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != securityTab {
		t.Fatalf("revoke: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if page := here.get(acmeHost, securityTab); !strings.Contains(page.body, "Signed out Safari on macOS at 127.0.0.1.") || strings.Contains(page.body, otherID) {
		t.Errorf("after revoke:\n%s", page.body)
	}
	if other.signedIn(acmeHost, "/dashboard") {
		t.Errorf("the revoked browser is still signed in")
	}
	if !here.signedIn(acmeHost, "/settings") {
		t.Errorf("this browser was signed out")
	}
	if got := ts.auditActions("session.revoke"); len(got) != 1 || got[0] != "client@acme.example "+otherID+" Safari on macOS 127.0.0.1" {
		t.Errorf("audit: %q", got)
	}
	if r := here.post(acmeHost, securityTab, "/settings/sessions/"+otherID, url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("revoking twice: %d, want 404", r.status)
	}
	// without its CSRF token nothing happens
	another := ts.browser()
	another.loginAgent(acmeHost, "client@acme.example", testPassword, uaChromeIPhone, "/dashboard")
	anotherID := ts.sessionIDFor("acme", "client@acme.example", uaChromeIPhone)
	if r := here.do(http.MethodPost, acmeHost, "/settings/sessions/"+anotherID, url.Values{}, nil); r.status != http.StatusForbidden || !another.signedIn(acmeHost, "/dashboard") {
		t.Errorf("revoke without CSRF token: %d", r.status)
	}
	// revoking this very session signs out
	hereID := ts.sessionIDFor("acme", "client@acme.example", uaFirefoxLinux)
	r = here.post(acmeHost, securityTab, "/settings/sessions/"+hereID, url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" || here.signedIn(acmeHost, "/settings") {
		t.Errorf("revoking this session: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestRevokeOtherSessions(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addMember("mia@cleo.example", store.RoleManager)
	here, second, third := ts.browser(), ts.browser(), ts.browser()
	here.loginAgent(acmeHost, "client@acme.example", testPassword, uaFirefoxLinux, "/dashboard")
	second.loginAgent(acmeHost, "client@acme.example", testPassword, uaSafariMac, "/dashboard")
	third.loginAgent(acmeHost, "client@acme.example", testPassword, uaChromeIPhone, "/dashboard")
	mia := ts.browser()
	mia.login(acmeHost, "mia@cleo.example", "/dashboard")

	r := here.post(acmeHost, securityTab, "/settings/sessions/revoke-others", url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != securityTab {
		t.Fatalf("revoke others: %d %q", r.status, r.header.Get("Location"))
	}
	page := here.get(acmeHost, securityTab)
	if !strings.Contains(page.body, "Signed out 2 other sessions.") || !strings.Contains(page.body, "You are not signed in anywhere else.") ||
		strings.Contains(page.body, "Sign out all other sessions") {
		t.Errorf("after revoking others:\n%s", page.body)
	}
	if second.signedIn(acmeHost, "/dashboard") || third.signedIn(acmeHost, "/dashboard") {
		t.Errorf("other sessions still signed in")
	}
	if !here.signedIn(acmeHost, "/settings") || !mia.signedIn(acmeHost, "/settings") {
		t.Errorf("this session or another user's was signed out")
	}
	if got := ts.auditActions("session.revoke_others"); len(got) != 1 || got[0] != "client@acme.example 2 sessions" {
		t.Errorf("audit: %q", got)
	}
	here.post(acmeHost, securityTab, "/settings/sessions/revoke-others", url.Values{})
	if page := here.get(acmeHost, securityTab); !strings.Contains(page.body, "No other session was signed in.") {
		t.Errorf("second revoke-others has no 'none' message")
	}
	if got := ts.auditActions("session.revoke_others"); len(got) != 1 {
		t.Errorf("a revoke of nothing was audited: %q", got)
	}
}

// TestRevokeSessionOfOthersIsNotFound: only the user's own sessions can be
// named; a teammate's, staff's or another reseller's user's session is
// 404 and keeps working, as do malformed ids.
func TestRevokeSessionOfOthersIsNotFound(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addMember("mia@cleo.example", store.RoleAdmin)
	hash, _ := auth.HashPassword(testPassword)
	err := ts.store.Update(func(tx *store.Tx) error {
		return tx.CreateClient(&store.Client{ResellerID: ts.ids["globex"], Username: "gina", FirstName: "Gina", LastName: "Globex",
			Email: "gina@globex.example", Country: "DE"}, &store.User{Email: "gina@globex.example", Name: "Gina", PasswordHash: hash}, "seed")
	})
	if err != nil {
		t.Fatal(err)
	}
	cleo := ts.browser()
	cleo.login(acmeHost, "client@acme.example", "/dashboard")
	victims := map[string]struct {
		b          *browser
		host, path string
		id         string
	}{}
	for name, v := range map[string][3]string{
		"teammate":                {"acme", "mia@cleo.example", "/dashboard"},
		"reseller staff":          {"acme", "owner@acme.example", "/reseller"},
		"other reseller's client": {"globex", "gina@globex.example", "/dashboard"},
		"other reseller's staff":  {"globex", "owner@globex.example", "/reseller"},
		"support staff":           {"acme", "support@acme.example", "/reseller"},
	} {
		host := acmeHost
		if v[0] == "globex" {
			host = globexHost
		}
		b := ts.browser()
		ua := "Agent of " + name
		b.loginAgent(host, v[1], testPassword, ua, v[2])
		victims[name] = struct {
			b          *browser
			host, path string
			id         string
		}{b, host, v[2], ts.sessionIDFor(v[0], v[1], ua)}
	}
	for name, v := range victims {
		if r := cleo.post(acmeHost, securityTab, "/settings/sessions/"+v.id, url.Values{}); r.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, r.status)
		}
		if !v.b.signedIn(v.host, v.path) {
			t.Errorf("%s: signed out", name)
		}
	}
	// revoke-others touches nobody else
	cleo.post(acmeHost, securityTab, "/settings/sessions/revoke-others", url.Values{})
	for name, v := range victims {
		if !v.b.signedIn(v.host, v.path) {
			t.Errorf("%s: signed out by revoke-others", name)
		}
	}
	mine := ts.sessionIDFor("acme", "client@acme.example", "Go-http-client/1.1")
	for _, id := range []string{"zz", strings.ToUpper(mine), mine + "00", mine[:15], victims["teammate"].id[:15] + "g"} {
		if r := cleo.post(acmeHost, securityTab, "/settings/sessions/"+id, url.Values{}); r.status != http.StatusNotFound {
			t.Errorf("id %q: %d, want 404", id, r.status)
		}
	}
	if !cleo.signedIn(acmeHost, "/settings") {
		t.Errorf("malformed ids signed this session out")
	}
	if got := ts.auditActions("session.revoke"); len(got) != 0 {
		t.Errorf("refused revokes audited: %q", got)
	}
}

// TestPasswordChangeIsMailed: the owner of the account hears of the change.
func TestPasswordChangeIsMailed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "client@acme.example", "/dashboard")
	r := b.post(acmeHost, "/settings?tab=security", "/settings/password",
		url.Values{"current": {testPassword}, "password": {"N3w-Secret!pw"}, "confirm": {"N3w-Secret!pw"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("change: %d", r.status)
	}
	var outbox []*store.MailMessage
	ts.store.View(func(tx *store.Tx) (err error) { outbox, err = tx.Outbox(); return err })
	if len(outbox) != 1 || outbox[0].To != "client@acme.example" || !strings.Contains(outbox[0].Subject, "Acme Voice password was changed") {
		t.Fatalf("outbox: %+v", outbox)
	}
}
