package app

// Turning two-factor sign-in on and off: the panel on the client's
// Security tab (/settings/2fa/...) and on the staff's /reseller/security
// page (/reseller/security/2fa/...), which also holds the reseller-wide
// "require two-factor sign-in" setting (owner and admin).

import (
	"errors"
	"html/template"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/auth"
	"portico/store"
)

const resellerSecurityURL = "/reseller/security"

// twoFactorSurface is one place the panel lives: its routes' base path
// and the page to return to (the client's Security tab, or the staff's
// security page).
type twoFactorSurface struct {
	base, back string
	staff      bool
}

var (
	clientTwoFactor = twoFactorSurface{base: "/settings/2fa", back: securityTabURL}
	staffTwoFactor  = twoFactorSurface{base: "/reseller/security/2fa", back: resellerSecurityURL, staff: true}
)

// renderSurface renders the page of s with the panel.
func (a *App) renderSurface(c *fiber.Ctx, s twoFactorSurface, status int, panel twoFactorPanel) error {
	if s.staff {
		return a.renderResellerSecurity(c, status, panel, newForm())
	}
	data, err := a.securityData(c, newForm())
	if err != nil {
		return err
	}
	data.TwoFactor = panel
	return a.renderSecurityTab(c, status, data)
}

// twoFactorSettingsRoutes lists the panel's routes on both surfaces and
// the reseller's security page.
func (a *App) twoFactorSettingsRoutes(settings, reseller fiber.Router) {
	security := a.requireTab("security")
	for _, r := range []struct {
		group  fiber.Router
		prefix string
		guard  fiber.Handler
		s      twoFactorSurface
	}{
		{settings, "/2fa", security, clientTwoFactor},
		{reseller, "/security/2fa", func(c *fiber.Ctx) error { return c.Next() }, staffTwoFactor},
	} {
		r.group.Post(r.prefix+"/enrol", r.guard, a.startTwoFactor(r.s))
		r.group.Post(r.prefix+"/cancel", r.guard, a.cancelTwoFactor(r.s))
		r.group.Post(r.prefix+"/confirm", r.guard, a.confirmTwoFactor(r.s))
		r.group.Post(r.prefix+"/disable", r.guard, a.disableTwoFactor(r.s))
	}
	reseller.Get("/security", a.showResellerSecurity)
	reseller.Post("/security/require-2fa", a.requireStaffArea("security"), a.saveRequire2FA)
}

// twoFactorPanel is the view of the user's two-factor sign-in.
type twoFactorPanel struct {
	Base, CSRF   string
	On           bool
	EnabledAt    time.Time
	RecoveryLeft int
	// Pending is an enrolment begun: QR and Secret are shown with a form
	// for the first code.
	Pending bool
	QR      template.URL
	Secret  string
	// Required: the reseller requires two-factor sign-in, so it cannot be
	// turned off.
	Required bool
	Form     *Form
	// Codes are recovery codes just issued, shown once.
	Codes []string
}

// twoFactorPanel builds the panel of user u for the page of c.
func (a *App) twoFactorPanel(c *fiber.Ctx, s twoFactorSurface, u *store.User, form *Form) (twoFactorPanel, error) {
	p := twoFactorPanel{Base: s.base, CSRF: a.csrfToken(c), On: u.TwoFactorOn(), EnabledAt: u.TwoFactor.EnabledAt,
		RecoveryLeft: len(u.TwoFactor.RecoveryCodes), Required: tenantOf(c).Require2FA, Form: form}
	if !p.On && u.TwoFactor.PendingSecret != "" {
		key, err := totpKey(a.brandOf(tenantOf(c)).Name, u.Email, u.TwoFactor.PendingSecret)
		if err != nil {
			return p, err
		}
		if p.QR, err = totpQR(key); err != nil {
			return p, err
		}
		p.Pending, p.Secret = true, groupSecret(u.TwoFactor.PendingSecret)
	}
	return p, nil
}

func (a *App) renderTwoFactor(c *fiber.Ctx, s twoFactorSurface, status int, u *store.User, form *Form, codes []string) error {
	panel, err := a.twoFactorPanel(c, s, u, form)
	if err != nil {
		return err
	}
	panel.Codes = codes
	return a.renderSurface(c, s, status, panel)
}

// startTwoFactor begins an enrolment: a fresh secret kept as pending until
// the first code confirms it.
func (a *App) startTwoFactor(s twoFactorSurface) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tenant, user := tenantOf(c), userOf(c)
		secret, err := newTOTPSecret(a.brandOf(tenant).Name, user.Email)
		if err != nil {
			return err
		}
		err = a.store.Update(func(tx *store.Tx) error {
			if err := tx.StartTOTPEnrolment(tenant.ID, user.ID, secret); err != nil { // tenant scope: the signed-in user
				return err
			}
			return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: user.ClientID, Actor: user.Email, Action: "2fa.enrol_started", IP: c.IP()})
		})
		if errors.Is(err, store.ErrConflict) {
			a.setFlash(c, "info", "Two-factor sign-in is on already.")
			return c.Redirect(s.back, fiber.StatusSeeOther)
		}
		if err != nil {
			return err
		}
		return c.Redirect(s.back+"#two-factor", fiber.StatusSeeOther)
	}
}

