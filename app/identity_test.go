package app

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"portico/app/auth"
	"portico/store"
)

// Regression tests of the sign-in, links and identity probe (issue 10,
// items 5 to 11). Each keeps the probe's request and its expected refusal.

// browserFrom is a test browser whose connections come from ip, a
// loopback address other than 127.0.0.1 (Linux routes all of 127/8 to
// lo), so that tests can sign in from several real client addresses.
func (ts *testServer) browserFrom(ip string) *browser {
	b := ts.browser()
	local := &net.TCPAddr{IP: net.ParseIP(ip)}
	b.client.Transport = &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: local}
		return d.DialContext(ctx, network, ts.addr)
	}}
	return b
}

// withTrustedProxy makes the test server believe forwarded headers from
// 127.0.0.1, as behind a reverse proxy on the same machine.
func withTrustedProxy(d *Deps) { d.Config.Server.TrustedProxies = []string{"127.0.0.1"} }

// doAs sends a request for host (whose cookies it carries) with the Host
// header hostHeader, whatever that is (a port, a trailing dot).
func (b *browser) doAs(method, host, hostHeader, path string, form url.Values, header map[string]string) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.ts.url(host, path), body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Host = hostHeader
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (b *browser) failLogin(host, email string) response {
	b.t.Helper()
	return b.post(host, "/login", "/login", url.Values{"email": {email}, "password": {"Wr0ng-Passw0rd!"}})
}

// Item 5: ?next= must stay on this site.

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"/reseller/clients", "/reseller/clients"},
		{"/reseller/clients?page=2&q=a%20b", "/reseller/clients?page=2&q=a%20b"},
		{"/dashboard/", "/dashboard/"},
		{"/settings#security", "/settings"},
		{"/caf\u00e9", "/caf%C3%A9"},
		{"/%252F%252Fevil.test", "/%252F%252Fevil.test"}, // stays a local path once decoded
		{"", ""},
		{"evil.test/x", ""},
		{"https://evil.test/x", ""},
		{"http:/evil.test", ""},
		{"//evil.test/x", ""},
		{"///evil.test/x", ""},
		{"/\t/evil.test/x", ""}, // the probe: browsers drop the tab and read //evil.test/x
		{"/%09/evil.test/x", ""},
		{"/\\evil.test/x", ""},
		{"/\\/evil.test/x", ""},
		{"\\\\evil.test/x", ""},
		{"/%5Cevil.test/x", ""},
		{"/%5c%5cevil.test/x", ""},
		{"/%2F/evil.test/x", ""},
		{"/%2f%2fevil.test/x", ""},
		{"/x/..//evil.test", ""},
		{"/\r\nSet-Cookie: a=b", ""},
		{"/%0d%0aSet-Cookie:%20a=b", ""},
		{"/\n/evil.test", ""},
		{"/\x00", ""},
		{"/x\x7f", ""},
		{" /x", ""},
		{"/x?next=%0a", ""},
		{"/x?%5C", ""},
		{"/" + strings.Repeat("a", 3000), ""},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%.80q) = %.80q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSignInDoesNotRedirectOffSite(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	// the probe: GET /login?next=/%09/evil.test/x, then sign in
	b := ts.browser()
	page := b.get(acmeHost, "/login?next=/%09/evil.test/x")
	if strings.Contains(page.body, "evil.test") {
		t.Errorf("the sign-in form carries the foreign next")
	}
	for _, next := range []string{"/\t/evil.test/x", "/%09/evil.test/x", "/\\evil.test/x", "/%5Cevil.test/x", "//evil.test/x", "/%2F%2Fevil.test/x"} {
		b := ts.browser()
		r := b.post(acmeHost, "/login", "/login", url.Values{"email": {"owner@acme.example"}, "password": {testPassword}, "next": {next}})
		if loc := r.header.Get("Location"); r.status != http.StatusSeeOther || loc != "/reseller" {
			t.Errorf("next=%q: %d Location %q, want 303 /reseller", next, r.status, loc)
		}
	}
	b = ts.browser()
	r := b.post(acmeHost, "/login", "/login", url.Values{"email": {"owner@acme.example"}, "password": {testPassword}, "next": {"/reseller/activity?actor=x"}})
	if loc := r.header.Get("Location"); loc != "/reseller/activity?actor=x" {
		t.Errorf("a local next is lost: %q", loc)
	}
}

