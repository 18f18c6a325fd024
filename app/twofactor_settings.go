package app

// Turning two-factor sign-in on and off: the panel on the client's
// Security tab (/settings/2fa/...) and on the staff's /reseller/security
// page (/reseller/security/2fa/...), which also holds the reseller-wide
// "require two-factor sign-in" setting (owner and admin).

import (
	"errors"
	"html/template"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/account"
	"portico/app/fault"
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
	reseller.Post("/security/require-2fa", a.requireStaffArea(access.AreaSecurity), a.saveRequire2FA)
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
		err := a.account.StartTOTP(tenantOf(c), actorOf(c))
		if errors.Is(err, account.ErrTwoFactorOn) {
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
		if err := a.account.CancelTOTP(tenantOf(c), actorOf(c)); err != nil {
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
		guesses := codeGuesses(tenant.ID, user.Email) // one budget of guesses with sign-in
		if err := a.limits.perAccount.refuse(guesses); err != nil {
			return err
		}
		updated, codes, err := a.account.ConfirmTOTP(tenant, actorOf(c), c.FormValue("code"))
		countGuess(err, a.limits.perAccount, guesses)
		if form := newForm(); form.refused(err) {
			return a.renderTwoFactor(c, s, fiber.StatusUnprocessableEntity, user, form, nil)
		}
		if errors.Is(err, account.ErrNoEnrolment) {
			return c.Redirect(s.back, fiber.StatusSeeOther)
		}
		if err != nil {
			return err
		}
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
		guesses := codeGuesses(tenant.ID, user.Email)
		if err := a.limits.perAccount.refuse(guesses); err != nil {
			return err
		}
		err := a.account.DisableTOTP(tenant, actorOf(c), c.FormValue("password"), c.FormValue("code"))
		countGuess(err, a.limits.perAccount, guesses)
		form := newForm()
		switch {
		case form.refused(err):
			return a.renderTwoFactor(c, s, fiber.StatusUnprocessableEntity, user, form, nil)
		case errors.Is(err, account.ErrTwoFactorOff):
			return c.Redirect(s.back, fiber.StatusSeeOther)
		case fault.Is(err, fault.Conflict): // the reseller requires it
			form.Error = messageOf(err)
			return a.renderTwoFactor(c, s, fiber.StatusConflict, user, form, nil)
		case err != nil:
			return err
		}
		a.setFlash(c, "success", "Two-factor sign-in is off. Your password alone now signs you in.")
		return c.Redirect(s.back, fiber.StatusSeeOther)
	}
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
	data := resellerSecurityData{TwoFactor: panel, MayRequire: access.StaffMay(userOf(c), access.AreaSecurity), Required: tenantOf(c).Require2FA, Form: form}
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
	require := c.FormValue("require") == "on"
	changed, signedOut, err := a.account.RequireTOTP(tenantOf(c), actorOf(c), require)
	if form := newForm(); form.refused(err) {
		panel, err := a.twoFactorPanel(c, staffTwoFactor, userOf(c), newForm())
		if err != nil {
			return err
		}
		return a.renderResellerSecurity(c, fiber.StatusUnprocessableEntity, panel, form)
	}
	if err != nil {
		return err
	}
	a.InvalidateTenants() // every page and sign-in of this reseller sees the new setting
	switch {
	case !changed:
		a.setFlash(c, "info", "Nothing changed.")
	case require:
		a.setFlash(c, "success", "Two-factor sign-in is now required. "+account.Plural(signedOut, "signed-in user")+" without it "+
			map[bool]string{true: "was", false: "were"}[signedOut == 1]+" signed out; everyone without it sets it up at their next sign-in.")
	default:
		a.setFlash(c, "success", "Two-factor sign-in is no longer required. Users who have it keep it.")
	}
	return c.Redirect(resellerSecurityURL, fiber.StatusSeeOther)
}
