package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Reseller statuses.
const (
	ResellerActive   = "active"
	ResellerDisabled = "disabled"
)

// Domain sources and statuses.
const (
	DomainFromConfig = "config"
	DomainFromUser   = "user"
	DomainVerified   = "verified"
	DomainPending    = "pending"
	// DomainExpired and DomainTaken are never stored: a pending claim
	// reads as expired once ClaimLifetime has passed unproved, and as
	// taken while another reseller holds the host verified.
	DomainExpired = "expired"
	DomainTaken   = "taken"
)

// Brand is what a reseller's clients see instead of Portico.
type Brand struct {
	ProductName  string `json:"product_name"`
	PrimaryColor string `json:"primary_color"`
	AccentColor  string `json:"accent_color"`
	SupportEmail string `json:"support_email,omitempty"`
	SupportURL   string `json:"support_url,omitempty"`
	FooterText   string `json:"footer_text,omitempty"`
	MailSender   string `json:"mail_sender,omitempty"`
}

// PasswordPolicy is a reseller's rule for its users' passwords.
type PasswordPolicy struct {
	MinLength      int  `json:"min_length"`
	MaxLength      int  `json:"max_length"`
	RequireDigit   bool `json:"require_digit"`
	RequireUpper   bool `json:"require_upper"`
	RequireLower   bool `json:"require_lower"`
	RequireSpecial bool `json:"require_special"`
	RejectCommon   bool `json:"reject_common"`
}

// DefaultPasswordPolicy is 8–20 characters with a digit, an upper-case and a
// lower-case letter, a special character, and not a common password.
func DefaultPasswordPolicy() PasswordPolicy {
	return PasswordPolicy{MinLength: 8, MaxLength: 20, RequireDigit: true, RequireUpper: true,
		RequireLower: true, RequireSpecial: true, RejectCommon: true}
}

// Reseller is one tenant.
type Reseller struct {
	ID         uint64 `json:"id"`
	Slug       string `json:"slug"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	Currency   string `json:"currency"`
	Timezone   string `json:"timezone"`
	OwnerEmail string `json:"owner_email"`
	Brand      Brand  `json:"brand"`
	// ConfigBrand remembers the brand values config.toml gave last, so that
	// reconciling keeps edits made in the branding editor.
	ConfigBrand    Brand          `json:"config_brand"`
	PasswordPolicy PasswordPolicy `json:"password_policy"`
	// CreditLimit caps the reseller's pool in minor units; 0 is unlimited.
	CreditLimit int64 `json:"credit_limit,omitempty"`
	// MaxRecharge caps one recharge in minor units; 0 is the default.
	MaxRecharge int64 `json:"max_recharge,omitempty"`
	// LowCreditPercent is when a client's credit meter turns orange
	// (percent of assigned credit left); 0 is the default 25.
	LowCreditPercent int `json:"low_credit_percent,omitempty"`
	// MaxCallSeconds caps the duration authorised for one call (and so
	// its reservation); 0 is DefaultMaxCallSeconds.
	MaxCallSeconds int `json:"max_call_seconds,omitempty"`
	// CDRRetentionMonths is how many months of CDRs are kept (the current
	// one included); 0 is DefaultCDRRetentionMonths.
	CDRRetentionMonths int       `json:"cdr_retention_months,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	DisabledAt         time.Time `json:"disabled_at,omitzero"`

	// Seller is the reseller's invoicing settings: seller block, numbering,
	// payment terms and tax rates.
	Seller SellerDetails `json:"seller,omitzero"`

	// Require2FA makes every user of the reseller, staff and clients,
	// sign in with a TOTP code; users without one enrol at sign-in.
	Require2FA bool `json:"require_2fa,omitempty"`
}

// Defaults of the reseller's call settings.
const (
	DefaultMaxCallSeconds     = 4 * 3600
	DefaultCDRRetentionMonths = 13
)