// cancelTwoFactor drops an enrolment begun.
func (a *App) cancelTwoFactor(s twoFactorSurface) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tenant, user := tenantOf(c), userOf(c)
		if err := a.store.Update(func(tx *store.Tx) error { return tx.CancelTOTPEnrolment(tenant.ID, user.ID) }); err != nil {
			return err
		}
		a.setFlash(c, "info", "Two-factor sign-in was not turned on.")
		return c.Redirect(s.back, fiber.StatusSeeOther)
	}
}

// confirmTwoFactor checks the first code against the pending secret, turns
// two-factor sign-in on and shows the recovery codes in this reply, once.
func (a *App) confirmTwoFactor(s twoFactorSurface) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tenant, user := tenantOf(c), userOf(c)
		accountKey := strconv.FormatUint(tenant.ID, 10) + "/" + store.NormalizeEmail(user.Email) // one budget of guesses with sign-in
		if blocked, wait := a.limits.perAccount.blocked(accountKey); blocked {
			return &errRateLimited{wait: wait}
		}
		if user.TwoFactorOn() || user.TwoFactor.PendingSecret == "" {
			return c.Redirect(s.back, fiber.StatusSeeOther)
		}
		form := newForm()
		kind, code := parseCode(c.FormValue("code"))
		step, ok := matchTOTP(user.TwoFactor.PendingSecret, code, a.now())
		if kind != codeTOTP || !ok {
			a.limits.perAccount.allow(accountKey)
			form.Errors["code"] = "The code is incorrect. Type the 6-digit code your app shows for this account now."
			return a.renderTwoFactor(c, s, fiber.StatusUnprocessableEntity, user, form, nil)
		}
		codes, hashes := newRecoveryCodes()
		var updated *store.User
		err := a.store.Update(func(tx *store.Tx) (err error) {
			if updated, err = tx.EnableTOTP(tenant.ID, user.ID, user.TwoFactor.PendingSecret, step, hashes); err != nil {
				return err
			}
			if err := a.mailTwoFactorChanged(tx, tenant, updated.Email, true, c.IP()); err != nil {
				return err
			}
			return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: user.ClientID, Actor: user.Email, Action: "2fa.enable", IP: c.IP()})
		})
		if errors.Is(err, store.ErrConflict) {
			return c.Redirect(s.back, fiber.StatusSeeOther)
		}
		if err != nil {
			return err
		}
		a.mail.Wake()
		c.Locals(keyUser, updated) // the page below shows the user as they are now
		return a.renderTwoFactor(c, s, fiber.StatusOK, updated, newForm(), codes)
	}
}

// disableTwoFactor turns two-factor sign-in off, given the password and a
// code (from the app or a recovery code). A reseller that requires it
// keeps it on.
func (a *App) disableTwoFactor(s twoFactorSurface) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tenant, user := tenantOf(c), userOf(c)
		accountKey := strconv.FormatUint(tenant.ID, 10) + "/" + store.NormalizeEmail(user.Email)
		if blocked, wait := a.limits.perAccount.blocked(accountKey); blocked {
			return &errRateLimited{wait: wait}
		}
		if !user.TwoFactorOn() {
			return c.Redirect(s.back, fiber.StatusSeeOther)
		}
		form := newForm()
		if tenant.Require2FA {
			form.Error = a.brandOf(tenant).Name + " requires two-factor sign-in for every account, so it cannot be turned off."
			return a.renderTwoFactor(c, s, fiber.StatusConflict, user, form, nil)
		}
		password := c.FormValue("password")
		if password == "" {
			form.Errors["password"] = "Enter your password."
		} else if err := auth.CheckPassword(user.PasswordHash, password); errors.Is(err, auth.ErrBusy) {
			return err // not checked: no failure to count
		} else if err != nil {
			a.limits.perAccount.allow(accountKey)
			a.audit(c, user.ClientID, user.Email, "2fa.disable_failed", "wrong password")
			form.Errors["password"] = "The password is incorrect."
		}
		if form.invalid() {
			return a.renderTwoFactor(c, s, fiber.StatusUnprocessableEntity, user, form, nil)
		}
		err := a.store.Update(func(tx *store.Tx) error {
			u, err := tx.User(tenant.ID, user.ID) // tenant scope: the signed-in user
			if err != nil {
				return err
			}
			if _, _, err := a.spendCode(tx, u, c.FormValue("code")); err != nil {
				return err
			}
			if _, err := tx.DisableTOTP(tenant.ID, user.ID); err != nil {
				return err
			}
			if err := a.mailTwoFactorChanged(tx, tenant, u.Email, false, c.IP()); err != nil {
				return err
			}
			return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: user.ClientID, Actor: user.Email, Action: "2fa.disable", IP: c.IP()})
		})
		var refused codeError
		if errors.As(err, &refused) {
			a.limits.perAccount.allow(accountKey)
			a.audit(c, user.ClientID, user.Email, "2fa.disable_failed", "wrong code")
			form.Errors["code"] = refused.Error()
			return a.renderTwoFactor(c, s, fiber.StatusUnprocessableEntity, user, form, nil)
		}
		if err != nil {
			return err
		}
		a.mail.Wake()
		a.setFlash(c, "success", "Two-factor sign-in is off. Your password alone now signs you in.")
		return c.Redirect(s.back, fiber.StatusSeeOther)
	}
}

