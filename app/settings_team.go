package app

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/fault"
	"portico/app/team"
	"portico/store"
)

// teamTabURL is the Team tab of /settings.
const teamTabURL = "/settings?tab=team"

// memberRow is one member as the Team tab lists it.
type memberRow struct {
	*store.User
	ProfileName string
	// Invitation is the state of an invited member's latest invitation
	// (pending, expired, revoked) and InvitationExpires its end.
	Invitation        string
	InvitationExpires time.Time
	Self              bool
}

// Owner reports whether the member owns the business.
func (r memberRow) Owner() bool { return r.Role == store.RoleOwner }

// teamTabData is the Data of views/settings/team.html.
type teamTabData struct {
	Members    []memberRow
	Total      int
	Query      string
	Form       *Form // add a member
	Edit       *memberRow
	EditForm   *Form
	Profiles   []*store.PermissionProfile
	Roles      []string
	PolicyHint string
	// Owner is set for the owner, who may hand over ownership to one of
	// Admins (active admins).
	Owner        bool
	Admins       []*store.User
	TransferForm *Form
	// Delivers: an SMTP server sends invitations. Without one, the reply
	// to an invitation shows Outbox: the link to pass on by hand.
	Delivers bool
	Outbox   *outboxInvite
}

// outboxInvite is an invitation kept in the outbox because no mail server
// is configured: its link, shown once to the owner or admin who sent it.
type outboxInvite struct {
	Email, Link string
}

// profileSelect is the data of the "member-profile" partial.
type profileSelect struct {
	Profiles        []*store.PermissionProfile
	Selected, Error string
	Focus           bool
}

// ProfileSelect builds the profile select of form.
func (d *teamTabData) ProfileSelect(form *Form) profileSelect {
	return profileSelect{Profiles: d.Profiles, Selected: form.Values["profile"], Error: form.Errors["profile"], Focus: form.Focus("profile")}
}

