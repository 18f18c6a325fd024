package app

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/store"
)

// Hosts of the two seeded resellers.
const (
	acmeHost   = "acme.test.portico"
	acmeDomain = "portal.acme.example"
	globexHost = "globex.test.portico"
)

// TestScenarios walks every page and auth route as each kind of visitor,
// on both resellers' hosts and an unknown one.
func TestScenarios(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	visitors := map[string]*browser{"anon": ts.browser()}
	for name, login := range map[string][2]string{
		"acme-owner":   {"owner@acme.example", "/reseller"},
		"acme-support": {"support@acme.example", "/reseller"},
		"acme-client":  {"client@acme.example", "/dashboard"},
	} {
		b := ts.browser()
		b.login(acmeHost, login[0], login[1])
		visitors[name] = b
	}
	globexOwner := ts.browser()
	globexOwner.login(globexHost, "owner@globex.example", "/reseller")
	visitors["globex-owner"] = globexOwner

	scenarios := []struct {
		name, who, host, path string
		status                int
		location              string
		contains, absent      []string
	}{
		{"home sends visitors to sign in", "anon", acmeHost, "/", 303, "/login", nil, nil},
		{"home sends staff to console", "acme-owner", acmeHost, "/", 303, "/reseller", nil, nil},
		{"home sends clients to dashboard", "acme-client", acmeHost, "/", 303, "/dashboard", nil, nil},
		{"sign-in page is branded", "anon", acmeHost, "/login", 200, "", []string{"Acme Voice", `name="_csrf"`}, []string{"Globex"}},
		{"custom domain serves its reseller", "anon", acmeDomain, "/login", 200, "", []string{"Acme Voice"}, []string{"Globex"}},
		{"other reseller has its own brand", "anon", globexHost, "/login", 200, "", []string{"Globex Lines"}, []string{"Acme"}},
		{"unknown host is neutral", "anon", "nobody.example", "/login", 404, "", []string{"Page not found"}, []string{"Acme", "Globex", "Portico"}},
		{"unknown slug is neutral", "anon", "nobody.test.portico", "/", 404, "", nil, []string{"Acme", "Globex"}},
		{"signed-in user skips sign-in page", "acme-owner", acmeHost, "/login", 303, "/reseller", nil, nil},
		{"console needs sign-in", "anon", acmeHost, "/reseller", 303, "/login?next=%2Freseller", nil, nil},
		{"console for owner", "acme-owner", acmeHost, "/reseller", 200, "", []string{"Acme Voice", "acme.test.portico", "portal.acme.example", "Sign out", "Activity"}, []string{"Globex"}},
		{"console for support has no activity link", "acme-support", acmeHost, "/reseller", 200, "", []string{"Overview"}, []string{"/reseller/activity"}},
		{"activity for owner", "acme-owner", acmeHost, "/reseller/activity", 200, "", []string{"owner@acme.example", "login"}, []string{"globex.example"}},
		{"activity refused to support", "acme-support", acmeHost, "/reseller/activity", 403, "", []string{"Not allowed", "Acme Voice"}, nil},
		{"console refused to clients", "acme-client", acmeHost, "/reseller", 403, "", nil, nil},
		{"dashboard for clients", "acme-client", acmeHost, "/dashboard", 200, "", []string{"Cleo Client", "Client portal"}, nil},
		{"dashboard refused to staff", "acme-owner", acmeHost, "/dashboard", 403, "", nil, nil},
		{"other reseller's activity is its own", "globex-owner", globexHost, "/reseller/activity", 200, "", []string{"owner@globex.example"}, []string{"acme.example"}},
		{"session replayed on other reseller's host is signed out", "acme-owner", globexHost, "/reseller", 303, "/login?next=%2Freseller", nil, nil},
		{"branded 404", "anon", acmeHost, "/no-such-page", 404, "", []string{"Page not found", "Acme Voice"}, nil},
		{"forgot password page", "anon", acmeHost, "/password/forgot", 200, "", []string{"Send reset link"}, nil},
		{"bad reset link explained", "anon", acmeHost, "/password/reset?token=forged", 404, "", []string{"invalid, already used or expired"}, []string{"New password"}},
		{"brand stylesheet", "anon", acmeHost, "/brand.css", 200, "", []string{"--brand-primary:#aa0000", "--brand-on-primary:#ffffff"}, nil},
		{"health on any host", "anon", "10.1.2.3", "/healthz", 200, "", []string{`"status":"ok"`}, nil},
		{"metrics from loopback", "anon", "localhost", "/metrics", 200, "", []string{"portico_http_requests_total", "portico_store_transaction_seconds"}, nil},
		{"static files", "anon", acmeHost, "/static/css/app.css", 200, "", []string{"--brand-primary"}, nil},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			b := visitors[sc.who]
			b.t = t
			r := b.get(sc.host, sc.path)
			if r.status != sc.status {
				t.Fatalf("%s %s%s: status %d, want %d\n%s", sc.who, sc.host, sc.path, r.status, sc.status, r.body)
			}
			if sc.location != "" && r.header.Get("Location") != sc.location {
				t.Errorf("location %q, want %q", r.header.Get("Location"), sc.location)
			}
			for _, want := range sc.contains {
				if !strings.Contains(r.body, want) {
					t.Errorf("body lacks %q", want)
				}
			}
			for _, bad := range sc.absent {
				if strings.Contains(r.body, bad) {
					t.Errorf("body contains %q", bad)
				}
			}
		})
	}
}

