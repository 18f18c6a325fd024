package store

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"time"
)

// PasswordReset is a mailed, single-use link to set a new password, stored
// under the SHA-256 of its token.
type PasswordReset struct {
	Hash       []byte    `json:"hash"`
	ResellerID uint64    `json:"reseller_id"`
	UserID     uint64    `json:"user_id"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UsedAt     time.Time `json:"used_at,omitzero"`
	// Credentials is CredentialsDigest of the user when the link was
	// made: once the password or email changes, the link is void.
	Credentials []byte `json:"credentials,omitempty"`
}

// CredentialsDigest is a digest of what a user signs in with: the
// password hash (a new salt on every change) and the email. A mailed link
// that recorded it stops working once either changes, so using one reset
// link, changing the password from Security, an administrator setting
// it, or moving the account to another email ends every other link at
// once, with no index to keep.
func CredentialsDigest(u *User) []byte {
	sum := sha256.Sum256([]byte("credentials\x00" + u.PasswordHash + "\x00" + u.Email))
	return sum[:]
}

// CreatePasswordReset stores a reset token hash, bound to the user's
// current credentials.
func (tx *Tx) CreatePasswordReset(r *PasswordReset) error {
	u, err := tx.User(r.ResellerID, r.UserID)
	if err != nil {
		return err
	}
	r.CreatedAt = tx.now
	r.Credentials = CredentialsDigest(u)
	return put(tx.bucket(bucketPasswordResets), r.Hash, r)
}

// PasswordReset returns a reset that is usable now for the reseller: not
// used, not expired, and made while the user had the credentials they
// have now. Anything else is ErrNotFound, so callers cannot tell an old
// link from a forged one.
func (tx *Tx) PasswordReset(rid uint64, hash []byte) (*PasswordReset, error) {
	var r PasswordReset
	if err := get(tx.bucket(bucketPasswordResets), hash, &r); err != nil {
		return nil, fmt.Errorf("store: password reset: %w", err)
	}
	// tenant scope: a link minted for one reseller does nothing on another's host
	if r.ResellerID != rid || !r.UsedAt.IsZero() || !tx.now.Before(r.ExpiresAt) {
		return nil, fmt.Errorf("store: password reset: %w", ErrNotFound)
	}
	u, err := tx.User(r.ResellerID, r.UserID)
	if err != nil || !bytes.Equal(r.Credentials, CredentialsDigest(u)) {
		// superseded: another link was used, or the password or email changed
		return nil, fmt.Errorf("store: password reset: superseded: %w", ErrNotFound)
	}
	return &r, nil
}

// UsePasswordReset spends the reset, sets the new password hash and revokes
// the user's sessions, all or nothing.
func (tx *Tx) UsePasswordReset(rid uint64, hash []byte, passwordHash string) (*User, error) {
	r, err := tx.PasswordReset(rid, hash)
	if err != nil {
		return nil, err
	}
	r.UsedAt = tx.now
	if err := put(tx.bucket(bucketPasswordResets), hash, r); err != nil {
		return nil, err
	}
	if err := tx.SetPassword(r.ResellerID, r.UserID, passwordHash); err != nil {
		return nil, err
	}
	return tx.User(r.ResellerID, r.UserID)
}

// DeleteExpiredPasswordResets drops resets older than keep past expiry.
func (tx *Tx) DeleteExpiredPasswordResets() (int, error) {
	b := tx.bucket(bucketPasswordResets)
	var dead [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var r PasswordReset
		if err := unmarshal(v, &r); err != nil {
			return err
		}
		if tx.now.After(r.ExpiresAt) {
			dead = append(dead, append([]byte(nil), k...))
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

// MaxActiveAPIKeys is the most keys one business may hold at once.
const MaxActiveAPIKeys = 10

// APIKey lets a program act for a reseller (ClientID 0) or one client. Only
// the SHA-256 of the full key is stored; Prefix is the visible part.
type APIKey struct {
	ID         uint64    `json:"id"`
	ResellerID uint64    `json:"reseller_id"`
	ClientID   uint64    `json:"client_id,omitempty"`
	Name       string    `json:"name"`
	Prefix     string    `json:"prefix"`
	Hash       []byte    `json:"hash"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// APIKeys lists a reseller's keys (all owners) in creation order.
func (tx *Tx) APIKeys(rid uint64) ([]*APIKey, error) {
	var out []*APIKey
	prefix := u64(rid)
	c := tx.bucket(bucketAPIKeys).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var key APIKey
		if err := unmarshal(v, &key); err != nil {
			return nil, err
		}
		out = append(out, &key)
	}
	return out, nil
}

