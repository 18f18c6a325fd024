package app

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/account"
	"portico/app/actor"
	"portico/app/fault"
	"portico/app/tenancy"
	"portico/store"
)

// showHome sends visitors to the sign-in page and users to their console.
func (a *App) showHome(c *fiber.Ctx) error {
	if u := userOf(c); u != nil {
		home, _ := navigation(u, a.accessOf(c), "")
		return c.Redirect(home, fiber.StatusSeeOther)
	}
	return c.Redirect("/login", fiber.StatusSeeOther)
}

type loginData struct {
	Form *Form
	Next string
}

// showLogin renders the sign-in form.
func (a *App) showLogin(c *fiber.Ctx) error {
	if u := userOf(c); u != nil {
		home, _ := navigation(u, a.accessOf(c), "")
		return c.Redirect(home, fiber.StatusSeeOther)
	}
	return a.render(c, fiber.StatusOK, "auth/login", "Sign in", loginData{Form: newForm(), Next: safeNext(c.Query("next"))})
}

// login checks the credentials and starts a session, or sends the browser
// to the second step of two-factor sign-in. Failures are limited per
// address, per account and address, and per account (lockout.go);
// successes are not counted. The account service answers a wrong email
// and a wrong password alike, with the same work.
func (a *App) login(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	form := newForm()
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	form.Values["email"] = email
	data := loginData{Form: form, Next: safeNext(c.FormValue("next"))}
	ip := clientIP(c).String()
	if err := a.limits.perIP.refuse(ip); err != nil {
		return err
	}
	if email == "" {
		form.Errors["email"] = "Enter your email."
	}
	if password == "" {
		form.Errors["password"] = "Enter your password."
	}
	if form.invalid() {
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/login", "Sign in", data)
	}
	if err := a.limits.perAccount.refuse(passwordGuesses(c, tenant.ID, email)); err != nil {
		return err
	}
	whose := signInAccount(tenant.ID, email)
	if until, paused := a.limits.accounts.paused(whose); paused && !a.unlockedHere(c, whose, until) {
		return a.refusePausedSignIn(c, data, until)
	}
	entry, err := a.account.SignIn(tenant, account.SignIn{Email: email, Password: password, Next: data.Next,
		IP: ip, UserAgent: c.Get(fiber.HeaderUserAgent),
		Failed: func() (string, time.Time) { return a.signInFailed(c, tenant.ID, email) }})
	if form.refused(err) {
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/login", "Sign in", data)
	}
	if err != nil {
		return err
	}
	return a.enter(c, entry, data.Next)
}