func TestPageViewsWriteNothing(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	before := ts.store.Writes()
	for range 3 {
		for _, path := range []string{"/", "/login", "/reseller", "/reseller/activity", "/password/forgot", "/brand.css", "/healthz"} {
			owner.get(acmeHost, path)
		}
		ts.browser().get(acmeHost, "/login")
	}
	if got := ts.store.Writes() - before; got != 0 {
		t.Fatalf("page views wrote %d transactions, want 0", got)
	}
}

func TestWrongPasswordAndUnknownEmailLookAlike(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	wrong := b.post(acmeHost, "/login", "/login", url.Values{"email": {"owner@acme.example"}, "password": {"Wrong-passw0rd"}})
	unknown := b.post(acmeHost, "/login", "/login", url.Values{"email": {"ghost@acme.example"}, "password": {"Wrong-passw0rd"}})
	// an account of the other reseller does not exist here
	other := b.post(acmeHost, "/login", "/login", url.Values{"email": {"owner@globex.example"}, "password": {testPassword}})
	for name, r := range map[string]response{"wrong password": wrong, "unknown email": unknown, "other reseller's account": other} {
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "The email or password is incorrect.") {
			t.Errorf("%s: status %d\n%s", name, r.status, r.body)
		}
		if strings.Contains(r.body, "Wrong-passw0rd") || strings.Contains(r.body, testPassword) {
			t.Errorf("%s: the password was echoed", name)
		}
		if r.header.Get("Set-Cookie") != "" && strings.Contains(r.header.Get("Set-Cookie"), sessionCookie+"=") && !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
			t.Errorf("%s: a session cookie was set", name)
		}
	}
	if !strings.Contains(unknown.body, `value="ghost@acme.example"`) {
		t.Errorf("email not kept in the form")
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "owner@acme.example", "/reseller")
	cases := map[string]url.Values{
		"no token":     {},
		"forged token": {"_csrf": {"AAAA"}},
		"token of another host": func() url.Values {
			other := ts.browser()
			return url.Values{"_csrf": {other.csrf(globexHost, "/login")}}
		}(),
	}
	for name, form := range cases {
		r := b.do(http.MethodPost, acmeHost, "/logout", form, nil)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "Reload the page") {
			t.Errorf("%s: status %d, want 403", name, r.status)
		}
	}
	if r := b.get(acmeHost, "/reseller"); r.status != http.StatusOK {
		t.Fatalf("still signed in after refused posts: %d", r.status)
	}
	// a login form posted without the anonymous cookie is refused too
	fresh := ts.browser()
	r := fresh.do(http.MethodPost, acmeHost, "/login", url.Values{"_csrf": {b.csrf(acmeHost, "/reseller")}, "email": {"owner@acme.example"}, "password": {testPassword}}, nil)
	if r.status != http.StatusForbidden {
		t.Errorf("login with another browser's token: %d", r.status)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	var r response
	for i := range 11 {
		r = b.post(acmeHost, "/login", "/login", url.Values{"email": {"owner@acme.example"}, "password": {"Nope-1234!"}})
		if i < 10 && r.status != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: %d", i+1, r.status)
		}
	}
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Try again in") {
		t.Fatalf("11th failed sign-in: status %d Retry-After %q\n%s", r.status, r.header.Get("Retry-After"), r.body)
	}
	// even the right password waits now: the account is under attack
	r = b.post(acmeHost, "/login", "/login", url.Values{"email": {"owner@acme.example"}, "password": {testPassword}})
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("right password during lock-out: %d", r.status)
	}
	// another account from the same address still works, until the IP limit
	b.login(acmeHost, "support@acme.example", "/reseller")
	for range 30 {
		r = b.post(acmeHost, "/password/forgot", "/password/forgot", url.Values{"email": {"x@acme.example"}})
	}
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("per-IP limit not reached: %d", r.status)
	}
	r = ts.browser().do(http.MethodGet, acmeHost, "/login", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET pages are not rate limited: %d", r.status)
	}
	// the window passes
	ts.clock.Advance(16 * time.Minute)
	b2 := ts.browser()
	b2.login(acmeHost, "owner@acme.example", "/reseller")
}

