// Package tenancy owns the operator's side of tenants: reconciling the
// resellers declared in config.toml with the store, creating their first
// owners, the staff users and reseller API keys that the CLI creates, and
// the one rule of which reseller a host serves (hosts.go), used by the
// tenant middleware and the TLS decision. It never imports Fiber.
package tenancy

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"portico/app/actor"
	"portico/app/auth"
	"portico/app/config"
	"portico/app/fault"
	"portico/app/textfield"
	"portico/store"
	"portico/store/money"
)

// FirstOwner is an owner created by Reconcile, with the only copy of its
// generated password.
type FirstOwner struct {
	Slug     string
	Email    string
	Password string
}

// Specs turns the [[reseller]] entries into store specs.
func Specs(cfg *config.Config) ([]store.ResellerSpec, error) {
	specs := make([]store.ResellerSpec, 0, len(cfg.Resellers))
	for _, r := range cfg.Resellers {
		var limit, maxRecharge int64
		for _, amount := range []struct {
			text string
			dst  *int64
		}{{r.CreditLimit, &limit}, {r.MaxRecharge, &maxRecharge}} {
			if amount.text == "" {
				continue
			}
			v, err := money.Parse(amount.text)
			if err != nil {
				return nil, fmt.Errorf("tenancy: reseller %s: %w", r.Slug, err)
			}
			*amount.dst = v
		}
		specs = append(specs, store.ResellerSpec{
			Slug: r.Slug, Name: r.Name, Currency: r.Currency, Timezone: r.Timezone,
			Domains: slices.Clone(r.Domains), OwnerEmail: r.OwnerEmail,
			PrimaryColor: r.PrimaryColor, AccentColor: r.AccentColor, CreditLimit: limit, MaxRecharge: maxRecharge,
			MaxCallSeconds: int(r.MaxCallLength.Seconds()), CDRRetentionMonths: r.CDRRetentionMonths,
		})
	}
	return specs, nil
}

// Reconcile makes the store's resellers match cfg and creates an owner,
// with a random first password, for every reseller that has none. Running
// it again creates nothing and returns no owners.
func Reconcile(s *store.Store, cfg *config.Config) (*store.ReconcileResult, []FirstOwner, error) {
	specs, err := Specs(cfg)
	if err != nil {
		return nil, nil, err
	}
	res, err := s.ReconcileResellers(specs)
	if err != nil {
		return nil, nil, err
	}
	var owners []FirstOwner
	for _, r := range res.NeedOwner {
		password := auth.GeneratePassword()
		hash, err := auth.HashPassword(password)
		if err != nil {
			return nil, nil, err
		}
		err = s.Update(func(tx *store.Tx) error {
			u := &store.User{ResellerID: r.ID, Email: r.OwnerEmail, Name: "Owner", Role: store.RoleOwner, PasswordHash: hash}
			if err := tx.CreateUser(u); err != nil {
				return err
			}
			return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: "operator", Action: "user.create", Target: u.Email})
		})
		if err != nil {
			return nil, nil, fmt.Errorf("tenancy: first owner of %s: %w", r.Slug, err)
		}
		owners = append(owners, FirstOwner{Slug: r.Slug, Email: store.NormalizeEmail(r.OwnerEmail), Password: password})
	}
	return res, owners, nil
}

// StaffRoles are the roles a reseller's own staff can hold.
var StaffRoles = []string{store.RoleOwner, store.RoleAdmin, store.RoleBilling, store.RoleSupport}