// enter finishes a step of signing in: to the second step (twofactor.go)
// with a pending sign-in's cookie, or in with the session's.
func (a *App) enter(c *fiber.Ctx, entry *account.Entry, next string) error {
	if entry.Challenge != "" {
		a.setCookie(c, challengeCookie, entry.Challenge, account.ChallengeLifetime)
		if entry.Enrol {
			return c.Redirect("/login/enrol", fiber.StatusSeeOther)
		}
		return c.Redirect("/login/code", fiber.StatusSeeOther)
	}
	a.setCookie(c, sessionCookie, entry.Session, a.cfg.Session.MaxAge.Duration)
	a.clearCookie(c, anonCookie)
	a.clearCookie(c, challengeCookie)
	next, err := a.landingFor(entry.User, next)
	if err != nil {
		return err
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

// landingFor is where a user goes once signed in: the forced password page
// while they hold an initial password (the only page they may use until
// they choose their own), else next, else their home.
func (a *App) landingFor(u *store.User, next string) (string, error) {
	if u.MustChangePassword {
		return mustChangePasswordURL, nil
	}
	if next != "" {
		return next, nil
	}
	return a.homeFor(u)
}

// logout ends the session.
func (a *App) logout(c *fiber.Ctx) error {
	if s := sessionOf(c); s != nil {
		if err := a.account.SignOut(tenantOf(c), actorOf(c), s.Hash); err != nil {
			return err
		}
	}
	a.clearCookie(c, sessionCookie)
	a.setFlash(c, "info", "You have signed out.")
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// actorOf is the signed-in user of the request and their address, as the
// account service takes them.
func actorOf(c *fiber.Ctx) account.Actor {
	return actor.Of(userOf(c), clientIP(c).String())
}

type forgotData struct{ Form *Form }

// showForgotPassword renders the reset request form.
func (a *App) showForgotPassword(c *fiber.Ctx) error {
	return a.render(c, fiber.StatusOK, "auth/forgot", "Reset your password", forgotData{Form: newForm()})
}

// requestPasswordReset mails a single-use link when the account exists and
// says the same thing either way.
func (a *App) requestPasswordReset(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	form := newForm()
	email := strings.TrimSpace(c.FormValue("email"))
	form.Values["email"] = email
	ip := clientIP(c).String()
	if err := a.limits.perIP.spend(ip); err != nil {
		return err
	}
	err := a.account.RequestReset(tenant, email, ip, func() error { return a.limits.perAccount.spend(resetMails(tenant.ID, email)) })
	if form.refused(err) {
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/forgot", "Reset your password", forgotData{Form: form})
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "info", "If an account uses "+email+", we have sent it a link to choose a new password. Check your inbox.")
	return c.Redirect("/login", fiber.StatusSeeOther)
}

type resetData struct {
	Form       *Form
	Token      string
	Valid      bool
	PolicyHint string
}

// showResetPassword renders the new-password form for a valid link.
func (a *App) showResetPassword(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	token := c.Query("token")
	data := resetData{Form: newForm(), Token: token, PolicyHint: tenancy.Policy(tenant).Describe()}
	err := a.account.CheckResetLink(tenant, token)
	data.Valid = err == nil
	if err != nil && !fault.Is(err, fault.NotFound) {
		return err
	}
	status := fiber.StatusOK
	if !data.Valid {
		status = fiber.StatusNotFound
	}
	return a.render(c, status, "auth/reset", "Choose a new password", data)
}

// resetPassword spends the link and sets the new password, revoking every
// session of the user.
func (a *App) resetPassword(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	ip := clientIP(c).String()
	if err := a.limits.perIP.spend(ip); err != nil {
		return err
	}
	token := c.FormValue("token")
	data := resetData{Form: newForm(), Token: token, Valid: true, PolicyHint: tenancy.Policy(tenant).Describe()}
	err := a.account.ResetPassword(tenant, token, c.FormValue("password"), c.FormValue("confirm"), ip)
	switch {
	case data.Form.refused(err):
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/reset", "Choose a new password", data)
	case fault.Is(err, fault.NotFound):
		data.Valid = false
		return a.render(c, fiber.StatusNotFound, "auth/reset", "Choose a new password", data)
	case err != nil:
		return err
	}
	a.setFlash(c, "success", "Your password has been changed. Sign in with the new one.")
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// safeNext keeps only a path on this very site, so that ?next= cannot
// send a user elsewhere after sign-in. Browsers forgive much in a
// Location header: they drop tabs and newlines, read a backslash as a
// slash and a leading "//" as another host, so anything that could turn
// into one of those, raw or percent-encoded, is refused, and what is kept
// is the parser's own re-encoding of the path and query.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") || unsafePathText(next) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Opaque != "" || u.User != nil || u.Host != "" {
		return ""
	}
	// the decoded path: %09, %5C, %2F and their kind become what they
	// stand for and are judged as such
	if !strings.HasPrefix(u.Path, "/") || strings.Contains(u.Path, "//") || unsafePathText(u.Path) {
		return ""
	}
	if query, err := url.QueryUnescape(u.RawQuery); err != nil || unsafePathText(query) {
		return ""
	}
	u.Fragment, u.RawFragment = "", ""
	out := u.RequestURI()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || unsafePathText(out) {
		return ""
	}
	return out
}

// unsafePathText reports control characters (tab, CR, LF and the rest of
// C0, DEL) and backslashes, which have no place in a local path.
func unsafePathText(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f || b == '\\' {
			return true
		}
	}
	return false
}

// senderName is the From name of the reseller's mails (the letterhead's rule).
func (a *App) senderName(r *store.Reseller) string { return letterhead{a.cfg}.SenderName(r) }

// truncate keeps the first n bytes of s.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
