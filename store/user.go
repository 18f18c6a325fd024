package store

import (
	"fmt"
	"strings"
	"time"
)

// Staff roles (users with no client) and client roles.
const (
	RoleOwner     = "owner"
	RoleAdmin     = "admin"
	RoleBilling   = "billing"
	RoleSupport   = "support"
	RoleManager   = "manager"
	RoleUser      = "user"
	RolePublisher = "publisher"
)

// User statuses.
const (
	UserInvited  = "invited"
	UserActive   = "active"
	UserDisabled = "disabled"
)

// User is a person who signs in: reseller staff when ClientID is 0,
// otherwise a member of that client's team.
type User struct {
	ID         uint64 `json:"id"`
	ResellerID uint64 `json:"reseller_id"`
	ClientID   uint64 `json:"client_id,omitempty"`
	Email      string `json:"email"`
	// Name is the display name of users created before names were split;
	// FirstName and LastName are what forms edit (see DisplayName).
	Name         string    `json:"name"`
	FirstName    string    `json:"first_name,omitempty"`
	LastName     string    `json:"last_name,omitempty"`
	Role         string    `json:"role"`
	Status       string    `json:"status"`
	PasswordHash string    `json:"password_hash"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	LastLoginAt  time.Time `json:"last_login_at,omitzero"`
	// ProfileID names the client's permission profile that narrows a
	// manager's or user's access (0: the role's defaults; see app/access).
	ProfileID uint64 `json:"profile_id,omitempty"`
	// MustChangePassword holds a user who was given an initial password
	// on a page that only lets them choose their own.
	MustChangePassword bool `json:"must_change_password,omitempty"`

	// Phone (E.164), Company, JobTitle and Address are the contact
	// details of the Profile tab.
	Phone    string `json:"phone,omitempty"`
	Company  string `json:"company,omitempty"`
	JobTitle string `json:"job_title,omitempty"`
	Address  string `json:"address,omitempty"`
	// AvatarSHA256 is the hex digest of the avatar in bucketAvatars ("" for
	// none); the avatar's URL carries it (see SetAvatar).
	AvatarSHA256 string `json:"avatar_sha256,omitempty"`
	// TwoFactor is the user's TOTP sign-in step (see twofactor.go).
	TwoFactor TwoFactor `json:"two_factor,omitzero"`
}

// DisplayName is how the user is named on pages: first and last name,
// else the older single name, else the email.
func (u *User) DisplayName() string {
	if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
		return n
	}
	if n := strings.TrimSpace(u.Name); n != "" {
		return n
	}
	return u.Email
}

// Staff reports whether the user works for the reseller itself.
func (u *User) Staff() bool { return u.ClientID == 0 }

// User returns one of the reseller's users.
func (tx *Tx) User(rid, uid uint64) (*User, error) {
	var u User
	if err := get(tx.bucket(bucketUsers), tenantKey(rid, uid), &u); err != nil {
		return nil, fmt.Errorf("store: user %d/%d: %w", rid, uid, err)
	}
	return &u, nil
}

// UserByEmail finds a user by email within one reseller.
func (tx *Tx) UserByEmail(rid uint64, email string) (*User, error) {
	id := tx.bucket(bucketUserEmails).Get(emailKey(rid, email))
	if id == nil {
		return nil, fmt.Errorf("store: user %q: %w", NormalizeEmail(email), ErrNotFound)
	}
	return tx.User(rid, readU64(id))
}

// Users lists a reseller's users in id order.
func (tx *Tx) Users(rid uint64) ([]*User, error) {
	return listByPrefix(tx, bucketUsers, u64(rid), decodeJSON[User])
}

// ResellerOwner returns the reseller's staff owner.
func (tx *Tx) ResellerOwner(rid uint64) (*User, error) {
	users, err := tx.Users(rid)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.Staff() && u.Role == RoleOwner {
			return u, nil
		}
	}
	return nil, fmt.Errorf("store: owner of reseller %d: %w", rid, ErrNotFound)
}

// CreateUser stores a new user. The email must be free within the reseller
// and a business has one owner.
func (tx *Tx) CreateUser(u *User) error {
	if u.ResellerID == 0 || u.Email == "" || u.PasswordHash == "" && u.Status != UserInvited {
		return fmt.Errorf("store: user: reseller, email and password are required: %w", ErrInvalid)
	}
	if _, err := tx.Reseller(u.ResellerID); err != nil {
		return err
	}
	emails := tx.bucket(bucketUserEmails)
	ek := emailKey(u.ResellerID, u.Email)
	if emails.Get(ek) != nil {
		return fmt.Errorf("store: user email %q: %w", NormalizeEmail(u.Email), ErrConflict)
	}
	if u.Role == RoleOwner {
		var users []*User
		var err error
		if u.ClientID != 0 {
			users, err = tx.ClientUsers(u.ResellerID, u.ClientID)
		} else {
			users, err = tx.Users(u.ResellerID)
		}
		if err != nil {
			return err
		}
		for _, other := range users {
			if other.Role == RoleOwner && other.ClientID == u.ClientID {
				return fmt.Errorf("store: an owner exists already: %w", ErrConflict)
			}
		}
	}
	b := tx.bucket(bucketUsers)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	u.ID = id
	u.Email = NormalizeEmail(u.Email)
	if u.Status == "" {
		u.Status = UserActive
	}
	u.CreatedAt, u.UpdatedAt = tx.now, tx.now
	if err := emails.Put(ek, u64(id)); err != nil {
		return err
	}
	if u.ClientID != 0 {
		if err := tx.bucket(bucketClientUsers).Put(clientUserKey(u.ResellerID, u.ClientID, id), nil); err != nil {
			return err
		}
	}
	return put(b, tenantKey(u.ResellerID, id), u)
}

// UpdateUser saves a changed user, keeping the email index in step.
func (tx *Tx) UpdateUser(u *User) error {
	old, err := tx.User(u.ResellerID, u.ID)
	if err != nil {
		return err
	}
	u.Email = NormalizeEmail(u.Email)
	if old.Email != u.Email {
		emails := tx.bucket(bucketUserEmails)
		if emails.Get(emailKey(u.ResellerID, u.Email)) != nil {
			return fmt.Errorf("store: user email %q: %w", u.Email, ErrConflict)
		}
		if err := emails.Delete(emailKey(u.ResellerID, old.Email)); err != nil {
			return err
		}
		if err := emails.Put(emailKey(u.ResellerID, u.Email), u64(u.ID)); err != nil {
			return err
		}
	}
	u.CreatedAt = old.CreatedAt
	u.UpdatedAt = tx.now
	return put(tx.bucket(bucketUsers), tenantKey(u.ResellerID, u.ID), u)
}

// SetPassword replaces a user's password hash and revokes all their sessions.
func (tx *Tx) SetPassword(rid, uid uint64, hash string) error {
	u, err := tx.User(rid, uid)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if err := tx.UpdateUser(u); err != nil {
		return err
	}
	_, err = tx.DeleteUserSessions(rid, uid)
	return err
}

// RecordLogin notes a successful sign-in.
func (tx *Tx) RecordLogin(rid, uid uint64) error {
	u, err := tx.User(rid, uid)
	if err != nil {
		return err
	}
	u.LastLoginAt = tx.now
	return tx.UpdateUser(u)
}
