package app

import (
	"encoding/base64"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portico/app/fault"
	"portico/app/tenancy"
	"portico/store"
)

// Public pages of joining a team: accepting a mailed invitation, and the
// forced "choose your own password" page after signing in with an initial
// password.
const (
	inviteURL             = "/invite"
	mustChangePasswordURL = "/password/change"
)

// inviteTokenLen is the length of a token from auth.NewToken: 32 random
// bytes in unpadded base64url.
const inviteTokenLen = 43

// parseInviteToken accepts only what auth.NewToken makes, so junk from a
// mangled link is refused before any store lookup.
func parseInviteToken(s string) (string, bool) {
	if len(s) != inviteTokenLen {
		return "", false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) != 32 {
		return "", false
	}
	return s, true
}

// inviteData is the Data of views/auth/invite.html.
type inviteData struct {
	// State is pending (the form), used, revoked, expired or invalid.
	State      string
	Token      string
	Business   string
	Email      string
	Role       string
	InvitedBy  string
	Form       *Form
	PolicyHint string
}

// inviteState reads the invitation of token and what the page should say.
func (a *App) inviteState(c *fiber.Ctx, token string) (inviteData, error) {
	tenant := tenantOf(c)
	data := inviteData{State: "invalid", Form: newForm(), PolicyHint: tenancy.Policy(tenant).Describe()}
	token, ok := parseInviteToken(token)
	if !ok {
		return data, nil
	}
	inv, u, cl, err := a.team.InvitationFor(tenant.ID, token) // tenant scope: another reseller's link is invalid here
	if fault.Is(err, fault.NotFound) {
		return data, nil
	}
	if err != nil {
		return data, err
	}
	data.Business, data.InvitedBy, data.Email = businessName(cl), inv.InvitedBy, inv.Email
	data.State = inv.State(a.now())
	if u == nil || u.Status != store.UserInvited && data.State == store.InvitationPending {
		data.State = store.InvitationRevoked // removed, or joined by another link meanwhile
	}
	if u != nil {
		data.Role = u.Role
	}
	data.Token = token
	return data, nil
}

func inviteStatus(state string) int {
	switch state {
	case store.InvitationPending:
		return fiber.StatusOK
	case "invalid":
		return fiber.StatusNotFound
	}
	return fiber.StatusGone
}

// showInvitation renders the accept form of a pending invitation, or a
// page that explains a used, withdrawn, expired or unknown link. Looking
// does not spend the link.
func (a *App) showInvitation(c *fiber.Ctx) error {
	data, err := a.inviteState(c, c.Query("token"))
	if err != nil {
		return err
	}
	return a.render(c, inviteStatus(data.State), "auth/invite", "Join "+data.Business, data)
}

// acceptInvitation sets the invited person's password and spends the
// link; they then sign in. Whoever was signed in in this browser is signed
// out, so that the new member signs in as themselves.
func (a *App) acceptInvitation(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	ip := clientIP(c).String()
	if err := a.limits.perIP.spend(ip); err != nil { // limited like password resets
		return err
	}
	data, err := a.inviteState(c, c.FormValue("token"))
	if err != nil {
		return err
	}
	if data.State != store.InvitationPending {
		return a.render(c, inviteStatus(data.State), "auth/invite", "Join "+data.Business, data)
	}
	var signedIn []byte
	if s := sessionOf(c); s != nil {
		signedIn = s.Hash
	}
	u, err := a.account.AcceptInvitation(tenant, data.Token, c.FormValue("password"), c.FormValue("confirm"), ip, signedIn)
	switch {
	case data.Form.refused(err):
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/invite", "Join "+data.Business, data)
	case fault.Is(err, fault.NotFound): // spent by a concurrent request
		if data, err = a.inviteState(c, data.Token); err != nil {
			return err
		}
		return a.render(c, inviteStatus(data.State), "auth/invite", "Join "+data.Business, data)
	case err != nil:
		return err
	}
	if signedIn != nil {
		a.clearCookie(c, sessionCookie)
	}
	a.setFlash(c, "success", "Welcome to "+data.Business+". Your password is set: sign in as "+u.Email+".")
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// enforcePasswordChange holds a user who signed in with an initial
// password on the page where they choose their own: every other page
// redirects there (GET) or is refused (other methods), except signing out.
func (a *App) enforcePasswordChange(c *fiber.Ctx) error {
	u := userOf(c)
	if u == nil || !u.MustChangePassword {
		return c.Next()
	}
	path := strings.TrimSuffix(c.Path(), "/")
	if path == mustChangePasswordURL || path == "/logout" || path == "/brand.css" || strings.HasPrefix(path, "/brand/") {
		return c.Next()
	}
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		return c.Redirect(mustChangePasswordURL, fiber.StatusSeeOther)
	}
	return fiber.NewError(fiber.StatusForbidden, "Choose your own password first.")
}

type mustChangeData struct {
	Form       *Form
	PolicyHint string
}

// showMustChangePassword renders the forced password page; a user who
// has nothing to change goes home.
func (a *App) showMustChangePassword(c *fiber.Ctx) error {
	u := userOf(c)
	if !u.MustChangePassword {
		return c.Redirect(a.homeOf(c), fiber.StatusSeeOther)
	}
	return a.render(c, fiber.StatusOK, "auth/change", "Choose your password",
		mustChangeData{Form: newForm(), PolicyHint: tenancy.Policy(tenantOf(c)).Describe()})
}

// mustChangePassword sets the user's own password in place of the initial
// one and lets them in; their other sessions are signed out.
func (a *App) mustChangePassword(c *fiber.Ctx) error {
	tenant, user, sess := tenantOf(c), userOf(c), sessionOf(c)
	if !user.MustChangePassword {
		return c.Redirect(a.homeOf(c), fiber.StatusSeeOther)
	}
	err := a.account.SetOwnPassword(tenant, actorOf(c), sess.Hash, c.FormValue("password"), c.FormValue("confirm"))
	if data := (mustChangeData{Form: newForm(), PolicyHint: tenancy.Policy(tenant).Describe()}); data.Form.refused(err) {
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/change", "Choose your password", data)
	}
	if err != nil {
		return err
	}
	user.MustChangePassword = false
	a.setFlash(c, "success", "Your password is set. Welcome!")
	return c.Redirect(a.homeOf(c), fiber.StatusSeeOther)
}

// homeOf is the signed-in user's home page.
func (a *App) homeOf(c *fiber.Ctx) string {
	home, _ := navigation(userOf(c), a.accessOf(c), "")
	return home
}
