package account

// Signing in: the password step, the second step of two-factor sign-in
// (a code, or setting it up when the reseller requires it), and signing
// out. After a correct password, a user with TOTP (or any user of a
// reseller that requires it) gets no session but a short-lived pending
// sign-in: a random token, stored as its SHA-256, that opens only the code
// (or enrolment) step and expires in ChallengeLifetime.

import (
	"errors"
	"time"

	"portico/app/auth"
	"portico/app/fault"
	"portico/store"
)

// ChallengeLifetime is how long the second step of a sign-in waits.
const ChallengeLifetime = 10 * time.Minute

// userAgentMax is the longest user agent a session keeps, in bytes.
const userAgentMax = 200

// SignIn is an attempt at the sign-in form.
type SignIn struct {
	Email, Password string
	// Next is where to go once signed in (already checked to be on this
	// site); a pending sign-in keeps it for its second step.
	Next          string
	IP, UserAgent string
	// Failed counts a failed attempt against the caller's in-memory limits
	// (app/lockout.go); when this failure pauses the account it returns the
	// token of the unlock link to mail and the end of the pause.
	Failed func() (unlockToken string, pausedUntil time.Time)
}

// Entry is what a step of signing in achieved: a session, or a pending
// sign-in that waits for its second step.
type Entry struct {
	User *store.User
	// Session is the token of the new session's cookie; empty while a
	// second step waits.
	Session string
	// Challenge is the token of the pending sign-in's cookie, and Enrol
	// says that its second step sets up two-factor sign-in (the reseller
	// requires it) rather than asks for a code.
	Challenge string
	Enrol     bool
	// RecoveryUsed: a recovery code signed in; RecoveryLeft of them remain.
	RecoveryUsed bool
	RecoveryLeft int
	// Codes are the recovery codes of an enrolment at sign-in, shown once.
	Codes []string
}

// Refusals of a sign-in, as the form shows them.
const (
	badCredentials = "The email or password is incorrect."
	accountOff     = "This account is disabled. Contact your administrator to restore access."
)

// ErrSignInGone: the pending sign-in expired, was used, or its user may no
// longer sign in; the person starts again at the password step.
var ErrSignInGone = fault.New(fault.Conflict, "Your sign-in took too long or was already completed. Sign in again.")

// SignIn checks the credentials and starts a session, or a pending sign-in
// when a second step is due. The refusal of a wrong email and of a wrong
// password is the same, and so is the work: one argon2id check and one
// audit write (in.Failed counts it), whether the account exists, has no
// password yet (invited) or not. A disabled account or business is
// refused once the password is right.
func (s *Service) SignIn(r *store.Reseller, in SignIn) (*Entry, error) {
	var user *store.User
	err := s.store.View(func(tx *store.Tx) (err error) { user, err = tx.UserByEmail(r.ID, in.Email); return err })
	switch {
	case errors.Is(err, store.ErrNotFound):
		if busy := auth.BurnPasswordCheck(in.Password); busy != nil {
			return nil, busy // 503, as for an account that exists
		}
		user = nil
	case err != nil:
		return nil, err
	default:
		// an invited user's empty hash costs a dummy check
		if err = auth.CheckPassword(user.PasswordHash, in.Password); errors.Is(err, auth.ErrBusy) {
			return nil, err // not checked: neither a failure nor a success
		}
	}
	if err != nil {
		if err := s.signInFailed(r, user, in); err != nil {
			return nil, err
		}
		return nil, &fault.Error{Kind: fault.Invalid, Message: badCredentials, Err: ErrWrongPassword}
	}
	if user.Status != store.UserActive {
		return nil, fault.New(fault.Invalid, accountOff)
	}
	if blocked, err := s.clientBlocked(user); err != nil {
		return nil, err
	} else if blocked {
		name := s.letters.BrandName(r)
		return nil, fault.New(fault.Invalid, "Your company's account with "+name+" is disabled, so you cannot sign in. Contact "+name+" to restore access.")
	}
	if user.TwoFactorOn() || r.Require2FA {
		return s.challenge(r, user, in.Next)
	}
	entry := &Entry{User: user}
	err = s.store.Update(func(tx *store.Tx) (err error) {
		entry.Session, err = s.openSession(tx, user, "", in.IP, in.UserAgent)
		return err
	})
	if err != nil {
		return nil, err
	}
	return entry, nil
}

