package store

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// PermissionProfile is a named set of module access levels of one client
// ("calls" → "view"). It narrows what a manager or user of that client may
// do; it can never widen their role (app/access applies it). Module and
// level names are the app's: the store keeps them as given.
type PermissionProfile struct {
	ID         uint64            `json:"id"`
	ResellerID uint64            `json:"reseller_id"`
	ClientID   uint64            `json:"client_id"`
	Name       string            `json:"name"`
	Access     map[string]string `json:"access"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

// ErrProfileName refuses a second profile with the same name in a client.
var ErrProfileName = fmt.Errorf("a profile of that name exists: %w", ErrConflict)

// ErrProfileInUse refuses to delete a profile that users still have.
var ErrProfileInUse = fmt.Errorf("the profile is assigned to users: %w", ErrConflict)

// Profiles lists a client's permission profiles in creation order.
func (tx *Tx) Profiles(rid, cid uint64) ([]*PermissionProfile, error) {
	return listByPrefix(tx, bucketProfiles, tenantKey(rid, cid), decodeJSON[PermissionProfile])
}

// Profile returns one profile of the client; one of another client or
// reseller is ErrNotFound, since the key holds both.
func (tx *Tx) Profile(rid, cid, pid uint64) (*PermissionProfile, error) {
	var p PermissionProfile
	if err := get(tx.bucket(bucketProfiles), profileKey(rid, cid, pid), &p); err != nil { // tenant and client scope are in the key
		return nil, fmt.Errorf("store: profile %d/%d/%d: %w", rid, cid, pid, err)
	}
	return &p, nil
}

func (tx *Tx) checkProfileName(p *PermissionProfile) error {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || p.ClientID == 0 {
		return fmt.Errorf("store: profile: client and name required: %w", ErrInvalid)
	}
	others, err := tx.Profiles(p.ResellerID, p.ClientID)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID != p.ID && strings.EqualFold(o.Name, p.Name) {
			return fmt.Errorf("store: profile %q: %w", p.Name, ErrProfileName)
		}
	}
	return nil
}

// CreateProfile stores a new profile of a client of the reseller.
func (tx *Tx) CreateProfile(p *PermissionProfile) error {
	if _, err := tx.Client(p.ResellerID, p.ClientID); err != nil {
		return err
	}
	if err := tx.checkProfileName(p); err != nil {
		return err
	}
	id, err := tx.bucket(bucketProfiles).NextSequence()
	if err != nil {
		return err
	}
	p.ID = id
	p.CreatedAt, p.UpdatedAt = tx.now, tx.now
	return put(tx.bucket(bucketProfiles), profileKey(p.ResellerID, p.ClientID, id), p)
}

// UpdateProfile saves a changed profile (name and access).
func (tx *Tx) UpdateProfile(p *PermissionProfile) error {
	old, err := tx.Profile(p.ResellerID, p.ClientID, p.ID)
	if err != nil {
		return err
	}
	if err := tx.checkProfileName(p); err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = old.CreatedAt, tx.now
	return put(tx.bucket(bucketProfiles), profileKey(p.ResellerID, p.ClientID, p.ID), p)
}

// ProfileUsers lists the client's users who have the profile.
func (tx *Tx) ProfileUsers(rid, cid, pid uint64) ([]*User, error) {
	users, err := tx.ClientUsers(rid, cid)
	if err != nil {
		return nil, err
	}
	var out []*User
	for _, u := range users {
		if u.ProfileID == pid {
			out = append(out, u)
		}
	}
	return out, nil
}

// DeleteProfile removes a profile nobody has. A profile still assigned is
// ErrProfileInUse: dropping it would give its users their role's wider
// defaults behind the admin's back.
func (tx *Tx) DeleteProfile(rid, cid, pid uint64) (*PermissionProfile, error) {
	p, err := tx.Profile(rid, cid, pid)
	if err != nil {
		return nil, err
	}
	users, err := tx.ProfileUsers(rid, cid, pid)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return nil, fmt.Errorf("store: profile %d: %w", pid, ErrProfileInUse)
	}
	return p, tx.bucket(bucketProfiles).Delete(profileKey(rid, cid, pid))
}

// Invitation is a mailed, single-use link by which an invited user sets a
// password and joins a client's team, stored under the SHA-256 of its
// token. A user has at most one live invitation: a new one revokes the
// previous (see CreateInvitation).
type Invitation struct {
	Hash       []byte    `json:"hash"`
	ResellerID uint64    `json:"reseller_id"`
	ClientID   uint64    `json:"client_id"`
	UserID     uint64    `json:"user_id"`
	Email      string    `json:"email"`
	InvitedBy  string    `json:"invited_by"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UsedAt     time.Time `json:"used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// Invitation states, as InvitationState reports them.
const (
	InvitationPending = "pending"
	InvitationUsed    = "used"
	InvitationRevoked = "revoked"
	InvitationExpired = "expired"
)

// State is the invitation's state at now.
func (i *Invitation) State(now time.Time) string {
	switch {
	case !i.UsedAt.IsZero():
		return InvitationUsed
	case !i.RevokedAt.IsZero():
		return InvitationRevoked
	case !now.Before(i.ExpiresAt):
		return InvitationExpired
	}
	return InvitationPending
}

// CreateInvitation stores a new invitation for an invited user and makes
// it the user's only live one: the previous invitation, if any, is revoked
// in the same transaction, so an older link stops working.
func (tx *Tx) CreateInvitation(inv *Invitation) error {
	u, err := tx.User(inv.ResellerID, inv.UserID)
	if err != nil {
		return err
	}
	if u.ClientID == 0 || u.ClientID != inv.ClientID || u.Status != UserInvited || len(inv.Hash) == 0 {
		return fmt.Errorf("store: invitation for user %d: %w", inv.UserID, ErrInvalid)
	}
	if _, err := tx.RevokeInvitation(inv.ResellerID, inv.UserID); err != nil {
		return err
	}
	inv.Email = u.Email
	inv.CreatedAt = tx.now
	if err := put(tx.bucket(bucketInvitations), inv.Hash, inv); err != nil {
		return err
	}
	return tx.bucket(bucketUserInvitations).Put(tenantKey(inv.ResellerID, inv.UserID), inv.Hash)
}

// Invitation returns the invitation stored under hash, whatever its state,
// if it belongs to the reseller; anything else is ErrNotFound.
func (tx *Tx) Invitation(rid uint64, hash []byte) (*Invitation, error) {
	var inv Invitation
	if err := get(tx.bucket(bucketInvitations), hash, &inv); err != nil {
		return nil, fmt.Errorf("store: invitation: %w", err)
	}
	if inv.ResellerID != rid { // tenant scope: a link minted for one reseller does nothing on another's host
		return nil, fmt.Errorf("store: invitation: %w", ErrNotFound)
	}
	return &inv, nil
}

// UserInvitation returns the user's latest invitation, whatever its state.
func (tx *Tx) UserInvitation(rid, uid uint64) (*Invitation, error) {
	hash := tx.bucket(bucketUserInvitations).Get(tenantKey(rid, uid))
	if hash == nil {
		return nil, fmt.Errorf("store: invitation of user %d/%d: %w", rid, uid, ErrNotFound)
	}
	return tx.Invitation(rid, bytes.Clone(hash))
}

// RevokeInvitation revokes the user's pending invitation; it reports
// whether there was one to revoke.
func (tx *Tx) RevokeInvitation(rid, uid uint64) (bool, error) {
	inv, err := tx.UserInvitation(rid, uid)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if inv.State(tx.now) != InvitationPending {
		return false, nil
	}
	inv.RevokedAt = tx.now
	return true, put(tx.bucket(bucketInvitations), inv.Hash, inv)
}

// AcceptInvitation spends a pending invitation: the invited user gets the
// password hash and becomes active, all or nothing. An invitation that is
// not pending is ErrNotFound (the caller reads its state to explain).
func (tx *Tx) AcceptInvitation(rid uint64, hash []byte, passwordHash string) (*User, error) {
	inv, err := tx.Invitation(rid, hash)
	if err != nil {
		return nil, err
	}
	if inv.State(tx.now) != InvitationPending {
		return nil, fmt.Errorf("store: invitation %s: %w", inv.State(tx.now), ErrNotFound)
	}
	u, err := tx.User(rid, inv.UserID)
	if err != nil {
		return nil, err
	}
	if u.Status != UserInvited || u.ClientID != inv.ClientID {
		return nil, fmt.Errorf("store: invitation: user is no longer invited: %w", ErrNotFound)
	}
	inv.UsedAt = tx.now
	if err := put(tx.bucket(bucketInvitations), hash, inv); err != nil {
		return nil, err
	}
	u.PasswordHash = passwordHash
	u.Status = UserActive
	u.MustChangePassword = false
	if err := tx.UpdateUser(u); err != nil {
		return nil, err
	}
	return u, nil
}

// DeleteUser removes a client's user for good: sessions, indexes and any
// pending invitation (revoked, so its link explains itself) go with it.
// The email is free again afterwards.
func (tx *Tx) DeleteUser(rid, uid uint64) (*User, error) {
	u, err := tx.User(rid, uid)
	if err != nil {
		return nil, err
	}
	if _, err := tx.RevokeInvitation(rid, uid); err != nil {
		return nil, err
	}
	if err := tx.bucket(bucketUserInvitations).Delete(tenantKey(rid, uid)); err != nil {
		return nil, err
	}
	return u, tx.deleteUser(u)
}

// DeleteExpiredInvitations drops invitations more than keep past their
// expiry (used or not), and their index entries.
func (tx *Tx) DeleteExpiredInvitations(keep time.Duration) (int, error) {
	b := tx.bucket(bucketInvitations)
	var dead []*Invitation
	err := b.ForEach(func(k, v []byte) error {
		var inv Invitation
		if err := unmarshal(v, &inv); err != nil {
			return err
		}
		if tx.now.After(inv.ExpiresAt.Add(keep)) {
			dead = append(dead, &inv)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	idx := tx.bucket(bucketUserInvitations)
	for _, inv := range dead {
		if cur := idx.Get(tenantKey(inv.ResellerID, inv.UserID)); bytes.Equal(cur, inv.Hash) {
			if err := idx.Delete(tenantKey(inv.ResellerID, inv.UserID)); err != nil {
				return 0, err
			}
		}
		if err := b.Delete(inv.Hash); err != nil {
			return 0, err
		}
	}
	return len(dead), nil
}

func (tx *Tx) verifyTeams(add addFunc) error {
	err := tx.bucket(bucketUserInvitations).ForEach(func(k, v []byte) error {
		rid, uid := readU64(k[:8]), readU64(k[8:16])
		inv, err := tx.Invitation(rid, v)
		if err != nil || inv.UserID != uid {
			add("invitation index of user %d/%d points at an invitation that is not theirs", rid, uid)
		}
		if _, err := tx.User(rid, uid); err != nil {
			add("invitation index names user %d/%d, who does not exist", rid, uid)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.bucket(bucketUsers).ForEach(func(k, v []byte) error {
		var u User
		if err := unmarshal(v, &u); err != nil {
			return err
		}
		if u.ProfileID == 0 {
			return nil
		}
		if _, err := tx.Profile(u.ResellerID, u.ClientID, u.ProfileID); err != nil {
			add("user %d/%d has profile %d, which is not one of their client's", u.ResellerID, u.ID, u.ProfileID)
		}
		return nil
	})
}
