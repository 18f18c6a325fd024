package app

// The Profile tab of /settings (every client role): name, contact details,
// avatar and the sign-in email, whose change is confirmed by a link mailed
// to the new address. Avatars are served at /avatars/<uid>-<digest>.png.

import (
	"errors"
	"image"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"portico/app/auth"
	"portico/app/clients"
	"portico/app/textfield"
	"portico/store"
)

const (
	profileTabURL = "/settings?tab=profile"
	// avatarSize is the side of a stored avatar: twice the largest place
	// it is shown, for sharp high-density screens.
	avatarSize = 256
	// avatarDigest is how many hex digits of an avatar's SHA-256 its URL carries.
	avatarDigest = 16
	// emailChangeLifetime is how long a mailed confirmation link works.
	emailChangeLifetime = 24 * time.Hour
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

// profileInput is what the Profile form submits.
type profileInput struct {
	FirstName, LastName, Phone, Company, JobTitle, Address string
}

// profileFields are the form's inputs with their length limits, in the
// order of the page.
var profileFields = []struct {
	name  string
	limit int
}{{"first_name", 100}, {"last_name", 100}, {"phone", 40}, {"company", 200}, {"job_title", 100}, {"address", 300}}

func (in *profileInput) field(name string) *string {
	switch name {
	case "first_name":
		return &in.FirstName
	case "last_name":
		return &in.LastName
	case "phone":
		return &in.Phone
	case "company":
		return &in.Company
	case "job_title":
		return &in.JobTitle
	case "address":
		return &in.Address
	}
	panic("app: no profile field " + name)
}

// validateProfile trims the input, checks every field and turns the phone
// into E.164; a national number is read as one of region (the client's
// country). It returns the cleaned input and the message of each field in
// error.
func validateProfile(in profileInput, region string) (profileInput, map[string]string) {
	errs := map[string]string{}
	for _, f := range profileFields {
		p := in.field(f.name)
		*p = strings.TrimSpace(*p)
		switch {
		case textfield.SingleLine(*p) != "":
			errs[f.name] = textfield.SingleLineMessage
		case utf8.RuneCountInString(*p) > f.limit:
			errs[f.name] = "Use at most " + strconv.Itoa(f.limit) + " characters."
		}
	}
	if in.FirstName == "" && errs["first_name"] == "" {
		errs["first_name"] = "Enter your first name."
	}
	if in.LastName == "" && errs["last_name"] == "" {
		errs["last_name"] = "Enter your last name."
	}
	if in.Phone != "" && errs["phone"] == "" {
		if e164, ok := clients.NormalizePhone(in.Phone, region); ok {
			in.Phone = e164
		} else {
			errs["phone"] = "Enter a valid phone number, such as +14155550100."
		}
	}
	return in, errs
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
	return a.profileData(u, form, newForm(), newForm()), nil
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
	tenant, user := tenantOf(c), userOf(c)
	var in profileInput
	form := newForm()
	for _, f := range profileFields {
		*in.field(f.name) = strings.Clone(c.FormValue(f.name)) // Fiber reuses the request's memory
	}
	region, err := a.userRegion(user)
	if err != nil {
		return err
	}
	in, form.Errors = validateProfile(in, region)
	for _, f := range profileFields {
		form.Values[f.name] = *in.field(f.name)
	}
	if form.invalid() {
		form.Error = "Nothing was saved. Please correct the fields marked below."
		return a.renderProfileForms(c, form, nil, nil)
	}
	err = a.store.Update(func(tx *store.Tx) error {
		u, err := tx.User(tenant.ID, user.ID) // tenant scope: the signed-in user on this reseller
		if err != nil {
			return err
		}
		var changed []string
		for _, f := range []struct {
			label string
			dst   *string
			value string
		}{{"first name", &u.FirstName, in.FirstName}, {"last name", &u.LastName, in.LastName}, {"phone", &u.Phone, in.Phone},
			{"company", &u.Company, in.Company}, {"job title", &u.JobTitle, in.JobTitle}, {"address", &u.Address, in.Address}} {
			if *f.dst != f.value {
				*f.dst = f.value
				changed = append(changed, f.label)
			}
		}
		if len(changed) == 0 {
			return nil
		}
		u.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: u.ClientID, Actor: u.Email, Action: "profile.update",
			Target: strings.Join(changed, ", "), IP: c.IP()})
	})
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "Your profile is saved.")
	return c.Redirect(profileTabURL, fiber.StatusSeeOther)
}

