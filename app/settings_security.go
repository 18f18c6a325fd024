package app

import (
	"bytes"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/account"
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
		data.Sessions = append(data.Sessions, sessionRow{ID: account.SessionID(s.Hash), Device: account.Device(s.UserAgent), UserAgent: s.UserAgent,
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

// changePassword checks the current password (failures count against
// the account like failed sign-ins), applies the reseller's policy to the
// new one, and on success signs out every other session of the user; this
// one stays signed in.
func (a *App) changePassword(c *fiber.Ctx) error {
	tenant, user, sess := tenantOf(c), userOf(c), sessionOf(c)
	if sess == nil {
		return fiber.ErrUnauthorized
	}
	guesses := passwordGuesses(c, tenant.ID, user.Email) // the sign-in form's budget of guesses from this address
	if err := a.limits.perAccount.refuse(guesses); err != nil {
		return err
	}
	revoked, err := a.account.ChangePassword(tenant, actorOf(c), sess.Hash,
		account.PasswordChange{Current: c.FormValue("current"), Password: c.FormValue("password"), Confirm: c.FormValue("confirm")})
	countGuess(err, a.limits.perAccount, guesses)
	if form := newForm(); form.refused(err) {
		return a.renderSecurityForm(c, form)
	}
	if err != nil {
		return err
	}
	message := "Your password has been changed."
	if revoked > 0 {
		message += " " + account.Plural(revoked, "other session") + " signed out."
	}
	a.setFlash(c, "success", message)
	return c.Redirect(securityTabURL, fiber.StatusSeeOther)
}

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
	gone, err := a.account.RevokeSession(tenantOf(c), actorOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	if current := sessionOf(c); current != nil && bytes.Equal(gone.Hash, current.Hash) {
		a.clearCookie(c, sessionCookie)
		a.setFlash(c, "info", "You have signed out.")
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	a.setFlash(c, "success", "Signed out "+account.Device(gone.UserAgent)+" at "+gone.IP+".")
	return c.Redirect(securityTabURL, fiber.StatusSeeOther)
}

// revokeOtherSessions signs out every session of the user but this one.
func (a *App) revokeOtherSessions(c *fiber.Ctx) error {
	var keep []byte
	if current := sessionOf(c); current != nil {
		keep = current.Hash
	}
	revoked, err := a.account.RevokeOtherSessions(tenantOf(c), actorOf(c), keep)
	if err != nil {
		return err
	}
	if revoked == 0 {
		a.setFlash(c, "info", "No other session was signed in.")
	} else {
		a.setFlash(c, "success", "Signed out "+account.Plural(revoked, "other session")+".")
	}
	return c.Redirect(securityTabURL, fiber.StatusSeeOther)
}