// Item 11: the CSRF token comes from the form body or a header only.

func TestCSRFTokenNotFromQueryString(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "owner@acme.example", "/reseller")
	token := b.csrf(acmeHost, "/reseller")
	// the probe: a valid token, in the query string only
	r := b.do(http.MethodPost, acmeHost, "/logout?_csrf="+url.QueryEscape(token), url.Values{}, nil)
	if r.status != http.StatusForbidden {
		t.Fatalf("token in the query string: %d, want 403", r.status)
	}
	if !b.signedIn(acmeHost, "/reseller") {
		t.Fatal("the refused post signed out")
	}
	// a form body (multipart too) or the header is accepted
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("_csrf", token)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.url(acmeHost, "/reseller/staff"), &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusForbidden {
		t.Errorf("token in a multipart body refused")
	}
	if r := b.do(http.MethodPost, acmeHost, "/logout", url.Values{}, map[string]string{"X-CSRF-Token": token}); r.status != http.StatusSeeOther {
		t.Errorf("token in the header: %d, want 303", r.status)
	}
}

// Item 8: one believable client address behind a proxy.

func TestClientAddr(t *testing.T) {
	t.Parallel()
	trusted, err := parseTrustedProxies([]string{"127.0.0.1", "10.0.0.0/8", "2001:db8:ffff::/48"})
	if err != nil {
		t.Fatal(err)
	}
	proxy, outsider := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		name      string
		peer      netip.Addr
		forwarded []string
		want      string
	}{
		{"no proxy: the header is ignored", outsider, []string{"198.51.100.7"}, "192.0.2.1"},
		{"proxy, no header", proxy, nil, "127.0.0.1"},
		{"one hop", proxy, []string{"198.51.100.7"}, "198.51.100.7"},
		{"spoofed hops on the left", proxy, []string{"1.1.1.1, <script>, 203.0.113.9, 198.51.100.7"}, "198.51.100.7"},
		{"trusted hops on the right are skipped", proxy, []string{"203.0.113.9, 198.51.100.7, 10.1.2.3, 10.0.0.9"}, "198.51.100.7"},
		{"several header lines", proxy, []string{"203.0.113.9", "198.51.100.7"}, "198.51.100.7"},
		{"junk on the right stops at the proxy", proxy, []string{"198.51.100.7, not-an-ip"}, "127.0.0.1"},
		{"junk behind a trusted hop", proxy, []string{"198.51.100.7, evil, 10.0.0.9"}, "10.0.0.9"},
		{"empty hop", proxy, []string{"198.51.100.7,"}, "127.0.0.1"},
		{"all trusted: the furthest", proxy, []string{"10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
		{"port", proxy, []string{"198.51.100.7:4711"}, "198.51.100.7"},
		{"ipv6 with port", proxy, []string{"[2001:db8::1]:4711"}, "2001:db8::1"},
		{"ipv6 trusted range", proxy, []string{"2001:db8::1, 2001:db8:ffff::2"}, "2001:db8::1"},
		{"mapped ipv4", proxy, []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"zone dropped", proxy, []string{"fe80::1%eth0"}, "fe80::1"},
		{"header injection", proxy, []string{"198.51.100.7\r\nX: y"}, "127.0.0.1"},
	} {
		if got := clientAddr(tc.peer, tc.forwarded, trusted).String(); got != tc.want {
			t.Errorf("%s: %q", tc.name, got)
		}
	}
}

func TestForwardedForBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	ts := newServerWith(t, false, "test.portico", twoResellers(), withTrustedProxy)
	b := ts.browser()
	// the probe: every attempt starts X-Forwarded-For with new text; the
	// proxy appended the real address, 198.51.100.7, last
	var r response
	for i := range 31 {
		form := url.Values{"email": {"guess" + strconv.Itoa(i) + "@acme.example"}, "password": {"Wr0ng-Passw0rd!"}, "_csrf": {b.csrf(acmeHost, "/login")}}
		spoof := "10.9." + strconv.Itoa(i) + ".1, <b>attempt " + strconv.Itoa(i) + "</b>, 198.51.100.7"
		r = b.do(http.MethodPost, acmeHost, "/login", form, map[string]string{"X-Forwarded-For": spoof})
		if i < 30 && r.status != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: %d", i+1, r.status)
		}
	}
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("31st failure from one address with a spoofed header: %d, want 429", r.status)
	}
	// another address behind the same proxy is not held back
	other := ts.browser()
	form := url.Values{"email": {"owner@acme.example"}, "password": {testPassword}, "_csrf": {other.csrf(acmeHost, "/login")}}
	if r := other.do(http.MethodPost, acmeHost, "/login", form, map[string]string{"X-Forwarded-For": "198.51.100.8"}); r.status != http.StatusSeeOther {
		t.Fatalf("another client: %d", r.status)
	}
	// the audit log and the session keep the parsed address, never the header's text
	var events []*store.AuditEvent
	var sessions []*store.Session
	ts.store.View(func(tx *store.Tx) (err error) {
		events, _, err = tx.AuditEvents(ts.ids["acme"], 0, 1000)
		if err != nil {
			return err
		}
		owner, err := tx.UserByEmail(ts.ids["acme"], "owner@acme.example")
		if err != nil {
			return err
		}
		sessions, err = tx.UserSessions(ts.ids["acme"], owner.ID)
		return err
	})
	failed := 0
	for _, e := range events {
		if _, err := netip.ParseAddr(e.IP); err != nil && e.Actor != "operator" && e.Actor != "seed" {
			t.Errorf("audit %s IP %q is not an address", e.Action, e.IP)
		}
		if e.Action == "login.failed" {
			failed++
			if e.IP != "198.51.100.7" {
				t.Errorf("failed sign-in recorded from %q", e.IP)
			}
		}
		if e.Action == "login" && e.IP != "198.51.100.8" {
			t.Errorf("sign-in recorded from %q", e.IP)
		}
	}
	if failed != 30 || len(sessions) != 1 || sessions[0].IP != "198.51.100.8" {
		t.Errorf("%d failures audited, sessions %+v", failed, sessions)
	}
	// junk where the proxy's hop should be: the proxy itself is recorded
	other = ts.browser()
	form = url.Values{"email": {"owner@acme.example"}, "password": {"Wr0ng-Passw0rd!"}, "_csrf": {other.csrf(acmeHost, "/login")}}
	other.do(http.MethodPost, acmeHost, "/login", form, map[string]string{"X-Forwarded-For": "198.51.100.8, <script>"})
	if got := ts.auditActions("login.failed"); len(got) != 31 {
		t.Fatalf("audit: %v", got)
	}
	ts.store.View(func(tx *store.Tx) (err error) { events, _, err = tx.AuditEvents(ts.ids["acme"], 0, 1); return err })
	if events[0].IP != "127.0.0.1" {
		t.Errorf("junk hop recorded as %q", events[0].IP)
	}
}

