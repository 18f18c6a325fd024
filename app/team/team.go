// Package team manages a client's team: its users (added with an initial
// password or invited by mail), their roles, permission profiles and
// status, invitations, and handing over ownership. Every change commits in
// one transaction with its audit event. It uses the store and the access
// model; it never imports Fiber.
package team

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"portico/app/access"
	"portico/app/actor"
	"portico/app/auth"
	"portico/app/fault"
	"portico/app/tenancy"
	"portico/app/textfield"
	"portico/store"
)

// InvitationLifetime is how long a mailed invitation link works.
const InvitationLifetime = 72 * time.Hour

// NameMax is the longest first or last name, in characters.
const NameMax = 100

// Roles a member can be given (the owner comes only from a transfer).
var Roles = []string{store.RoleAdmin, store.RoleManager, store.RoleUser, store.RolePublisher}

// Statuses a member can be set to from the Team tab.
var Statuses = []string{store.UserActive, store.UserDisabled}

// Mailer queues mail in the caller's transaction (app/mail.Queue).
type Mailer interface {
	Enqueue(tx *store.Tx, m *store.MailMessage) error
}

// InviteMail writes the invitation mail for a new token; the app brands it
// and builds the link from the reseller's canonical host.
type InviteMail func(token string, u *store.User, cl *store.Client, by *store.User) *store.MailMessage

// Service changes client teams.
type Service struct {
	store *store.Store
	mail  Mailer
}

// New returns the service.
func New(s *store.Store, m Mailer) *Service { return &Service{store: s, mail: m} }

// Every method takes the acting signed-in user as an actor.Actor whose
// User is set: the rules below are about who acts.

// notAllowed refuses an act that the rules of the team forbid (the owner,
// one's own account), with the reason for people.
func notAllowed(reason string) error { return fault.New(fault.Forbidden, reason) }

// ErrNotInvited refuses invitation acts for a user who is not invited.
var ErrNotInvited = fault.New(fault.Conflict, "This person has already joined; there is no invitation to send or withdraw.")

// Member is the form of a new or edited member.
type Member struct {
	FirstName, LastName string
	Email               string // new members only
	Role                string
	ProfileID           uint64
	Status              string // edits only: active or disabled
	// Invite mails an invitation; otherwise Password (with Confirm) is
	// the initial password, which the member must change at first sign-in.
	Invite            bool
	Password, Confirm string
}

func checkName(errs *fault.Fields, field, label, v string, required bool) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		errs.Add(field, "Enter the "+label+".")
	case textfield.SingleLine(v) != "":
		errs.Add(field, textfield.SingleLineMessage)
	case utf8.RuneCountInString(v) > NameMax:
		errs.Add(field, fmt.Sprintf("Use at most %d characters.", NameMax))
	}
	return v
}

// checkRoleProfile validates the role and profile inside tx: a profile of
// another client is store.ErrNotFound.
func checkRoleProfile(tx *store.Tx, rid, cid uint64, in *Member, errs *fault.Fields) error {
	if !slices.Contains(Roles, in.Role) {
		errs.Add("role", "Choose admin, manager, user or publisher.")
		return nil
	}
	if in.ProfileID == 0 {
		return nil
	}
	if !access.TakesProfile(in.Role) {
		errs.Add("profile", "Permission profiles apply to managers and users only; choose “Role defaults”.")
		return nil
	}
	_, err := tx.Profile(rid, cid, in.ProfileID) // scope: only this client's profiles
	return err
}

