package account

import (
	"errors"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"portico/app/auth"
	"portico/app/clients"
	"portico/app/fault"
	"portico/app/textfield"
	"portico/store"
)

// EmailChangeLifetime is how long a mailed confirmation link of a new
// sign-in email works.
const EmailChangeLifetime = 24 * time.Hour

// AvatarDigest is how many hex digits of an avatar's SHA-256 name it (in
// its URL and the audit log).
const AvatarDigest = 16

// Profile is a person's name and contact details.
type Profile struct {
	FirstName, LastName, Phone, Company, JobTitle, Address string
}

// ProfileFields are the profile's inputs with their length limits, in
// the order of the page.
var ProfileFields = []struct {
	Name  string
	Limit int
}{{"first_name", 100}, {"last_name", 100}, {"phone", 40}, {"company", 200}, {"job_title", 100}, {"address", 300}}

// Field is the value of input name (one of ProfileFields).
func (p *Profile) Field(name string) *string {
	switch name {
	case "first_name":
		return &p.FirstName
	case "last_name":
		return &p.LastName
	case "phone":
		return &p.Phone
	case "company":
		return &p.Company
	case "job_title":
		return &p.JobTitle
	case "address":
		return &p.Address
	}
	panic("account: no profile field " + name)
}

// ValidateProfile trims the input, checks every field and turns the phone
// into E.164; a national number is read as one of region (the client's
// country). It returns the cleaned input and the problems found.
func ValidateProfile(in Profile, region string) (Profile, fault.Fields) {
	var errs fault.Fields
	for _, f := range ProfileFields {
		p := in.Field(f.Name)
		*p = strings.TrimSpace(*p)
		switch {
		case textfield.SingleLine(*p) != "":
			errs.Add(f.Name, textfield.SingleLineMessage)
		case utf8.RuneCountInString(*p) > f.Limit:
			errs.Add(f.Name, "Use at most "+strconv.Itoa(f.Limit)+" characters.")
		}
	}
	if in.FirstName == "" && !errs.Has("first_name") {
		errs.Add("first_name", "Enter your first name.")
	}
	if in.LastName == "" && !errs.Has("last_name") {
		errs.Add("last_name", "Enter your last name.")
	}
	if in.Phone != "" && !errs.Has("phone") {
		if e164, ok := clients.NormalizePhone(in.Phone, region); ok {
			in.Phone = e164
		} else {
			errs.Add("phone", "Enter a valid phone number, such as +14155550100.")
		}
	}
	return in, errs
}

// SaveProfile saves by's name and contact details and returns them as
// saved, cleaned; on a problem nothing is saved and the cleaned input
// comes back with the field error, to be shown again.
func (s *Service) SaveProfile(r *store.Reseller, by Actor, in Profile) (Profile, error) {
	region, err := s.region(by.User)
	if err != nil {
		return in, err
	}
	in, errs := ValidateProfile(in, region)
	if err := errs.Err(); err != nil {
		return in, err
	}
	err = s.store.Update(func(tx *store.Tx) error {
		u, err := tx.User(r.ID, by.User.ID) // tenant scope: the signed-in user on this reseller
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
		return s.audit(tx, u, by.IP, "profile.update", strings.Join(changed, ", "))
	})
	return in, err
}

// region is the country national phone numbers are read in: the client's,
// or none for staff.
func (s *Service) region(u *store.User) (string, error) {
	if u.Staff() {
		return "", nil
	}
	var region string
	err := s.store.View(func(tx *store.Tx) error {
		cl, err := tx.Client(u.ResellerID, u.ClientID)
		if err == nil {
			region = cl.Country
		}
		return err
	})
	return region, err
}

// SetAvatar replaces by's avatar with png, an image already decoded,
// cropped and encoded afresh by the caller.
func (s *Service) SetAvatar(r *store.Reseller, by Actor, png []byte) error {
	return s.store.Update(func(tx *store.Tx) error {
		u, err := tx.SetAvatar(r.ID, by.User.ID, png) // tenant scope: the signed-in user on this reseller
		if err != nil {
			return err
		}
		return s.audit(tx, u, by.IP, "profile.avatar", u.AvatarSHA256[:AvatarDigest])
	})
}

