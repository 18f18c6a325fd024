package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// SetAvatar stores data (a PNG the app encoded) as the user's avatar and
// sets the user's AvatarSHA256 in the same transaction.
func (tx *Tx) SetAvatar(rid, uid uint64, data []byte) (*User, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("store: avatar of user %d/%d: %w", rid, uid, ErrInvalid)
	}
	u, err := tx.User(rid, uid)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	u.AvatarSHA256 = hex.EncodeToString(sum[:])
	if err := tx.UpdateUser(u); err != nil {
		return nil, err
	}
	return u, tx.bucket(bucketAvatars).Put(tenantKey(rid, uid), data)
}

// Avatar returns the bytes of a user's avatar.
func (tx *Tx) Avatar(rid, uid uint64) ([]byte, error) {
	v := tx.bucket(bucketAvatars).Get(tenantKey(rid, uid)) // tenant scope: the key starts with the reseller id
	if v == nil {
		return nil, fmt.Errorf("store: avatar of user %d/%d: %w", rid, uid, ErrNotFound)
	}
	return bytes.Clone(v), nil
}

// RemoveAvatar deletes a user's avatar; it reports false when there was none.
func (tx *Tx) RemoveAvatar(rid, uid uint64) (bool, error) {
	u, err := tx.User(rid, uid)
	if err != nil {
		return false, err
	}
	b := tx.bucket(bucketAvatars)
	had := b.Get(tenantKey(rid, uid)) != nil
	if !had && u.AvatarSHA256 == "" {
		return false, nil
	}
	u.AvatarSHA256 = ""
	if err := tx.UpdateUser(u); err != nil {
		return false, err
	}
	return true, b.Delete(tenantKey(rid, uid))
}

// EmailChange is a mailed, single-use link that moves a user's sign-in
// email from OldEmail to NewEmail, stored under the SHA-256 of its token.
type EmailChange struct {
	Hash       []byte    `json:"hash"`
	ResellerID uint64    `json:"reseller_id"`
	UserID     uint64    `json:"user_id"`
	OldEmail   string    `json:"old_email"`
	NewEmail   string    `json:"new_email"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UsedAt     time.Time `json:"used_at,omitzero"`
	// Credentials is CredentialsDigest of the user when the link was
	// made: a password reset or change voids the link, so one asked for
	// by whoever held a session before the owner recovered the account
	// cannot take it over afterwards.
	Credentials []byte `json:"credentials,omitempty"`
}

// CreateEmailChange stores a change link; the new address must be free
// within the reseller now (it is checked again when the link is used).
func (tx *Tx) CreateEmailChange(c *EmailChange) error {
	if len(c.Hash) == 0 || c.NewEmail == "" {
		return fmt.Errorf("store: email change: %w", ErrInvalid)
	}
	u, err := tx.User(c.ResellerID, c.UserID)
	if err != nil {
		return err
	}
	c.OldEmail, c.NewEmail = u.Email, NormalizeEmail(c.NewEmail)
	c.Credentials = CredentialsDigest(u)
	if tx.bucket(bucketUserEmails).Get(emailKey(c.ResellerID, c.NewEmail)) != nil {
		return fmt.Errorf("store: user email %q: %w", c.NewEmail, ErrConflict)
	}
	c.CreatedAt = tx.now
	return put(tx.bucket(bucketEmailChanges), c.Hash, c)
}

// EmailChange returns a change link usable now on reseller rid: not used,
// not expired, and made while the user still had the address it moves
// from. Anything else is ErrNotFound.
func (tx *Tx) EmailChange(rid uint64, hash []byte) (*EmailChange, error) {
	var c EmailChange
	if err := get(tx.bucket(bucketEmailChanges), hash, &c); err != nil {
		return nil, fmt.Errorf("store: email change: %w", err)
	}
	// tenant scope: a link minted for one reseller does nothing on another's host
	if c.ResellerID != rid || !c.UsedAt.IsZero() || !tx.now.Before(c.ExpiresAt) {
		return nil, fmt.Errorf("store: email change: %w", ErrNotFound)
	}
	u, err := tx.User(c.ResellerID, c.UserID)
	if err != nil || u.Email != c.OldEmail || !bytes.Equal(c.Credentials, CredentialsDigest(u)) {
		return nil, fmt.Errorf("store: email change: superseded: %w", ErrNotFound)
	}
	return &c, nil
}

// UseEmailChange spends the link and moves the user to the new address.
// An address taken meanwhile is ErrConflict, and the link stays unspent.
func (tx *Tx) UseEmailChange(rid uint64, hash []byte) (*EmailChange, *User, error) {
	c, err := tx.EmailChange(rid, hash)
	if err != nil {
		return nil, nil, err
	}
	u, err := tx.User(c.ResellerID, c.UserID)
	if err != nil {
		return nil, nil, err
	}
	u.Email = c.NewEmail
	if err := tx.UpdateUser(u); err != nil {
		return c, nil, err
	}
	c.UsedAt = tx.now
	return c, u, put(tx.bucket(bucketEmailChanges), hash, c)
}

// DeleteExpiredEmailChanges drops change links past their expiry.
func (tx *Tx) DeleteExpiredEmailChanges() (int, error) {
	return deleteExpired(tx.bucket(bucketEmailChanges), tx.now, func(v []byte) (time.Time, error) {
		var c EmailChange
		err := unmarshal(v, &c)
		return c.ExpiresAt, err
	})
}

// FormUse records that a one-time form was submitted: Ref names what it
// made (an API key id for "api_key"), so a resubmission can say so.
type FormUse struct {
	Purpose   string    `json:"purpose"`
	Ref       uint64    `json:"ref"`
	UsedAt    time.Time `json:"used_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// FormUse returns the use of the form token whose SHA-256 is hash on
// reseller rid; ErrNotFound when it was never submitted.
func (tx *Tx) FormUse(rid uint64, hash []byte) (*FormUse, error) {
	var f FormUse
	if err := get(tx.bucket(bucketFormUses), tenantStringKey(rid, string(hash)), &f); err != nil {
		return nil, fmt.Errorf("store: form use: %w", err)
	}
	return &f, nil
}

// PutFormUse spends a form token; a token spent already is ErrConflict.
func (tx *Tx) PutFormUse(rid uint64, hash []byte, f *FormUse) error {
	b := tx.bucket(bucketFormUses)
	key := tenantStringKey(rid, string(hash))
	if b.Get(key) != nil {
		return fmt.Errorf("store: form use: %w", ErrConflict)
	}
	f.UsedAt = tx.now
	return put(b, key, f)
}

// DeleteExpiredFormUses forgets spent form tokens past their expiry (the
// forms that carried them are stale by then).
func (tx *Tx) DeleteExpiredFormUses() (int, error) {
	return deleteExpired(tx.bucket(bucketFormUses), tx.now, func(v []byte) (time.Time, error) {
		var f FormUse
		err := unmarshal(v, &f)
		return f.ExpiresAt, err
	})
}
