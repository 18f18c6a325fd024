package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"portico/app/auth"
	"portico/store"
)

// addProfiledUser adds a member with role to acme's client cleo, with a
// new permission profile of the given levels.
func (ts *testServer) addProfiledUser(email, role, profile string, levels map[string]string) uint64 {
	ts.t.Helper()
	hash, _ := auth.HashPassword(testPassword)
	cleo := ts.cleo()
	var uid uint64
	err := ts.store.Update(func(tx *store.Tx) error {
		p := &store.PermissionProfile{ResellerID: ts.ids["acme"], ClientID: cleo.ID, Name: profile, Access: levels}
		if err := tx.CreateProfile(p); err != nil {
			return err
		}
		u := &store.User{ResellerID: ts.ids["acme"], ClientID: cleo.ID, Email: email, Role: role, PasswordHash: hash, ProfileID: p.ID}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		uid = u.ID
		return nil
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	return uid
}

// hasAudit reports whether acme's log holds action with target containing
// what.
func (ts *testServer) hasAudit(action, what string) bool {
	ts.t.Helper()
	var found bool
	err := ts.store.View(func(tx *store.Tx) error {
		events, _, err := tx.AuditEventsMatching(ts.ids["acme"], 0, 1000, func(e *store.AuditEvent) bool {
			return e.Action == action && strings.Contains(e.Target, what)
		})
		found = len(events) > 0
		return err
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	return found
}

func memberValues(first, last, email, role, method string) url.Values {
	v := url.Values{"first_name": {first}, "last_name": {last}, "email": {email}, "role": {role}, "method": {method}, "profile": {"0"}}
	if method == "password" {
		v.Set("password", "Init1al-Pass!")
		v.Set("confirm", "Init1al-Pass!")
	}
	return v
}

// TestAddMemberWithInitialPassword: the form checks its fields and keeps
// them on error; a member added with an initial password signs in, lands
// on the page that makes them choose their own, can use nothing else until
// they do, and then gets in.
func TestAddMemberWithInitialPassword(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")

	cases := []struct {
		name  string
		form  url.Values
		field string
		want  string
	}{
		{"weak password", func() url.Values {
			v := memberValues("Ann", "Agent", "ann@cleo.example", "user", "password")
			v.Set("password", "short")
			v.Set("confirm", "short")
			return v
		}(), "password", "characters"},
		{"email taken by a staff member", memberValues("Ann", "Agent", "support@acme.example", "user", "password"), "email", "already has an account"},
		{"email taken by the owner, other case", memberValues("Ann", "Agent", "Client@ACME.example", "user", "password"), "email", "already has an account"},
		{"bad email", memberValues("Ann", "Agent", "ann at cleo", "user", "password"), "email", "such as name@example.com"},
		{"no first name", memberValues("", "Agent", "ann@cleo.example", "user", "password"), "first_name", "Enter the first name"},
		{"owner role", memberValues("Ann", "Agent", "ann@cleo.example", "owner", "password"), "role", "Choose admin"},
		{"profile for an admin", func() url.Values {
			v := memberValues("Ann", "Agent", "ann@cleo.example", "admin", "password")
			v.Set("profile", strconv.FormatUint(ts.profileID("Agents", map[string]string{"calls": "view"}), 10))
			return v
		}(), "profile", "managers and users only"},
	}
	for _, tc := range cases {
		r := owner.post(acmeHost, teamTabURL, "/settings/team", tc.form)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) || !strings.Contains(r.body, `id="e-`+tc.field+`"`) {
			t.Errorf("%s: %d, want 422 with %q on %s", tc.name, r.status, tc.want, tc.field)
		}
		if tc.field != "first_name" && !strings.Contains(r.body, `value="`+tc.form.Get("first_name")+`"`) {
			t.Errorf("%s: the first name was not kept", tc.name)
		}
	}

	r := owner.post(acmeHost, teamTabURL, "/settings/team", memberValues("Ann", "Agent", "ann@cleo.example", "user", "password"))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != teamTabURL {
		t.Fatalf("add: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if !ts.hasAudit("user.create", "ann@cleo.example") {
		t.Error("no audit event for the new member")
	}
	list := owner.get(acmeHost, teamTabURL)
	for _, want := range []string{"Ann Agent", "ann@cleo.example", "Cleo Client", "never"} {
		if !strings.Contains(list.body, want) {
			t.Errorf("team list lacks %q", want)
		}
	}

	ann := ts.browser()
	r = ann.post(acmeHost, "/login", "/login", url.Values{"email": {"ann@cleo.example"}, "password": {"Init1al-Pass!"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != mustChangePasswordURL {
		t.Fatalf("first sign-in: %d %s", r.status, r.header.Get("Location"))
	}
	for _, path := range []string{"/dashboard", "/settings", "/settings?tab=security", "/"} {
		if r := ann.get(acmeHost, path); r.status != http.StatusSeeOther || r.header.Get("Location") != mustChangePasswordURL {
			t.Errorf("GET %s before choosing a password: %d %s", path, r.status, r.header.Get("Location"))
		}
	}
	page := ann.get(acmeHost, mustChangePasswordURL)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Choose your password") {
		t.Fatalf("change page: %d", page.status)
	}
	csrf := csrfPattern.FindStringSubmatch(page.body)[1]
	if r := ann.do(http.MethodPost, acmeHost, "/settings/password", url.Values{"_csrf": {csrf}, "current": {"Init1al-Pass!"},
		"password": {testPassword}, "confirm": {testPassword}}, nil); r.status != http.StatusForbidden {
		t.Errorf("another form before choosing a password: %d, want 403", r.status)
	}
	if r := ann.post(acmeHost, mustChangePasswordURL, mustChangePasswordURL, url.Values{"password": {"Init1al-Pass!"}, "confirm": {"Init1al-Pass!"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "different from the one you were given") {
		t.Errorf("keeping the initial password: %d", r.status)
	}
	r = ann.post(acmeHost, mustChangePasswordURL, mustChangePasswordURL, url.Values{"password": {testPassword}, "confirm": {testPassword}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
		t.Fatalf("choose password: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := ann.get(acmeHost, "/dashboard"); r.status != http.StatusOK {
		t.Errorf("dashboard after choosing: %d", r.status)
	}
	if u := ts.userByEmail("acme", "ann@cleo.example"); u.MustChangePassword {
		t.Error("the flag is still set")
	}
	if r := ts.browser().post(acmeHost, "/login", "/login", url.Values{"email": {"ann@cleo.example"}, "password": {"Init1al-Pass!"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("the initial password still signs in: %d", r.status)
	}
	ts.browser().login(acmeHost, "ann@cleo.example", "/dashboard")
}

// profileID creates a profile of cleo and returns its id.
func (ts *testServer) profileID(name string, levels map[string]string) uint64 {
	ts.t.Helper()
	p := &store.PermissionProfile{ResellerID: ts.ids["acme"], ClientID: ts.cleo().ID, Name: name, Access: levels}
	if err := ts.store.Update(func(tx *store.Tx) error { return tx.CreateProfile(p) }); err != nil {
		ts.t.Fatal(err)
	}
	return p.ID
}

// TestInvitationByMail: the invitation travels through a real SMTP
// server; its link shows the business and email without being spent,
// works once, and a second use explains itself. A resent invitation
// replaces the old link; a withdrawn one stops working; a link expires
// after 72 hours on the clock.
func TestInvitationByMail(t *testing.T) {
	t.Parallel()
	in, smtp := withSMTP(t)
	ts := newServerWith(t, false, "test.portico", twoResellers(), smtp)
	owner := ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")

	r := owner.post(acmeHost, teamTabURL, "/settings/team", memberValues("Ivy", "Invitee", "ivy@cleo.example", "manager", "invite"))
	if r.status != http.StatusSeeOther {
		t.Fatalf("invite: %d\n%s", r.status, r.body)
	}
	m := in.next()
	if len(m.To) != 1 || m.To[0] != "ivy@cleo.example" || !strings.Contains(m.Subject, "Cleo Calls") || !strings.Contains(m.Subject, "Acme Voice") ||
		!strings.Contains(m.From, "Acme Voice") || !strings.Contains(m.Body, "72 hours") {
		t.Fatalf("invitation mail: %+v", m)
	}
	host, link := inviteLink(t, m)
	if host != acmeHost {
		t.Errorf("link host %q", host)
	}
	if u := ts.userByEmail("acme", "ivy@cleo.example"); u.Status != store.UserInvited || u.PasswordHash != "" {
		t.Errorf("invited user: %+v", u)
	}
	if list := owner.get(acmeHost, teamTabURL); !strings.Contains(list.body, "status-invited") {
		t.Error("the list does not show the invitation")
	}
	// the store keeps only the token's hash
	token := strings.TrimPrefix(link, "/invite?token=")
	ts.store.View(func(tx *store.Tx) error {
		if _, err := tx.Invitation(ts.ids["acme"], []byte(token)); err == nil {
			t.Error("the raw token finds the invitation")
		}
		return nil
	})

	ivy := ts.browser()
	for range 2 { // looking does not spend the link
		page := ivy.get(acmeHost, link)
		if page.status != http.StatusOK || !strings.Contains(page.body, "Cleo Calls") || !strings.Contains(page.body, "ivy@cleo.example") ||
			!strings.Contains(page.body, "Acme Voice") {
			t.Fatalf("accept page: %d\n%s", page.status, page.body)
		}
	}
	if r := ts.browser().get(globexHost, link); r.status != http.StatusNotFound || !strings.Contains(r.body, "not valid") {
		t.Errorf("acme's link on globex's host: %d", r.status)
	}
	if r := ivy.post(acmeHost, link, "/invite", url.Values{"token": {token}, "password": {"weak"}, "confirm": {"weak"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("weak password: %d", r.status)
	}
	r = ivy.post(acmeHost, link, "/invite", url.Values{"token": {token}, "password": {testPassword}, "confirm": {testPassword}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("accept: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := ivy.post(acmeHost, "/login", "/invite", url.Values{"token": {token}, "password": {"Other-Pass1!"}, "confirm": {"Other-Pass1!"}}); r.status != http.StatusGone || !strings.Contains(r.body, "already accepted") {
		t.Errorf("second use: %d", r.status)
	}
	if r := ivy.get(acmeHost, link); r.status != http.StatusGone || !strings.Contains(r.body, "already accepted") {
		t.Errorf("used link: %d", r.status)
	}
	ivy.login(acmeHost, "ivy@cleo.example", "/dashboard")
	if !ts.hasAudit("invitation.accept", "ivy@cleo.example") || !ts.hasAudit("user.invite", "ivy@cleo.example") {
		t.Error("audit events missing")
	}

	// resend: the old link is replaced
	owner.post(acmeHost, teamTabURL, "/settings/team", memberValues("Rex", "Resent", "rex@cleo.example", "user", "invite"))
	_, first := inviteLink(t, in.next())
	rex := ts.userByEmail("acme", "rex@cleo.example")
	if r := owner.post(acmeHost, teamTabURL, fmt.Sprintf("/settings/team/%d/invitation", rex.ID), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("resend: %d", r.status)
	}
	_, second := inviteLink(t, in.next())
	if first == second {
		t.Fatal("resend mailed the same link")
	}
	if r := ts.browser().get(acmeHost, first); r.status != http.StatusGone || !strings.Contains(r.body, "withdrawn or replaced") {
		t.Errorf("old link after resend: %d", r.status)
	}
	if r := ts.browser().get(acmeHost, second); r.status != http.StatusOK {
		t.Errorf("new link: %d", r.status)
	}

	// revoke: the link stops working; the member stays, invited
	if r := owner.post(acmeHost, teamTabURL, fmt.Sprintf("/settings/team/%d/invitation/revoke", rex.ID), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.status)
	}
	if r := ts.browser().get(acmeHost, second); r.status != http.StatusGone || !strings.Contains(r.body, "withdrawn") {
		t.Errorf("revoked link: %d", r.status)
	}
	if r := ts.browser().post(acmeHost, "/login", "/invite", url.Values{"token": {strings.TrimPrefix(second, "/invite?token=")},
		"password": {testPassword}, "confirm": {testPassword}}); r.status != http.StatusGone {
		t.Errorf("accepting a revoked link: %d", r.status)
	}
	// an active member has no invitation to resend
	ivyID := ts.userByEmail("acme", "ivy@cleo.example").ID
	if r := owner.post(acmeHost, teamTabURL, fmt.Sprintf("/settings/team/%d/invitation", ivyID), url.Values{}); r.status != http.StatusConflict {
		t.Errorf("resend to an active member: %d", r.status)
	}

	// expiry at 72 hours on the clock
	owner.post(acmeHost, teamTabURL, "/settings/team", memberValues("Eve", "Expired", "eve@cleo.example", "user", "invite"))
	_, late := inviteLink(t, in.next())
	ts.clock.Advance(72*time.Hour - time.Second)
	if r := ts.browser().get(acmeHost, late); r.status != http.StatusOK {
		t.Errorf("link just before 72 h: %d", r.status)
	}
	ts.clock.Advance(time.Second)
	if r := ts.browser().get(acmeHost, late); r.status != http.StatusGone || !strings.Contains(r.body, "expired") {
		t.Errorf("link at 72 h: %d", r.status)
	}
	if r := ts.browser().post(acmeHost, "/login", "/invite", url.Values{"token": {strings.TrimPrefix(late, "/invite?token=")},
		"password": {testPassword}, "confirm": {testPassword}}); r.status != http.StatusGone {
		t.Errorf("accepting an expired link: %d", r.status)
	}
	if problems, err := ts.store.Verify(); err != nil || len(problems) > 0 {
		t.Errorf("verify: %v %v", problems, err)
	}
}
