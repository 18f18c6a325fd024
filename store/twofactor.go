package store

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"time"
)

// TwoFactor is a user's TOTP sign-in step. Secret is the base32 TOTP
// secret, stored as is: it must be readable to check codes, and the only
// key the store could encrypt it with (the install secret) lives in the
// same file, so encryption would hide nothing from whoever holds the file.
type TwoFactor struct {
	Secret    string    `json:"secret,omitempty"`
	EnabledAt time.Time `json:"enabled_at,omitzero"`
	// LastStep is the time step (Unix time / period) of the last code
	// accepted; a code of that step or an earlier one is refused, so a code
	// seen over a shoulder cannot be used again.
	LastStep int64 `json:"last_step,omitempty"`
	// RecoveryCodes are the SHA-256 hashes of the unused recovery codes.
	RecoveryCodes [][]byte `json:"recovery_codes,omitempty"`
	// PendingSecret is an enrolment begun but not yet confirmed with a code.
	PendingSecret string    `json:"pending_secret,omitempty"`
	PendingAt     time.Time `json:"pending_at,omitzero"`
}

// TwoFactorOn reports whether the user signs in with a code.
func (u *User) TwoFactorOn() bool { return u.TwoFactor.Secret != "" }

// StartTOTPEnrolment keeps secret as the user's pending enrolment,
// replacing any earlier one; it does nothing to sign-in until confirmed.
func (tx *Tx) StartTOTPEnrolment(rid, uid uint64, secret string) error {
	u, err := tx.User(rid, uid)
	if err != nil {
		return err
	}
	if u.TwoFactorOn() {
		return fmt.Errorf("store: user %d/%d: two-factor sign-in is on already: %w", rid, uid, ErrConflict)
	}
	u.TwoFactor.PendingSecret, u.TwoFactor.PendingAt = secret, tx.now
	return tx.UpdateUser(u)
}

// CancelTOTPEnrolment drops a pending enrolment.
func (tx *Tx) CancelTOTPEnrolment(rid, uid uint64) error {
	u, err := tx.User(rid, uid)
	if err != nil {
		return err
	}
	u.TwoFactor.PendingSecret, u.TwoFactor.PendingAt = "", time.Time{}
	return tx.UpdateUser(u)
}

// EnableTOTP turns two-factor sign-in on with secret, whose code of time
// step step was just typed, and the hashes of fresh recovery codes.
func (tx *Tx) EnableTOTP(rid, uid uint64, secret string, step int64, recoveryHashes [][]byte) (*User, error) {
	u, err := tx.User(rid, uid)
	if err != nil {
		return nil, err
	}
	if u.TwoFactorOn() {
		return nil, fmt.Errorf("store: user %d/%d: two-factor sign-in is on already: %w", rid, uid, ErrConflict)
	}
	if secret == "" || len(recoveryHashes) == 0 {
		return nil, fmt.Errorf("store: user %d/%d: secret and recovery codes required: %w", rid, uid, ErrInvalid)
	}
	u.TwoFactor = TwoFactor{Secret: secret, EnabledAt: tx.now, LastStep: step, RecoveryCodes: recoveryHashes}
	return u, tx.UpdateUser(u)
}

// DisableTOTP turns two-factor sign-in off and forgets the secret and the
// recovery codes.
func (tx *Tx) DisableTOTP(rid, uid uint64) (*User, error) {
	u, err := tx.User(rid, uid)
	if err != nil {
		return nil, err
	}
	u.TwoFactor = TwoFactor{}
	return u, tx.UpdateUser(u)
}

// ErrReplayed refuses a TOTP code of a time step already used.
var ErrReplayed = fmt.Errorf("store: code already used: %w", ErrConflict)

// UseTOTPStep spends the time step of a code that matched: a step not
// after the last one used is ErrReplayed.
func (tx *Tx) UseTOTPStep(rid, uid uint64, step int64) error {
	u, err := tx.User(rid, uid)
	if err != nil {
		return err
	}
	if !u.TwoFactorOn() {
		return fmt.Errorf("store: user %d/%d: two-factor sign-in is off: %w", rid, uid, ErrNotFound)
	}
	if step <= u.TwoFactor.LastStep {
		return ErrReplayed
	}
	u.TwoFactor.LastStep = step
	return tx.UpdateUser(u)
}