// CreateAPIKey stores a key, refusing an eleventh active key for one
// business.
func (tx *Tx) CreateAPIKey(k *APIKey) error {
	if k.Name == "" || len(k.Hash) == 0 || k.Prefix == "" {
		return fmt.Errorf("store: api key: name, prefix and hash required: %w", ErrInvalid)
	}
	if _, err := tx.Reseller(k.ResellerID); err != nil {
		return err
	}
	keys, err := tx.APIKeys(k.ResellerID)
	if err != nil {
		return err
	}
	active := 0
	for _, other := range keys {
		if other.ClientID == k.ClientID && other.RevokedAt.IsZero() {
			active++
		}
	}
	if active >= MaxActiveAPIKeys {
		return fmt.Errorf("store: api key: at most %d active keys: %w", MaxActiveAPIKeys, ErrConflict)
	}
	hashes := tx.bucket(bucketAPIKeyHashes)
	if hashes.Get(k.Hash) != nil {
		return fmt.Errorf("store: api key: %w", ErrConflict)
	}
	b := tx.bucket(bucketAPIKeys)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	k.ID = id
	k.CreatedAt = tx.now
	if err := hashes.Put(k.Hash, tenantKey(k.ResellerID, id)); err != nil {
		return err
	}
	return put(b, tenantKey(k.ResellerID, id), k)
}

// APIKeyByHash finds the key whose SHA-256 is hash.
func (tx *Tx) APIKeyByHash(hash []byte) (*APIKey, error) {
	ref := tx.bucket(bucketAPIKeyHashes).Get(hash)
	if ref == nil {
		return nil, fmt.Errorf("store: api key: %w", ErrNotFound)
	}
	raw := tx.bucket(bucketAPIKeys).Get(ref)
	if raw == nil {
		return nil, fmt.Errorf("store: api key: %w", ErrNotFound)
	}
	k, err := tx.cachedAPIKey(ref, raw) // every API request reads its key: decoded once per version of the record
	if err != nil {
		return nil, fmt.Errorf("store: api key: %w", err)
	}
	return k, nil
}

// RevokeAPIKey revokes key id of reseller rid that belongs to client cid
// (0 for the reseller's own keys). A key of another reseller or of another
// owner is ErrNotFound, never revoked. Revoking a revoked key changes
// nothing and reports revoked false. A revoked key keeps its hash index
// entry, so it is still found and refused, and no longer counts toward
// MaxActiveAPIKeys.
func (tx *Tx) RevokeAPIKey(rid, cid, id uint64) (key *APIKey, revoked bool, err error) {
	b := tx.bucket(bucketAPIKeys)
	var k APIKey
	if err := get(b, tenantKey(rid, id), &k); err != nil { // tenant scope: the key is looked up under rid
		return nil, false, fmt.Errorf("store: api key %d/%d: %w", rid, id, err)
	}
	if k.ClientID != cid { // scope: one client's key is not another's, nor the reseller's
		return nil, false, fmt.Errorf("store: api key %d/%d: %w", rid, id, ErrNotFound)
	}
	if !k.RevokedAt.IsZero() {
		return &k, false, nil
	}
	k.RevokedAt = tx.now
	if err := put(b, tenantKey(rid, id), &k); err != nil {
		return nil, false, err
	}
	return &k, true, nil
}

// APIKeyRef names one API key.
type APIKeyRef struct{ ResellerID, KeyID uint64 }

// TouchAPIKeys records last-used times gathered in memory, in one
// transaction, so that API requests themselves never write. Times only
// move forward; keys deleted meanwhile are skipped.
func (s *Store) TouchAPIKeys(used map[APIKeyRef]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return s.Update(func(tx *Tx) error {
		b := tx.bucket(bucketAPIKeys)
		for ref, at := range used {
			var k APIKey
			err := get(b, tenantKey(ref.ResellerID, ref.KeyID), &k)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if !at.After(k.LastUsedAt) {
				continue
			}
			k.LastUsedAt = at.UTC()
			if err := put(b, tenantKey(ref.ResellerID, ref.KeyID), &k); err != nil {
				return err
			}
		}
		return nil
	})
}
