package team

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"portico/app/access"
	"portico/app/actor"
	"portico/app/fault"
	"portico/app/textfield"
	"portico/store"
)

// ProfileNameMax is the longest profile name, in characters.
const ProfileNameMax = 60

// InUseError refuses to delete a profile that members still have; Users
// are they. Deleting it would hand them their role's wider defaults, so
// the admin first moves them to another profile (or to role defaults on
// purpose) in the Team tab.
type InUseError struct{ Users []*store.User }

func (e *InUseError) Error() string {
	return fmt.Sprintf("team: profile in use by %d users: %v", len(e.Users), store.ErrConflict)
}

// Unwrap makes it a store.ErrConflict.
func (e *InUseError) Unwrap() error { return store.ErrConflict }

// ProfileInput is the form of a profile: a name and a level per module.
// Modules left out are none: a new profile starts with nothing.
type ProfileInput struct {
	Name   string
	Levels access.Map
}

func (in *ProfileInput) validate() (fault.Fields, map[string]string) {
	var errs fault.Fields
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		errs.Add("name", "Enter a name, such as “Call centre agents”.")
	case textfield.SingleLine(in.Name) != "":
		errs.Add("name", textfield.SingleLineMessage)
	case utf8.RuneCountInString(in.Name) > ProfileNameMax:
		errs.Add("name", fmt.Sprintf("Use at most %d characters.", ProfileNameMax))
	}
	stored := map[string]string{}
	for _, m := range access.Modules {
		stored[string(m)] = in.Levels[m].String()
	}
	return errs, stored
}

// CreateProfile adds a profile to client cid.
func (s *Service) CreateProfile(rid, cid uint64, in ProfileInput, by actor.Actor) (*store.PermissionProfile, error) {
	errs, levels := in.validate()
	if len(errs) > 0 {
		return nil, errs
	}
	p := &store.PermissionProfile{ResellerID: rid, ClientID: cid, Name: in.Name, Access: levels}
	err := s.store.Update(func(tx *store.Tx) error {
		if err := tx.CreateProfile(p); errors.Is(err, store.ErrProfileName) {
			return fault.InvalidField("name", "A profile of this name exists already; choose another name.")
		} else if err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, ClientID: cid, Actor: by.User.Email, Action: "profile.create", Target: p.Name, IP: by.IP})
	})
	return p, err
}

// UpdateProfile renames and re-levels profile pid of client cid; its
// members' access changes with their next request.
func (s *Service) UpdateProfile(rid, cid, pid uint64, in ProfileInput, by actor.Actor) (*store.PermissionProfile, error) {
	errs, levels := in.validate()
	var p *store.PermissionProfile
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		if p, err = tx.Profile(rid, cid, pid); err != nil { // scope: another client's profile is not found
			return err
		}
		if len(errs) > 0 {
			return errs
		}
		p.Name, p.Access = in.Name, levels
		if err := tx.UpdateProfile(p); errors.Is(err, store.ErrProfileName) {
			return fault.InvalidField("name", "A profile of this name exists already; choose another name.")
		} else if err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, ClientID: cid, Actor: by.User.Email, Action: "profile.update", Target: p.Name, IP: by.IP})
	})
	return p, err
}

// DeleteProfile removes profile pid of client cid if nobody has it, else
// *InUseError naming who does.
func (s *Service) DeleteProfile(rid, cid, pid uint64, by actor.Actor) (*store.PermissionProfile, error) {
	var p *store.PermissionProfile
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		p, err = tx.DeleteProfile(rid, cid, pid)
		if errors.Is(err, store.ErrProfileInUse) {
			users, uerr := tx.ProfileUsers(rid, cid, pid)
			if uerr != nil {
				return uerr
			}
			return &InUseError{Users: users}
		}
		if err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, ClientID: cid, Actor: by.User.Email, Action: "profile.delete", Target: p.Name, IP: by.IP})
	})
	return p, err
}