// Item 7: mailed links name the reseller's canonical host.

func TestMailedLinksUseTheCanonicalHost(t *testing.T) {
	t.Parallel()
	ts := newServerWith(t, false, "test.portico", twoResellers(), withTrustedProxy)
	canonical := "http://" + acmeDomain + ":" + ts.port() + "/"
	link := regexp.MustCompile(`https?://\S+`)
	forged := []struct {
		name, host string
		header     map[string]string
	}{
		{"a port", acmeHost + ":6666", nil},
		{"a trailing dot", acmeHost + ".", nil},
		{"upper case and a port", "ACME.test.portico:6666", nil},
		{"a forwarded host", acmeHost, map[string]string{"X-Forwarded-Host": acmeHost + ":6666"}},
	}
	for _, f := range forged {
		// password reset, asked for without signing in
		b := ts.browser()
		r := b.doAs(http.MethodGet, acmeHost, f.host, "/password/forgot", nil, f.header)
		m := csrfPattern.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("%s: no form (%d)", f.name, r.status)
		}
		email := "support@acme.example"
		if r := b.doAs(http.MethodPost, acmeHost, f.host, "/password/forgot", url.Values{"_csrf": {m[1]}, "email": {email}}, f.header); r.status != http.StatusSeeOther {
			t.Fatalf("%s: forgot %d", f.name, r.status)
		}
		got := link.FindString(ts.mailTo(email, "Reset").Text)
		if !strings.HasPrefix(got, canonical+"password/reset?token=") {
			t.Errorf("%s: reset link %q, want it on %s", f.name, got, canonical)
		}
	}
	// email change and invitation, signed in on a forged host
	b := ts.browser()
	b.login(acmeHost, "client@acme.example", "/dashboard")
	token := b.csrf(acmeHost, profileTab)
	r := b.doAs(http.MethodPost, acmeHost, acmeHost+":6666", "/settings/email", url.Values{"_csrf": {token}, "email": {"cleo@new.example"}, "current": {testPassword}}, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("email change: %d", r.status)
	}
	if got := link.FindString(ts.mailTo("cleo@new.example", "Confirm").Text); !strings.HasPrefix(got, canonical+"email/confirm?token=") {
		t.Errorf("email change link %q", got)
	}
	form := memberValues("Ivy", "Invitee", "ivy@cleo.example", "manager", "invite")
	form.Set("_csrf", token)
	// no mail server in the harness: the reply shows the link it kept (200)
	if r := b.doAs(http.MethodPost, acmeHost, acmeHost+".", "/settings/team", form, nil); r.status != http.StatusOK {
		t.Fatalf("invite: %d\n%s", r.status, r.body)
	}
	if got := link.FindString(ts.mailTo("ivy@cleo.example", "invited").Text); !strings.HasPrefix(got, canonical+"invite?token=") {
		t.Errorf("invitation link %q", got)
	}
	// a reseller without a custom domain: <slug>.<base_domain>
	g := ts.browser()
	r = g.doAs(http.MethodGet, globexHost, globexHost+":6666", "/password/forgot", nil, nil)
	g.doAs(http.MethodPost, globexHost, globexHost+":6666", "/password/forgot", url.Values{"_csrf": {csrfPattern.FindStringSubmatch(r.body)[1]}, "email": {"owner@globex.example"}}, nil)
	if got := link.FindString(ts.mailTo("owner@globex.example", "Reset").Text); !strings.HasPrefix(got, "http://"+globexHost+":"+ts.port()+"/password/reset?token=") {
		t.Errorf("globex link %q", got)
	}
}

