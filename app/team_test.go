package app

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"portico/app/access"
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
	owner := ts.acmeClient()

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
	owner := ts.acmeClient()

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
	if host != acmeDomain { // acme's canonical host
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

// TestTeamTenantScope: members, invitations and profiles of another
// reseller, and of another client of the same reseller, do not exist for
// a client's owner: every page and form about them is 404, and nothing
// changes.
func TestTeamTenantScope(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	other := keysTabClient(t, ts, "acme", "otto", "otto@other.example") // same reseller, another client
	gio := keysTabClient(t, ts, "globex", "gio", "gio@globex.example")  // another reseller
	hash, _ := auth.HashPassword(testPassword)
	var otherMember, otherProfile, globexMember, globexProfile uint64
	err := ts.store.Update(func(tx *store.Tx) error {
		for _, x := range []struct {
			rid, cid        uint64
			email           string
			member, profile *uint64
		}{{ts.ids["acme"], other.ID, "olga@other.example", &otherMember, &otherProfile}, {ts.ids["globex"], gio.ID, "gwen@globex.example", &globexMember, &globexProfile}} {
			p := &store.PermissionProfile{ResellerID: x.rid, ClientID: x.cid, Name: "Theirs", Access: map[string]string{"calls": "view"}}
			if err := tx.CreateProfile(p); err != nil {
				return err
			}
			u := &store.User{ResellerID: x.rid, ClientID: x.cid, Email: x.email, Role: store.RoleUser, PasswordHash: hash, ProfileID: p.ID}
			if err := tx.CreateUser(u); err != nil {
				return err
			}
			*x.member, *x.profile = u.ID, p.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	owner := ts.acmeClient()
	id := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for _, target := range []struct{ name, member, profile string }{
		{"another client of the reseller", id(otherMember), id(otherProfile)},
		{"another reseller", id(globexMember), id(globexProfile)},
		{"no one", "999999", "999999"},
	} {
		for _, req := range []struct {
			method, path string
			form         url.Values
		}{
			{"GET", "/settings?tab=team&edit=" + target.member, nil},
			{"POST", "/settings/team/" + target.member, url.Values{"first_name": {"Hijacked"}, "role": {"admin"}, "status": {"disabled"}}},
			{"POST", "/settings/team/" + target.member + "/delete", url.Values{}},
			{"POST", "/settings/team/" + target.member + "/invitation", url.Values{}},
			{"POST", "/settings/team/" + target.member + "/invitation/revoke", url.Values{}},
			{"POST", "/settings/team/transfer", url.Values{"to": {target.member}, "password": {testPassword}}},
			{"GET", "/settings?tab=permissions&edit=" + target.profile, nil},
			{"POST", "/settings/profiles/" + target.profile, url.Values{"name": {"Hijacked"}, "access_calls": {"edit"}}},
			{"POST", "/settings/profiles/" + target.profile + "/delete", url.Values{}},
			{"POST", "/settings/team", func() url.Values {
				v := memberValues("Pat", "Profiled", "pat@cleo.example", "user", "password")
				v.Set("profile", target.profile)
				return v
			}()},
		} {
			var r response
			if req.method == "GET" {
				r = owner.get(acmeHost, req.path)
			} else {
				r = owner.post(acmeHost, teamTabURL, req.path, req.form)
			}
			if r.status != http.StatusNotFound {
				t.Errorf("%s: %s %s: %d, want 404", target.name, req.method, req.path, r.status)
			}
		}
	}
	// nothing changed
	for _, x := range []struct{ slug, email string }{{"acme", "olga@other.example"}, {"globex", "gwen@globex.example"}} {
		if u := ts.userByEmail(x.slug, x.email); u.FirstName != "" || u.Role != store.RoleUser || u.Status != store.UserActive {
			t.Errorf("%s changed: %+v", x.email, u)
		}
	}
	ts.store.View(func(tx *store.Tx) error {
		if _, err := tx.UserByEmail(ts.ids["acme"], "pat@cleo.example"); err == nil {
			t.Error("a member was added with another client's profile")
		}
		for _, p := range []struct{ rid, cid, pid uint64 }{{ts.ids["acme"], other.ID, otherProfile}, {ts.ids["globex"], gio.ID, globexProfile}} {
			if got, err := tx.Profile(p.rid, p.cid, p.pid); err != nil || got.Name != "Theirs" {
				t.Errorf("profile %d changed: %v %v", p.pid, got, err)
			}
		}
		return nil
	})
	// the owner's list names neither
	if list := owner.get(acmeHost, teamTabURL); strings.Contains(list.body, "olga@") || strings.Contains(list.body, "gwen@") || strings.Contains(list.body, "otto@") {
		t.Error("the team list shows another client's members")
	}
	if list := owner.get(acmeHost, permissionsTabURL); strings.Contains(list.body, "Theirs") {
		t.Error("the profiles tab shows another client's profiles")
	}
}

// TestTeamRules: the owner cannot be demoted, disabled or removed except
// by handing over ownership; nobody changes their own role or status or
// removes themselves; disabling and removing sign the member out; the
// hand-over needs the owner's password and an active admin.
func TestTeamRules(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addClientUser("ada@cleo.example", store.RoleAdmin)
	ts.addClientUser("max@cleo.example", store.RoleManager)
	ts.addClientUser("una@cleo.example", store.RoleUser)
	ownerID := ts.userByEmail("acme", "client@acme.example").ID
	adaID := ts.userByEmail("acme", "ada@cleo.example").ID
	maxID := ts.userByEmail("acme", "max@cleo.example").ID
	unaID := ts.userByEmail("acme", "una@cleo.example").ID
	owner, ada, una := ts.browser(), ts.browser(), ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")
	ada.login(acmeHost, "ada@cleo.example", "/dashboard")
	una.login(acmeHost, "una@cleo.example", "/dashboard")
	edit := func(role, status string) url.Values {
		return url.Values{"first_name": {"Some"}, "last_name": {"One"}, "role": {role}, "status": {status}, "profile": {"0"}}
	}
	path := func(id uint64, suffix string) string { return fmt.Sprintf("/settings/team/%d%s", id, suffix) }

	refused := []struct {
		name string
		b    *browser
		path string
		form url.Values
		want string
	}{
		{"admin demotes the owner", ada, path(ownerID, ""), edit("admin", "active"), "owner keeps"},
		{"admin disables the owner", ada, path(ownerID, ""), edit("owner", "disabled"), "owner keeps"},
		{"admin removes the owner", ada, path(ownerID, "/delete"), url.Values{}, "owner cannot be removed"},
		{"admin demotes themselves", ada, path(adaID, ""), edit("user", "active"), "your own role"},
		{"admin disables themselves", ada, path(adaID, ""), edit("admin", "disabled"), "your own role"},
		{"admin removes themselves", ada, path(adaID, "/delete"), url.Values{}, "your own account"},
		{"owner demotes themselves", owner, path(ownerID, ""), edit("admin", "active"), "your own role"},
		{"admin hands over ownership", ada, "/settings/team/transfer", url.Values{"to": {strconv.FormatUint(adaID, 10)}, "password": {testPassword}}, ""},
		{"a user manages the team", una, path(maxID, ""), edit("user", "disabled"), ""},
	}
	for _, tc := range refused {
		r := tc.b.post(acmeHost, "/settings", tc.path, tc.form)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d, want 403 saying %q", tc.name, r.status, tc.want)
		}
	}
	if u := ts.userByEmail("acme", "client@acme.example"); u.Role != store.RoleOwner || u.Status != store.UserActive {
		t.Fatalf("owner changed: %+v", u)
	}
	// renaming oneself is fine
	if r := ada.post(acmeHost, teamTabURL, path(adaID, ""), url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "role": {"admin"}, "status": {"active"}}); r.status != http.StatusSeeOther {
		t.Errorf("rename self: %d", r.status)
	}

	// an admin disables a user: signed out at once, cannot sign in
	if r := ada.post(acmeHost, teamTabURL, path(unaID, ""), edit("user", "disabled")); r.status != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.status)
	}
	if una.signedIn(acmeHost, "/dashboard") {
		t.Error("the disabled member is still signed in")
	}
	if r := ts.browser().post(acmeHost, "/login", "/login", url.Values{"email": {"una@cleo.example"}, "password": {testPassword}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("disabled member signs in: %d", r.status)
	}
	if !ts.hasAudit("user.disable", "una@cleo.example") {
		t.Error("no audit of the disable")
	}
	// enabled again, then removed: signed out, gone, email free again
	ada.post(acmeHost, teamTabURL, path(unaID, ""), edit("user", "active"))
	una.login(acmeHost, "una@cleo.example", "/dashboard")
	if r := ada.post(acmeHost, teamTabURL, path(unaID, "/delete"), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.status)
	}
	if una.signedIn(acmeHost, "/dashboard") {
		t.Error("the removed member is still signed in")
	}
	if !ts.hasAudit("user.delete", "una@cleo.example") {
		t.Error("no audit of the removal")
	}
	if r := ada.post(acmeHost, teamTabURL, "/settings/team", memberValues("Una", "Again", "una@cleo.example", "user", "password")); r.status != http.StatusSeeOther {
		t.Errorf("re-adding a removed email: %d", r.status)
	}

	// hand-over: password checked, only to an active admin
	transfer := func(to uint64, password string) response {
		return owner.post(acmeHost, teamTabURL, "/settings/team/transfer", url.Values{"to": {strconv.FormatUint(to, 10)}, "password": {password}})
	}
	if r := transfer(adaID, "wrong-password"); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "password is incorrect") {
		t.Errorf("wrong password: %d", r.status)
	}
	if r := transfer(maxID, testPassword); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "active admin") {
		t.Errorf("to a manager: %d", r.status)
	}
	if r := transfer(adaID, testPassword); r.status != http.StatusSeeOther {
		t.Fatalf("transfer: %d", r.status)
	}
	if u := ts.userByEmail("acme", "ada@cleo.example"); u.Role != store.RoleOwner {
		t.Errorf("new owner: %+v", u)
	}
	if u := ts.userByEmail("acme", "client@acme.example"); u.Role != store.RoleAdmin {
		t.Errorf("old owner: %+v", u)
	}
	if !ts.hasAudit("owner.transfer", "client@acme.example → ada@cleo.example") {
		t.Error("no audit of the transfer")
	}
	// both stay signed in with their new roles
	if r := transfer(adaID, testPassword); r.status != http.StatusForbidden {
		t.Errorf("the old owner hands over again: %d", r.status)
	}
	if r := ada.post(acmeHost, teamTabURL, path(ownerID, "/delete"), url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("the new owner removes the old one, now an admin: %d", r.status)
	}
	var owners int
	ts.store.View(func(tx *store.Tx) error {
		users, _ := tx.ClientUsers(ts.ids["acme"], ts.cleo().ID)
		for _, u := range users {
			if u.Role == store.RoleOwner {
				owners++
			}
		}
		return nil
	})
	if owners != 1 {
		t.Errorf("%d owners", owners)
	}
}

