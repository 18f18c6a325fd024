package app

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/auth"
	"portico/app/tenancy"
	"portico/store"
)

// securityTabData is the Security tab: the change-password form and the
// user's active sessions.
type securityTabData struct {
	Form       *Form
	PolicyHint string
	Sessions   []sessionRow
	Others     int // sessions other than this one
	// TwoFactor is the two-factor sign-in panel (twofactor_settings.go).
	TwoFactor twoFactorPanel
}

// sessionRow is one signed-in browser as the tab shows it.
type sessionRow struct {
	// ID names the session in URLs: the start of its stored hash, which is
	// itself a hash of the cookie, so it reveals nothing usable.
	ID                 string
	Device, UserAgent  string
	IP                 string
	SignedIn, LastSeen time.Time
	Current            bool
}

// sessionIDLen is how many hex characters of the stored hash name a session.
const sessionIDLen = 16

func sessionID(hash []byte) string { return hex.EncodeToString(hash[:sessionIDLen/2]) }

// loadSecurityTab shows an empty change-password form and the sessions.
func (a *App) loadSecurityTab(c *fiber.Ctx) (any, error) {
	return a.securityData(c, newForm())
}

// securityData lists the user's sessions that are still alive, this one
// first, then by last seen, newest first.
func (a *App) securityData(c *fiber.Ctx, form *Form) (securityTabData, error) {
	tenant, user, current := tenantOf(c), userOf(c), sessionOf(c)
	data := securityTabData{Form: form, PolicyHint: a.policyHint(tenant)}
	var err error
	if data.TwoFactor, err = a.twoFactorPanel(c, clientTwoFactor, user, newForm()); err != nil {
		return data, err
	}
	var sessions []*store.Session
	err = a.store.View(func(tx *store.Tx) (err error) {
		sessions, err = tx.UserSessions(tenant.ID, user.ID) // tenant scope: the user's own sessions on this reseller
		return err
	})
	if err != nil {
		return data, err
	}
	now := a.now()
	for _, s := range sessions {
		if last, ok := a.touches.get(string(s.Hash)); ok && last.After(s.LastSeenAt) {
			s.LastSeenAt = last // newer than the store until the next flush
		}
		isCurrent := current != nil && bytes.Equal(s.Hash, current.Hash)
		if !isCurrent && !now.Before(s.Deadline()) {
			continue // expired, awaiting the sweep: it can no longer sign anyone in
		}
		data.Sessions = append(data.Sessions, sessionRow{ID: sessionID(s.Hash), Device: deviceOf(s.UserAgent), UserAgent: s.UserAgent,
			IP: s.IP, SignedIn: s.CreatedAt, LastSeen: s.LastSeenAt, Current: isCurrent})
		if !isCurrent {
			data.Others++
		}
	}
	slices.SortStableFunc(data.Sessions, func(x, y sessionRow) int {
		if x.Current != y.Current {
			if x.Current {
				return -1
			}
			return 1
		}
		return y.LastSeen.Compare(x.LastSeen)
	})
	return data, nil
}

// renderSecurityTab shows the Security tab with data, e.g. a form with
// errors after a failed change.
func (a *App) renderSecurityTab(c *fiber.Ctx, status int, data securityTabData) error {
	return a.renderSettingsTab(c, status, "security", data)
}

const securityTabURL = "/settings?tab=security"

// changePassword checks the current password (failures count against the
// account like failed sign-ins), applies the reseller's policy to the new
// one, and on success signs out every other session of the user; this one
// stays signed in.
func (a *App) changePassword(c *fiber.Ctx) error {
	tenant, user, sess := tenantOf(c), userOf(c), sessionOf(c)
	if sess == nil {
		return fiber.ErrUnauthorized
	}
	accountKey := passwordGuesses(c, tenant.ID, user.Email) // the sign-in form's budget of guesses from this address
	if blocked, wait := a.limits.perAccount.blocked(accountKey); blocked {
		return &errRateLimited{wait: wait}
	}
	current, password, confirm := c.FormValue("current"), c.FormValue("password"), c.FormValue("confirm")
	form := newForm()
	policy := tenancy.Policy(tenant)
	if current == "" {
		form.Errors["current"] = "Enter your current password."
	}
	if problem := policy.Check(password); problem != "" {
		form.Errors["password"] = problem
	} else if confirm != password {
		form.Errors["confirm"] = "The two passwords differ."
	}
	if current != "" {
		if err := auth.CheckPassword(user.PasswordHash, current); errors.Is(err, auth.ErrBusy) {
			return err // not checked: no failure to count
		} else if err != nil {
			a.limits.perAccount.allow(accountKey)
			a.audit(c, user.ClientID, user.Email, "password.change_failed", "")
			form.Errors["current"] = "The current password is incorrect."
		} else if password == current && form.Errors["password"] == "" {
			form.Errors["password"] = "Choose a password different from the current one."
		}
	}
	if form.invalid() {
		return a.renderSecurityForm(c, form)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	var revoked int
	err = a.store.Update(func(tx *store.Tx) error {
		// the session may have been revoked, or the password changed, since
		// this request was authenticated: then the check above is stale
		if _, err := tx.Session(sess.Hash); err != nil {
			return err
		}
		u, err := tx.User(tenant.ID, user.ID)
		if err != nil {
			return err
		}
		if u.PasswordHash != user.PasswordHash {
			return errStalePassword
		}
		if revoked, err = tx.ChangePassword(tenant.ID, user.ID, hash, sess.Hash); err != nil {
			return err
		}
		if err := a.mailPasswordChanged(tx, tenant, user.Email, c.IP()); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: user.ClientID, Actor: user.Email,
			Action: "password.change", Target: plural(revoked, "other session") + " signed out", IP: c.IP()})
	})
	switch {
	case errors.Is(err, errStalePassword):
		form.Errors["current"] = "The current password is incorrect."
		return a.renderSecurityForm(c, form)
	case errors.Is(err, store.ErrNotFound):
		return fiber.ErrUnauthorized // signed out meanwhile
	case err != nil:
		return err
	}
	a.mail.Wake()
	message := "Your password has been changed."
	if revoked > 0 {
		message += " " + plural(revoked, "other session") + " signed out."
	}
	a.setFlash(c, "success", message)
	return c.Redirect(securityTabURL, fiber.StatusSeeOther)
}

