package app

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserFormErrorsFocusTheFirstField: a form sent back with errors
// puts the keyboard in the first field at fault and scrolls to it, with no
// script, and names every taken value at once (username and email).
func TestBrowserFormErrorsFocusTheFirstField(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := newChrome(t)
	chromeSignIn(t, ctx, ts, acmeHost, "owner@acme.example", "/reseller")
	chromeDo(t, ctx, "a laptop's window", chromedp.EmulateViewport(1280, 700))

	fill := func(username, email, confirm string) {
		t.Helper()
		chromeRun(t, ctx, "open the new-client form", chromedp.NavigateResponse(ts.url(acmeHost, "/reseller/clients/new")))
		chromeDo(t, ctx, "fill in the client",
			chromedp.SendKeys(chromedp.ID("f-username"), username),
			chromedp.SendKeys(chromedp.ID("f-email"), email),
			chromedp.SendKeys(chromedp.ID("f-first_name"), "Cleo"),
			chromedp.SendKeys(chromedp.ID("f-last_name"), "Again"),
			chromedp.SetValue(chromedp.ID("f-country"), "US"),
			chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
			chromedp.SendKeys(chromedp.ID("f-confirm"), confirm))
	}
	focused := func() string {
		return chromeRun(t, ctx, "the focused field", chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
	}
	inView := func(id string) bool {
		return chromeRun(t, ctx, "is "+id+" in view", chromedp.Evaluate[bool](
			`(() => { const r = document.getElementById("`+id+`").getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; })()`))
	}

	// cleo's username and email are both taken: both said, the first focused
	fill("cleo", "client@acme.example", testPassword)
	if u, status := chromeSubmit(t, ctx, "create", `form[action="/reseller/clients"] button[type=submit]`); u.Path != "/reseller/clients" || status != http.StatusUnprocessableEntity {
		t.Fatalf("duplicate client: %s %d", u, status)
	}
	if got := chromeText(t, ctx, "#e-username"); got != "This username is taken." {
		t.Errorf("username error = %q", got)
	}
	if got := chromeText(t, ctx, "#e-email"); got != "This email is used by another client or user." {
		t.Errorf("email error = %q", got)
	}
	if got := focused(); got != "f-username" {
		t.Errorf("focus after the duplicate = %q, want f-username", got)
	}

	// only the last field is wrong: it has the focus, scrolled into view
	fill("cleo2", "cleo2@example.com", "not the same")
	if _, status := chromeSubmit(t, ctx, "create", `form[action="/reseller/clients"] button[type=submit]`); status != http.StatusUnprocessableEntity {
		t.Fatalf("mismatched confirmation: %d", status)
	}
	if got := focused(); got != "f-confirm" || !inView("f-confirm") {
		t.Errorf("focus after a mismatched confirmation = %q (in view: %v), want f-confirm in view", got, inView("f-confirm"))
	}
	if strings.Contains(chromeText(t, ctx, "main"), "This username is taken") {
		t.Error("an old error is still shown")
	}
}

// TestBrowserTeamFormAsksForPasswordOnlyWhenChosen: the Team form hides
// the initial-password fields while "Email an invitation" is chosen, and
// shows them for "Set an initial password" (CSS, no script); removing a
// member asks first, saying what happens.
func TestBrowserTeamFormAsksForPasswordOnlyWhenChosen(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addMember("mia@cleo.example", "user")
	mia := ts.userByEmail("acme", "mia@cleo.example")
	ctx := newChrome(t)
	chromeSignIn(t, ctx, ts, acmeHost, "client@acme.example", "/dashboard")
	chromeRun(t, ctx, "open the Team tab", chromedp.NavigateResponse(ts.url(acmeHost, teamTabURL)))
	shown := func(id string) bool {
		return chromeRun(t, ctx, "is "+id+" shown", chromedp.Evaluate[bool](`document.getElementById("`+id+`").checkVisibility()`))
	}
	if shown("f-password") || shown("f-confirm") {
		t.Error("the password fields show while an invitation is chosen")
	}
	chromeDo(t, ctx, "choose an initial password", chromedp.Click(chromedp.CSS(`input[name=method][value=password]`)))
	if !shown("f-password") || !shown("f-confirm") {
		t.Error("the password fields are hidden while an initial password is chosen")
	}
	chromeDo(t, ctx, "choose an invitation again", chromedp.Click(chromedp.CSS(`input[name=method][value=invite]`)))
	if shown("f-password") {
		t.Error("the password field shows again after choosing the invitation")
	}

	chromeRun(t, ctx, "edit mia", chromedp.NavigateResponse(ts.url(acmeHost, teamTabURL+"&edit="+strconv.FormatUint(mia.ID, 10))))
	chromeDo(t, ctx, "ask to remove mia", chromedp.Click(chromedp.CSS(`button[popovertarget="remove-member"]`)))
	if got := chromeText(t, ctx, "#remove-member"); !strings.Contains(got, "signed out everywhere at once") || !strings.Contains(got, "mia@cleo.example") {
		t.Errorf("remove confirmation = %q", got)
	}
	if u, status := chromeSubmit(t, ctx, "remove", `#remove-member button[type=submit]`); u.Path != "/settings" || status != http.StatusOK {
		t.Fatalf("after removing: %s %d", u, status)
	}
	if got := chromeText(t, ctx, ".flash"); !strings.Contains(got, "has been removed") {
		t.Errorf("flash = %q", got)
	}
}
