package account

import (
	"time"

	"portico/store"
)

// The mails of an account, each queued in the transaction of the change it
// tells of, so that a change nobody made does not go unseen and a change
// that fails sends nothing. Links start from the reseller's canonical host.

// Paths of the pages the mailed links open.
const (
	ResetPath        = "/password/reset"
	EmailConfirmPath = "/email/confirm"
	UnlockPath       = "/login/unlock"
)

func (s *Service) send(tx *store.Tx, r *store.Reseller, to, subject, text string) error {
	return s.mail.Enqueue(tx, &store.MailMessage{ResellerID: r.ID, FromName: s.letters.SenderName(r), To: to, Subject: subject, Text: text})
}

func (s *Service) mailReset(tx *store.Tx, r *store.Reseller, to, token string) error {
	link, err := s.letters.Link(tx, r, ResetPath+"?token="+token)
	if err != nil {
		return err
	}
	name := s.letters.BrandName(r)
	return s.send(tx, r, to, "Reset your "+name+" password",
		"Someone asked to reset the password of your "+name+" account.\n\n"+
			"To choose a new password, open this link within one hour. It works once:\n\n"+link+"\n\n"+
			"If you did not ask for this, ignore this email; your password stays as it is.\n")
}

func (s *Service) mailUnlock(tx *store.Tx, r *store.Reseller, u *store.User, token string, until time.Time) error {
	link, err := s.letters.Link(tx, r, UnlockPath+"?token="+token)
	if err != nil {
		return err
	}
	name := s.letters.BrandName(r)
	return s.send(tx, r, u.Email, "Signing in to your "+name+" account is paused",
		"There have been many failed attempts to sign in to your "+name+" account ("+u.Email+"), "+
			"so signing in to it is paused for everyone until "+until.UTC().Format("2006-01-02 15:04 UTC")+".\n\n"+
			"To sign in before then, open this link in the browser you use and sign in there with your password. "+
			"It works once, in one browser, until the pause ends:\n\n"+link+"\n\n"+
			"If the failed attempts were not yours, someone is guessing your password. "+
			"Make sure it is long and used nowhere else.\n")
}

func (s *Service) mailPasswordChanged(tx *store.Tx, r *store.Reseller, email, ip string) error {
	name := s.letters.BrandName(r)
	return s.send(tx, r, email, "Your "+name+" password was changed",
		"The password of your "+name+" account ("+email+") was changed from the address "+ip+".\n\n"+
			"If this was you, there is nothing to do. If not, reset your password at once from the sign-in page "+
			"and tell your administrator.\n")
}

func (s *Service) mailTwoFactorChanged(tx *store.Tx, r *store.Reseller, email string, on bool, ip string) error {
	name := s.letters.BrandName(r)
	subject, text := "Two-factor sign-in is on for your "+name+" account",
		"Two-factor sign-in was turned on for your "+name+" account ("+email+") from the address "+ip+". "+
			"From now on, signing in needs your password and a code from your authenticator app.\n"
	if !on {
		subject, text = "Two-factor sign-in was turned off for your "+name+" account",
			"Two-factor sign-in was turned off for your "+name+" account ("+email+") from the address "+ip+". "+
				"Your password alone now signs you in.\n\nIf this was not you, change your password at once and tell your administrator.\n"
	}
	return s.send(tx, r, email, subject, text)
}

// mailEmailChange asks the new address to confirm and tells the old one.
func (s *Service) mailEmailChange(tx *store.Tx, r *store.Reseller, change *store.EmailChange, token, ip string) error {
	link, err := s.letters.Link(tx, r, EmailConfirmPath+"?token="+token)
	if err != nil {
		return err
	}
	name := s.letters.BrandName(r)
	if err := s.send(tx, r, change.NewEmail, "Confirm your new "+name+" sign-in email",
		"You asked to sign in to "+name+" with this address ("+change.NewEmail+") instead of "+change.OldEmail+".\n\n"+
			"To confirm, open this link within 24 hours. It works once:\n\n"+link+"\n\n"+
			"If you did not ask for this, ignore this email; nothing changes.\n"); err != nil {
		return err
	}
	return s.send(tx, r, change.OldEmail, "Your "+name+" sign-in email is being changed",
		"Someone signed in to your "+name+" account ("+change.OldEmail+") from the address "+ip+
			" asked to sign in with "+change.NewEmail+" from now on.\n\n"+
			"The change happens only when the link we sent to "+change.NewEmail+" is opened. "+
			"If this was not you, change your password at once and tell your administrator.\n")
}

func (s *Service) mailEmailChanged(tx *store.Tx, r *store.Reseller, change *store.EmailChange) error {
	name := s.letters.BrandName(r)
	return s.send(tx, r, change.OldEmail, "Your "+name+" sign-in email was changed",
		"Your "+name+" account no longer signs in with "+change.OldEmail+": from now on it signs in with "+
			change.NewEmail+".\n\nIf you did not make this change, contact your administrator at once.\n")
}
