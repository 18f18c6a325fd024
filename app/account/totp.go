package account

// Two-factor sign-in with TOTP (RFC 6238 through pquerna/otp): the codes,
// the recovery codes, and turning it on and off. The second step of
// signing in is in signin.go.

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"portico/app/fault"
	"portico/store"
)

const (
	// TOTPPeriod is the TOTP time step in seconds; totpSkew the steps
	// either side of now that are accepted, for clocks that drift.
	TOTPPeriod = 30
	totpSkew   = 1
	// RecoveryCodeCount codes are issued at enrolment, each usable once.
	RecoveryCodeCount = 10
	// RecoveryAlphabet has no look-alike characters (0/o, 1/l/i).
	RecoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	// RecoveryCodeLen is the characters of a recovery code, without its hyphen.
	RecoveryCodeLen = 10
)

var totpOpts = totp.ValidateOpts{Period: TOTPPeriod, Skew: totpSkew, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewTOTPSecret is a fresh random TOTP secret (160 bits, base32).
func NewTOTPSecret(issuer, account string) (string, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: TOTPPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
	if err != nil {
		return "", err
	}
	return key.Secret(), nil
}

// MatchTOTP finds the time step whose code is code, within totpSkew steps
// of now; the step is what replay protection remembers.
func MatchTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	for d := -totpSkew; d <= totpSkew; d++ {
		at := now.Add(time.Duration(d*TOTPPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, at, totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 { // constant time: no hint of a near miss
			return at.Unix() / TOTPPeriod, true
		}
	}
	return 0, false
}

// Kinds of code a person may type at the second step.
const (
	CodeTOTP     = "totp"
	CodeRecovery = "recovery"
)

// ParseCode reads what was typed: six digits (spaces allowed) are a TOTP
// code, ten characters of the recovery alphabet (a hyphen and spaces
// allowed, any case) a recovery code. Anything else is "".
func ParseCode(input string) (kind, code string) {
	if len(input) > 64 {
		return "", ""
	}
	cleaned := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, input)
	switch {
	case len(cleaned) == 6 && strings.Trim(cleaned, "0123456789") == "":
		return CodeTOTP, cleaned
	case len(cleaned) == RecoveryCodeLen && strings.Trim(cleaned, RecoveryAlphabet) == "":
		return CodeRecovery, cleaned
	}
	return "", ""
}

// newRecoveryCodes returns RecoveryCodeCount fresh codes as shown
// ("abcde-fghjk") and the SHA-256 of each, which is all that is stored.
func newRecoveryCodes() (codes []string, hashes [][]byte) {
	for range RecoveryCodeCount {
		b := make([]byte, RecoveryCodeLen)
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		for i := range b {
			b[i] = RecoveryAlphabet[int(b[i])%len(RecoveryAlphabet)] // 256 % 31 bias is negligible for 50-bit codes
		}
		codes = append(codes, string(b[:5])+"-"+string(b[5:]))
		hashes = append(hashes, recoveryHash(string(b)))
	}
	return codes, hashes
}

func recoveryHash(code string) []byte {
	sum := sha256.Sum256([]byte(code))
	return sum[:]
}

// Messages for a refused code, written for the person who typed it.
const (
	wrongCode    = "The code is incorrect. Type the 6-digit code your app shows now, or one of your recovery codes."
	replayedCode = "This code was used already. Wait for your app to show the next one, then type it."
	// wrongFirstCode refuses the code that should confirm an enrolment.
	wrongFirstCode = "The code is incorrect. Type the 6-digit code your app shows for this account now."
)

// codeRefused is a refused code inside a transaction, which it rolls back.
type codeRefused string

func (e codeRefused) Error() string { return string(e) }

// spendCode checks a TOTP or recovery code of user u and spends it: a
// TOTP code's time step can never be used again, a recovery code is
// deleted. It returns whether a recovery code was used and how many are
// left; a wrong or replayed code is a codeRefused.
func spendCode(tx *store.Tx, u *store.User, typed string) (recovery bool, left int, err error) {
	kind, code := ParseCode(typed)
	switch kind {
	case CodeTOTP:
		step, ok := MatchTOTP(u.TwoFactor.Secret, code, tx.Now())
		if !ok {
			return false, 0, codeRefused(wrongCode)
		}
		err := tx.UseTOTPStep(u.ResellerID, u.ID, step)
		if errors.Is(err, store.ErrReplayed) {
			return false, 0, codeRefused(replayedCode)
		}
		return false, len(u.TwoFactor.RecoveryCodes), err
	case CodeRecovery:
		left, err := tx.UseRecoveryCode(u.ResellerID, u.ID, recoveryHash(code))
		if errors.Is(err, store.ErrNotFound) {
			return false, 0, codeRefused(wrongCode)
		}
		return true, left, err
	}
	return false, 0, codeRefused(wrongCode)
}

// asCodeRefusal is a refused code as the field error the caller shows,
// caused by ErrWrongCode; ok is false for any other error.
func asCodeRefusal(err error) (error, bool) {
	var refused codeRefused
	if !errors.As(err, &refused) {
		return err, false
	}
	return guessed(fault.Fields{{Field: "code", Message: string(refused)}}, ErrWrongCode), true
}

// Turning it on and off, from the signed-in user's own security page.

// Refusals of the two-factor settings that the page answers by going back
// to itself.
var (
	// ErrTwoFactorOn: it is on already (an enrolment cannot begin).
	ErrTwoFactorOn = fault.New(fault.Conflict, "Two-factor sign-in is on already.")
	// ErrNoEnrolment: there is no enrolment to confirm (none begun, or
	// confirmed meanwhile).
	ErrNoEnrolment = fault.New(fault.Conflict, "No two-factor enrolment is waiting for a code.")
	// ErrTwoFactorOff: it is off already.
	ErrTwoFactorOff = fault.New(fault.Conflict, "Two-factor sign-in is off already.")
)

// StartTOTP begins an enrolment: a fresh secret kept as pending until the
// first code confirms it. ErrTwoFactorOn when it is on already.
func (s *Service) StartTOTP(r *store.Reseller, by Actor) error {
	secret, err := NewTOTPSecret(s.letters.BrandName(r), by.User.Email)
	if err != nil {
		return err
	}
	err = s.store.Update(func(tx *store.Tx) error {
		if err := tx.StartTOTPEnrolment(r.ID, by.User.ID, secret); err != nil { // tenant scope: the signed-in user
			return err
		}
		return s.audit(tx, by.User, by.IP, "2fa.enrol_started", "")
	})
	if errors.Is(err, store.ErrConflict) {
		return ErrTwoFactorOn
	}
	return err
}

// CancelTOTP drops an enrolment begun.
func (s *Service) CancelTOTP(r *store.Reseller, by Actor) error {
	return s.store.Update(func(tx *store.Tx) error { return tx.CancelTOTPEnrolment(r.ID, by.User.ID) }) // tenant scope: the signed-in user
}

// ConfirmTOTP checks the first code against the pending secret and turns
// two-factor sign-in on; it returns the user as they are now and the
// recovery codes, to be shown once and never stored. A wrong code is a
// field error caused by ErrWrongCode; ErrNoEnrolment when nothing waits.
func (s *Service) ConfirmTOTP(r *store.Reseller, by Actor, typed string) (*store.User, []string, error) {
	user := by.User
	if user.TwoFactorOn() || user.TwoFactor.PendingSecret == "" {
		return nil, nil, ErrNoEnrolment
	}
	kind, code := ParseCode(typed)
	step, ok := MatchTOTP(user.TwoFactor.PendingSecret, code, s.store.Now())
	if kind != CodeTOTP || !ok {
		return nil, nil, guessed(fault.Fields{{Field: "code", Message: wrongFirstCode}}, ErrWrongCode)
	}
	codes, hashes := newRecoveryCodes()
	var updated *store.User
	err := s.store.Update(func(tx *store.Tx) (err error) {
		if updated, err = tx.EnableTOTP(r.ID, user.ID, user.TwoFactor.PendingSecret, step, hashes); err != nil {
			return err
		}
		if err := s.mailTwoFactorChanged(tx, r, updated.Email, true, by.IP); err != nil {
			return err
		}
		return s.audit(tx, user, by.IP, "2fa.enable", "")
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, nil, ErrNoEnrolment
	}
	if err != nil {
		return nil, nil, err
	}
	s.mail.Wake()
	return updated, codes, nil
}

// DisableTOTP turns two-factor sign-in off, given the password and a code
// (from the app or a recovery code). A reseller that requires it keeps it
// on (a Conflict). A wrong password or code is audited and refused as a
// field error caused by ErrWrongPassword or ErrWrongCode;
// ErrTwoFactorOff when it is off already.
func (s *Service) DisableTOTP(r *store.Reseller, by Actor, password, code string) error {
	user := by.User
	if !user.TwoFactorOn() {
		return ErrTwoFactorOff
	}
	if r.Require2FA {
		return fault.New(fault.Conflict, s.letters.BrandName(r)+" requires two-factor sign-in for every account, so it cannot be turned off.")
	}
	if password == "" {
		return fault.InvalidField("password", "Enter your password.")
	}
	if ok, err := s.checkPassword(user, password, by.IP, "2fa.disable_failed", "wrong password"); err != nil {
		return err
	} else if !ok {
		return guessed(fault.Fields{{Field: "password", Message: "The password is incorrect."}}, ErrWrongPassword)
	}
	err := s.store.Update(func(tx *store.Tx) error {
		u, err := tx.User(r.ID, user.ID) // tenant scope: the signed-in user
		if err != nil {
			return err
		}
		if _, _, err := spendCode(tx, u, code); err != nil {
			return err
		}
		if _, err := tx.DisableTOTP(r.ID, user.ID); err != nil {
			return err
		}
		if err := s.mailTwoFactorChanged(tx, r, u.Email, false, by.IP); err != nil {
			return err
		}
		return s.audit(tx, user, by.IP, "2fa.disable", "")
	})
	if refusal, ok := asCodeRefusal(err); ok {
		if err := s.auditAlone(user, by.IP, "2fa.disable_failed", "wrong code"); err != nil {
			return err
		}
		return refusal
	}
	if err != nil {
		return err
	}
	s.mail.Wake()
	return nil
}

// RequireTOTP turns the reseller-wide requirement on or off. Turning it on
// needs by's own two-factor sign-in (so they cannot lock themselves out)
// and signs out every user without it: they set it up at their next
// sign-in, before any page opens. It reports whether anything changed and
// how many users were signed out.
func (s *Service) RequireTOTP(r *store.Reseller, by Actor, require bool) (changed bool, signedOut int, err error) {
	if require && !by.User.TwoFactorOn() {
		return false, 0, fault.New(fault.Invalid, "Turn on two-factor sign-in for your own account first (above), so that requiring it cannot lock you out.")
	}
	err = s.store.Update(func(tx *store.Tx) error {
		cur, err := tx.Reseller(r.ID) // tenant scope: the reseller comes from the host
		if err != nil || cur.Require2FA == require {
			return err
		}
		changed, cur.Require2FA = true, require
		if err := tx.UpdateReseller(cur); err != nil {
			return err
		}
		target := "off"
		if require {
			users, err := tx.Users(cur.ID)
			if err != nil {
				return err
			}
			for _, u := range users {
				if u.TwoFactorOn() {
					continue
				}
				n, err := tx.DeleteUserSessions(cur.ID, u.ID)
				if err != nil {
					return err
				}
				if n > 0 {
					signedOut++
				}
			}
			target = "on, " + Plural(signedOut, "user") + " without it signed out"
		}
		return s.addAudit(tx, &store.AuditEvent{ResellerID: cur.ID, Actor: by.User.Email, Action: "reseller.require_2fa", Target: target, IP: by.IP})
	})
	return changed, signedOut, err
}
