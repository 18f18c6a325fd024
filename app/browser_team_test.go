package app

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserInvitationJoin: the owner invites a manager with a narrowing
// profile in the Team tab; the invitation arrives at a real SMTP server;
// the invitee opens the mailed link, sets a password, signs in and sees
// only the menu entries and settings tabs the role and profile allow, and
// a forbidden page answers 403.
func TestBrowserInvitationJoin(t *testing.T) {
	t.Parallel()
	in, smtp := withSMTP(t)
	ts := newServerWith(t, false, "test.portico", twoResellers(), smtp)
	profile := ts.profileID("Call viewers", map[string]string{"dashboard": "view", "calls": "view"})
	ctx := newChrome(t)

	chromeSignIn(t, ctx, ts, acmeHost, "client@acme.example", "/dashboard")
	chromeRun(t, ctx, "open the Team tab", chromedp.NavigateResponse(ts.url(acmeHost, teamTabURL)))
	chromeDo(t, ctx, "fill in the invitation",
		chromedp.SendKeys(chromedp.ID("f-first_name"), "Nia"),
		chromedp.SendKeys(chromedp.ID("f-last_name"), "Newcomer"),
		chromedp.SendKeys(chromedp.ID("f-email"), "nia@cleo.example"),
		chromedp.SetValue(chromedp.ID("f-role"), "manager"),
		chromedp.SetValue(chromedp.ID("f-profile"), strconv.FormatUint(profile, 10)),
	)
	u, status := chromeSubmit(t, ctx, "send the invitation", `form[action="/settings/team"] button[type=submit]`)
	if u.Path != "/settings" || status != http.StatusOK {
		t.Fatalf("after inviting: %s %d", u, status)
	}
	if got := chromeText(t, ctx, ".flash"); !strings.Contains(got, "emailed an invitation to nia@cleo.example") {
		t.Errorf("flash: %q", got)
	}
	if got := chromeText(t, ctx, "main table"); !strings.Contains(got, "Nia Newcomer") || !strings.Contains(got, "invited") || !strings.Contains(got, "Call viewers") {
		t.Errorf("team list: %q", got)
	}
	host, link := inviteLink(t, in.next())
	chromeSubmit(t, ctx, "sign out", `form[action="/logout"] button[type=submit]`)

	resp := chromeRun(t, ctx, "open the mailed link", chromedp.NavigateResponse(ts.url(host, link)))
	if resp.Status != http.StatusOK {
		t.Fatalf("invitation page: %d", resp.Status)
	}
	if got := chromeText(t, ctx, ".auth-card"); !strings.Contains(got, "Join Cleo Calls") || !strings.Contains(got, "nia@cleo.example") || !strings.Contains(got, "Acme Voice") {
		t.Errorf("invitation page: %q", got)
	}
	chromeDo(t, ctx, "choose a password",
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
		chromedp.SendKeys(chromedp.ID("f-confirm"), testPassword))
	if u, status := chromeSubmit(t, ctx, "join", `form[action="/invite"] button[type=submit]`); u.Path != "/login" || status != http.StatusOK {
		t.Fatalf("after joining: %s %d", u, status)
	}
	if got := chromeText(t, ctx, ".flash"); !strings.Contains(got, "Welcome to Cleo Calls") {
		t.Errorf("flash after joining: %q", got)
	}

	chromeSignIn(t, ctx, ts, acmeHost, "nia@cleo.example", "/dashboard")
	if got := chromeText(t, ctx, "nav.sidenav"); strings.Join(strings.Fields(got), " ") != "Dashboard Calls Settings" {
		t.Errorf("menu: %q", got)
	}
	chromeRun(t, ctx, "open settings", chromedp.NavigateResponse(ts.url(acmeHost, "/settings")))
	if got := strings.Join(strings.Fields(chromeText(t, ctx, "nav.tabs")), " "); got != "Profile Security" {
		t.Errorf("settings tabs of a manager with a profile: %q, want only Profile and Security", got)
	}
	for _, path := range []string{teamTabURL, "/settings?tab=api-keys"} {
		if resp := chromeRun(t, ctx, "open "+path, chromedp.NavigateResponse(ts.url(acmeHost, path))); resp.Status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", path, resp.Status)
		}
	}
	if got := chromeText(t, ctx, "main h1"); got != "Not allowed" {
		t.Errorf("403 page heading: %q", got)
	}
}
