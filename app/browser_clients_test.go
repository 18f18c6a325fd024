package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserClientLifecycle is the reseller's day with a new client: sign
// in, create the client through the form, recharge it and see the meter
// take the brand's colour, disable it, and see its owner refused at the
// sign-in page.
func TestBrowserClientLifecycle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := newChrome(t)

	chromeSignIn(t, ctx, ts, acmeHost, "owner@acme.example", "/reseller")

	chromeRun(t, ctx, "open the new-client form", chromedp.NavigateResponse(ts.url(acmeHost, "/reseller/clients/new")))
	chromeDo(t, ctx, "fill in the client",
		chromedp.SendKeys(chromedp.ID("f-username"), "zoe"),
		chromedp.SendKeys(chromedp.ID("f-email"), "zoe@example.com"),
		chromedp.SendKeys(chromedp.ID("f-first_name"), "Zoë"),
		chromedp.SendKeys(chromedp.ID("f-last_name"), "Zhang"),
		chromedp.SetValue(chromedp.ID("f-country"), "DE"),
		chromedp.SendKeys(chromedp.ID("f-phone"), "030 901820"),
		chromedp.SendKeys(chromedp.ID("f-company"), "Zhang GmbH"),
		chromedp.SendKeys(chromedp.ID("f-password"), "Z0e-first-pass"),
		chromedp.SendKeys(chromedp.ID("f-confirm"), "Z0e-first-pass"))
	u, status := chromeSubmit(t, ctx, "create the client", `form[action="/reseller/clients"] button[type=submit]`)
	if !strings.HasPrefix(u.Path, "/reseller/clients/") || status != http.StatusOK {
		t.Fatalf("after create: %s %d", u, status)
	}
	clientPath := u.Path
	if got := chromeText(t, ctx, ".flash"); !strings.Contains(got, "Client zoe created") {
		t.Errorf("flash = %q", got)
	}
	fill := `.card .meter-fill`
	if got := chromeRun(t, ctx, "meter class before credit", chromedp.AttributeValue(chromedp.CSS(".card .meter"), "class")); !strings.Contains(got.Value, "meter-none") {
		t.Errorf("meter before credit: %q", got.Value)
	}

	chromeRun(t, ctx, "open the recharge dialog", chromedp.NavigateResponse(ts.url(acmeHost, clientPath+"/recharge")))
	chromeDo(t, ctx, "type the amount",
		chromedp.SendKeys(chromedp.ID("f-amount"), "250"),
		chromedp.SendKeys(chromedp.ID("f-note"), "welcome credit"))
	if u, status := chromeSubmit(t, ctx, "recharge", `button[type=submit].button-primary`); u.Path != clientPath || status != http.StatusOK {
		t.Fatalf("after recharge: %s %d", u, status)
	}
	if got := chromeText(t, ctx, ".card .meter-figures"); got != "250.00 | 0.00 | 250.00 USD" {
		t.Errorf("meter after recharge = %q", got)
	}
	colour := chromeRun(t, ctx, "meter colour", chromedp.Evaluate[string](`getComputedStyle(document.querySelector("`+fill+`")).backgroundColor`))
	if colour != "rgb(170, 0, 0)" { // acme's primary colour #aa0000 from its brand stylesheet
		t.Errorf("meter colour after recharge = %q, want the brand's rgb(170, 0, 0)", colour)
	}

	// disabling asks first, in a dialog that says what happens and when
	// the client would be deleted
	chromeDo(t, ctx, "open the disable confirmation", chromedp.Click(chromedp.CSS(`button[popovertarget="disable-client"]`)))
	if got := chromeText(t, ctx, "#disable-client"); !strings.Contains(got, "signed out at once") || !strings.Contains(got, "deleted for good on 31 Jan 2027") {
		t.Errorf("disable confirmation = %q", got)
	}
	chromeDo(t, ctx, "tick restrict API", chromedp.Click(chromedp.CSS(`#disable-client input[name=restrict_api]`)))
	if u, status := chromeSubmit(t, ctx, "disable", `#disable-client button[type=submit]`); u.Path != clientPath || status != http.StatusOK {
		t.Fatalf("after disable: %s %d", u, status)
	}
	if got := chromeText(t, ctx, ".notice"); !strings.Contains(got, "will be deleted for good on") || !strings.Contains(got, "API keys are refused") {
		t.Errorf("notice = %q", got)
	}

	chromeSubmit(t, ctx, "sign out", `form[action="/logout"] button[type=submit]`)
	chromeDo(t, ctx, "sign in as the disabled client's owner",
		chromedp.SendKeys(chromedp.ID("f-email"), "zoe@example.com"),
		chromedp.SendKeys(chromedp.ID("f-password"), "Z0e-first-pass"))
	if u, status := chromeSubmit(t, ctx, "sign in", `button[type=submit]`); u.Path != "/login" || status != http.StatusUnprocessableEntity {
		t.Fatalf("disabled owner's sign-in: %s %d", u, status)
	}
	if got := chromeText(t, ctx, ".form-error"); !strings.Contains(got, "is disabled, so you cannot sign in") {
		t.Errorf("refusal = %q", got)
	}
}