// signInFailed counts a failed sign-in (in.Failed) and audits it. Unknown
// accounts are audited too: every wrong answer writes the same, so the
// time taken tells nothing. When this failure pauses the account, its
// owner (if it exists and may sign in) is mailed the unlock link in the
// same transaction.
func (s *Service) signInFailed(r *store.Reseller, user *store.User, in SignIn) error {
	var token string
	var until time.Time
	if in.Failed != nil {
		token, until = in.Failed()
	}
	event := &store.AuditEvent{ResellerID: r.ID, Action: "login.failed", IP: in.IP}
	if user != nil {
		event.ClientID, event.Actor = user.ClientID, user.Email
	} else {
		event.Actor, event.Target = AuditEmail(in.Email), "no such account"
	}
	mailed := false
	err := s.store.Update(func(tx *store.Tx) error {
		if err := s.addAudit(tx, event); err != nil {
			return err
		}
		if token == "" || user == nil || user.Status != store.UserActive {
			return nil
		}
		mailed = true
		if err := s.audit(tx, user, in.IP, "login.paused", "until "+until.UTC().Format(time.RFC3339)); err != nil {
			return err
		}
		return s.mailUnlock(tx, r, user, token, until)
	})
	if err == nil && mailed {
		s.mail.Wake()
	}
	return err
}

// AuditEmail is a typed email as the audit log may keep it.
func AuditEmail(email string) string {
	email = store.NormalizeEmail(email)
	if !ValidEmail(email) {
		return "(not an email address)"
	}
	return email
}

// challenge starts the pending sign-in of user, whose password was right:
// a code is due, or setting up two-factor sign-in when the reseller
// requires it and the user has none.
func (s *Service) challenge(r *store.Reseller, user *store.User, next string) (*Entry, error) {
	token, hash := auth.NewToken()
	ch := &store.LoginChallenge{Hash: hash, ResellerID: r.ID, UserID: user.ID, Next: next, Enrol: !user.TwoFactorOn()}
	if ch.Enrol {
		var err error
		if ch.Secret, err = NewTOTPSecret(s.letters.BrandName(r), user.Email); err != nil {
			return nil, err
		}
	}
	err := s.store.Update(func(tx *store.Tx) error {
		ch.ExpiresAt = tx.Now().Add(ChallengeLifetime)
		return tx.CreateLoginChallenge(ch)
	})
	if err != nil {
		return nil, err
	}
	return &Entry{User: user, Challenge: token, Enrol: ch.Enrol}, nil
}

// Pending is a sign-in waiting for its second step, and its user.
type Pending struct {
	Challenge *store.LoginChallenge
	User      *store.User
}

