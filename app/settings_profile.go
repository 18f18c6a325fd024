package app

// The Profile tab of /settings (every client role): name, contact details,
// avatar and the sign-in email, whose change is confirmed by a link mailed
// to the new address. Avatars are served at /avatars/<uid>-<digest>.png.

import (
	"cmp"
	"errors"
	"image"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/account"
	"portico/app/fault"
	"portico/store"
)

const (
	profileTabURL = "/settings?tab=profile"
	// avatarSize is the side of a stored avatar: twice the largest place
	// it is shown, for sharp high-density screens.
	avatarSize = 256
	// avatarDigest is how many hex digits of an avatar's SHA-256 its URL carries.
	avatarDigest = account.AvatarDigest
)

// profileRoutes lists the Profile tab's routes, the avatar images and the
// public email confirmation page.
func (a *App) profileRoutes(f *fiber.App, settings fiber.Router) {
	profile := a.requireTab("profile")
	settings.Post("/profile", profile, a.saveProfile)
	settings.Post("/avatar", profile, a.saveAvatar)
	settings.Post("/avatar/remove", profile, a.removeAvatar)
	settings.Post("/email", profile, a.requestEmailChange)
	// Signed-in users only; the tenant comes from the host.
	f.Get("/avatars/:file", a.requireUser, a.showAvatar)
	// Public: the link is opened from a mailbox, perhaps in another
	// browser. GET only shows what would change; POST changes it, so a
	// mail scanner that follows links changes nothing.
	f.Get("/email/confirm", a.showEmailConfirm)
	f.Post("/email/confirm", a.confirmEmailChange)
}

// profileTabData is the Data of views/settings/profile.html.
type profileTabData struct {
	Form        *Form // name and contact details
	AvatarForm  *Form
	EmailForm   *Form
	Email       string // the sign-in email now
	AvatarURL   string
	Initials    string
	MaxSize     string
	AvatarSide  int
	EmailExpiry string
	// Billing is the company's billing contact, for owners and admins
	// (nil for others: they never see billing).
	Billing *profileBilling
}

// profileBilling is what the Profile tab says of the company's billing,
// linking to the Billing tab's details.
type profileBilling struct {
	Company string
	Emails  []string // where invoices are mailed
	// Fallback: no invoice email is set, so invoices go to the
	// account's email (Emails holds it).
	Fallback bool
}