// Add creates a member of client cid: active with an initial password they
// must change at first sign-in, or invited with a mailed link (written by
// mail). Nothing is saved when anything is wrong. An email used by anyone
// of the reseller (client users and staff) is a field error.
func (s *Service) Add(r *store.Reseller, cid uint64, in Member, by actor.Actor, mail InviteMail) (*store.User, error) {
	var errs fault.Fields
	in.FirstName = checkName(&errs, "first_name", "first name", in.FirstName, true)
	in.LastName = checkName(&errs, "last_name", "last name", in.LastName, false)
	in.Email = strings.TrimSpace(in.Email)
	if addr, err := mailAddress(in.Email); err != nil {
		errs.Add("email", "Enter an email address such as name@example.com.")
	} else {
		in.Email = addr
	}
	var hash string
	if !in.Invite {
		if problem := tenancy.Policy(r).Check(in.Password); problem != "" {
			errs.Add("password", problem)
		} else if in.Confirm != in.Password {
			errs.Add("confirm", "The two passwords differ.")
		}
	}
	if !in.Invite && len(errs) == 0 {
		// Hashed before the write transaction: the hash may wait for a slot
		// of the one hasher, and the store's only writer must not wait with it.
		var err error
		if hash, err = auth.HashPassword(in.Password); err != nil {
			return nil, err
		}
	}
	u := &store.User{ResellerID: r.ID, ClientID: cid, Email: in.Email, FirstName: in.FirstName, LastName: in.LastName,
		Role: in.Role, ProfileID: in.ProfileID}
	err := s.store.Update(func(tx *store.Tx) error {
		cl, err := tx.Client(r.ID, cid) // tenant scope: the client comes from the session
		if err != nil {
			return err
		}
		if err := checkRoleProfile(tx, r.ID, cid, &in, &errs); err != nil {
			return err
		}
		if _, err := tx.UserByEmail(r.ID, in.Email); err == nil && !errs.Has("email") {
			errs.Add("email", emailTaken)
		}
		if err := errs.Err(); err != nil {
			return err
		}
		if in.Invite {
			u.Status = store.UserInvited
		} else {
			u.PasswordHash, u.MustChangePassword = hash, true
		}
		if err := tx.CreateUser(u); errors.Is(err, store.ErrConflict) {
			return fault.InvalidField("email", emailTaken)
		} else if err != nil {
			return err
		}
		action := "user.create"
		if in.Invite {
			action = "user.invite"
			if err := s.invite(tx, u, cl, by, mail); err != nil {
				return err
			}
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, ClientID: cid, Actor: by.Name, Action: action,
			Target: u.Email + " (" + u.Role + ")", IP: by.IP})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// emailTaken refuses a new member's email that someone of the reseller
// already signs in with.
const emailTaken = "Someone with this email already has an account here. Each person signs in with their own email."

// invite stores a fresh invitation for u (revoking any older one) and
// queues its mail, in tx.
func (s *Service) invite(tx *store.Tx, u *store.User, cl *store.Client, by actor.Actor, mail InviteMail) error {
	token, hash := auth.NewToken() // only the hash is stored; the token travels in the mail only
	if err := tx.CreateInvitation(&store.Invitation{Hash: hash, ResellerID: u.ResellerID, ClientID: u.ClientID, UserID: u.ID,
		InvitedBy: by.Name, ExpiresAt: tx.Now().Add(InvitationLifetime)}); err != nil {
		return err
	}
	return s.mail.Enqueue(tx, mail(token, u, cl, by.User))
}

// member loads user uid of client cid in tx; a user of another client or
// reseller is store.ErrNotFound.
func member(tx *store.Tx, rid, cid, uid uint64) (*store.User, error) {
	u, err := tx.User(rid, uid)
	if err != nil {
		return nil, err
	}
	if u.ClientID != cid || u.Staff() { // scope: another client's user does not exist for this one
		return nil, fmt.Errorf("team: user %d of client %d: %w", uid, cid, store.ErrNotFound)
	}
	return u, nil
}

// Update edits member uid: name, role, profile and status. The owner keeps
// the role and status (only a transfer changes them), and nobody changes
// their own role or status, so an admin cannot lock themselves out or
// demote themselves by accident. Disabling signs the member out
// everywhere. Invited members keep their status until they accept.
func (s *Service) Update(rid, cid, uid uint64, in Member, by actor.Actor) (*store.User, error) {
	var errs fault.Fields
	in.FirstName = checkName(&errs, "first_name", "first name", in.FirstName, true)
	in.LastName = checkName(&errs, "last_name", "last name", in.LastName, false)
	var u *store.User
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		if u, err = member(tx, rid, cid, uid); err != nil {
			return err
		}
		fixed := u.Role == store.RoleOwner || u.ID == by.User.ID
		if fixed {
			if in.Role != u.Role || in.Status != "" && in.Status != u.Status {
				if u.ID == by.User.ID {
					return notAllowed("You cannot change your own role or status. Ask the owner or another admin.")
				}
				return notAllowed("The owner keeps the owner role and stays active. The owner can hand over ownership to an admin.")
			}
			in.ProfileID = 0
		} else if err := checkRoleProfile(tx, rid, cid, &in, &errs); err != nil {
			return err
		}
		status := u.Status
		if u.Status != store.UserInvited && !fixed {
			if !slices.Contains(Statuses, in.Status) {
				errs.Add("status", "Choose active or disabled.")
			}
			status = in.Status
		}
		if err := errs.Err(); err != nil {
			return err
		}
		before := *u
		u.FirstName, u.LastName, u.Role, u.ProfileID, u.Status = in.FirstName, in.LastName, in.Role, in.ProfileID, status
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		action := "user.update"
		switch {
		case before.Status != store.UserDisabled && status == store.UserDisabled:
			action = "user.disable"
			if _, err := tx.DeleteUserSessions(rid, u.ID); err != nil { // security: a disabled member is signed out at once
				return err
			}
		case before.Status == store.UserDisabled && status == store.UserActive:
			action = "user.enable"
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, ClientID: cid, Actor: by.User.Email, Action: action,
			Target: describeChange(&before, u), IP: by.IP})
	})
	return u, err
}

func describeChange(before, after *store.User) string {
	parts := []string{after.Email}
	if before.Role != after.Role {
		parts = append(parts, "role "+before.Role+" → "+after.Role)
	}
	if before.Status != after.Status {
		parts = append(parts, "status "+before.Status+" → "+after.Status)
	}
	if before.ProfileID != after.ProfileID {
		parts = append(parts, fmt.Sprintf("profile %d → %d", before.ProfileID, after.ProfileID))
	}
	if before.DisplayName() != after.DisplayName() {
		parts = append(parts, "name")
	}
	return strings.Join(parts, ", ")
}