// PendingSignIn loads the pending sign-in of token and its user;
// ErrSignInGone when there is none (expired, used, another reseller's, or
// a user who may no longer sign in).
func (s *Service) PendingSignIn(r *store.Reseller, token string) (*Pending, error) {
	var p Pending
	err := s.store.View(func(tx *store.Tx) (err error) {
		if p.Challenge, err = tx.LoginChallenge(r.ID, auth.HashToken(token)); err != nil { // tenant scope: this reseller's sign-ins only
			return err
		}
		p.User, err = tx.User(r.ID, p.Challenge.UserID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSignInGone
	}
	if err != nil {
		return nil, err
	}
	if p.User.Status != store.UserActive {
		return nil, ErrSignInGone
	}
	if blocked, err := s.clientBlocked(p.User); err != nil {
		return nil, err
	} else if blocked {
		return nil, ErrSignInGone
	}
	return &p, nil
}

// SignInWithCode checks the code of pending sign-in p and starts the
// session. A TOTP code is not accepted twice; a recovery code is spent.
// A wrong or replayed code is audited and refused as a field error caused
// by ErrWrongCode.
func (s *Service) SignInWithCode(r *store.Reseller, p *Pending, code, ip, userAgent string) (*Entry, error) {
	entry := &Entry{User: p.User}
	err := s.store.Update(func(tx *store.Tx) error {
		u, err := tx.User(r.ID, p.User.ID)
		if err != nil {
			return err
		}
		entry.RecoveryLeft = -1
		if u.TwoFactorOn() { // else turned off since the password step: the password alone was enough
			if entry.RecoveryUsed, entry.RecoveryLeft, err = spendCode(tx, u, code); err != nil {
				return err
			}
		}
		if err := tx.DeleteLoginChallenge(p.Challenge.Hash); err != nil {
			return err
		}
		how := "with an authenticator code"
		if entry.RecoveryUsed {
			how = "with a recovery code, " + Plural(entry.RecoveryLeft, "code") + " left"
		}
		entry.Session, err = s.openSession(tx, u, how, ip, userAgent)
		return err
	})
	if refusal, ok := asCodeRefusal(err); ok {
		if err := s.auditAlone(p.User, ip, "login.code_failed", ""); err != nil {
			return nil, err
		}
		return nil, refusal
	}
	if err != nil {
		return nil, err
	}
	return entry, nil
}

// EnrolAtSignIn confirms the enrolment of pending sign-in p (the reseller
// requires two-factor sign-in) with a code from the app, turns it on and
// starts the session; the entry carries the recovery codes, to be shown
// once. A wrong code is a field error caused by ErrWrongCode;
// ErrSignInGone when the user enrolled meanwhile in another browser.
func (s *Service) EnrolAtSignIn(r *store.Reseller, p *Pending, typed, ip, userAgent string) (*Entry, error) {
	kind, code := ParseCode(typed)
	step, ok := MatchTOTP(p.Challenge.Secret, code, s.store.Now())
	if kind != CodeTOTP || !ok {
		return nil, guessed(fault.Fields{{Field: "code", Message: wrongFirstCode}}, ErrWrongCode)
	}
	codes, hashes := newRecoveryCodes()
	entry := &Entry{User: p.User, Codes: codes}
	err := s.store.Update(func(tx *store.Tx) error {
		u, err := tx.EnableTOTP(r.ID, p.User.ID, p.Challenge.Secret, step, hashes)
		if err != nil {
			return err
		}
		if err := tx.DeleteLoginChallenge(p.Challenge.Hash); err != nil {
			return err
		}
		if err := s.audit(tx, u, ip, "2fa.enable", "at sign-in, required by the provider"); err != nil {
			return err
		}
		entry.Session, err = s.openSession(tx, u, "after setting up two-factor sign-in", ip, userAgent)
		return err
	})
	if errors.Is(err, store.ErrConflict) { // enrolled meanwhile in another browser
		return nil, ErrSignInGone
	}
	if err != nil {
		return nil, err
	}
	return entry, nil
}

// openSession creates a session for u in tx, notes the sign-in and audits
// it (how it was made: "" for the password alone), and returns the
// cookie's token.
func (s *Service) openSession(tx *store.Tx, u *store.User, how, ip, userAgent string) (string, error) {
	if len(userAgent) > userAgentMax {
		userAgent = userAgent[:userAgentMax]
	}
	token, hash := auth.NewToken()
	if err := tx.CreateSession(&store.Session{
		Hash: hash, ResellerID: u.ResellerID, UserID: u.ID,
		ExpiresAt:   tx.Now().Add(s.sessions.MaxAge),
		IdleTimeout: s.sessions.IdleTimeout,
		IP:          ip, UserAgent: userAgent,
	}); err != nil {
		return "", err
	}
	if err := tx.RecordLogin(u.ResellerID, u.ID); err != nil {
		return "", err
	}
	return token, s.audit(tx, u, ip, "login", how)
}

// clientBlocked reports whether a client user's business may not sign in
// (disabled, closed or deleted).
func (s *Service) clientBlocked(u *store.User) (bool, error) {
	if u.Staff() {
		return false, nil
	}
	var cl *store.Client
	err := s.store.View(func(tx *store.Tx) (err error) { cl, err = tx.Client(u.ResellerID, u.ClientID); return err })
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return cl.Status == store.ClientDisabled || cl.Status == store.ClientClosed, nil
}

// SignOut ends session hash of by.
func (s *Service) SignOut(r *store.Reseller, by Actor, hash []byte) error {
	return s.store.Update(func(tx *store.Tx) error {
		if err := tx.DeleteSession(hash); err != nil {
			return err
		}
		return s.addAudit(tx, &store.AuditEvent{ResellerID: r.ID, ClientID: by.User.ClientID, Actor: by.User.Email, Action: "logout", IP: by.IP})
	})
}
