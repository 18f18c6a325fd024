package app

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"portico/app/account"
	"portico/store"
)

var secretPattern = regexp.MustCompile(`<span class="secret" id="totp-secret">([A-Z2-7 ]+)</span>`)
var recoveryPattern = regexp.MustCompile(`<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>`)

// enrolTOTP turns two-factor sign-in on from the page at back (whose
// panel posts to base) and returns the secret and the recovery codes.
func enrolTOTP(t *testing.T, ts *testServer, b *browser, back, base string) (string, []string) {
	t.Helper()
	if r := b.post(acmeHost, back, base+"/enrol", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("enrol: %d", r.status)
	}
	page := b.get(acmeHost, back)
	m := secretPattern.FindStringSubmatch(page.body)
	if m == nil || !strings.Contains(page.body, `src="data:image/png;base64,`) {
		t.Fatalf("no QR code and secret on %s:\n%s", back, page.body)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	wrong := b.post(acmeHost, back, base+"/confirm", url.Values{"code": {"000000"}})
	if wrong.status != http.StatusUnprocessableEntity || !strings.Contains(wrong.body, "The code is incorrect") {
		t.Fatalf("wrong code: %d", wrong.status)
	}
	code, _ := totp.GenerateCode(secret, ts.clock.Now())
	ok := b.post(acmeHost, back, base+"/confirm", url.Values{"code": {code}})
	codes := recoveryPattern.FindAllStringSubmatch(ok.body, -1)
	if ok.status != http.StatusOK || len(codes) != 10 || !strings.Contains(ok.body, "they will not be shown again") {
		t.Fatalf("confirm: %d, %d codes\n%s", ok.status, len(codes), ok.body)
	}
	var out []string
	for _, c := range codes {
		out = append(out, c[1])
	}
	if again := b.get(acmeHost, back); recoveryPattern.MatchString(again.body) || !strings.Contains(again.body, "10 of 10 recovery codes left") {
		t.Errorf("recovery codes shown again, or the panel is not on")
	}
	return secret, out
}

// signInWithCode signs in with password and code; it returns the reply
// to the code step.
func signInWithCode(t *testing.T, b *browser, email, code string) response {
	t.Helper()
	r := b.post(acmeHost, "/login", "/login", url.Values{"email": {email}, "password": {testPassword}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login/code" {
		t.Fatalf("password step: %d %q", r.status, r.header.Get("Location"))
	}
	return b.post(acmeHost, "/login/code", "/login/code", url.Values{"code": {code}})
}

// TestTOTPEnrolAndSignIn: a client user enrols on the Security tab, then
// signs in with the password and a code; a code is not accepted twice, a
// recovery code works once, and the password alone opens nothing.
func TestTOTPEnrolAndSignIn(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "client@acme.example", "/dashboard")
	secret, recovery := enrolTOTP(t, ts, b, securityTab, "/settings/2fa")
	if u := ts.userByEmail("acme", "client@acme.example"); !u.TwoFactorOn() || len(u.TwoFactor.RecoveryCodes) != 10 ||
		strings.Contains(string(u.TwoFactor.RecoveryCodes[0]), recovery[0]) {
		t.Fatalf("stored: %+v", u.TwoFactor)
	}
	ts.mailTo("client@acme.example", "Two-factor sign-in is on")

	// the password alone: a pending sign-in, no session
	fresh := ts.browser()
	r := fresh.post(acmeHost, "/login", "/login", url.Values{"email": {"client@acme.example"}, "password": {testPassword}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login/code" {
		t.Fatalf("password step: %d %q", r.status, r.header.Get("Location"))
	}
	if fresh.signedIn(acmeHost, "/dashboard") {
		t.Fatal("the password alone signed in")
	}
	if page := fresh.get(acmeHost, "/login/code"); page.status != http.StatusOK || !strings.Contains(page.body, `autocomplete="one-time-code"`) {
		t.Fatalf("code page: %d", page.status)
	}
	if r := fresh.post(acmeHost, "/login/code", "/login/code", url.Values{"code": {"12345x"}}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: %d", r.status)
	}
	// the code used to enrol is spent: same time step
	used, _ := totp.GenerateCode(secret, ts.clock.Now())
	if r := fresh.post(acmeHost, "/login/code", "/login/code", url.Values{"code": {used}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "This code was used already") {
		t.Fatalf("replayed code: %d\n%s", r.status, r.body)
	}
	ts.clock.Advance(30 * time.Second)
	code, _ := totp.GenerateCode(secret, ts.clock.Now())
	if r := fresh.post(acmeHost, "/login/code", "/login/code", url.Values{"code": {code}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
		t.Fatalf("right code: %d %q", r.status, r.header.Get("Location"))
	}
	if !fresh.signedIn(acmeHost, "/dashboard") {
		t.Fatal("not signed in after the code")
	}
	// the pending sign-in is spent with it
	if r := fresh.get(acmeHost, "/login/code"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Errorf("code page after sign-in: %d %q", r.status, r.header.Get("Location"))
	}
	// the same code in another browser within its window: refused
	if r := signInWithCode(t, ts.browser(), "client@acme.example", code); r.status != http.StatusUnprocessableEntity {
		t.Errorf("code replayed in another browser: %d", r.status)
	}

	// a recovery code, typed loosely, works once
	loose := strings.ToUpper(strings.ReplaceAll(recovery[3], "-", " "))
	rb := ts.browser()
	if r := signInWithCode(t, rb, "client@acme.example", loose); r.status != http.StatusSeeOther {
		t.Fatalf("recovery code: %d\n%s", r.status, r.body)
	}
	if page := rb.get(acmeHost, "/dashboard"); !strings.Contains(page.body, "9 recovery codes left") {
		t.Errorf("no note of the recovery codes left")
	}
	if r := signInWithCode(t, ts.browser(), "client@acme.example", recovery[3]); r.status != http.StatusUnprocessableEntity {
		t.Errorf("recovery code used twice: %d", r.status)
	}
	if got := ts.auditActions("login"); !strings.Contains(strings.Join(got, "|"), "with a recovery code, 9 codes left") {
		t.Errorf("audit: %v", got)
	}

	// a pending sign-in expires
	late := ts.browser()
	late.post(acmeHost, "/login", "/login", url.Values{"email": {"client@acme.example"}, "password": {testPassword}})
	ts.clock.Advance(account.ChallengeLifetime)
	code, _ = totp.GenerateCode(secret, ts.clock.Now())
	if r := late.post(acmeHost, "/login", "/login/code", url.Values{"code": {code}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Errorf("expired pending sign-in: %d %q", r.status, r.header.Get("Location"))
	}
}

// TestTOTPDisable: turning it off needs the password and a code.
func TestTOTPDisable(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "client@acme.example", "/dashboard")
	secret, recovery := enrolTOTP(t, ts, b, securityTab, "/settings/2fa")
	ts.clock.Advance(30 * time.Second)
	code, _ := totp.GenerateCode(secret, ts.clock.Now())
	for _, tc := range []struct {
		name     string
		password string
		code     string
		want     string
	}{
		{"no password", "", code, "Enter your password"},
		{"wrong password", "Wrong-passw0rd!", code, "The password is incorrect"},
		{"no code", testPassword, "", "The code is incorrect"},
		{"wrong code", testPassword, "999999", "The code is incorrect"},
	} {
		r := b.post(acmeHost, securityTab, "/settings/2fa/disable", url.Values{"password": {tc.password}, "code": {tc.code}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d, want %q", tc.name, r.status, tc.want)
		}
	}
	if !ts.userByEmail("acme", "client@acme.example").TwoFactorOn() {
		t.Fatal("turned off without password and code")
	}
	r := b.post(acmeHost, securityTab, "/settings/2fa/disable", url.Values{"password": {testPassword}, "code": {recovery[0]}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("disable: %d\n%s", r.status, r.body)
	}
	if u := ts.userByEmail("acme", "client@acme.example"); u.TwoFactorOn() || u.TwoFactor.Secret != "" || len(u.TwoFactor.RecoveryCodes) != 0 {
		t.Fatalf("still on: %+v", u.TwoFactor)
	}
	ts.browser().login(acmeHost, "client@acme.example", "/dashboard") // the password alone again
	ts.mailTo("client@acme.example", "turned off")
	if got := ts.auditActions("2fa.disable_failed"); len(got) != 3 {
		t.Errorf("failed attempts audited: %v", got)
	}
}

// TestRequire2FA: the reseller's owner requires two-factor sign-in; users
// without it are signed out and must enrol at their next sign-in before
// any page opens, staff and client users alike.
func TestRequire2FA(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner, client := ts.browser(), ts.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	client.login(acmeHost, "client@acme.example", "/dashboard")
	if r := owner.get(acmeHost, resellerSecurityURL); r.status != http.StatusOK || !strings.Contains(r.body, "Require it for every user") {
		t.Fatalf("security page: %d", r.status)
	}
	// not without their own
	r := owner.post(acmeHost, resellerSecurityURL, "/reseller/security/require-2fa", url.Values{"require": {"on"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Turn on two-factor sign-in for your own account first") {
		t.Fatalf("require without own 2FA: %d", r.status)
	}
	enrolTOTP(t, ts, owner, resellerSecurityURL, "/reseller/security/2fa")
	r = owner.post(acmeHost, resellerSecurityURL, "/reseller/security/require-2fa", url.Values{"require": {"on"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("require: %d\n%s", r.status, r.body)
	}
	if page := owner.get(acmeHost, resellerSecurityURL); !strings.Contains(page.body, "1 signed-in user without it was signed out") {
		t.Errorf("flash: %s", page.body)
	}
	if client.signedIn(acmeHost, "/dashboard") {
		t.Fatal("a client user without 2FA stayed signed in")
	}
	if got := ts.auditActions("reseller.require_2fa"); len(got) != 1 || !strings.Contains(got[0], "on, 1 user without it signed out") {
		t.Errorf("audit: %v", got)
	}
	// globex is untouched
	ts.browser().login(globexHost, "owner@globex.example", "/reseller")

	// the client signs in: the password leads to enrolment, nothing else opens
	r = client.post(acmeHost, "/login", "/login", url.Values{"email": {"client@acme.example"}, "password": {testPassword}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login/enrol" {
		t.Fatalf("password step: %d %q", r.status, r.header.Get("Location"))
	}
	if client.signedIn(acmeHost, "/dashboard") || client.signedIn(acmeHost, "/settings") {
		t.Fatal("a page opened before enrolment")
	}
	if r := client.get(acmeHost, "/login/code"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login/enrol" {
		t.Errorf("code page during enrolment: %d %q", r.status, r.header.Get("Location"))
	}
	page := client.get(acmeHost, "/login/enrol")
	m := secretPattern.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil || !strings.Contains(page.body, "Acme Voice asks everyone") {
		t.Fatalf("enrol page: %d", page.status)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	if r := client.post(acmeHost, "/login/enrol", "/login/enrol", url.Values{"code": {"000000"}}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: %d", r.status)
	}
	code, _ := totp.GenerateCode(secret, ts.clock.Now())
	done := client.post(acmeHost, "/login/enrol", "/login/enrol", url.Values{"code": {code}})
	if done.status != http.StatusOK || len(recoveryPattern.FindAllString(done.body, -1)) != 10 || !strings.Contains(done.body, `href="/dashboard"`) {
		t.Fatalf("enrol: %d\n%s", done.status, done.body)
	}
	if !client.signedIn(acmeHost, "/dashboard") {
		t.Fatal("not signed in after enrolment")
	}
	// it cannot be turned off while required
	ts.clock.Advance(30 * time.Second)
	code, _ = totp.GenerateCode(secret, ts.clock.Now())
	if r := client.post(acmeHost, securityTab, "/settings/2fa/disable", url.Values{"password": {testPassword}, "code": {code}}); r.status != http.StatusConflict {
		t.Errorf("disable while required: %d", r.status)
	}
	if page := client.get(acmeHost, securityTab); !strings.Contains(page.body, "requires two-factor sign-in for every account") {
		t.Errorf("the tab does not say it is required")
	}
	// staff too: support signs in and must enrol
	r = ts.browser().post(acmeHost, "/login", "/login", url.Values{"email": {"support@acme.example"}, "password": {testPassword}})
	if r.header.Get("Location") != "/login/enrol" {
		t.Errorf("support staff: %q", r.header.Get("Location"))
	}
	// the owner stops requiring it: support signs in with the password again
	if r := owner.post(acmeHost, resellerSecurityURL, "/reseller/security/require-2fa", url.Values{"require": {"off"}}); r.status != http.StatusSeeOther {
		t.Fatalf("stop requiring: %d", r.status)
	}
	ts.browser().login(acmeHost, "support@acme.example", "/reseller")
}

// TestTOTPForStaff: a staff member enrols on /reseller/security and signs
// in with a code; the reseller's other host and globex know nothing of it.
func TestTOTPForStaff(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addStaff("billing@acme.example", store.RoleBilling)
	b := ts.browser()
	b.login(acmeHost, "billing@acme.example", "/reseller")
	if page := b.get(acmeHost, resellerSecurityURL); !strings.Contains(page.body, "Owners and admins choose this") ||
		strings.Contains(page.body, `action="/reseller/security/require-2fa"`) {
		t.Errorf("billing sees the reseller-wide switch")
	}
	secret, _ := enrolTOTP(t, ts, b, resellerSecurityURL, "/reseller/security/2fa")
	ts.clock.Advance(30 * time.Second)
	code, _ := totp.GenerateCode(secret, ts.clock.Now())
	if r := signInWithCode(t, ts.browser(), "billing@acme.example", code); r.status != http.StatusSeeOther || r.header.Get("Location") != "/reseller" {
		t.Fatalf("staff sign-in with code: %d %q", r.status, r.header.Get("Location"))
	}
}