// Remove deletes member uid for good: sessions revoked, any invitation
// withdrawn, the email free again. The owner and one's own account cannot
// be removed.
func (s *Service) Remove(rid, cid, uid uint64, by actor.Actor) (*store.User, error) {
	var u *store.User
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		if u, err = member(tx, rid, cid, uid); err != nil {
			return err
		}
		switch {
		case u.Role == store.RoleOwner:
			return notAllowed("The owner cannot be removed. The owner can first hand over ownership to an admin.")
		case u.ID == by.User.ID:
			return notAllowed("You cannot remove your own account. Ask the owner or another admin.")
		}
		if _, err := tx.DeleteUser(rid, uid); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, ClientID: cid, Actor: by.User.Email, Action: "user.delete",
			Target: u.Email + " (" + u.Role + ")", IP: by.IP})
	})
	return u, err
}

// Resend mails member uid a new invitation; the previous link stops
// working. The member must still be invited.
func (s *Service) Resend(rid, cid, uid uint64, by actor.Actor, mail InviteMail) (*store.User, error) {
	var u *store.User
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		if u, err = member(tx, rid, cid, uid); err != nil {
			return err
		}
		if u.Status != store.UserInvited {
			return ErrNotInvited
		}
		cl, err := tx.Client(rid, cid)
		if err != nil {
			return err
		}
		if err := s.invite(tx, u, cl, by, mail); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, ClientID: cid, Actor: by.User.Email, Action: "invitation.resend", Target: u.Email, IP: by.IP})
	})
	return u, err
}

// Revoke withdraws member uid's pending invitation; the member stays in
// the list as invited, to be invited again or removed. revoked is false
// when no invitation was pending.
func (s *Service) Revoke(rid, cid, uid uint64, by actor.Actor) (u *store.User, revoked bool, err error) {
	err = s.store.Update(func(tx *store.Tx) error {
		if u, err = member(tx, rid, cid, uid); err != nil {
			return err
		}
		if u.Status != store.UserInvited {
			return ErrNotInvited
		}
		if revoked, err = tx.RevokeInvitation(rid, uid); err != nil || !revoked {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, ClientID: cid, Actor: by.User.Email, Action: "invitation.revoke", Target: u.Email, IP: by.IP})
	})
	return u, revoked, err
}

// InvitationFor is what the accept page shows: the invitation (any state),
// the invited user and their business. An unknown token, or one of another
// reseller, is store.ErrNotFound.
func (s *Service) InvitationFor(rid uint64, token string) (*store.Invitation, *store.User, *store.Client, error) {
	var inv *store.Invitation
	var u *store.User
	var cl *store.Client
	err := s.store.View(func(tx *store.Tx) error {
		var err error
		if inv, err = tx.Invitation(rid, auth.HashToken(token)); err != nil {
			return err
		}
		if cl, err = tx.Client(rid, inv.ClientID); err != nil {
			return err
		}
		u, err = tx.User(rid, inv.UserID)
		if errors.Is(err, store.ErrNotFound) {
			u, err = nil, nil // removed since: the page says the invitation was withdrawn
		}
		return err
	})
	return inv, u, cl, err
}

// TransferOwnership hands the business over from its owner (by, who
// confirms with their password) to an active admin of the same client; the
// old owner becomes an admin. Both keep their sessions.
func (s *Service) TransferOwnership(rid, cid, toUID uint64, password string, by actor.Actor) (*store.User, error) {
	if by.User.Role != store.RoleOwner || by.User.ClientID != cid {
		return nil, notAllowed("Only the owner can hand over ownership.")
	}
	if err := auth.CheckPassword(by.User.PasswordHash, password); errors.Is(err, auth.ErrBusy) {
		return nil, err // not checked
	} else if err != nil {
		return nil, fault.InvalidField("password", "The password is incorrect.")
	}
	var to *store.User
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		if to, err = member(tx, rid, cid, toUID); err != nil {
			return err
		}
		if to.ID == by.User.ID || to.Role != store.RoleAdmin || to.Status != store.UserActive {
			return fault.InvalidField("to", "Choose an active admin. Make the person an admin first if needed.")
		}
		owner, err := tx.User(rid, by.User.ID)
		if err != nil {
			return err
		}
		owner.Role, owner.ProfileID = store.RoleAdmin, 0
		to.Role, to.ProfileID = store.RoleOwner, 0
		if err := tx.UpdateUser(owner); err != nil {
			return err
		}
		if err := tx.UpdateUser(to); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, ClientID: cid, Actor: by.User.Email, Action: "owner.transfer",
			Target: owner.Email + " → " + to.Email, IP: by.IP})
	})
	return to, err
}

// mailAddress checks a bare address (no display name) and returns it
// normalised.
func mailAddress(s string) (string, error) {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s || len(s) > 254 {
		return "", errors.New("team: not a bare email address")
	}
	return store.NormalizeEmail(addr.Address), nil
}