var errStalePassword = errors.New("app: the password changed during the request")

func (a *App) renderSecurityForm(c *fiber.Ctx, form *Form) error {
	data, err := a.securityData(c, form)
	if err != nil {
		return err
	}
	return a.renderSecurityTab(c, fiber.StatusUnprocessableEntity, data)
}

// revokeSession signs out one of the user's own sessions, named by its
// id; any other id, another user's included, is not found. Revoking this
// very session signs the user out.
func (a *App) revokeSession(c *fiber.Ctx) error {
	tenant, user, current := tenantOf(c), userOf(c), sessionOf(c)
	id := c.Params("id")
	if len(id) != sessionIDLen || strings.Trim(id, "0123456789abcdef") != "" {
		return fiber.ErrNotFound
	}
	var gone *store.Session
	err := a.store.Update(func(tx *store.Tx) error {
		sessions, err := tx.UserSessions(tenant.ID, user.ID) // tenant scope: only this user's sessions are candidates
		if err != nil {
			return err
		}
		for _, s := range sessions {
			if sessionID(s.Hash) == id {
				gone = s
				break
			}
		}
		if gone == nil {
			return store.ErrNotFound
		}
		if err := tx.DeleteSession(gone.Hash); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: user.ClientID, Actor: user.Email,
			Action: "session.revoke", Target: id + " " + deviceOf(gone.UserAgent) + " " + gone.IP, IP: c.IP()})
	})
	if errors.Is(err, store.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	if current != nil && bytes.Equal(gone.Hash, current.Hash) {
		a.clearCookie(c, sessionCookie)
		a.setFlash(c, "info", "You have signed out.")
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	a.setFlash(c, "success", "Signed out "+deviceOf(gone.UserAgent)+" at "+gone.IP+".")
	return c.Redirect(securityTabURL, fiber.StatusSeeOther)
}

// revokeOtherSessions signs out every session of the user but this one.
func (a *App) revokeOtherSessions(c *fiber.Ctx) error {
	tenant, user, current := tenantOf(c), userOf(c), sessionOf(c)
	if current == nil {
		return fiber.ErrUnauthorized // without a session to keep, this would sign out every one
	}
	var revoked int
	err := a.store.Update(func(tx *store.Tx) (err error) {
		if revoked, err = tx.DeleteUserSessionsExcept(tenant.ID, user.ID, current.Hash); err != nil || revoked == 0 {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: user.ClientID, Actor: user.Email,
			Action: "session.revoke_others", Target: plural(revoked, "session"), IP: c.IP()})
	})
	if err != nil {
		return err
	}
	if revoked == 0 {
		a.setFlash(c, "info", "No other session was signed in.")
	} else {
		a.setFlash(c, "success", "Signed out "+plural(revoked, "other session")+".")
	}
	return c.Redirect(securityTabURL, fiber.StatusSeeOther)
}

// deviceOf shortens a user agent to "Browser on System" when it can tell,
// else to its first 60 characters.
func deviceOf(ua string) string {
	if strings.TrimSpace(ua) == "" {
		return "Unknown device"
	}
	browser := firstMatch(ua, [][2]string{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"SamsungBrowser/", "Samsung Internet"}, {"CriOS/", "Chrome"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
		{"curl/", "curl"}, {"Go-http-client/", "Go HTTP client"},
	})
	system := firstMatch(ua, [][2]string{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"CrOS", "ChromeOS"}, {"Windows", "Windows"},
		{"Macintosh", "macOS"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	})
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "Browser on " + system
	}
	if r := []rune(ua); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return ua
}

func firstMatch(s string, table [][2]string) string {
	for _, m := range table {
		if strings.Contains(s, m[0]) {
			return m[1]
		}
	}
	return ""
}

// mailPasswordChanged tells the account's owner, in the same transaction
// as the change, so that a change they did not make does not go unseen.
func (a *App) mailPasswordChanged(tx *store.Tx, tenant *store.Reseller, email, ip string) error {
	name := a.brandOf(tenant).Name
	return a.mail.Enqueue(tx, &store.MailMessage{
		ResellerID: tenant.ID, FromName: a.senderName(tenant), To: email,
		Subject: "Your " + name + " password was changed",
		Text: "The password of your " + name + " account (" + email + ") was changed from the address " + ip + ".\n\n" +
			"If this was you, there is nothing to do. If not, reset your password at once from the sign-in page " +
			"and tell your administrator.\n",
	})
}
