package app

import (
	"errors"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/auth"
	"portico/app/tenancy"
	"portico/store"
)

// resetLifetime is how long a mailed reset link works.
const resetLifetime = time.Hour

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

// login checks the credentials and starts a session. Failures are
// limited per address, per account and address, and per account
// (lockout.go); successes are not counted. The message for a wrong email
// and a wrong password is the same, and so is the work done: one argon2id
// check and one audit write, whether the account exists, has no password
// yet (invited) or not.
func (a *App) login(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	form := newForm()
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	form.Values["email"] = email
	data := loginData{Form: form, Next: safeNext(c.FormValue("next"))}
	if blocked, wait := a.limits.perIP.blocked(clientIP(c).String()); blocked {
		return &errRateLimited{wait: wait}
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
	if blocked, wait := a.limits.perAccount.blocked(passwordGuesses(c, tenant.ID, email)); blocked {
		return &errRateLimited{wait: wait}
	}
	account := signInAccount(tenant.ID, email)
	if until, paused := a.limits.accounts.paused(account); paused && !a.unlockedHere(c, account, until) {
		return a.refusePausedSignIn(c, data, until)
	}
	var user *store.User
	err := a.store.View(func(tx *store.Tx) (err error) { user, err = tx.UserByEmail(tenant.ID, email); return err })
	switch {
	case errors.Is(err, store.ErrNotFound):
		if busy := auth.BurnPasswordCheck(password); busy != nil {
			return busy // 503, as for an account that exists
		}
	case err != nil:
		return err
	default:
		// an invited user's empty hash costs a dummy check
		if err = auth.CheckPassword(user.PasswordHash, password); errors.Is(err, auth.ErrBusy) {
			return err // not checked: neither a failure nor a success
		}
	}
	if err != nil {
		if err := a.signInFailed(c, user, email); err != nil {
			return err
		}
		form.Error = "The email or password is incorrect."
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/login", "Sign in", data)
	}
	if user.Status != store.UserActive {
		form.Error = "This account is disabled. Contact your administrator to restore access."
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/login", "Sign in", data)
	}
	if blocked, err := a.clientBlocked(user); err != nil {
		return err
	} else if blocked {
		form.Error = "Your company's account with " + a.brandOf(tenant).Name + " is disabled, so you cannot sign in. Contact " + a.brandOf(tenant).Name + " to restore access."
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/login", "Sign in", data)
	}
	if done, err := a.secondFactorStep(c, tenant, user, data.Next); done { // twofactor.go: a code before any session
		return err
	}
	var token string
	err = a.store.Update(func(tx *store.Tx) (err error) {
		token, err = a.openSession(tx, c, user, "")
		return err
	})
	if err != nil {
		return err
	}
	return a.finishSignIn(c, token, user, data.Next)
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

// clientBlocked reports whether a client user's business may not sign in
// (disabled, closed or deleted).
func (a *App) clientBlocked(u *store.User) (bool, error) {
	if u.Staff() {
		return false, nil
	}
	var cl *store.Client
	err := a.store.View(func(tx *store.Tx) (err error) { cl, err = tx.Client(u.ResellerID, u.ClientID); return err })
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return cl.Status == store.ClientDisabled || cl.Status == store.ClientClosed, nil
}

// logout ends the session.
func (a *App) logout(c *fiber.Ctx) error {
	if s := sessionOf(c); s != nil {
		u := userOf(c)
		err := a.store.Update(func(tx *store.Tx) error {
			if err := tx.DeleteSession(s.Hash); err != nil {
				return err
			}
			return tx.AddAudit(&store.AuditEvent{ResellerID: s.ResellerID, ClientID: u.ClientID, Actor: u.Email, Action: "logout", IP: c.IP()})
		})
		if err != nil {
			return err
		}
	}
	a.clearCookie(c, sessionCookie)
	a.setFlash(c, "info", "You have signed out.")
	return c.Redirect("/login", fiber.StatusSeeOther)
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
	if ok, wait := a.limits.perIP.allow(clientIP(c).String()); !ok {
		return &errRateLimited{wait: wait}
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Name != "" {
		form.Errors["email"] = "Enter an email address such as name@example.com."
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/forgot", "Reset your password", forgotData{Form: form})
	}
	if ok, wait := a.limits.perAccount.allow("reset/" + strconv.FormatUint(tenant.ID, 10) + "/" + store.NormalizeEmail(email)); !ok {
		return &errRateLimited{wait: wait}
	}
	token, hash := auth.NewToken()
	brand := a.brandOf(tenant)
	queued := false
	err := a.store.Update(func(tx *store.Tx) error {
		user, err := tx.UserByEmail(tenant.ID, email)
		if errors.Is(err, store.ErrNotFound) || (err == nil && user.Status != store.UserActive) {
			return nil // same answer, nothing sent
		}
		if err != nil {
			return err
		}
		if err := tx.CreatePasswordReset(&store.PasswordReset{Hash: hash, ResellerID: tenant.ID, UserID: user.ID,
			ExpiresAt: tx.Now().Add(resetLifetime)}); err != nil {
			return err
		}
		link, err := a.mailLink(tx, tenant, "/password/reset?token="+token) // security: never the request's Host
		if err != nil {
			return err
		}
		if err := a.mail.Enqueue(tx, &store.MailMessage{
			ResellerID: tenant.ID, FromName: a.senderName(tenant), To: user.Email,
			Subject: "Reset your " + brand.Name + " password",
			Text: "Someone asked to reset the password of your " + brand.Name + " account.\n\n" +
				"To choose a new password, open this link within one hour. It works once:\n\n" + link + "\n\n" +
				"If you did not ask for this, ignore this email; your password stays as it is.\n",
		}); err != nil {
			return err
		}
		queued = true
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: user.ClientID, Actor: user.Email, Action: "password.reset_requested", IP: c.IP()})
	})
	if err != nil {
		return err
	}
	if queued {
		a.mail.Wake()
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
	err := a.store.View(func(tx *store.Tx) error {
		_, err := tx.PasswordReset(tenant.ID, auth.HashToken(token))
		return err
	})
	data.Valid = err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
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
	if ok, wait := a.limits.perIP.allow(c.IP()); !ok {
		return &errRateLimited{wait: wait}
	}
	token := c.FormValue("token")
	password, confirm := c.FormValue("password"), c.FormValue("confirm")
	data := resetData{Form: newForm(), Token: token, Valid: true, PolicyHint: tenancy.Policy(tenant).Describe()}
	if problem := tenancy.Policy(tenant).Check(password); problem != "" {
		data.Form.Errors["password"] = problem
	} else if confirm != password {
		data.Form.Errors["confirm"] = "The two passwords differ."
	}
	if data.Form.invalid() {
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/reset", "Choose a new password", data)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	err = a.store.Update(func(tx *store.Tx) error {
		user, err := tx.UsePasswordReset(tenant.ID, auth.HashToken(token), hash)
		if err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: user.ClientID, Actor: user.Email, Action: "password.reset", IP: c.IP()})
	})
	if errors.Is(err, store.ErrNotFound) {
		data.Valid = false
		return a.render(c, fiber.StatusNotFound, "auth/reset", "Choose a new password", data)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "Your password has been changed. Sign in with the new one.")
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// audit records an event in its own transaction (for events that change
// nothing else, such as a failed sign-in).
func (a *App) audit(c *fiber.Ctx, clientID uint64, actor, action, target string) {
	tenant := tenantOf(c)
	err := a.store.Update(func(tx *store.Tx) error {
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: clientID, Actor: actor, Action: action, Target: target, IP: c.IP()})
	})
	if err != nil {
		a.log.Error("audit", "request_id", requestIDOf(c), "action", action, "err", err)
	}
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

func (a *App) senderName(r *store.Reseller) string {
	if r.Brand.MailSender != "" {
		return r.Brand.MailSender
	}
	return a.brandOf(r).Name
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
