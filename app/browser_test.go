package app

// Browser tests: the real app driven by a real headless Chromium through
// chromedp. The HTTP tests in http_test.go check what the server sends;
// these check what a person sees and does — the page renders, the form
// submits, the redirects land, the cookies stick — with the page's own
// CSS, script (static/js/app.js) and Content-Security-Policy in force.
//
// The browser is Debian's /usr/bin/chromium. Without it the tests skip,
// except on CI (CI=true), where a missing browser must not look like a pass.
//
// chromedp v0.23.0 has the generic API: an action is an Action[T] and
// returns its value through chromedp.Run; actions with no value go in
// chromedp.Do. The type of a selector picks the lookup: chromedp.CSS and
// chromedp.ID use querySelector, whereas a plain string is a DOM search
// (text, CSS or XPath), so these tests always say CSS or ID.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portico/app/testkit"
)

const (
	// chromiumPath is the browser the tests drive.
	chromiumPath = "/usr/bin/chromium"

	// browserTestTimeout bounds the steps of one browser test, so a wait
	// for an element that never comes fails instead of hanging until go
	// test's own timeout. The browser itself gets browserCloseTimeout more,
	// so it is still there to report where it was and to close cleanly.
	browserTestTimeout = 60 * time.Second

	// browserCloseTimeout bounds the graceful close in the cleanup.
	browserCloseTimeout = 10 * time.Second
)

// skipBrowserIfShort skips a browser test under `go test -short`, the
// quick development loop (browser tests are most of the suite's time);
// CI runs them all. Every chromedp test reaches it through newChrome.
func skipBrowserIfShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped under -short")
	}
}

// newChrome starts a headless Chromium for one test and returns a chromedp
// context for its tab that ends after browserTestTimeout. The browser
// closes in the test's cleanup.
//
// Each test gets its own browser and profile, so parallel tests share no
// cookies. Call it after newDemoServer: cleanups run last-in first-out, so
// the browser then closes before the server shuts down.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	return newChromeFor(t, browserTestTimeout)
}

// newChromeFor is newChrome for a test whose steps take up to timeout
// (the layout test opens every page at several widths).
func newChromeFor(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	skipBrowserIfShort(t)
	path, err := exec.LookPath(chromiumPath)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests need Chromium at %s and CI=true forbids skipping them: %v", chromiumPath, err)
		}
		t.Skipf("Chromium not found at %s, skipping browser test: %v", chromiumPath, err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		// The tests run as root, where Chromium refuses to start with its
		// sandbox.
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		// Keep the browser quiet: no updates, sync, first-run work or
		// QUIC probes in the background.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		// Nothing may leave the machine: every host name resolves to the
		// loopback address (so demo.localhost reaches the test server), and
		// no proxy from the environment is used.
		chromedp.Flag("host-resolver-rules", "MAP * 127.0.0.1"),
		chromedp.Flag("no-proxy-server", true),
		// A fresh profile per test, removed with the test's temp dir.
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "chromium-profile")),
	)
	// What the browser prints, shown only when the test fails.
	output := &testkit.Buffer{}
	opts = append(opts, chromedp.CombinedOutput(output))

	// The browser lives until the cleanup closes it, with a deadline of its
	// own as a backstop. Not t.Context(): that ends before the cleanups
	// run, which would kill the browser instead of letting it close.
	browserCtx, cancelBrowser := context.WithTimeout(context.Background(), timeout+browserCloseTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(browserCtx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)

	// The first Run binds the browser's life to the context it gets, so
	// start the browser on tabCtx, and only then derive the test's
	// deadline from it. A step that times out then leaves the browser
	// alive, so the failure can still report the page's address.
	if err := chromedp.Do(tabCtx); err != nil {
		cancelTab()
		cancelAlloc()
		cancelBrowser()
		t.Fatalf("starting Chromium %s: %v\n%s", path, err, output.String())
	}
	testCtx, cancelTest := context.WithTimeout(tabCtx, timeout)
	t.Cleanup(func() {
		cancelTest()
		// Close gracefully so Chromium stops its helper processes before
		// the temp dir with the profile is removed; the cancels then free
		// what is left and wait for the process to exit.
		closeCtx, cancelClose := context.WithTimeout(tabCtx, browserCloseTimeout)
		if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing Chromium: %v", err)
		}
		cancelClose()
		cancelTab()
		cancelAlloc()
		cancelBrowser()
		if t.Failed() {
			t.Logf("Chromium output:\n%s", output.String())
		}
	})
	return testCtx
}

// chromeRun runs a on the tab and returns its value. On error it fails
// the test, saying what it was doing and where the browser was.
func chromeRun[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v (page: %s)", what, err, chromeLocation(ctx))
	}
	return v
}

// chromeDo is chromeRun for actions that return nothing.
func chromeDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v (page: %s)", what, err, chromeLocation(ctx))
	}
}

// chromeSubmit clicks the element sel, waits for the page it leads to and
// returns that page's final address and status. A click does not wait for
// a navigation by itself; RunResponse does, and follows redirects (the
// POST-303-GET of a form) to the last response.
func chromeSubmit(t *testing.T, ctx context.Context, what string, sel chromedp.CSS) (*url.URL, int64) {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		t.Fatalf("%s: %v (page: %s)", what, err, chromeLocation(ctx))
	}
	if resp == nil {
		t.Fatalf("%s: no response (page: %s)", what, chromeLocation(ctx))
	}
	u, err := url.Parse(resp.URL)
	if err != nil {
		t.Fatalf("%s: response URL %q: %v", what, resp.URL, err)
	}
	return u, resp.Status
}