// UseRecoveryCode spends the recovery code whose SHA-256 is hash and
// returns how many remain; an unknown or spent code is ErrNotFound.
func (tx *Tx) UseRecoveryCode(rid, uid uint64, hash []byte) (int, error) {
	u, err := tx.User(rid, uid)
	if err != nil {
		return 0, err
	}
	found := -1
	for i, h := range u.TwoFactor.RecoveryCodes {
		// constant time: the comparison must not tell how much of a guess matched
		if len(h) == len(hash) && subtle.ConstantTimeCompare(h, hash) == 1 {
			found = i
		}
	}
	if found < 0 || !u.TwoFactorOn() {
		return 0, fmt.Errorf("store: user %d/%d: recovery code: %w", rid, uid, ErrNotFound)
	}
	codes := u.TwoFactor.RecoveryCodes
	u.TwoFactor.RecoveryCodes = append(codes[:found:found], codes[found+1:]...)
	return len(u.TwoFactor.RecoveryCodes), tx.UpdateUser(u)
}

// LoginChallenge is a sign-in that passed the password and waits for its
// second step: a TOTP or recovery code, or (Enrol) setting up TOTP when
// the reseller requires it. It is not a session: it opens no page. Stored
// under the SHA-256 of the token in the browser's cookie.
type LoginChallenge struct {
	Hash       []byte `json:"hash"`
	ResellerID uint64 `json:"reseller_id"`
	UserID     uint64 `json:"user_id"`
	// Enrol asks the user to set up TOTP with Secret before signing in.
	Enrol  bool   `json:"enrol,omitempty"`
	Secret string `json:"secret,omitempty"`
	// Next is where the sign-in goes afterwards (a local path).
	Next      string    `json:"next,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateLoginChallenge stores a pending sign-in.
func (tx *Tx) CreateLoginChallenge(c *LoginChallenge) error {
	if len(c.Hash) == 0 || c.ResellerID == 0 || c.UserID == 0 || c.Enrol && c.Secret == "" {
		return fmt.Errorf("store: login challenge: %w", ErrInvalid)
	}
	if _, err := tx.User(c.ResellerID, c.UserID); err != nil {
		return err
	}
	c.CreatedAt = tx.now
	return put(tx.bucket(bucketLoginChallenges), c.Hash, c)
}

// LoginChallenge returns the pending sign-in stored under hash if it
// belongs to reseller rid and has not expired; anything else is
// ErrNotFound.
func (tx *Tx) LoginChallenge(rid uint64, hash []byte) (*LoginChallenge, error) {
	var c LoginChallenge
	if err := get(tx.bucket(bucketLoginChallenges), hash, &c); err != nil {
		return nil, fmt.Errorf("store: login challenge: %w", err)
	}
	// tenant scope: a challenge started on one reseller's host does nothing on another's
	if c.ResellerID != rid || !tx.now.Before(c.ExpiresAt) {
		return nil, fmt.Errorf("store: login challenge: %w", ErrNotFound)
	}
	return &c, nil
}

// DeleteLoginChallenge removes a pending sign-in; a missing one is fine.
func (tx *Tx) DeleteLoginChallenge(hash []byte) error {
	return tx.bucket(bucketLoginChallenges).Delete(hash)
}

// DeleteExpiredLoginChallenges drops pending sign-ins past their expiry.
func (tx *Tx) DeleteExpiredLoginChallenges() (int, error) {
	return deleteExpired(tx.bucket(bucketLoginChallenges), tx.now, func(v []byte) (time.Time, error) {
		var c LoginChallenge
		err := unmarshal(v, &c)
		return c.ExpiresAt, err
	})
}

// deleteExpired removes every record of b whose expiry (read by expiry)
// is before now.
func deleteExpired(b interface {
	ForEach(func(k, v []byte) error) error
	Delete([]byte) error
}, now time.Time, expiry func([]byte) (time.Time, error)) (int, error) {
	var dead [][]byte
	err := b.ForEach(func(k, v []byte) error {
		at, err := expiry(v)
		if err != nil {
			return err
		}
		if now.After(at) {
			dead = append(dead, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(dead), nil
}