// CreateStaffUser adds a reseller staff user after checking the role, the
// email and the reseller's password policy.
func CreateStaffUser(s *store.Store, slug, email, role, password string) (*store.User, error) {
	if !slices.Contains(StaffRoles, role) {
		return nil, fault.InvalidField("role", fmt.Sprintf("%q must be one of %v", role, StaffRoles))
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Name != "" {
		return nil, fault.InvalidField("email", fmt.Sprintf("%q is not an email address", email))
	}
	var r *store.Reseller
	if err := s.View(func(tx *store.Tx) (err error) { r, err = tx.ResellerBySlug(slug); return err }); err != nil {
		return nil, fmt.Errorf("reseller %q: %w", slug, err)
	}
	if problem := Policy(r).Check(password); problem != "" {
		return nil, fault.InvalidField("password", problem)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return nil, err
	}
	u := &store.User{ResellerID: r.ID, Email: email, Role: role, PasswordHash: hash}
	err = s.Update(func(tx *store.Tx) error {
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: "operator", Action: "user.create", Target: u.Email})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// CreateResellerAPIKey issues a reseller key and returns it; it is never
// shown again (only its hash is kept).
func CreateResellerAPIKey(s *store.Store, slug, name, actor string) (string, error) {
	if name == "" {
		return "", fault.InvalidField("name", "must not be empty")
	}
	if msg := textfield.SingleLine(name); msg != "" {
		return "", fault.InvalidField("name", msg)
	}
	key, prefix, hash := auth.NewAPIKey()
	err := s.Update(func(tx *store.Tx) error {
		r, err := tx.ResellerBySlug(slug)
		if err != nil {
			return fmt.Errorf("reseller %q: %w", slug, err)
		}
		k := &store.APIKey{ResellerID: r.ID, Name: name, Prefix: prefix, Hash: hash, CreatedBy: actor}
		if err := tx.CreateAPIKey(k); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: actor, Action: "api_key.create", Target: prefix + " " + name})
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// Policy is the reseller's password policy in auth's terms.
func Policy(r *store.Reseller) auth.Policy {
	p := r.PasswordPolicy
	return auth.Policy{MinLength: p.MinLength, MaxLength: p.MaxLength, RequireDigit: p.RequireDigit,
		RequireUpper: p.RequireUpper, RequireLower: p.RequireLower, RequireSpecial: p.RequireSpecial,
		RejectCommon: p.RejectCommon}
}

// StaffInput is a new staff member as the staff page submits it.
type StaffInput struct {
	Name, Email, Role, Password, Confirm string
}

// AssignableStaffRoles are the roles the staff page can give: the owner
// is set from config.toml and never assigned here.
var AssignableStaffRoles = []string{store.RoleAdmin, store.RoleBilling, store.RoleSupport}

// AddStaff validates and creates a staff user of r; problems come back
// as fault.Fields; by is recorded in the audit log.
func AddStaff(s *store.Store, r *store.Reseller, in StaffInput, by actor.Actor) error {
	var problems fault.Fields
	in.Name, in.Email = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email)
	if in.Name == "" || len(in.Name) > 100 {
		problems.Add("name", "Enter a name of at most 100 characters.")
	} else if msg := textfield.SingleLine(in.Name); msg != "" {
		problems.Add("name", msg)
	}
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
		problems.Add("email", "Enter an email address such as name@example.com.")
	}
	if !slices.Contains(AssignableStaffRoles, in.Role) {
		problems.Add("role", "Choose admin, billing or support.")
	}
	if p := Policy(r).Check(in.Password); p != "" {
		problems.Add("password", p)
	} else if in.Confirm != in.Password {
		problems.Add("confirm", "The two passwords differ.")
	}
	if err := problems.Err(); err != nil {
		return err
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return err
	}
	err = s.Update(func(tx *store.Tx) error {
		u := &store.User{ResellerID: r.ID, Email: in.Email, Name: in.Name, Role: in.Role, PasswordHash: hash}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: "user.create", Target: u.Email + " (" + u.Role + ")", IP: by.IP})
	})
	if errors.Is(err, store.ErrConflict) {
		return fault.InvalidField("email", "Another user of this portal already has this email.")
	}
	return err
}

// ErrNotAllowed refuses a change to the owner or to oneself.
var ErrNotAllowed = fault.New(fault.Forbidden, "The owner and your own account cannot be changed here.")

// UpdateStaff changes a staff member's role and status. The owner, and the
// acting user's own account (by.User), cannot be changed here (no
// lock-out by mistake); another reseller's user is not found.
func UpdateStaff(s *store.Store, rid, uid uint64, role, status string, by actor.Actor) (*store.User, error) {
	var problems fault.Fields
	if !slices.Contains(AssignableStaffRoles, role) {
		problems.Add("role", "Choose admin, billing or support.")
	}
	if status != store.UserActive && status != store.UserDisabled {
		problems.Add("status", "Choose active or disabled.")
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	var u *store.User
	err := s.Update(func(tx *store.Tx) error {
		var err error
		if u, err = tx.User(rid, uid); err != nil { // tenant scope: rid comes from the host
			return err
		}
		if !u.Staff() {
			return fmt.Errorf("user %d: %w", uid, store.ErrNotFound)
		}
		if u.Role == store.RoleOwner || u.ID == by.User.ID {
			return ErrNotAllowed
		}
		if u.Role == role && u.Status == status {
			return nil
		}
		u.Role, u.Status = role, status
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		if status == store.UserDisabled {
			if _, err := tx.DeleteUserSessions(rid, uid); err != nil {
				return err
			}
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, Actor: by.Name, Action: "user.update", Target: u.Email + " (" + role + ", " + status + ")", IP: by.IP})
	})
	return u, err
}
