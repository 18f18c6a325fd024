package app

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"portico/app/account"
)

// TestBrowserTOTP: a client user sets up two-factor sign-in on the
// Security tab in a real browser (the QR code renders under the CSP; the
// secret is read from the page and the code computed here, as an
// authenticator app would), sees the recovery codes once, signs out and
// signs in again with the password and a code.
func TestBrowserTOTP(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := newChrome(t)

	chromeSignIn(t, ctx, ts, acmeHost, "client@acme.example", "/dashboard")
	chromeRun(t, ctx, "open the security tab", chromedp.NavigateResponse(ts.url(acmeHost, securityTab)))
	if u, status := chromeSubmit(t, ctx, "start the set-up", `form[action="/settings/2fa/enrol"] button[type=submit]`); u.Path != "/settings" || status != http.StatusOK {
		t.Fatalf("after starting: %s %d", u, status)
	}
	width := chromeRun(t, ctx, "QR code size", chromedp.Evaluate[int](`document.querySelector("img.qr").naturalWidth`))
	if width != 200 {
		t.Errorf("QR code naturalWidth = %d, want 200 (blocked or broken?)", width)
	}
	secret := strings.ReplaceAll(chromeText(t, ctx, "#totp-secret"), " ", "")
	code, err := totp.GenerateCode(secret, ts.clock.Now())
	if err != nil {
		t.Fatalf("secret %q from the page: %v", secret, err)
	}
	chromeDo(t, ctx, "type the first code", chromedp.SendKeys(chromedp.ID("f-code"), code))
	if u, status := chromeSubmit(t, ctx, "turn it on", `form[action="/settings/2fa/confirm"] button[type=submit]`); u.Path != "/settings/2fa/confirm" || status != http.StatusOK {
		t.Fatalf("after confirming: %s %d", u, status)
	}
	codes := strings.Fields(chromeText(t, ctx, "#recovery-codes"))
	for _, c := range codes {
		if kind, _ := account.ParseCode(c); kind != account.CodeRecovery || len(c) != 11 {
			t.Errorf("recovery code %q", c)
		}
	}
	if len(codes) != 10 {
		t.Errorf("%d recovery codes shown: %q", len(codes), codes)
	}

	chromeRun(t, ctx, "open the dashboard", chromedp.NavigateResponse(ts.url(acmeHost, "/dashboard")))
	chromeSubmit(t, ctx, "sign out", `form[action="/logout"] button[type=submit]`)
	ts.clock.Advance(30 * time.Second) // the next code: the first one is spent
	chromeDo(t, ctx, "type the password",
		chromedp.SendKeys(chromedp.ID("f-email"), "client@acme.example"),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword))
	if u, status := chromeSubmit(t, ctx, "sign in", `button[type=submit]`); u.Path != "/login/code" || status != http.StatusOK {
		t.Fatalf("after the password: %s %d", u, status)
	}
	code, _ = totp.GenerateCode(secret, ts.clock.Now())
	chromeDo(t, ctx, "type the code", chromedp.SendKeys(chromedp.ID("f-code"), code))
	if u, status := chromeSubmit(t, ctx, "send the code", `button[type=submit]`); u.Path != "/dashboard" || status != http.StatusOK {
		t.Fatalf("after the code: %s %d", u, status)
	}
	if got := chromeText(t, ctx, ".topbar .user-email"); got != "client@acme.example" {
		t.Errorf("signed in as %q", got)
	}
}