// RemoveAvatar deletes by's avatar and reports whether there was one.
func (s *Service) RemoveAvatar(r *store.Reseller, by Actor) (had bool, err error) {
	err = s.store.Update(func(tx *store.Tx) (err error) {
		if had, err = tx.RemoveAvatar(r.ID, by.User.ID); err != nil || !had { // tenant scope: the signed-in user
			return err
		}
		return s.audit(tx, by.User, by.IP, "profile.avatar_removed", "")
	})
	return had, err
}

// ValidEmail reports whether s is a bare address such as name@example.com.
func ValidEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s && len(s) <= 254
}

// RequestEmailChange checks by's current password, then mails a
// single-use link to the new address and tells the old one. Nothing
// changes until the link is used. A wrong password is audited and refused
// as a field error caused by ErrWrongPassword; an address another account
// of the reseller signs in with is a field error.
func (s *Service) RequestEmailChange(r *store.Reseller, by Actor, newEmail, current string) (*store.EmailChange, error) {
	user := by.User
	var fields fault.Fields
	var cause error
	switch {
	case !ValidEmail(newEmail):
		fields.Add("email", "Enter an email address such as name@example.com.")
	case store.NormalizeEmail(newEmail) == user.Email:
		fields.Add("email", "This is your sign-in email already.")
	}
	if current == "" {
		fields.Add("current", "Enter your current password.")
	} else if ok, err := s.checkPassword(user, current, by.IP, "email.change_failed", ""); err != nil {
		return nil, err
	} else if !ok {
		fields.Add("current", "The current password is incorrect.")
		cause = ErrWrongPassword
	}
	if len(fields) > 0 {
		return nil, guessed(fields, cause)
	}
	token, hash := auth.NewToken()
	change := &store.EmailChange{Hash: hash, ResellerID: r.ID, UserID: user.ID, NewEmail: newEmail}
	err := s.store.Update(func(tx *store.Tx) error {
		change.ExpiresAt = tx.Now().Add(EmailChangeLifetime)
		if err := tx.CreateEmailChange(change); err != nil { // tenant scope: the signed-in user on this reseller
			return err
		}
		if err := s.mailEmailChange(tx, r, change, token, by.IP); err != nil {
			return err
		}
		return s.audit(tx, user, by.IP, "email.change_requested", change.NewEmail)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, fault.InvalidField("email", "Another account of "+s.letters.BrandName(r)+" already signs in with this email. Choose another address.")
	}
	if err != nil {
		return nil, err
	}
	s.mail.Wake()
	return change, nil
}

// EmailChange is the pending change of email link token, for the page
// that shows what it would change; ErrLinkInvalid when it no longer works.
func (s *Service) EmailChange(r *store.Reseller, token string) (*store.EmailChange, error) {
	var change *store.EmailChange
	err := s.store.View(func(tx *store.Tx) (err error) {
		change, err = tx.EmailChange(r.ID, auth.HashToken(token)) // tenant scope: links of this reseller only
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrLinkInvalid
	}
	return change, err
}

// ConfirmEmailChange spends link token and moves the account to the new
// address, telling the old one. ErrLinkInvalid when the link no longer
// works; when the address was taken meanwhile the change comes back with a
// Conflict that explains it.
func (s *Service) ConfirmEmailChange(r *store.Reseller, token, ip string) (*store.EmailChange, error) {
	var change *store.EmailChange
	err := s.store.Update(func(tx *store.Tx) error {
		var u *store.User
		var err error
		change, u, err = tx.UseEmailChange(r.ID, auth.HashToken(token)) // tenant scope: links of this reseller only
		if err != nil {
			return err
		}
		if err := s.mailEmailChanged(tx, r, change); err != nil {
			return err
		}
		return s.addAudit(tx, &store.AuditEvent{ResellerID: r.ID, ClientID: u.ClientID, Actor: change.NewEmail,
			Action: "email.changed", Target: change.OldEmail + " → " + change.NewEmail, IP: ip})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrLinkInvalid
	case errors.Is(err, store.ErrConflict):
		return change, fault.New(fault.Conflict, "Another account of "+s.letters.BrandName(r)+" started signing in with "+change.NewEmail+
			" after you asked for this change, so it cannot be yours too. Your sign-in email stays "+change.OldEmail+
			". Ask for the change again with another address.")
	case err != nil:
		return nil, err
	}
	s.mail.Wake()
	return change, nil
}