// MaxCallLength is the longest call the reseller authorises, in seconds.
func (r *Reseller) MaxCallLength() int {
	if r.MaxCallSeconds <= 0 {
		return DefaultMaxCallSeconds
	}
	return r.MaxCallSeconds
}

// CDRRetention is how many months of CDRs the reseller keeps.
func (r *Reseller) CDRRetention() int {
	if r.CDRRetentionMonths <= 0 {
		return DefaultCDRRetentionMonths
	}
	return r.CDRRetentionMonths
}

// Active reports whether the reseller serves pages.
func (r *Reseller) Active() bool { return r.Status == ResellerActive }

// Domain maps a host to its reseller. A domain the reseller adds (Source
// user) is pending until DNS proves it: a TXT record at _portico.<host>
// holding Token, or a CNAME to <slug>.<base_domain>. Config domains are
// verified when declared.
type Domain struct {
	Host       string    `json:"host"`
	ResellerID uint64    `json:"reseller_id"`
	Source     string    `json:"source"`
	Status     string    `json:"status"`
	Token      string    `json:"token,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	// LastCheckAt and LastResult are the latest DNS check and its outcome
	// in words ("TXT record not found").
	LastCheckAt time.Time `json:"last_check_at,omitzero"`
	LastResult  string    `json:"last_result,omitempty"`
	VerifiedAt  time.Time `json:"verified_at,omitzero"`
	// ClaimedAt starts a pending claim's ClaimLifetime (CreatedAt, or when
	// the reseller claimed the domain again after it lapsed).
	ClaimedAt time.Time `json:"claimed_at,omitzero"`
}

func unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Reseller returns a reseller by id.
func (tx *Tx) Reseller(id uint64) (*Reseller, error) {
	key := u64(id)
	raw := tx.bucket(bucketResellers).Get(key)
	if raw == nil {
		return nil, fmt.Errorf("store: reseller %d: %w", id, ErrNotFound)
	}
	r, err := tx.cachedReseller(key, raw) // an invoice run reads it for every invoice
	if err != nil {
		return nil, fmt.Errorf("store: reseller %d: %w", id, err)
	}
	return r, nil
}

// ResellerBySlug returns a reseller by slug.
func (tx *Tx) ResellerBySlug(slug string) (*Reseller, error) {
	id := tx.bucket(bucketResellerSlugs).Get([]byte(slug))
	if id == nil {
		return nil, fmt.Errorf("store: reseller %q: %w", slug, ErrNotFound)
	}
	return tx.Reseller(readU64(id))
}

// Resellers lists every reseller, by id.
func (tx *Tx) Resellers() ([]*Reseller, error) {
	var out []*Reseller
	err := tx.bucket(bucketResellers).ForEach(func(_, v []byte) error {
		var r Reseller
		if err := unmarshal(v, &r); err != nil {
			return err
		}
		out = append(out, &r)
		return nil
	})
	return out, err
}

// Domain returns the domain record for a normalised host.
func (tx *Tx) Domain(host string) (*Domain, error) {
	var d Domain
	if err := get(tx.bucket(bucketDomains), []byte(host), &d); err != nil {
		return nil, fmt.Errorf("store: domain %q: %w", host, err)
	}
	return &d, nil
}

// Domains lists a reseller's domains in host order: those that serve
// (verified, or declared in config) and its claims, each with its status
// as of now (pending, expired or taken).
func (tx *Tx) Domains(rid uint64) ([]*Domain, error) {
	var out []*Domain
	prefix := u64(rid)
	c := tx.bucket(bucketResellerDomains).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		d, err := tx.Domain(string(k[8:]))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	c = tx.bucket(bucketDomainClaims).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var d Domain
		if err := unmarshal(v, &d); err != nil {
			return nil, fmt.Errorf("store: domain claim %q: %w", k[8:], err)
		}
		out = append(out, tx.claimState(&d))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out, nil
}

// CreateReseller stores a new reseller; the slug must be free.
func (tx *Tx) CreateReseller(r *Reseller) error {
	slugs := tx.bucket(bucketResellerSlugs)
	if slugs.Get([]byte(r.Slug)) != nil {
		return fmt.Errorf("store: reseller slug %q: %w", r.Slug, ErrConflict)
	}
	b := tx.bucket(bucketResellers)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	r.ID = id
	r.CreatedAt, r.UpdatedAt = tx.now, tx.now
	if err := slugs.Put([]byte(r.Slug), u64(id)); err != nil {
		return err
	}
	return put(b, u64(id), r)
}

// UpdateReseller saves changed fields of an existing reseller (the slug is
// immutable).
func (tx *Tx) UpdateReseller(r *Reseller) error {
	old, err := tx.Reseller(r.ID)
	if err != nil {
		return err
	}
	if old.Slug != r.Slug {
		return fmt.Errorf("store: reseller %d: slug cannot change: %w", r.ID, ErrInvalid)
	}
	r.CreatedAt = old.CreatedAt
	r.UpdatedAt = tx.now
	return put(tx.bucket(bucketResellers), u64(r.ID), r)
}

// PutDomain adds or replaces a host's record, refusing a host that belongs
// to another reseller.
func (tx *Tx) PutDomain(d *Domain) error {
	b := tx.bucket(bucketDomains)
	var old Domain
	switch err := get(b, []byte(d.Host), &old); {
	case err == nil && old.ResellerID != d.ResellerID:
		return fmt.Errorf("store: domain %q belongs to another reseller: %w", d.Host, ErrConflict)
	case err == nil:
		d.CreatedAt = old.CreatedAt
	case err == ErrNotFound:
		if d.CreatedAt.IsZero() { // a verified claim keeps the day it was added
			d.CreatedAt = tx.now
		}
	default:
		return err
	}
	if err := put(b, []byte(d.Host), d); err != nil {
		return err
	}
	// the reseller's own pending claim of the host (an operator may declare
	// a host the reseller was proving) is fulfilled
	if err := tx.bucket(bucketDomainClaims).Delete(tenantStringKey(d.ResellerID, d.Host)); err != nil {
		return err
	}
	return tx.bucket(bucketResellerDomains).Put(tenantStringKey(d.ResellerID, d.Host), nil)
}

// RemoveDomain deletes a reseller's host, verified or claimed; another
// reseller's host is not found.
func (tx *Tx) RemoveDomain(rid uint64, host string) error {
	d, err := tx.Domain(host)
	if err == nil && d.ResellerID != rid || isNotFound(err) { // tenant scope: never touch another reseller's domain
		if _, err := tx.claim(rid, host); err != nil {
			return err
		}
		return tx.bucket(bucketDomainClaims).Delete(tenantStringKey(rid, host))
	}
	if err != nil {
		return err
	}
	if err := tx.bucket(bucketDomains).Delete([]byte(host)); err != nil {
		return err
	}
	return tx.bucket(bucketResellerDomains).Delete(tenantStringKey(rid, host))
}

// ResellerSpec is a reseller as the operator declares it in config.toml.
type ResellerSpec struct {
	Slug         string
	Name         string
	Currency     string
	Timezone     string
	Domains      []string // normalised hosts
	OwnerEmail   string
	PrimaryColor string
	AccentColor  string
	CreditLimit  int64
	MaxRecharge  int64
	// MaxCallSeconds and CDRRetentionMonths: 0 is the default.
	MaxCallSeconds     int
	CDRRetentionMonths int
}

// ReconcileResult tells what ReconcileResellers changed.
type ReconcileResult struct {
	Created  []string
	Updated  []string
	Disabled []string
	// NeedOwner lists resellers that have no owner user yet.
	NeedOwner []*Reseller
}

// ReconcileResellers makes the stored resellers match the declared ones in
// one transaction: new slugs are created, existing ones updated (and
// re-enabled), config domains replaced, and resellers missing from the
// declaration disabled, never deleted.
func (s *Store) ReconcileResellers(specs []ResellerSpec) (*ReconcileResult, error) {
	res := &ReconcileResult{}
	err := s.Update(func(tx *Tx) error {
		*res = ReconcileResult{}
		declared := map[string]ResellerSpec{}
		for _, spec := range specs {
			declared[spec.Slug] = spec
		}
		// Phase 1: release config domains that are no longer declared for
		// their reseller, and disable resellers missing from the config, so
		// a domain can move from one reseller to another in one edit.
		all, err := tx.Resellers()
		if err != nil {
			return err
		}
		for _, r := range all {
			spec, ok := declared[r.Slug]
			if err := tx.pruneConfigDomains(r.ID, spec.Domains); err != nil {
				return err
			}
			if ok || r.Status == ResellerDisabled {
				continue
			}
			r.Status, r.DisabledAt = ResellerDisabled, tx.now
			if err := tx.UpdateReseller(r); err != nil {
				return err
			}
			res.Disabled = append(res.Disabled, r.Slug)
		}
		// Phase 2: create or update every declared reseller.
		for _, spec := range specs {
			r, err := tx.ResellerBySlug(spec.Slug)
			switch {
			case err == nil:
				before, _ := json.Marshal(r)
				applySpec(r, spec)
				r.Status, r.DisabledAt = ResellerActive, time.Time{}
				after, _ := json.Marshal(r)
				if !bytes.Equal(before, after) {
					if err := tx.UpdateReseller(r); err != nil {
						return err
					}
					res.Updated = append(res.Updated, r.Slug)
				}
			case errors.Is(err, ErrNotFound):
				r = &Reseller{Slug: spec.Slug, Status: ResellerActive, PasswordPolicy: DefaultPasswordPolicy()}
				applySpec(r, spec)
				if err := tx.CreateReseller(r); err != nil {
					return err
				}
				res.Created = append(res.Created, r.Slug)
			default:
				return err
			}
			for _, h := range spec.Domains {
				if err := tx.PutDomain(&Domain{Host: h, ResellerID: r.ID, Source: DomainFromConfig, Status: DomainVerified}); err != nil {
					return err
				}
			}
			owner, err := tx.ResellerOwner(r.ID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if owner == nil && r.OwnerEmail != "" {
				res.NeedOwner = append(res.NeedOwner, r)
			}
		}
		sort.Strings(res.Disabled)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: reconcile resellers: %w", err)
	}
	return res, nil
}

func applySpec(r *Reseller, spec ResellerSpec) {
	r.Name = spec.Name
	r.Currency = spec.Currency
	r.Timezone = spec.Timezone
	r.OwnerEmail = spec.OwnerEmail
	r.CreditLimit = spec.CreditLimit
	r.MaxRecharge = spec.MaxRecharge
	r.MaxCallSeconds = spec.MaxCallSeconds
	r.CDRRetentionMonths = spec.CDRRetentionMonths
	// Brand values from config.toml are first values: the branding editor
	// owns them afterwards. A value the operator changes in the file since
	// the last start still wins, so an edit of the file is never ignored.
	adopt := func(field *string, last *string, fromConfig string) {
		if *last != fromConfig {
			*field, *last = fromConfig, fromConfig
		}
	}
	adopt(&r.Brand.ProductName, &r.ConfigBrand.ProductName, spec.Name)
	adopt(&r.Brand.PrimaryColor, &r.ConfigBrand.PrimaryColor, spec.PrimaryColor)
	adopt(&r.Brand.AccentColor, &r.ConfigBrand.AccentColor, spec.AccentColor)
}

// pruneConfigDomains removes the reseller's config-sourced domains that
// are not in keep; domains the reseller added itself are left alone.
func (tx *Tx) pruneConfigDomains(rid uint64, keep []string) error {
	want := map[string]bool{}
	for _, h := range keep {
		want[h] = true
	}
	current, err := tx.Domains(rid)
	if err != nil {
		return err
	}
	for _, d := range current {
		if d.Source == DomainFromConfig && !want[d.Host] {
			if err := tx.RemoveDomain(rid, d.Host); err != nil {
				return err
			}
		}
	}
	return nil
}
