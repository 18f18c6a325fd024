// Package tenancy owns the operator's side of tenants: reconciling the
// resellers declared in config.toml with the store, creating their first
// owners, and the staff users and reseller API keys that the CLI creates.
// It never imports Fiber.
package tenancy

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"portico/app/auth"
	"portico/app/config"
	"portico/app/money"
	"portico/app/textfield"
	"portico/store"
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

// ErrInput marks a problem with what the operator typed.
var ErrInput = errors.New("invalid input")

// CreateStaffUser adds a reseller staff user after checking the role, the
// email and the reseller's password policy.
func CreateStaffUser(s *store.Store, slug, email, role, password string) (*store.User, error) {
	if !slices.Contains(StaffRoles, role) {
		return nil, fmt.Errorf("role %q: must be one of %v: %w", role, StaffRoles, ErrInput)
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Name != "" {
		return nil, fmt.Errorf("email %q is not an email address: %w", email, ErrInput)
	}
	var r *store.Reseller
	if err := s.View(func(tx *store.Tx) (err error) { r, err = tx.ResellerBySlug(slug); return err }); err != nil {
		return nil, fmt.Errorf("reseller %q: %w", slug, err)
	}
	if problem := Policy(r).Check(password); problem != "" {
		return nil, fmt.Errorf("password: %s: %w", problem, ErrInput)
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
		return "", fmt.Errorf("name must not be empty: %w", ErrInput)
	}
	if msg := textfield.SingleLine(name); msg != "" {
		return "", fmt.Errorf("name: %s: %w", msg, ErrInput)
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
// by field name. actor and ip are recorded in the audit log.
func AddStaff(s *store.Store, r *store.Reseller, in StaffInput, actor, ip string) (map[string]string, error) {
	problems := map[string]string{}
	in.Name, in.Email = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email)
	if in.Name == "" || len(in.Name) > 100 {
		problems["name"] = "Enter a name of at most 100 characters."
	} else if msg := textfield.SingleLine(in.Name); msg != "" {
		problems["name"] = msg
	}
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
		problems["email"] = "Enter an email address such as name@example.com."
	}
	if !slices.Contains(AssignableStaffRoles, in.Role) {
		problems["role"] = "Choose admin, billing or support."
	}
	if p := Policy(r).Check(in.Password); p != "" {
		problems["password"] = p
	} else if in.Confirm != in.Password {
		problems["confirm"] = "The two passwords differ."
	}
	if len(problems) > 0 {
		return problems, nil
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	err = s.Update(func(tx *store.Tx) error {
		u := &store.User{ResellerID: r.ID, Email: in.Email, Name: in.Name, Role: in.Role, PasswordHash: hash}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: actor, Action: "user.create", Target: u.Email + " (" + u.Role + ")", IP: ip})
	})
	if errors.Is(err, store.ErrConflict) {
		return map[string]string{"email": "Another user of this portal already has this email."}, nil
	}
	return nil, err
}

// ErrNotAllowed refuses a change to the owner or to oneself.
var ErrNotAllowed = errors.New("not allowed")

// UpdateStaff changes a staff member's role and status. The owner, and the
// acting user's own account, cannot be changed here (no lock-out by
// mistake); another reseller's user is not found.
func UpdateStaff(s *store.Store, rid, uid, actorID uint64, role, status, actor, ip string) (*store.User, error) {
	if !slices.Contains(AssignableStaffRoles, role) || status != store.UserActive && status != store.UserDisabled {
		return nil, fmt.Errorf("role %q, status %q: %w", role, status, ErrInput)
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
		if u.Role == store.RoleOwner || u.ID == actorID {
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
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, Actor: actor, Action: "user.update", Target: u.Email + " (" + role + ", " + status + ")", IP: ip})
	})
	return u, err
}
