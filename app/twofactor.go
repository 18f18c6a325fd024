package app

// The second step of signing in with two-factor sign-in (the account
// service, app/account, checks the codes): the code page, or setting it up
// when the reseller requires it, reached with the pending sign-in's cookie.
// Also the presentation of a TOTP key: its QR code and its secret in
// groups for typing.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp"

	"portico/app/account"
)

// challengeCookie carries the pending sign-in's token between the
// password step and the code step.
const challengeCookie = "portico_2fa"

// secondFactorRoutes lists the sign-in's second step (public: the pending
// sign-in's cookie is the credential).
func (a *App) secondFactorRoutes(f *fiber.App) {
	f.Get("/login/code", a.showLoginCode)
	f.Post("/login/code", a.loginWithCode)
	f.Get("/login/enrol", a.showLoginEnrol)
	f.Post("/login/enrol", a.loginEnrol)
}

// totpKey is the otpauth:// key an authenticator app scans: the secret
// labelled with the reseller's brand and the user's email.
func totpKey(issuer, email, secret string) (*otp.Key, error) {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", strconv.Itoa(account.TOTPPeriod))
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + email, RawQuery: v.Encode()}
	return otp.NewKeyFromURL(u.String())
}

// totpQR renders the key as a PNG QR code in a data: URL (the CSP allows
// data: images; nothing is fetched or stored).
func totpQR(key *otp.Key) (template.URL, error) {
	img, err := key.Image(200, 200)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	// template.URL: html/template would otherwise blank a data: URL; this
	// one is our own PNG, base64-encoded, with nothing from the request.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// groupSecret spaces the base32 secret in fours for typing by hand.
func groupSecret(secret string) string {
	var b strings.Builder
	for i, r := range secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Sign-in.

// validToken reports whether s has the shape of a token from
// auth.NewToken (43 base64url characters), before any store lookup.
func validToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// pendingSignIn loads the pending sign-in named by the cookie and its
// user; nil when there is none (expired, used, another reseller's, or a
// user who may no longer sign in).
func (a *App) pendingSignIn(c *fiber.Ctx) (*account.Pending, error) {
	token := c.Cookies(challengeCookie)
	if !validToken(token) {
		return nil, nil
	}
	p, err := a.account.PendingSignIn(tenantOf(c), token)
	if errors.Is(err, account.ErrSignInGone) {
		return nil, nil
	}
	return p, err
}

// restartSignIn sends a browser whose pending sign-in is gone back to the
// password step.
func (a *App) restartSignIn(c *fiber.Ctx) error {
	a.clearCookie(c, challengeCookie)
	a.setFlash(c, "info", "Your sign-in took too long or was already completed. Sign in again.")
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// loginCodeData is the Data of views/auth/code.html.
type loginCodeData struct {
	Form  *Form
	Email string
}

// showLoginCode asks for the code of a pending sign-in.
func (a *App) showLoginCode(c *fiber.Ctx) error {
	p, err := a.pendingSignIn(c)
	if err != nil {
		return err
	}
	if p == nil {
		return a.restartSignIn(c)
	}
	if p.Challenge.Enrol {
		return c.Redirect("/login/enrol", fiber.StatusSeeOther)
	}
	return a.render(c, fiber.StatusOK, "auth/code", "Two-factor sign-in", loginCodeData{Form: newForm(), Email: p.User.Email})
}

// loginWithCode checks the code, limited per IP and per account like the
// password (one budget of guesses for both), and on success starts the
// session. A TOTP code is not accepted twice; a recovery code is spent.
func (a *App) loginWithCode(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	ip := clientIP(c).String()
	if err := a.limits.perIP.refuse(ip); err != nil { // failures count, successes do not
		return err
	}
	p, err := a.pendingSignIn(c)
	if err != nil {
		return err
	}
	if p == nil || p.Challenge.Enrol {
		return a.restartSignIn(c)
	}
	guesses := codeGuesses(tenant.ID, p.User.Email) // codes: one budget per account (only a password holder gets here)
	if err := a.limits.perAccount.refuse(guesses); err != nil {
		return err
	}
	entry, err := a.account.SignInWithCode(tenant, p, c.FormValue("code"), ip, c.Get(fiber.HeaderUserAgent))
	countGuess(err, a.limits.perIP, ip)
	countGuess(err, a.limits.perAccount, guesses)
	if data := (loginCodeData{Form: newForm(), Email: p.User.Email}); data.Form.refused(err) {
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/code", "Two-factor sign-in", data)
	}
	if err != nil {
		return err
	}
	if entry.RecoveryUsed {
		left := entry.RecoveryLeft
		msg := "You signed in with a recovery code; it cannot be used again. " + account.Plural(left, "recovery code") + " left."
		if left <= 3 {
			msg += " Turn two-factor sign-in off and on again in your security settings to get new ones."
		}
		a.setFlash(c, "info", msg)
	}
	return a.enter(c, entry, p.Challenge.Next)
}

// loginEnrolData is the Data of views/auth/enrol.html and of the recovery
// codes shown after it.
type loginEnrolData struct {
	Form   *Form
	Email  string
	QR     template.URL
	Secret string
	// Codes are the fresh recovery codes, shown once after enrolment, and
	// Next where the person goes on from there.
	Codes []string
	Next  string
}

// showLoginEnrol shows the QR code and secret of a pending sign-in that
// must set up TOTP first (the reseller requires it).
func (a *App) showLoginEnrol(c *fiber.Ctx) error {
	p, err := a.pendingSignIn(c)
	if err != nil {
		return err
	}
	if p == nil || !p.Challenge.Enrol {
		return a.restartSignIn(c)
	}
	data, err := a.loginEnrolData(c, p)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "auth/enrol", "Set up two-factor sign-in", data)
}

func (a *App) loginEnrolData(c *fiber.Ctx, p *account.Pending) (loginEnrolData, error) {
	key, err := totpKey(a.brandOf(tenantOf(c)).Name, p.User.Email, p.Challenge.Secret)
	if err != nil {
		return loginEnrolData{}, err
	}
	qr, err := totpQR(key)
	return loginEnrolData{Form: newForm(), Email: p.User.Email, QR: qr, Secret: groupSecret(p.Challenge.Secret)}, err
}

// loginEnrol confirms the enrolment with a code from the app, turns TOTP
// on, starts the session and shows the recovery codes once.
func (a *App) loginEnrol(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	ip := clientIP(c).String()
	if err := a.limits.perIP.refuse(ip); err != nil { // failures count, successes do not
		return err
	}
	p, err := a.pendingSignIn(c)
	if err != nil {
		return err
	}
	if p == nil || !p.Challenge.Enrol {
		return a.restartSignIn(c)
	}
	guesses := codeGuesses(tenant.ID, p.User.Email)
	if err := a.limits.perAccount.refuse(guesses); err != nil {
		return err
	}
	data, err := a.loginEnrolData(c, p)
	if err != nil {
		return err
	}
	entry, err := a.account.EnrolAtSignIn(tenant, p, c.FormValue("code"), ip, c.Get(fiber.HeaderUserAgent))
	countGuess(err, a.limits.perIP, ip)
	countGuess(err, a.limits.perAccount, guesses)
	switch {
	case data.Form.refused(err):
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/enrol", "Set up two-factor sign-in", data)
	case errors.Is(err, account.ErrSignInGone): // enrolled meanwhile in another browser
		return a.restartSignIn(c)
	case err != nil:
		return err
	}
	a.setCookie(c, sessionCookie, entry.Session, a.cfg.Session.MaxAge.Duration)
	a.clearCookie(c, anonCookie)
	a.clearCookie(c, challengeCookie)
	next, err := a.landingFor(p.User, p.Challenge.Next)
	if err != nil {
		return err
	}
	// The codes are rendered into this reply only: never a cookie or a URL.
	return a.render(c, fiber.StatusOK, "auth/recovery-codes", "Your recovery codes", loginEnrolData{Email: p.User.Email, Codes: entry.Codes, Next: next})
}