// chromeText waits until the element sel is visible and returns its
// rendered text, trimmed.
func chromeText(t *testing.T, ctx context.Context, sel chromedp.CSS) string {
	t.Helper()
	chromeDo(t, ctx, "wait for "+string(sel), chromedp.WaitVisible(sel))
	return strings.TrimSpace(chromeRun(t, ctx, "read "+string(sel), chromedp.Text(sel)))
}

// chromeLocation is the tab's address for failure messages. It has its own
// short deadline, since the test's context may be the thing that ran out.
func chromeLocation(ctx context.Context) string {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(lctx, chromedp.Location())
	if err != nil {
		return "unknown: " + err.Error()
	}
	return loc
}

// chromeOpenLogin loads the demo reseller's sign-in page on its own host
// and checks that it carries the reseller's brand.
func chromeOpenLogin(t *testing.T, ctx context.Context, ts *testServer) {
	t.Helper()
	resp := chromeRun(t, ctx, "open /login", chromedp.NavigateResponse(ts.url("demo.localhost", "/login")))
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /login: status %d, want 200", resp.Status)
	}
	if got := chromeText(t, ctx, ".brand-name"); got != "Demo Telecom" {
		t.Errorf("brand name on /login = %q, want %q", got, "Demo Telecom")
	}
}

// TestBrowserSignInAndOut walks the owner through signing in on the
// reseller's own host, landing on the console, and signing out again.
func TestBrowserSignInAndOut(t *testing.T) {
	t.Parallel()
	ts := newDemoServer(t)
	ctx := newChrome(t)

	chromeOpenLogin(t, ctx, ts)
	chromeDo(t, ctx, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("f-email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
	)
	u, status := chromeSubmit(t, ctx, "sign in", `button[type=submit]`)
	if u.Host != "demo.localhost:"+ts.port() || u.Path != "/reseller" || status != http.StatusOK {
		t.Fatalf("after sign-in: %s status %d, want http://demo.localhost:%s/reseller status 200", u, status, ts.port())
	}
	if got := chromeText(t, ctx, "main h1"); got != "Demo Telecom" {
		t.Errorf("h1 on /reseller = %q, want %q", got, "Demo Telecom")
	}
	if got := chromeText(t, ctx, "header .brand-name"); got != "Demo Telecom" {
		t.Errorf("brand name in the header = %q, want %q", got, "Demo Telecom")
	}

	u, status = chromeSubmit(t, ctx, "sign out", `form[action="/logout"] button[type=submit]`)
	if u.Host != "demo.localhost:"+ts.port() || u.Path != "/login" || status != http.StatusOK {
		t.Fatalf("after sign-out: %s status %d, want http://demo.localhost:%s/login status 200", u, status, ts.port())
	}
	if got := chromeText(t, ctx, ".flash"); got != "You have signed out." {
		t.Errorf("flash after sign-out = %q, want %q", got, "You have signed out.")
	}
}

// TestBrowserFailedSignIn checks that a wrong password re-renders the form
// with the error, keeps the email the person typed, and never echoes the
// password back into the page.
func TestBrowserFailedSignIn(t *testing.T) {
	t.Parallel()
	ts := newDemoServer(t)
	ctx := newChrome(t)

	chromeOpenLogin(t, ctx, ts)
	chromeDo(t, ctx, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("f-email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.ID("f-password"), "not-"+testPassword),
	)
	u, status := chromeSubmit(t, ctx, "sign in with a wrong password", `button[type=submit]`)
	if u.Host != "demo.localhost:"+ts.port() || u.Path != "/login" || status != http.StatusUnprocessableEntity {
		t.Fatalf("after a wrong password: %s status %d, want http://demo.localhost:%s/login status 422", u, status, ts.port())
	}
	const want = "The email or password is incorrect."
	if got := chromeText(t, ctx, ".form-error"); !strings.Contains(got, want) {
		t.Errorf(".form-error = %q, want it to contain %q", got, want)
	}
	if got := chromeRun(t, ctx, "read the email field", chromedp.Value(chromedp.ID("f-email"))); got != "owner@example.com" {
		t.Errorf("email field = %q, want it kept as %q", got, "owner@example.com")
	}
	if got := chromeRun(t, ctx, "read the password field", chromedp.Value(chromedp.ID("f-password"))); got != "" {
		t.Errorf("password field = %q, want it empty", got)
	}
}

// chromeSignIn signs in through the real form on host and checks the
// landing page.
func chromeSignIn(t *testing.T, ctx context.Context, ts *testServer, host, email, want string) {
	t.Helper()
	chromeRun(t, ctx, "open sign-in", chromedp.NavigateResponse(ts.url(host, "/login")))
	chromeDo(t, ctx, "sign in as "+email,
		chromedp.SendKeys(chromedp.ID("f-email"), email),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword))
	if u, status := chromeSubmit(t, ctx, "sign in", `button[type=submit]`); u.Path != want || status != http.StatusOK {
		t.Fatalf("after sign-in as %s: %s %d, want %s", email, u, status, want)
	}
}
