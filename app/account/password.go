package account

import (
	"errors"
	"net/mail"
	"time"

	"portico/app/auth"
	"portico/app/fault"
	"portico/app/tenancy"
	"portico/store"
)

// ResetLifetime is how long a mailed reset link works.
const ResetLifetime = time.Hour

// ErrLinkInvalid refuses a mailed link (reset or email change) that is
// unknown, used, expired or of another reseller.
var ErrLinkInvalid = fault.New(fault.NotFound, "This link is not valid.")

// checkNewPassword applies the reseller's policy to a new password and its
// confirmation, adding any problem to fields.
func checkNewPassword(r *store.Reseller, password, confirm string, fields *fault.Fields) {
	if problem := tenancy.Policy(r).Check(password); problem != "" {
		fields.Add("password", problem)
	} else if confirm != password {
		fields.Add("confirm", "The two passwords differ.")
	}
}

// PasswordChange is the change-password form.
type PasswordChange struct {
	Current, Password, Confirm string
}

// ChangePassword checks the current password, applies the reseller's
// policy to the new one and, on success, signs out every other session of
// by (session stays signed in) and mails them, and reports how many
// sessions were signed out. A wrong current password is audited and
// refused as a field error caused by ErrWrongPassword. A session revoked
// since the request was authenticated is Unauthorized, and a password
// changed meanwhile makes the current one wrong (the check was stale).
func (s *Service) ChangePassword(r *store.Reseller, by Actor, session []byte, in PasswordChange) (revoked int, err error) {
	user := by.User
	var fields fault.Fields
	var cause error
	if in.Current == "" {
		fields.Add("current", "Enter your current password.")
	}
	checkNewPassword(r, in.Password, in.Confirm, &fields)
	if in.Current != "" {
		if ok, err := s.checkPassword(user, in.Current, by.IP, "password.change_failed", ""); err != nil {
			return 0, err
		} else if !ok {
			fields.Add("current", "The current password is incorrect.")
			cause = ErrWrongPassword
		} else if in.Password == in.Current && !fields.Has("password") {
			fields.Add("password", "Choose a password different from the current one.")
		}
	}
	if len(fields) > 0 {
		return 0, guessed(fields, cause)
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return 0, err
	}
	err = s.store.Update(func(tx *store.Tx) error {
		// the session may have been revoked, or the password changed, since
		// this request was authenticated: then the check above is stale
		if _, err := tx.Session(session); err != nil {
			return err
		}
		u, err := tx.User(r.ID, user.ID) // tenant scope: the signed-in user
		if err != nil {
			return err
		}
		if u.PasswordHash != user.PasswordHash {
			return fault.InvalidField("current", "The current password is incorrect.")
		}
		if revoked, err = tx.ChangePassword(r.ID, user.ID, hash, session); err != nil {
			return err
		}
		if err := s.mailPasswordChanged(tx, r, user.Email, by.IP); err != nil {
			return err
		}
		return s.audit(tx, user, by.IP, "password.change", Plural(revoked, "other session")+" signed out")
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, fault.Wrap(fault.Unauthorized, "", err) // signed out meanwhile
	}
	if err != nil {
		return 0, err
	}
	s.mail.Wake()
	return revoked, nil
}

// SetOwnPassword replaces the initial password by's administrator gave
// them with their own and lets them in; their other sessions (all but
// session) are signed out.
func (s *Service) SetOwnPassword(r *store.Reseller, by Actor, session []byte, password, confirm string) error {
	user := by.User
	var fields fault.Fields
	checkNewPassword(r, password, confirm, &fields)
	if len(fields) == 0 {
		if err := auth.CheckPassword(user.PasswordHash, password); err == nil {
			fields.Add("password", "Choose a password different from the one you were given.")
		} else if errors.Is(err, auth.ErrBusy) {
			return err
		}
	}
	if err := fields.Err(); err != nil {
		return err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	return s.store.Update(func(tx *store.Tx) error {
		if _, err := tx.ChangePassword(r.ID, user.ID, hash, session); err != nil { // tenant scope: the signed-in user
			return err
		}
		u, err := tx.User(r.ID, user.ID)
		if err != nil {
			return err
		}
		u.MustChangePassword = false
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		return s.audit(tx, user, by.IP, "password.set_own", "")
	})
}

// RequestReset mails a single-use reset link when email is an active
// account of r, and answers the same either way (nil). spend counts the
// request against the account's budget of reset mails (app/lockout.go)
// once the address is well-formed, and refuses (fault.Limited) when it is
// spent.
func (s *Service) RequestReset(r *store.Reseller, email, ip string, spend func() error) error {
	if addr, err := mail.ParseAddress(email); err != nil || addr.Name != "" {
		return fault.InvalidField("email", "Enter an email address such as name@example.com.")
	}
	if err := spend(); err != nil {
		return err
	}
	token, hash := auth.NewToken()
	queued := false
	err := s.store.Update(func(tx *store.Tx) error {
		user, err := tx.UserByEmail(r.ID, email)
		if errors.Is(err, store.ErrNotFound) || (err == nil && user.Status != store.UserActive) {
			return nil // same answer, nothing sent
		}
		if err != nil {
			return err
		}
		if err := tx.CreatePasswordReset(&store.PasswordReset{Hash: hash, ResellerID: r.ID, UserID: user.ID,
			ExpiresAt: tx.Now().Add(ResetLifetime)}); err != nil {
			return err
		}
		if err := s.mailReset(tx, r, user.Email, token); err != nil {
			return err
		}
		queued = true
		return s.audit(tx, user, ip, "password.reset_requested", "")
	})
	if err != nil {
		return err
	}
	if queued {
		s.mail.Wake()
	}
	return nil
}

// CheckResetLink is nil when token is a reset link of r that still works,
// else ErrLinkInvalid. Looking does not spend it.
func (s *Service) CheckResetLink(r *store.Reseller, token string) error {
	err := s.store.View(func(tx *store.Tx) error {
		_, err := tx.PasswordReset(r.ID, auth.HashToken(token)) // tenant scope: links of this reseller only
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrLinkInvalid
	}
	return err
}

// ResetPassword spends reset link token and sets the new password,
// revoking every session of the user. A password the policy refuses is a
// field error (the link is not spent); a link that no longer works is
// ErrLinkInvalid.
func (s *Service) ResetPassword(r *store.Reseller, token, password, confirm, ip string) error {
	var fields fault.Fields
	checkNewPassword(r, password, confirm, &fields)
	if err := fields.Err(); err != nil {
		return err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	err = s.store.Update(func(tx *store.Tx) error {
		user, err := tx.UsePasswordReset(r.ID, auth.HashToken(token), hash) // tenant scope: links of this reseller only
		if err != nil {
			return err
		}
		return s.audit(tx, user, ip, "password.reset", "")
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrLinkInvalid
	}
	return err
}

// AcceptInvitation sets the invited person's password (the reseller's
// policy applies) and makes them active; the invitation is spent. Whoever
// was signed in in the same browser (session signedIn, if any) is signed
// out with it, so that the new member signs in as themselves. A link that
// is no longer pending is a NotFound.
func (s *Service) AcceptInvitation(r *store.Reseller, token, password, confirm, ip string, signedIn []byte) (*store.User, error) {
	var fields fault.Fields
	checkNewPassword(r, password, confirm, &fields)
	if err := fields.Err(); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return nil, err
	}
	var u *store.User
	err = s.store.Update(func(tx *store.Tx) error {
		if u, err = tx.AcceptInvitation(r.ID, auth.HashToken(token), hash); err != nil { // tenant scope: this reseller's links only
			return err
		}
		if signedIn != nil {
			if err := tx.DeleteSession(signedIn); err != nil {
				return err
			}
		}
		return s.audit(tx, u, ip, "invitation.accept", u.Email)
	})
	return u, err
}