// Item 6: one reset link used, or a password changed, ends the others.

func TestResetLinkEndsTheOthers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	resetPath := func() string {
		t.Helper()
		n := len(ts.outbox())
		if r := ts.browser().post(acmeHost, "/password/forgot", "/password/forgot", url.Values{"email": {"client@acme.example"}}); r.status != http.StatusSeeOther {
			t.Fatalf("forgot: %d", r.status)
		}
		out := ts.outbox()
		if len(out) != n+1 {
			t.Fatalf("no reset mail")
		}
		link, err := url.Parse(linkPattern.FindString(out[n].Text))
		if err != nil {
			t.Fatal(err)
		}
		return link.RequestURI()
	}
	use := func(path, password string) response {
		return ts.browser().post(acmeHost, "/login", "/password/reset", url.Values{"token": {strings.TrimPrefix(path, "/password/reset?token=")},
			"password": {password}, "confirm": {password}})
	}
	// the probe: two links outstanding, the first is used
	first, second := resetPath(), resetPath()
	if r := use(first, "N3w-Passw0rd!"); r.status != http.StatusSeeOther {
		t.Fatalf("first link: %d", r.status)
	}
	if r := ts.browser().get(acmeHost, second); r.status != http.StatusNotFound {
		t.Errorf("second link still shown: %d", r.status)
	}
	if r := use(second, "Att4cker-Passw0rd!"); r.status != http.StatusNotFound {
		t.Errorf("second link still sets a password: %d", r.status)
	}
	if auth.CheckPassword(ts.userByEmail("acme", "client@acme.example").PasswordHash, "N3w-Passw0rd!") != nil {
		t.Fatal("the second link changed the password")
	}
	// a link outstanding when the password is changed from Security
	third := resetPath()
	b := ts.browser()
	if r := b.post(acmeHost, "/login", "/login", url.Values{"email": {"client@acme.example"}, "password": {"N3w-Passw0rd!"}}); r.status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.status)
	}
	if r := b.post(acmeHost, securityTab, "/settings/password", url.Values{"current": {"N3w-Passw0rd!"}, "password": {newPassword}, "confirm": {newPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("change: %d", r.status)
	}
	if r := use(third, "Att4cker-Passw0rd!"); r.status != http.StatusNotFound {
		t.Errorf("link from before the change still works: %d", r.status)
	}
	// an email change asked for before a reset dies with the reset: a
	// session thief cannot move the account after its owner recovered it
	if r := b.post(acmeHost, profileTab, "/settings/email", url.Values{"email": {"thief@evil.example"}, "current": {newPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("email change: %d", r.status)
	}
	confirm := confirmLinkPattern.FindStringSubmatch(ts.mailTo("thief@evil.example", "Confirm").Text)[1]
	if r := use(resetPath(), "Own3r-Passw0rd!"); r.status != http.StatusSeeOther {
		t.Fatalf("reset: %d", r.status)
	}
	if r := ts.browser().get(acmeHost, confirm); r.status != http.StatusNotFound {
		t.Errorf("email change link shown after a reset: %d", r.status)
	}
	if r := ts.browser().post(acmeHost, "/login", "/email/confirm", url.Values{"token": {strings.TrimPrefix(confirm, "/email/confirm?token=")}}); r.status != http.StatusNotFound {
		t.Errorf("email change after a reset: %d", r.status)
	}
	if ts.userByEmail("acme", "client@acme.example") == nil {
		t.Error("the account moved")
	}
}

// Item 10: every branch of a failed sign-in does the same work. Not
// parallel: it counts the process's argon2id checks.

func TestSignInBranchesDoTheSameWork(t *testing.T) {
	ts := newTestServer(t)
	err := ts.store.Update(func(tx *store.Tx) error {
		if err := tx.CreateUser(&store.User{ResellerID: ts.ids["acme"], ClientID: ts.cleo().ID, Email: "invited@acme.example",
			Role: store.RoleUser, Status: store.UserInvited}); err != nil {
			return err
		}
		return tx.CreateUser(&store.User{ResellerID: ts.ids["acme"], ClientID: ts.cleo().ID, Email: "damaged@acme.example",
			Role: store.RoleUser, PasswordHash: "$argon2id$garbage"})
	})
	if err != nil {
		t.Fatal(err)
	}
	auth.BurnPasswordCheck("warm up") // the dummy hash is made once per process
	b := ts.browser()
	for _, email := range []string{"ghost@acme.example", "invited@acme.example", "client@acme.example", "damaged@acme.example", "not an email"} {
		form := url.Values{"email": {email}, "password": {"Wr0ng-Passw0rd!"}, "_csrf": {b.csrf(acmeHost, "/login")}}
		checks, writes := auth.Verifications(), ts.store.Writes()
		r := b.do(http.MethodPost, acmeHost, "/login", form, nil)
		checks, writes = auth.Verifications()-checks, ts.store.Writes()-writes
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "The email or password is incorrect.") {
			t.Errorf("%s: %d", email, r.status)
		}
		if checks != 1 || writes != 1 {
			t.Errorf("%s: %d argon2id checks and %d writes, want 1 and 1 like every other branch", email, checks, writes)
		}
	}
	if got := ts.auditActions("login.failed"); len(got) != 5 || got[0] != "(not an email address) no such account" {
		t.Errorf("audit: %q", got)
	}
}

// Item 9: no one locks an account against its owner.

func TestStrangersCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	// the probe: ten failures lock the owner out, correct password included
	attacker := ts.browserFrom("127.0.0.2")
	for i := range 10 {
		if r := attacker.failLogin(acmeHost, "owner@acme.example"); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: %d", i+1, r.status)
		}
	}
	if r := attacker.failLogin(acmeHost, "owner@acme.example"); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("11th guess from the same address: %d, want 429", r.status)
	}
	// the owner, from their own address, is not affected
	ts.browser().login(acmeHost, "owner@acme.example", "/reseller")
	// nor is another account from the attacker's address
	attacker.login(acmeHost, "support@acme.example", "/reseller")

	// an office behind one NAT address signs in all day
	office := "127.0.0.3"
	for range 40 {
		ts.browserFrom(office).login(acmeHost, "client@acme.example", "/dashboard")
	}
}