// userRegion is the country national phone numbers are read in: the
// client's, or none for staff.
func (a *App) userRegion(u *store.User) (string, error) {
	if u.Staff() {
		return "", nil
	}
	var region string
	err := a.store.View(func(tx *store.Tx) error {
		cl, err := tx.Client(u.ResellerID, u.ClientID)
		if err == nil {
			region = cl.Country
		}
		return err
	})
	return region, err
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
	tenant, user := tenantOf(c), userOf(c)
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
	err = a.store.Update(func(tx *store.Tx) error {
		u, err := tx.SetAvatar(tenant.ID, user.ID, data) // tenant scope: the signed-in user on this reseller
		if err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: u.ClientID, Actor: u.Email, Action: "profile.avatar",
			Target: u.AvatarSHA256[:avatarDigest], IP: c.IP()})
	})
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "Your picture is saved.")
	return c.Redirect(profileTabURL, fiber.StatusSeeOther)
}

// removeAvatar deletes the user's avatar; their initials show instead.
func (a *App) removeAvatar(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	var had bool
	err := a.store.Update(func(tx *store.Tx) (err error) {
		if had, err = tx.RemoveAvatar(tenant.ID, user.ID); err != nil || !had {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: user.ClientID, Actor: user.Email, Action: "profile.avatar_removed", IP: c.IP()})
	})
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

// validEmail reports whether s is a bare address such as name@example.com.
func validEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s && len(s) <= 254
}