// mailTwoFactorChanged tells the account's owner, in the same transaction
// as the change.
func (a *App) mailTwoFactorChanged(tx *store.Tx, tenant *store.Reseller, email string, on bool, ip string) error {
	name := a.brandOf(tenant).Name
	subject, text := "Two-factor sign-in is on for your "+name+" account",
		"Two-factor sign-in was turned on for your "+name+" account ("+email+") from the address "+ip+". "+
			"From now on, signing in needs your password and a code from your authenticator app.\n"
	if !on {
		subject, text = "Two-factor sign-in was turned off for your "+name+" account",
			"Two-factor sign-in was turned off for your "+name+" account ("+email+") from the address "+ip+". "+
				"Your password alone now signs you in.\n\nIf this was not you, change your password at once and tell your administrator.\n"
	}
	return a.mail.Enqueue(tx, &store.MailMessage{ResellerID: tenant.ID, FromName: a.senderName(tenant), To: email, Subject: subject, Text: text})
}

// The reseller's security page.

// resellerSecurityData is the Data of views/security/reseller.html.
type resellerSecurityData struct {
	TwoFactor twoFactorPanel
	// MayRequire: the staff member may change the reseller-wide setting.
	MayRequire bool
	Required   bool
	Form       *Form
}

func (a *App) renderResellerSecurity(c *fiber.Ctx, status int, panel twoFactorPanel, form *Form) error {
	data := resellerSecurityData{TwoFactor: panel, MayRequire: staffMay(userOf(c), "security"), Required: tenantOf(c).Require2FA, Form: form}
	return a.render(c, status, "security/reseller", "Security", data)
}

// showResellerSecurity shows the staff member's own two-factor sign-in
// and, to owners and admins, the reseller-wide requirement.
func (a *App) showResellerSecurity(c *fiber.Ctx) error {
	panel, err := a.twoFactorPanel(c, staffTwoFactor, userOf(c), newForm())
	if err != nil {
		return err
	}
	return a.renderResellerSecurity(c, fiber.StatusOK, panel, newForm())
}

// saveRequire2FA turns the requirement on or off. Turning it on needs the
// staff member's own two-factor sign-in (so they cannot lock themselves
// out) and signs out every user without it: they set it up at their next
// sign-in, before any page opens.
func (a *App) saveRequire2FA(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	require := c.FormValue("require") == "on"
	if require && !user.TwoFactorOn() {
		form := newForm()
		form.Error = "Turn on two-factor sign-in for your own account first (above), so that requiring it cannot lock you out."
		panel, err := a.twoFactorPanel(c, staffTwoFactor, user, newForm())
		if err != nil {
			return err
		}
		return a.renderResellerSecurity(c, fiber.StatusUnprocessableEntity, panel, form)
	}
	var changed bool
	var signedOut int
	err := a.store.Update(func(tx *store.Tx) error {
		r, err := tx.Reseller(tenant.ID) // tenant scope: the reseller comes from the host
		if err != nil || r.Require2FA == require {
			return err
		}
		changed, r.Require2FA = true, require
		if err := tx.UpdateReseller(r); err != nil {
			return err
		}
		target := "off"
		if require {
			users, err := tx.Users(r.ID)
			if err != nil {
				return err
			}
			for _, u := range users {
				if u.TwoFactorOn() {
					continue
				}
				n, err := tx.DeleteUserSessions(r.ID, u.ID)
				if err != nil {
					return err
				}
				if n > 0 {
					signedOut++
				}
			}
			target = "on, " + plural(signedOut, "user") + " without it signed out"
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: user.Email, Action: "reseller.require_2fa", Target: target, IP: c.IP()})
	})
	if err != nil {
		return err
	}
	a.InvalidateTenants() // every page and sign-in of this reseller sees the new setting
	switch {
	case !changed:
		a.setFlash(c, "info", "Nothing changed.")
	case require:
		a.setFlash(c, "success", "Two-factor sign-in is now required. "+plural(signedOut, "signed-in user")+" without it "+
			map[bool]string{true: "was", false: "were"}[signedOut == 1]+" signed out; everyone without it sets it up at their next sign-in.")
	default:
		a.setFlash(c, "success", "Two-factor sign-in is no longer required. Users who have it keep it.")
	}
	return c.Redirect(resellerSecurityURL, fiber.StatusSeeOther)
}