// TestProfileEnforcement: a profile narrows a member's access on the
// server and in the menu from their next request; it never widens a role;
// a profile in use cannot be deleted and the page says who has it.
func TestProfileEnforcement(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.acmeClient()

	// create through the form: unspecified modules are none
	r := owner.post(acmeHost, permissionsTabURL, "/settings/profiles", url.Values{"name": {"Agents"}, "access_calls": {"view"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create profile: %d\n%s", r.status, r.body)
	}
	if r := owner.post(acmeHost, permissionsTabURL, "/settings/profiles", url.Values{"name": {"agents"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "exists already") {
		t.Errorf("duplicate name: %d", r.status)
	}
	if r := owner.post(acmeHost, permissionsTabURL, "/settings/profiles", url.Values{"name": {"Odd"}, "access_calls": {"root"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown level: %d", r.status)
	}
	var profile *store.PermissionProfile
	ts.store.View(func(tx *store.Tx) error {
		ps, _ := tx.Profiles(ts.ids["acme"], ts.cleo().ID)
		profile = ps[0]
		return nil
	})
	if profile.Access["calls"] != "view" || profile.Access["dashboard"] != "none" || profile.Access["billing"] != "none" {
		t.Fatalf("stored profile: %+v", profile.Access)
	}

	add := memberValues("Mo", "Manager", "mo@cleo.example", "manager", "password")
	add.Set("profile", strconv.FormatUint(profile.ID, 10))
	if r := owner.post(acmeHost, teamTabURL, "/settings/team", add); r.status != http.StatusSeeOther {
		t.Fatalf("add with profile: %d\n%s", r.status, r.body)
	}
	mo := ts.userByEmail("acme", "mo@cleo.example")
	if mo.ProfileID != profile.ID {
		t.Fatalf("profile not assigned: %+v", mo)
	}
	b := ts.browser()
	r = b.post(acmeHost, "/login", "/login", url.Values{"email": {"mo@cleo.example"}, "password": {"Init1al-Pass!"}})
	b.post(acmeHost, mustChangePasswordURL, mustChangePasswordURL, url.Values{"password": {testPassword}, "confirm": {testPassword}})
	if r := b.get(acmeHost, "/dashboard"); r.status != http.StatusForbidden {
		t.Errorf("dashboard with dashboard=none: %d", r.status)
	}
	if page := b.get(acmeHost, "/settings"); page.status != http.StatusOK || strings.Contains(page.body, `href="/dashboard"`) {
		t.Errorf("menu shows the dashboard: %d", page.status)
	}

	// the owner widens the profile's dashboard to view: applies at once
	r = owner.post(acmeHost, permissionsTabURL, fmt.Sprintf("/settings/profiles/%d", profile.ID), url.Values{"name": {"Agents"}, "access_calls": {"view"}, "access_dashboard": {"view"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("update profile: %d", r.status)
	}
	if r := b.get(acmeHost, "/dashboard"); r.status != http.StatusOK {
		t.Errorf("dashboard after the profile allows it: %d", r.status)
	}
	// a profile cannot widen a role: users=edit does not give a manager the team
	owner.post(acmeHost, permissionsTabURL, fmt.Sprintf("/settings/profiles/%d", profile.ID), url.Values{"name": {"Agents"}, "access_users": {"edit"}, "access_api_keys": {"edit"}, "access_settings": {"edit"}})
	for _, path := range []string{teamTabURL, permissionsTabURL, "/settings?tab=api-keys", "/settings?tab=activity", "/settings/activity.csv"} {
		if r := b.get(acmeHost, path); r.status != http.StatusForbidden {
			t.Errorf("manager with a wide profile opens %s: %d", path, r.status)
		}
	}
	if r := b.post(acmeHost, "/settings", "/settings/team", memberValues("X", "Y", "x@cleo.example", "admin", "password")); r.status != http.StatusForbidden {
		t.Errorf("manager adds a member: %d", r.status)
	}

	// deleting a profile in use is refused, naming who has it
	r = owner.post(acmeHost, permissionsTabURL, fmt.Sprintf("/settings/profiles/%d/delete", profile.ID), url.Values{})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "mo@cleo.example") || !strings.Contains(r.body, "still in use") {
		t.Errorf("delete in use: %d", r.status)
	}
	// move Mo to role defaults, then it goes
	r = owner.post(acmeHost, teamTabURL, fmt.Sprintf("/settings/team/%d", mo.ID), url.Values{"first_name": {"Mo"}, "role": {"manager"}, "status": {"active"}, "profile": {"0"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("reassign: %d", r.status)
	}
	if r := owner.post(acmeHost, permissionsTabURL, fmt.Sprintf("/settings/profiles/%d/delete", profile.ID), url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("delete unused: %d", r.status)
	}
	if !ts.hasAudit("profile.delete", "Agents") || !ts.hasAudit("profile.create", "Agents") {
		t.Error("profile audit events missing")
	}
}

// outboxLink is the invitation link a reply shows when no mail server is
// configured.
var outboxLink = regexp.MustCompile(`<div class="secret" id="invite-link">https?://[a-z0-9.-]+(?::\d+)?(/invite\?token=[A-Za-z0-9_-]+)</div>`)

// TestInvitationWithoutMailServer: with no SMTP server configured, an
// invitation is kept in the outbox and the reply says so, never that it
// was emailed: it shows the owner the link to pass on, once, and the link
// works. A resent invitation does the same with a new link. The form says
// beforehand that this is how it will go.
func TestInvitationWithoutMailServer(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t) // no [mail] host: the outbox only
	owner := ts.acmeClient()
	if page := owner.get(acmeHost, teamTabURL); !strings.Contains(page.body, "No mail server is configured yet") {
		t.Error("the form does not say that invitations wait in the outbox")
	}

	r := owner.post(acmeHost, teamTabURL, "/settings/team", memberValues("Ivy", "Invitee", "ivy@cleo.example", "user", "invite"))
	m := outboxLink.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil || !strings.Contains(r.body, "The invitation to ivy@cleo.example is in the outbox") ||
		!strings.Contains(r.body, "No mail server is configured, so nothing was sent.") {
		t.Fatalf("invite without SMTP: %d\n%s", r.status, r.body)
	}
	if strings.Contains(r.body, "emailed") || strings.Contains(r.header.Get("Set-Cookie"), "token") {
		t.Error("the reply claims a delivery, or carries the link in a cookie")
	}
	if mails := ts.outbox(); len(mails) != 1 || mails[0].Status != store.MailKept || !strings.Contains(mails[0].Text, m[1]) {
		t.Errorf("outbox: %+v", mails)
	}
	if page := ts.browser().get(acmeHost, m[1]); page.status != http.StatusOK || !strings.Contains(page.body, "ivy@cleo.example") {
		t.Errorf("the shown link: %d", page.status)
	}
	if later := owner.get(acmeHost, teamTabURL); outboxLink.MatchString(later.body) {
		t.Error("the link is shown again on a later view")
	}

	ivy := ts.userByEmail("acme", "ivy@cleo.example")
	path := "/settings/team/" + strconv.FormatUint(ivy.ID, 10) + "/invitation"
	r = owner.post(acmeHost, teamTabURL, path, url.Values{})
	again := outboxLink.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || again == nil || again[1] == m[1] || strings.Contains(r.body, "emailed") {
		t.Fatalf("resend without SMTP: %d", r.status)
	}
	if page := ts.browser().get(acmeHost, m[1]); page.status == http.StatusOK {
		t.Error("the first link still works after a new invitation")
	}
}

// TestProfileGridOffersModulesWithPages: the permission-profile form and
// table offer only the modules that have pages; those still without
// (Numbers, Support, Payouts) come back when their pages land,
// and a saved profile leaves them at none meanwhile.
func TestProfileGridOffersModulesWithPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.profileID("Old wide profile", map[string]string{"calls": "edit", "billing": "edit", "numbers": "edit"})
	owner := ts.acmeClient()
	page := owner.get(acmeHost, "/settings?tab=permissions")
	for _, m := range access.Modules {
		field := `name="access_` + string(m) + `"`
		if offered := strings.Contains(page.body, field); offered != m.HasPages() {
			t.Errorf("the form offers %s: %v, want %v", m, offered, m.HasPages())
		}
	}
	for _, label := range []string{">Support<", ">Payouts<", ">Numbers<"} {
		if strings.Contains(page.body, label) {
			t.Errorf("the permissions tab shows %s", label)
		}
	}
	form := url.Values{"name": {"Agents"}}
	for _, m := range access.Offered() {
		form.Set("access_"+string(m), "view")
	}
	if r := owner.post(acmeHost, "/settings?tab=permissions", "/settings/profiles", form); r.status != http.StatusSeeOther {
		t.Fatalf("save a profile: %d\n%s", r.status, r.body)
	}
	var saved *store.PermissionProfile
	ts.store.View(func(tx *store.Tx) error {
		list, err := tx.Profiles(ts.ids["acme"], ts.cleo().ID)
		for _, p := range list {
			if p.Name == "Agents" {
				saved = p
			}
		}
		return err
	})
	if saved == nil || saved.Access["calls"] != "view" || saved.Access["billing"] != "view" || saved.Access["numbers"] != "none" || saved.Access["payouts"] != "none" {
		t.Errorf("saved profile: %+v", saved)
	}
}