// loadTeamTab lists the client's members (settings.go's registry).
func (a *App) loadTeamTab(c *fiber.Ctx) (any, error) {
	form := newForm()
	form.Values["method"] = "invite"
	data, err := a.teamTab(c, form)
	if err != nil {
		return nil, err
	}
	if id := c.Query("edit"); id != "" {
		if err := data.selectMember(id, nil); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// teamTab builds the tab for the signed-in user's client, filtered by ?q=.
func (a *App) teamTab(c *fiber.Ctx, form *Form) (*teamTabData, error) {
	tenant, user := tenantOf(c), userOf(c)
	data := &teamTabData{Form: form, TransferForm: newForm(), Roles: team.Roles, PolicyHint: a.policyHint(tenant),
		Query: strings.TrimSpace(c.Query("q")), Owner: user.Role == store.RoleOwner, Delivers: a.mail.Delivers()}
	q := strings.ToLower(data.Query)
	now := a.now()
	err := a.store.View(func(tx *store.Tx) error {
		members, err := tx.ClientUsers(tenant.ID, user.ClientID) // scope: the session's client only
		if err != nil {
			return err
		}
		if data.Profiles, err = tx.Profiles(tenant.ID, user.ClientID); err != nil {
			return err
		}
		names := map[uint64]string{}
		for _, p := range data.Profiles {
			names[p.ID] = p.Name
		}
		data.Total = len(members)
		for _, u := range members {
			if u.Role == store.RoleAdmin && u.Status == store.UserActive {
				data.Admins = append(data.Admins, u)
			}
			if q != "" && !strings.Contains(strings.ToLower(u.DisplayName()+" "+u.Email+" "+u.Role+" "+u.Status), q) {
				continue
			}
			row := memberRow{User: u, ProfileName: names[u.ProfileID], Self: u.ID == user.ID}
			if u.Status == store.UserInvited {
				if inv, err := tx.UserInvitation(tenant.ID, u.ID); err == nil {
					row.Invitation, row.InvitationExpires = inv.State(now), inv.ExpiresAt
				} else if !fault.Is(err, fault.NotFound) {
					return err
				}
			}
			data.Members = append(data.Members, row)
		}
		return nil
	})
	// owner first, then by name
	slices.SortStableFunc(data.Members, func(x, y memberRow) int {
		if x.Owner() != y.Owner() {
			if x.Owner() {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(x.DisplayName()), strings.ToLower(y.DisplayName()))
	})
	return data, err
}

// selectMember opens the edit section for member id; a member not in the
// list (another client's, or filtered out) is looked up among all.
func (d *teamTabData) selectMember(id string, form *Form) error {
	uid, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	for i := range d.Members {
		if d.Members[i].ID == uid {
			d.Edit = &d.Members[i]
		}
	}
	if d.Edit == nil {
		return fiber.ErrNotFound // scope: not a member of this client
	}
	if form == nil {
		form = newForm()
		form.Values["first_name"], form.Values["last_name"] = d.Edit.FirstName, d.Edit.LastName
		if form.Values["first_name"] == "" && form.Values["last_name"] == "" {
			form.Values["first_name"] = d.Edit.Name // a user from before names were split
		}
		form.Values["role"], form.Values["status"] = d.Edit.Role, d.Edit.Status
		form.Values["profile"] = strconv.FormatUint(d.Edit.ProfileID, 10)
	}
	d.EditForm = form
	return nil
}

// memberForm reads the add and edit forms.
func memberForm(c *fiber.Ctx) (team.Member, *Form) {
	form := newForm()
	for _, k := range []string{"first_name", "last_name", "email", "role", "profile", "status", "method"} {
		form.Values[k] = strings.TrimSpace(c.FormValue(k))
	}
	profile, _ := strconv.ParseUint(form.Values["profile"], 10, 64)
	return team.Member{FirstName: form.Values["first_name"], LastName: form.Values["last_name"], Email: form.Values["email"],
		Role: form.Values["role"], ProfileID: profile, Status: form.Values["status"],
		Invite: form.Values["method"] != "password", Password: c.FormValue("password"), Confirm: c.FormValue("confirm")}, form
}

// addMember adds a member with an initial password or an invitation.
func (a *App) addMember(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	in, form := memberForm(c)
	if in.Invite {
		if ok, wait := a.limits.perIP.allow(c.IP()); !ok { // invitations send mail: limited like password resets
			return fault.Limited(wait, "")
		}
	}
	var link string
	invite, err := a.inviteMail(c, &link)
	if err != nil {
		return err
	}
	u, err := a.team.Add(tenant, user.ClientID, in, a.actor(c), invite)
	if form.refused(err) {
		form.Error = "Please correct the fields marked below."
		data, err := a.teamTab(c, form)
		if err != nil {
			return err
		}
		return a.renderSettingsTab(c, fiber.StatusUnprocessableEntity, "team", data)
	}
	if err != nil {
		return err
	}
	if in.Invite && !a.mail.Delivers() {
		return a.renderOutboxInvite(c, u, link)
	}
	if in.Invite {
		a.mail.Wake()
		a.setFlash(c, "success", "We have emailed an invitation to "+u.Email+". The link works once, for 72 hours.")
	} else {
		a.setFlash(c, "success", u.Email+" can now sign in with the password you chose, and will be asked to choose their own.")
	}
	return c.Redirect(teamTabURL, fiber.StatusSeeOther)
}

// updateMember saves a member's name, role, profile and status.
func (a *App) updateMember(c *fiber.Ctx) error {
	uid, err := idParam(c)
	if err != nil {
		return err
	}
	in, form := memberForm(c)
	u, err := a.team.Update(tenantOf(c).ID, userOf(c).ClientID, uid, in, a.actor(c))
	if form.refused(err) {
		form.Error = "Please correct the fields marked below."
		data, err := a.teamTab(c, newForm())
		if err != nil {
			return err
		}
		if err := data.selectMember(c.Params("id"), form); err != nil {
			return err
		}
		return a.renderSettingsTab(c, fiber.StatusUnprocessableEntity, "team", data)
	}
	if err != nil {
		return err // the team's rules refuse with 403 and say why
	}
	msg := "Saved " + u.DisplayName() + "."
	if u.Status == store.UserDisabled {
		msg = u.DisplayName() + " is disabled and signed out everywhere."
	}
	a.setFlash(c, "success", msg)
	return c.Redirect(teamTabURL, fiber.StatusSeeOther)
}

// removeMember deletes a member for good.
func (a *App) removeMember(c *fiber.Ctx) error {
	uid, err := idParam(c)
	if err != nil {
		return err
	}
	u, err := a.team.Remove(tenantOf(c).ID, userOf(c).ClientID, uid, a.actor(c))
	if err != nil {
		return err
	}
	a.setFlash(c, "success", u.DisplayName()+" ("+u.Email+") has been removed and signed out.")
	return c.Redirect(teamTabURL, fiber.StatusSeeOther)
}

// resendInvitation mails a new link; the old one stops working.
func (a *App) resendInvitation(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	uid, err := idParam(c)
	if err != nil {
		return err
	}
	if ok, wait := a.limits.perIP.allow(c.IP()); !ok {
		return fault.Limited(wait, "")
	}
	// per invited person, like reset requests per account: a mailbox is
	// not flooded however many admins press the button
	if ok, wait := a.limits.perAccount.allow("invite/" + strconv.FormatUint(tenant.ID, 10) + "/" + strconv.FormatUint(uid, 10)); !ok {
		return fault.Limited(wait, "")
	}
	var link string
	invite, err := a.inviteMail(c, &link)
	if err != nil {
		return err
	}
	u, err := a.team.Resend(tenant.ID, userOf(c).ClientID, uid, a.actor(c), invite)
	if err != nil {
		return err // not invited (any more): 409
	}
	if !a.mail.Delivers() {
		return a.renderOutboxInvite(c, u, link)
	}
	a.mail.Wake()
	a.setFlash(c, "success", "We have emailed a new invitation to "+u.Email+". Earlier links no longer work.")
	return c.Redirect(teamTabURL, fiber.StatusSeeOther)
}

// revokeInvitation withdraws a pending invitation.
func (a *App) revokeInvitation(c *fiber.Ctx) error {
	uid, err := idParam(c)
	if err != nil {
		return err
	}
	u, revoked, err := a.team.Revoke(tenantOf(c).ID, userOf(c).ClientID, uid, a.actor(c))
	if err != nil {
		return err
	}
	if revoked {
		a.setFlash(c, "success", "The invitation of "+u.Email+" is withdrawn; its link no longer works. You can invite them again or remove them.")
	} else {
		a.setFlash(c, "info", u.Email+" has no pending invitation.")
	}
	return c.Redirect(teamTabURL, fiber.StatusSeeOther)
}

// transferOwnership hands the business over to an active admin (owner
// only, password confirmed); the owner becomes an admin.
func (a *App) transferOwnership(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	accountKey := passwordGuesses(c, tenant.ID, user.Email) // the sign-in form's budget of guesses from this address
	if blocked, wait := a.limits.perAccount.blocked(accountKey); blocked {
		return fault.Limited(wait, "")
	}
	to, _ := strconv.ParseUint(c.FormValue("to"), 10, 64)
	newOwner, err := a.team.TransferOwnership(tenant.ID, user.ClientID, to, c.FormValue("password"), a.actor(c))
	if transfer := newForm(); transfer.refused(err) {
		if transfer.Errors["password"] != "" {
			a.limits.perAccount.allow(accountKey)
		}
		data, err := a.teamTab(c, newForm())
		if err != nil {
			return err
		}
		transfer.Error, transfer.Values["to"] = "Ownership was not handed over.", c.FormValue("to")
		data.TransferForm = transfer
		return a.renderSettingsTab(c, fiber.StatusUnprocessableEntity, "team", data)
	}
	if err != nil {
		return err // only the owner hands over ownership: 403
	}
	a.setFlash(c, "success", newOwner.DisplayName()+" now owns the business. You are an admin.")
	return c.Redirect(teamTabURL, fiber.StatusSeeOther)
}

// renderOutboxInvite answers an invitation that no mail server will
// send: the Team tab with the link, for the owner or admin to pass on. It
// is rendered into this reply, never put in a cookie or a URL.
func (a *App) renderOutboxInvite(c *fiber.Ctx, u *store.User, link string) error {
	data, err := a.teamTab(c, newForm())
	if err != nil {
		return err
	}
	data.Form.Values["method"] = "invite"
	data.Outbox = &outboxInvite{Email: u.Email, Link: link}
	return a.renderSettingsTab(c, fiber.StatusOK, "team", data)
}

// inviteMail writes the branded invitation mail with a link to the
// reseller's canonical host (never the request's Host), and puts the link
// in *link for a reply that shows it.
func (a *App) inviteMail(c *fiber.Ctx, link *string) (team.InviteMail, error) {
	tenant := tenantOf(c)
	brand := a.brandOf(tenant)
	base, err := a.mailLinkBase(tenant, inviteURL+"?token=")
	if err != nil {
		return nil, err
	}
	from := a.senderName(tenant)
	return func(token string, u *store.User, cl *store.Client, by *store.User) *store.MailMessage {
		business := businessName(cl)
		*link = base + token
		return &store.MailMessage{ResellerID: tenant.ID, FromName: from, To: u.Email,
			Subject: "You are invited to join " + business + " on " + brand.Name,
			Text: "Hello " + u.DisplayName() + ",\n\n" +
				by.DisplayName() + " (" + by.Email + ") invites you to join " + business + " on " + brand.Name + " as " + u.Role + ".\n\n" +
				"To accept, open this link and choose your password. It works once, within 72 hours:\n\n" + base + token + "\n\n" +
				"You will sign in with this email address, " + u.Email + ".\n" +
				"If you did not expect this invitation, ignore this email.\n"}
	}, nil
}

// businessName is how pages and mails name a client.
func businessName(cl *store.Client) string {
	switch {
	case cl.Company != "":
		return cl.Company
	case cl.Name() != "":
		return cl.Name()
	}
	return cl.Username
}