func TestSecurityHeadersAndCookies(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	r := b.get(acmeHost, "/login")
	for header, want := range map[string]string{
		"Content-Security-Policy": "script-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
	} {
		if !strings.Contains(r.header.Get(header), want) {
			t.Errorf("%s = %q, want %q", header, r.header.Get(header), want)
		}
	}
	if strings.Contains(r.header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Errorf("CSP allows inline code")
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(r.body) || strings.Contains(r.body, " style=") || strings.Contains(r.body, "<style") {
		t.Errorf("page has inline script or style")
	}
	form := url.Values{"email": {"owner@acme.example"}, "password": {testPassword}, "_csrf": {b.csrf(acmeHost, "/login")}}
	r = b.do(http.MethodPost, acmeHost, "/login", form, nil)
	var session string
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, sessionCookie+"=") {
			session = c
		}
	}
	for _, want := range []string{"httponly", "samesite=lax", "path=/"} {
		if !strings.Contains(strings.ToLower(session), want) {
			t.Errorf("session cookie %q lacks %s", session, want)
		}
	}
	if strings.Contains(strings.ToLower(session), "domain=") || strings.Contains(session, "Secure") {
		t.Errorf("session cookie must be host-only and not Secure over plain HTTP: %q", session)
	}
	// behind a trusted TLS proxy the cookie is Secure — but no proxy is
	// trusted here, so a forged header changes nothing
	r = ts.browser().do(http.MethodGet, acmeHost, "/login", nil, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": globexHost})
	if !strings.Contains(r.body, "Acme Voice") || r.header.Get("Strict-Transport-Security") != "" {
		t.Errorf("forwarded headers from an untrusted client were believed")
	}
}