// requestEmailChange checks the current password (failures count against
// the account like failed sign-ins), then mails a single-use link to the
// new address and tells the old one. Nothing changes until the link is
// used.
func (a *App) requestEmailChange(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	accountKey := passwordGuesses(c, tenant.ID, user.Email) // the sign-in form's budget of guesses from this address
	if blocked, wait := a.limits.perAccount.blocked(accountKey); blocked {
		return &errRateLimited{wait: wait}
	}
	form := newForm()
	newEmail := strings.TrimSpace(strings.Clone(c.FormValue("email")))
	current := c.FormValue("current")
	form.Values["email"] = newEmail
	switch {
	case !validEmail(newEmail):
		form.Errors["email"] = "Enter an email address such as name@example.com."
	case store.NormalizeEmail(newEmail) == user.Email:
		form.Errors["email"] = "This is your sign-in email already."
	}
	if current == "" {
		form.Errors["current"] = "Enter your current password."
	} else if err := auth.CheckPassword(user.PasswordHash, current); errors.Is(err, auth.ErrBusy) {
		return err // not checked: no failure to count
	} else if err != nil {
		a.limits.perAccount.allow(accountKey)
		a.audit(c, user.ClientID, user.Email, "email.change_failed", "")
		form.Errors["current"] = "The current password is incorrect."
	}
	if form.invalid() {
		return a.renderProfileForms(c, nil, nil, form)
	}
	token, hash := auth.NewToken()
	brand := a.brandOf(tenant)
	change := &store.EmailChange{Hash: hash, ResellerID: tenant.ID, UserID: user.ID, NewEmail: newEmail}
	err := a.store.Update(func(tx *store.Tx) error {
		change.ExpiresAt = tx.Now().Add(emailChangeLifetime)
		if err := tx.CreateEmailChange(change); err != nil {
			return err
		}
		link, err := a.mailLink(tx, tenant, "/email/confirm?token="+token) // security: never the request's Host
		if err != nil {
			return err
		}
		if err := a.mail.Enqueue(tx, &store.MailMessage{
			ResellerID: tenant.ID, FromName: a.senderName(tenant), To: change.NewEmail,
			Subject: "Confirm your new " + brand.Name + " sign-in email",
			Text: "You asked to sign in to " + brand.Name + " with this address (" + change.NewEmail + ") instead of " + change.OldEmail + ".\n\n" +
				"To confirm, open this link within 24 hours. It works once:\n\n" + link + "\n\n" +
				"If you did not ask for this, ignore this email; nothing changes.\n",
		}); err != nil {
			return err
		}
		if err := a.mail.Enqueue(tx, &store.MailMessage{
			ResellerID: tenant.ID, FromName: a.senderName(tenant), To: change.OldEmail,
			Subject: "Your " + brand.Name + " sign-in email is being changed",
			Text: "Someone signed in to your " + brand.Name + " account (" + change.OldEmail + ") from the address " + c.IP() +
				" asked to sign in with " + change.NewEmail + " from now on.\n\n" +
				"The change happens only when the link we sent to " + change.NewEmail + " is opened. " +
				"If this was not you, change your password at once and tell your administrator.\n",
		}); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: user.ClientID, Actor: user.Email,
			Action: "email.change_requested", Target: change.NewEmail, IP: c.IP()})
	})
	if errors.Is(err, store.ErrConflict) {
		form.Errors["email"] = "Another account of " + brand.Name + " already signs in with this email. Choose another address."
		return a.renderProfileForms(c, nil, nil, form)
	}
	if err != nil {
		return err
	}
	a.mail.Wake()
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
	tenant := tenantOf(c)
	data := emailConfirmData{Token: c.Query("token")}
	var change *store.EmailChange
	err := a.store.View(func(tx *store.Tx) (err error) {
		change, err = tx.EmailChange(tenant.ID, auth.HashToken(data.Token)) // tenant scope: links of this reseller only
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
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
	tenant := tenantOf(c)
	if ok, wait := a.limits.perIP.allow(c.IP()); !ok {
		return &errRateLimited{wait: wait}
	}
	data := emailConfirmData{Token: c.FormValue("token")}
	brand := a.brandOf(tenant)
	var change *store.EmailChange
	err := a.store.Update(func(tx *store.Tx) error {
		var u *store.User
		var err error
		change, u, err = tx.UseEmailChange(tenant.ID, auth.HashToken(data.Token)) // tenant scope: links of this reseller only
		if err != nil {
			return err
		}
		if err := a.mail.Enqueue(tx, &store.MailMessage{
			ResellerID: tenant.ID, FromName: a.senderName(tenant), To: change.OldEmail,
			Subject: "Your " + brand.Name + " sign-in email was changed",
			Text: "Your " + brand.Name + " account no longer signs in with " + change.OldEmail + ": from now on it signs in with " +
				change.NewEmail + ".\n\nIf you did not make this change, contact your administrator at once.\n",
		}); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: u.ClientID, Actor: change.NewEmail,
			Action: "email.changed", Target: change.OldEmail + " → " + change.NewEmail, IP: c.IP()})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return a.render(c, fiber.StatusNotFound, "auth/email-confirm", "Confirm your new email", data)
	case errors.Is(err, store.ErrConflict):
		data.Valid, data.OldEmail, data.NewEmail = true, change.OldEmail, change.NewEmail
		data.Error = "Another account of " + brand.Name + " started signing in with " + change.NewEmail +
			" after you asked for this change, so it cannot be yours too. Your sign-in email stays " + change.OldEmail +
			". Ask for the change again with another address."
		return a.render(c, fiber.StatusConflict, "auth/email-confirm", "Confirm your new email", data)
	case err != nil:
		return err
	}
	a.mail.Wake()
	a.setFlash(c, "success", "Your sign-in email is now "+change.NewEmail+". Use it the next time you sign in.")
	if u := userOf(c); u != nil && u.ID == change.UserID {
		return c.Redirect(profileTabURL, fiber.StatusSeeOther)
	}
	return c.Redirect("/login", fiber.StatusSeeOther)
}