// loadProfileTab shows the user's profile (settings.go's registry).
func (a *App) loadProfileTab(c *fiber.Ctx) (any, error) {
	u := userOf(c)
	form := newForm()
	for name, v := range map[string]string{"first_name": u.FirstName, "last_name": u.LastName, "phone": u.Phone,
		"company": u.Company, "job_title": u.JobTitle, "address": u.Address} {
		form.Values[name] = v
	}
	if u.FirstName == "" && u.LastName == "" { // named before names were split
		form.Values["first_name"], form.Values["last_name"], _ = strings.Cut(strings.TrimSpace(u.Name), " ")
	}
	d := a.profileData(u, form, newForm(), newForm())
	if a.accessOf(c).Allows(access.Billing, access.View) { // never for managers and users
		err := a.store.View(func(tx *store.Tx) error {
			cl, err := tx.Client(u.ResellerID, u.ClientID) // scope: the user's own client
			if err != nil {
				return err
			}
			d.Billing = &profileBilling{Company: cmp.Or(cl.Billing.Company, cl.Company), Emails: cl.Billing.InvoiceEmails}
			if len(d.Billing.Emails) == 0 {
				d.Billing.Emails, d.Billing.Fallback = []string{cl.Email}, true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (a *App) profileData(u *store.User, form, avatarForm, emailForm *Form) profileTabData {
	return profileTabData{Form: form, AvatarForm: avatarForm, EmailForm: emailForm, Email: u.Email,
		AvatarURL: avatarURL(u), Initials: initials(u), MaxSize: maxImageSize, AvatarSide: avatarSize, EmailExpiry: "24 hours"}
}

// renderProfileForms shows the tab again with 422 and the forms' messages.
func (a *App) renderProfileForms(c *fiber.Ctx, form, avatarForm, emailForm *Form) error {
	data, err := a.loadProfileTab(c)
	if err != nil {
		return err
	}
	d := data.(profileTabData)
	if form != nil {
		d.Form = form
	}
	if avatarForm != nil {
		d.AvatarForm = avatarForm
	}
	if emailForm != nil {
		d.EmailForm = emailForm
	}
	return a.renderSettingsTab(c, fiber.StatusUnprocessableEntity, "profile", d)
}

// saveProfile saves the name and contact details, or shows them again
// with 422 and nothing saved.
func (a *App) saveProfile(c *fiber.Ctx) error {
	var in account.Profile
	for _, f := range account.ProfileFields {
		*in.Field(f.Name) = strings.Clone(c.FormValue(f.Name)) // Fiber reuses the request's memory
	}
	in, err := a.account.SaveProfile(tenantOf(c), actorOf(c), in)
	if form := newForm(); form.refused(err) {
		for _, f := range account.ProfileFields {
			form.Values[f.Name] = *in.Field(f.Name)
		}
		form.Error = "Nothing was saved. Please correct the fields marked below."
		return a.renderProfileForms(c, form, nil, nil)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "Your profile is saved.")
	return c.Redirect(profileTabURL, fiber.StatusSeeOther)
}

// Avatars.

// processAvatar turns an upload into the stored avatar: decoded by its
// actual format, cropped to the centred square, scaled to avatarSize and
// encoded as a fresh PNG.
func processAvatar(filename string, data []byte) ([]byte, error) {
	src, err := decodeUpload(filename, data)
	if err != nil {
		return nil, err
	}
	return encodeImagePNG("avatar", cropSquare(src, avatarSize))
}

// cropSquare cuts the largest centred square out of src and scales it to
// side × side.
func cropSquare(src image.Image, side int) *image.RGBA {
	b := src.Bounds()
	edge := min(b.Dx(), b.Dy())
	at := image.Pt(b.Min.X+(b.Dx()-edge)/2, b.Min.Y+(b.Dy()-edge)/2)
	square := image.Rectangle{Min: at, Max: at.Add(image.Pt(edge, edge))}
	dst := image.NewRGBA(image.Rect(0, 0, side, side))
	scaleInto(dst, dst.Bounds(), src, square)
	return dst
}

// avatarURL is where the user's avatar is served ("" for none); the digest
// in it changes with the image, so the URL may be cached for good.
func avatarURL(u *store.User) string {
	if u == nil || len(u.AvatarSHA256) < avatarDigest {
		return ""
	}
	return "/avatars/" + strconv.FormatUint(u.ID, 10) + "-" + u.AvatarSHA256[:avatarDigest] + ".png"
}

// initials stand in for a missing avatar: the first letters of the first
// and last name, else of the display name.
func initials(u *store.User) string {
	if u == nil {
		return ""
	}
	first := func(s string) string {
		r, _ := utf8.DecodeRuneInString(strings.TrimSpace(s))
		if r == utf8.RuneError || !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return ""
		}
		return string(unicode.ToUpper(r))
	}
	if out := first(u.FirstName) + first(u.LastName); out != "" {
		return out
	}
	words := strings.Fields(u.DisplayName())
	if len(words) == 0 {
		return "?"
	}
	out := first(words[0])
	if len(words) > 1 {
		out += first(words[len(words)-1])
	}
	if out == "" {
		return "?"
	}
	return out
}

// saveAvatar replaces the user's avatar with the uploaded image.
func (a *App) saveAvatar(c *fiber.Ctx) error {
	data, err := uploadedImage(c, a.decodes, "avatar", processAvatar)
	var refusal imageError
	switch {
	case errors.As(err, &refusal):
		form := newForm()
		form.Errors["avatar"] = refusal.Error()
		return a.renderProfileForms(c, nil, form, nil)
	case err != nil:
		return err
	case data == nil:
		form := newForm()
		form.Errors["avatar"] = "Choose an image file first."
		return a.renderProfileForms(c, nil, form, nil)
	}
	if err := a.account.SetAvatar(tenantOf(c), actorOf(c), data); err != nil {
		return err
	}
	a.setFlash(c, "success", "Your picture is saved.")
	return c.Redirect(profileTabURL, fiber.StatusSeeOther)
}

// removeAvatar deletes the user's avatar; their initials show instead.
func (a *App) removeAvatar(c *fiber.Ctx) error {
	had, err := a.account.RemoveAvatar(tenantOf(c), actorOf(c))
	if err != nil {
		return err
	}
	if had {
		a.setFlash(c, "success", "Your picture is removed; your initials show instead.")
	} else {
		a.setFlash(c, "info", "You had no picture to remove.")
	}
	return c.Redirect(profileTabURL, fiber.StatusSeeOther)
}

// avatarFilePattern is <uid>-<digest>.png, as avatarURL writes it.
var avatarFilePattern = regexp.MustCompile(`^([1-9][0-9]{0,19})-([0-9a-f]{16})\.png$`)

// showAvatar serves a user's avatar to signed-in users of the same
// reseller: staff see every user's, client users those of their own
// business. Anything else, another reseller's users above all, is not
// found.
func (a *App) showAvatar(c *fiber.Ctx) error {
	viewer := userOf(c)
	m := avatarFilePattern.FindStringSubmatch(c.Params("file"))
	if m == nil {
		return fiber.ErrNotFound
	}
	uid, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	var owner *store.User
	var data []byte
	err = a.store.View(func(tx *store.Tx) (err error) {
		if owner, err = tx.User(tenantOf(c).ID, uid); err != nil { // tenant scope: the reseller comes from the host
			return err
		}
		// scope: a client's users see their own team's faces only
		if !viewer.Staff() && owner.ClientID != viewer.ClientID || !strings.HasPrefix(owner.AvatarSHA256, m[2]) {
			return store.ErrNotFound
		}
		data, err = tx.Avatar(owner.ResellerID, owner.ID)
		return err
	})
	if err != nil {
		return err // ErrNotFound becomes a 404
	}
	return sendImmutablePNG(c, owner.AvatarSHA256, data, "private")
}

// Email change.

// requestEmailChange checks the current password (failures count against
// the account like failed sign-ins), then mails a single-use link to the
// new address and tells the old one. Nothing changes until the link is
// used.
func (a *App) requestEmailChange(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	guesses := passwordGuesses(c, tenant.ID, user.Email) // the sign-in form's budget of guesses from this address
	if err := a.limits.perAccount.refuse(guesses); err != nil {
		return err
	}
	newEmail := strings.TrimSpace(strings.Clone(c.FormValue("email")))
	change, err := a.account.RequestEmailChange(tenant, actorOf(c), newEmail, c.FormValue("current"))
	countGuess(err, a.limits.perAccount, guesses)
	if form := newForm(); form.refused(err) {
		form.Values["email"] = newEmail
		return a.renderProfileForms(c, nil, nil, form)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "We have sent a confirmation link to "+change.NewEmail+". Your sign-in email changes when you open it, within 24 hours; until then, keep signing in with "+change.OldEmail+".")
	return c.Redirect(profileTabURL, fiber.StatusSeeOther)
}

// emailConfirmData is the Data of views/auth/email-confirm.html.
type emailConfirmData struct {
	Token              string
	Valid              bool
	OldEmail, NewEmail string
	Error              string
}

// showEmailConfirm shows what a valid link would change, with a button
// that changes it; an unknown, used or expired link is 404.
func (a *App) showEmailConfirm(c *fiber.Ctx) error {
	data := emailConfirmData{Token: c.Query("token")}
	change, err := a.account.EmailChange(tenantOf(c), data.Token)
	if fault.Is(err, fault.NotFound) {
		return a.render(c, fiber.StatusNotFound, "auth/email-confirm", "Confirm your new email", data)
	}
	if err != nil {
		return err
	}
	data.Valid, data.OldEmail, data.NewEmail = true, change.OldEmail, change.NewEmail
	return a.render(c, fiber.StatusOK, "auth/email-confirm", "Confirm your new email", data)
}

// confirmEmailChange spends the link and moves the account to the new
// address, telling the old one. An address taken meanwhile is explained.
func (a *App) confirmEmailChange(c *fiber.Ctx) error {
	ip := clientIP(c).String()
	if err := a.limits.perIP.spend(ip); err != nil {
		return err
	}
	data := emailConfirmData{Token: c.FormValue("token")}
	change, err := a.account.ConfirmEmailChange(tenantOf(c), data.Token, ip)
	switch {
	case fault.Is(err, fault.NotFound):
		return a.render(c, fiber.StatusNotFound, "auth/email-confirm", "Confirm your new email", data)
	case fault.Is(err, fault.Conflict):
		data.Valid, data.OldEmail, data.NewEmail, data.Error = true, change.OldEmail, change.NewEmail, messageOf(err)
		return a.render(c, fiber.StatusConflict, "auth/email-confirm", "Confirm your new email", data)
	case err != nil:
		return err
	}
	a.setFlash(c, "success", "Your sign-in email is now "+change.NewEmail+". Use it the next time you sign in.")
	if u := userOf(c); u != nil && u.ID == change.UserID {
		return c.Redirect(profileTabURL, fiber.StatusSeeOther)
	}
	return c.Redirect("/login", fiber.StatusSeeOther)
}