func TestProblemJSON(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	r := b.do(http.MethodGet, acmeHost, "/nope", nil, map[string]string{"Accept": "application/json"})
	if r.status != 404 || r.header.Get("Content-Type") != "application/problem+json" || !strings.Contains(r.body, `"status":404`) {
		t.Fatalf("problem+json: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	r = b.do(http.MethodGet, "nobody.example", "/api/v1/account", nil, nil)
	if r.status != 404 || !strings.Contains(r.header.Get("Content-Type"), "problem+json") {
		t.Fatalf("api path on unknown host: %d %q", r.status, r.header.Get("Content-Type"))
	}
}

func TestOversizedBody(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	// Over a raw connection. The server refuses the body from its declared
	// length and closes without reading it, so the body is offered beside
	// the read, and a failed write is no failure.
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", acmeHost, BodyLimit+1)
	go func() { _, _ = conn.Write(bytes.Repeat([]byte("a"), BodyLimit+1)) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "1 MiB") {
		t.Fatalf("status %d, want 413\n%s", resp.StatusCode, body)
	}
}

func TestSignOutRevokesSession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "owner@acme.example", "/reseller")
	u, _ := url.Parse(ts.url(acmeHost, "/"))
	var token string
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			token = c.Value
		}
	}
	r := b.post(acmeHost, "/reseller", "/logout", url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", r.status, r.header.Get("Location"))
	}
	if r := b.get(acmeHost, "/login"); !strings.Contains(r.body, "You have signed out.") {
		t.Errorf("no sign-out message")
	}
	// the old token is dead even if a copy of the cookie survived
	replay := ts.browser()
	r = replay.do(http.MethodGet, acmeHost, "/reseller", nil, map[string]string{"Cookie": sessionCookie + "=" + token})
	if r.status != http.StatusSeeOther {
		t.Fatalf("revoked session still works: %d", r.status)
	}
}

func TestIdleSessionExpires(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "owner@acme.example", "/reseller")
	ts.clock.Advance(11 * time.Hour)
	if r := b.get(acmeHost, "/reseller"); r.status != 200 {
		t.Fatalf("session ended before the idle timeout: %d", r.status)
	}
	ts.app.writeTouches() // what the background ticker does
	ts.clock.Advance(11 * time.Hour)
	if r := b.get(acmeHost, "/reseller"); r.status != 200 {
		t.Fatalf("use did not extend the session: %d", r.status)
	}
	ts.clock.Advance(13 * time.Hour)
	if r := b.get(acmeHost, "/reseller"); r.status != http.StatusSeeOther {
		t.Fatalf("idle session still valid: %d", r.status)
	}
}

