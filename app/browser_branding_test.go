package app

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// chromeSignInPage opens host's sign-in page, checks that it names only
// wantName (never otherName) and returns a screenshot of it.
func chromeSignInPage(t *testing.T, ctx context.Context, ts *testServer, host, wantName, otherName string) []byte {
	t.Helper()
	resp := chromeRun(t, ctx, "open "+host+"/login", chromedp.NavigateResponse(ts.url(host, "/login")))
	if resp.Status != http.StatusOK {
		t.Fatalf("GET %s/login: %d", host, resp.Status)
	}
	if got := chromeText(t, ctx, ".auth-brand .brand-name"); got != wantName {
		t.Errorf("%s: brand name %q, want %q", host, got, wantName)
	}
	if text := chromeRun(t, ctx, "page text", chromedp.Evaluate[string](`document.documentElement.innerText + document.title`)); strings.Contains(text, otherName) {
		t.Errorf("%s shows the other reseller's name %q", host, otherName)
	}
	return chromeRun(t, ctx, "screenshot "+host, chromedp.FullScreenshot(90))
}

// chromeEmpty empties the input with the id, as selecting its text and
// deleting it would (chromedp.Clear only resets the value attribute, which
// a field that was typed in no longer shows).
func chromeEmpty(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.getElementById("` + id + `").value = ""`)
}

// TestBrowserBranding: two resellers on two hosts look different and each
// shows only its own name; acme's owner previews a new name, colour and
// logo live, saves, and sees the logo in the header of the console and of
// the sign-in page, while globex stays as it was.
func TestBrowserBranding(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := newChrome(t)
	chromeDo(t, ctx, "set the window size", chromedp.EmulateViewport(1100, 800))

	acmeShot := chromeSignInPage(t, ctx, ts, acmeHost, "Acme Voice", "Globex")
	globexShot := chromeSignInPage(t, ctx, ts, globexHost, "Globex Lines", "Acme")
	if bytes.Equal(acmeShot, globexShot) {
		t.Errorf("acme's and globex's sign-in pages look the same")
	}
	if got := chromeRun(t, ctx, "globex card edge", chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".auth-card")).borderTopColor`)); got != "rgb(0, 0, 170)" {
		t.Errorf("globex's card edge = %q, want its #0000aa", got)
	}

	// a 300 × 100 logo to upload, in a colour neither brand uses
	logoImg := image.NewNRGBA(image.Rect(0, 0, 300, 100))
	for i := range logoImg.Pix {
		logoImg.Pix[i] = []uint8{0x20, 0xc0, 0x90, 0xff}[i%4]
	}
	logoImg.Set(0, 0, color.NRGBA{})
	logoPath := filepath.Join(t.TempDir(), "logo.png")
	if err := os.WriteFile(logoPath, encodePNG(t, logoImg), 0o600); err != nil {
		t.Fatal(err)
	}

	chromeSignIn(t, ctx, ts, acmeHost, "owner@acme.example", "/reseller")
	chromeRun(t, ctx, "open the branding editor", chromedp.NavigateResponse(ts.url(acmeHost, "/reseller/branding")))

	// the preview follows the inputs before anything is saved
	chromeDo(t, ctx, "type a new name and a low-contrast colour",
		chromeEmpty("f-product_name"),
		chromedp.SendKeys(chromedp.ID("f-product_name"), "Acme Nova"),
		chromeEmpty("f-primary_color"),
		chromedp.SendKeys(chromedp.ID("f-primary_color"), "#ffdd00"))
	if got := chromeText(t, ctx, "#brand-preview .preview-topbar .brand-name"); got != "Acme Nova" {
		t.Errorf("preview name = %q", got)
	}
	if got := chromeText(t, ctx, "#w-primary_color"); !strings.Contains(got, "WCAG AA asks for 4.5:1") {
		t.Errorf("live contrast warning = %q", got)
	}
	chromeDo(t, ctx, "type a readable colour",
		chromeEmpty("f-primary_color"),
		chromedp.SendKeys(chromedp.ID("f-primary_color"), "#0b6e4f"))
	chromeRun(t, ctx, "preview button takes the colour", chromedp.Poll[bool](
		`getComputedStyle(document.querySelector("#brand-preview .button-primary")).backgroundColor === "rgb(11, 110, 79)"`))
	if hidden := chromeRun(t, ctx, "warning hidden", chromedp.Evaluate[bool](`document.getElementById("w-primary_color").hidden`)); !hidden {
		t.Errorf("the contrast warning stays for #0b6e4f")
	}
	if got := chromeText(t, ctx, "header.topbar .brand-name"); got != "Acme Voice" {
		t.Errorf("header changed before saving: %q", got)
	}

	chromeDo(t, ctx, "choose the logo", chromedp.SetUploadFiles(chromedp.ID("f-logo"), []string{logoPath}))
	chromeRun(t, ctx, "preview shows the chosen logo", chromedp.Poll[bool](
		`(function(){var i=document.querySelector("#brand-preview .preview-topbar img.brand-logo");`+
			`return !i.hidden && i.src.indexOf("data:image/png") === 0 && i.naturalWidth === 300;})()`))

	u, status := chromeSubmit(t, ctx, "save", `#branding-form button[type=submit]`)
	if u.Path != "/reseller/branding" || status != http.StatusOK {
		t.Fatalf("after save: %s %d", u, status)
	}
	if got := chromeText(t, ctx, ".flash"); !strings.Contains(got, "Branding saved") {
		t.Errorf("flash = %q", got)
	}
	if got := chromeText(t, ctx, "header.topbar .brand-name"); got != "Acme Nova" {
		t.Errorf("header name after save = %q", got)
	}
	chromeDo(t, ctx, "header logo visible", chromedp.WaitVisible(chromedp.CSS("header.topbar img.brand-logo")))
	src := chromeRun(t, ctx, "header logo", chromedp.Poll[string](
		`(function(){var i=document.querySelector("header.topbar img.brand-logo");return i.complete && i.naturalWidth === 288 && i.getAttribute("src");})()`))
	if !strings.HasPrefix(src, "/brand/logo-") {
		t.Errorf("header logo src = %q", src)
	}

	chromeSubmit(t, ctx, "sign out", `form[action="/logout"] button[type=submit]`)
	acmeAfter := chromeSignInPage(t, ctx, ts, acmeHost, "Acme Nova", "Globex")
	chromeRun(t, ctx, "sign-in logo loaded", chromedp.Poll[bool](
		`(function(){var i=document.querySelector(".auth-brand img.brand-logo");return !!i && i.complete && i.naturalHeight === 96;})()`))
	globexAfter := chromeSignInPage(t, ctx, ts, globexHost, "Globex Lines", "Acme")
	if n := chromeRun(t, ctx, "globex logos", chromedp.Evaluate[int](`document.querySelectorAll("img.brand-logo").length`)); n != 0 {
		t.Errorf("globex's sign-in page shows %d logos", n)
	}
	if bytes.Equal(acmeAfter, acmeShot) || bytes.Equal(acmeAfter, globexAfter) {
		t.Errorf("acme's sign-in page did not change, or looks like globex's")
	}
}