func TestAccountPauseAndUnlockLink(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	// 100 failures from ten addresses pause the account for everyone...
	for i := range 10 {
		b := ts.browserFrom("127.0.1." + strconv.Itoa(i+1))
		form := url.Values{"email": {"owner@acme.example"}, "password": {"Wr0ng-Passw0rd!"}, "_csrf": {b.csrf(acmeHost, "/login")}}
		for range 10 {
			if r := b.do(http.MethodPost, acmeHost, "/login", form, nil); r.status != http.StatusUnprocessableEntity {
				t.Fatalf("address %d: %d", i+1, r.status)
			}
		}
	}
	owner := ts.browser()
	r := owner.post(acmeHost, "/login", "/login", url.Values{"email": {"owner@acme.example"}, "password": {testPassword}})
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "paused") || r.header.Get("Retry-After") == "" {
		t.Fatalf("paused account: %d\n%s", r.status, r.body)
	}
	// ...and an account that does not exist is counted and paused alike
	// (one failure through the form, the other 99 counted directly)
	if r := ts.browserFrom("127.0.2.1").failLogin(acmeHost, "ghost@acme.example"); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("ghost: %d", r.status)
	}
	for range accountFailureCeiling - 1 {
		ts.app.limits.accounts.fail(signInAccount(ts.ids["acme"], "ghost@acme.example"))
	}
	if r := owner.failLogin(acmeHost, "ghost@acme.example"); r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "paused") {
		t.Errorf("unknown account: %d", r.status)
	}
	// the owner is mailed one link, on the canonical host
	mail := ts.mailTo("owner@acme.example", "paused")
	m := regexp.MustCompile(`http://` + regexp.QuoteMeta(acmeDomain+":"+ts.port()) + `(/login/unlock\?token=[A-Za-z0-9_-]+)`).FindStringSubmatch(mail.Text)
	if m == nil {
		t.Fatalf("no unlock link in %q", mail.Text)
	}
	pauses := 0
	for _, out := range ts.outbox() {
		if out.To == "ghost@acme.example" {
			t.Errorf("mail to an unknown account: %+v", out)
		}
		if strings.Contains(out.Subject, "paused") {
			pauses++
		}
	}
	if pauses != 1 {
		t.Errorf("%d pause mails, want 1", pauses)
	}
	// looking does not spend it, nor does it work on another reseller
	if r := ts.browser().get(globexHost, m[1]); r.status != http.StatusNotFound {
		t.Errorf("link on globex: %d", r.status)
	}
	if r := owner.get(acmeHost, m[1]); r.status != http.StatusOK || !strings.Contains(r.body, "Unlock sign-in in this browser") {
		t.Fatalf("unlock page: %d", r.status)
	}
	token := strings.TrimPrefix(m[1], "/login/unlock?token=")
	if r := owner.post(acmeHost, m[1], "/login/unlock", url.Values{"token": {token}}); r.status != http.StatusSeeOther {
		t.Fatalf("unlock: %d\n%s", r.status, r.body)
	}
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	// once only, in one browser; others stay paused
	if r := ts.browser().post(acmeHost, "/login", "/login/unlock", url.Values{"token": {token}}); r.status != http.StatusNotFound {
		t.Errorf("second use: %d", r.status)
	}
	r = ts.browserFrom("127.0.3.1").post(acmeHost, "/login", "/login", url.Values{"email": {"owner@acme.example"}, "password": {testPassword}})
	if r.status != http.StatusTooManyRequests {
		t.Errorf("another browser during the pause: %d", r.status)
	}
	// a forged cookie is nothing
	forged := ts.browserFrom("127.0.3.2")
	u, _ := url.Parse(ts.url(acmeHost, "/"))
	forged.client.Jar.SetCookies(u, []*http.Cookie{{Name: unlockCookie, Value: "YQ.YQ"}})
	if r := forged.post(acmeHost, "/login", "/login", url.Values{"email": {"owner@acme.example"}, "password": {testPassword}}); r.status != http.StatusTooManyRequests {
		t.Errorf("forged unlock cookie: %d", r.status)
	}
	ts.clock.Advance(61 * time.Minute)
	ts.browserFrom("127.0.3.1").login(acmeHost, "owner@acme.example", "/reseller")
	if got := ts.auditActions("login.paused"); len(got) != 1 {
		t.Errorf("pause audited: %q", got)
	}
}