func TestDisabledUserCannotSignIn(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "support@acme.example", "/reseller")
	err := ts.store.Update(func(tx *store.Tx) error {
		u, err := tx.UserByEmail(ts.ids["acme"], "support@acme.example")
		if err != nil {
			return err
		}
		u.Status = store.UserDisabled
		return tx.UpdateUser(u)
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := b.get(acmeHost, "/reseller"); r.status != http.StatusSeeOther {
		t.Fatalf("disabled user's session still works: %d", r.status)
	}
	r := b.post(acmeHost, "/login", "/login", url.Values{"email": {"support@acme.example"}, "password": {testPassword}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "This account is disabled") {
		t.Fatalf("disabled sign-in: %d\n%s", r.status, r.body)
	}
}

var linkPattern = regexp.MustCompile(`http://[^\s]+/password/reset\?token=[A-Za-z0-9_-]+`)

func TestPasswordResetFlow(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")

	b := ts.browser()
	r := b.post(acmeHost, "/password/forgot", "/password/forgot", url.Values{"email": {"owner@acme.example"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("forgot: %d", r.status)
	}
	if r := b.get(acmeHost, "/login"); !strings.Contains(r.body, "we have sent it a link") {
		t.Fatalf("no confirmation shown")
	}
	// the same answer for an unknown account, and no mail
	b.post(acmeHost, "/password/forgot", "/password/forgot", url.Values{"email": {"ghost@acme.example"}})
	r = b.post(acmeHost, "/password/forgot", "/password/forgot", url.Values{"email": {"not an email"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Enter an email address") {
		t.Fatalf("bad email: %d", r.status)
	}
	var outbox []*store.MailMessage
	ts.store.View(func(tx *store.Tx) (err error) { outbox, err = tx.Outbox(); return err })
	if len(outbox) != 1 || outbox[0].To != "owner@acme.example" || outbox[0].Status != store.MailKept {
		t.Fatalf("outbox: %+v", outbox)
	}
	if !strings.Contains(outbox[0].Subject, "Acme Voice") || outbox[0].FromName != "Acme Voice" {
		t.Errorf("mail not branded: %q from %q", outbox[0].Subject, outbox[0].FromName)
	}
	link := linkPattern.FindString(outbox[0].Text)
	if !strings.HasPrefix(link, "http://"+acmeDomain+":"+ts.port()+"/") { // acme's canonical host, not the request's
		t.Fatalf("link %q in\n%s", link, outbox[0].Text)
	}
	path := strings.TrimPrefix(link, "http://"+acmeDomain+":"+ts.port())
	token := strings.TrimPrefix(path, "/password/reset?token=")

	// the link does nothing on another reseller's host
	if r := b.get(globexHost, path); r.status != http.StatusNotFound {
		t.Fatalf("reset link on other host: %d", r.status)
	}
	if r := b.get(acmeHost, path); r.status != 200 || !strings.Contains(r.body, "New password") {
		t.Fatalf("reset page: %d", r.status)
	}
	form := func(pw, confirm string) url.Values {
		return url.Values{"token": {token}, "password": {pw}, "confirm": {confirm}}
	}
	for name, tc := range map[string]struct{ pw, confirm, want string }{
		"too short":  {"Ab1!", "Ab1!", "Use 8–20 characters"},
		"no digit":   {"Abcdefgh!", "Abcdefgh!", "Add a digit"},
		"common":     {"P@ssw0rd", "P@ssw0rd", "too common"},
		"mismatched": {"N3w-Passw0rd!", "N3w-Passw0rd?", "The two passwords differ"},
	} {
		r := b.post(acmeHost, path, "/password/reset", form(tc.pw, tc.confirm))
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d, want 422 with %q", name, r.status, tc.want)
		}
	}
	r = b.post(acmeHost, path, "/password/reset", form("N3w-Passw0rd!", "N3w-Passw0rd!"))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	if r := owner.get(acmeHost, "/reseller"); r.status != http.StatusSeeOther {
		t.Errorf("old sessions survive a password reset: %d", r.status)
	}
	if r := b.get(acmeHost, path); r.status != http.StatusNotFound {
		t.Errorf("used link still valid: %d", r.status)
	}
	r = b.post(acmeHost, "/login", "/login", url.Values{"email": {"owner@acme.example"}, "password": {"N3w-Passw0rd!"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign in with the new password: %d", r.status)
	}
}

func TestExpiredResetLink(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.post(acmeHost, "/password/forgot", "/password/forgot", url.Values{"email": {"owner@acme.example"}})
	var outbox []*store.MailMessage
	ts.store.View(func(tx *store.Tx) (err error) { outbox, err = tx.Outbox(); return err })
	link := linkPattern.FindString(outbox[0].Text)
	path := strings.TrimPrefix(link, "http://"+acmeDomain+":"+ts.port())
	ts.clock.Advance(61 * time.Minute)
	if r := b.get(acmeHost, path); r.status != http.StatusNotFound {
		t.Fatalf("expired link: %d", r.status)
	}
}

// TestConcurrentPagesStayTheirOwn: pages rendered at the same time for two
// resellers each arrive whole and in their own brand (a pooled render
// buffer handed to the response once served one reseller's bytes to
// another's visitor).
func TestConcurrentPagesStayTheirOwn(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := ts.browser()
			host, want, other := acmeHost, "Acme Voice", "Globex"
			if i%2 == 1 {
				host, want, other = globexHost, "Globex Lines", "Acme"
			}
			for range 100 {
				r := b.get(host, "/login")
				if !strings.Contains(r.body, want) || strings.Contains(r.body, other) || !strings.HasSuffix(strings.TrimSpace(r.body), "</html>") {
					errs <- host + ": wrong or torn page"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
