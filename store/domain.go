package store

import (
	"bytes"
	"fmt"
	"sort"
	"time"
)

// Domain conflicts, both wrapping ErrConflict.
var (
	// ErrDomainTaken: the host belongs to another reseller.
	ErrDomainTaken = fmt.Errorf("domain belongs to another reseller: %w", ErrConflict)
	// ErrDomainExists: the reseller has added this host already.
	ErrDomainExists = fmt.Errorf("domain already added: %w", ErrConflict)
	// ErrDomainChanged: the domain was removed and added again (with a new
	// token) while a DNS check of the old one ran.
	ErrDomainChanged = fmt.Errorf("domain changed during its check: %w", ErrConflict)
)

// ClaimLifetime is how long a claim on a custom domain may stay pending:
// one not proved in DNS within it lapses (reads as DomainExpired, is no
// longer checked, and cannot be verified until the reseller claims it
// again). A pending claim never keeps another reseller from claiming the
// same host; the first to prove it takes it (docs/domains.md).
const ClaimLifetime = 7 * 24 * time.Hour

// ClaimEnds is when a pending claim lapses.
func (d *Domain) ClaimEnds() time.Time {
	start := d.ClaimedAt
	if start.IsZero() {
		start = d.CreatedAt
	}
	return start.Add(ClaimLifetime)
}

// claim returns the reseller's stored claim on host.
func (tx *Tx) claim(rid uint64, host string) (*Domain, error) {
	var d Domain
	if err := get(tx.bucket(bucketDomainClaims), tenantStringKey(rid, host), &d); err != nil {
		return nil, fmt.Errorf("store: domain %q: %w", host, err)
	}
	return &d, nil
}

// claimState sets a claim's status as of now: taken while another
// reseller holds the host, expired after ClaimLifetime, else pending.
func (tx *Tx) claimState(d *Domain) *Domain {
	switch held, err := tx.Domain(d.Host); {
	case err == nil && held.ResellerID != d.ResellerID:
		d.Status = DomainTaken
	case !tx.now.Before(d.ClaimEnds()):
		d.Status = DomainExpired
	default:
		d.Status = DomainPending
	}
	return d
}

// ResellerDomain returns one of the reseller's domains, verified or
// claimed (with its status as of now); another reseller's host is not
// found, so its existence is never revealed.
func (tx *Tx) ResellerDomain(rid uint64, host string) (*Domain, error) {
	d, err := tx.Domain(host)
	if err == nil && d.ResellerID == rid { // tenant scope: another reseller's domain does not exist here
		return d, nil
	}
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	c, err := tx.claim(rid, host)
	if err != nil {
		return nil, err
	}
	return tx.claimState(c), nil
}

// AddDomain stores the reseller's pending claim on a host, to be proved
// in DNS within ClaimLifetime. The host must be normalised and the token
// set. A host another reseller holds verified is ErrDomainTaken; one the
// reseller holds or claims already ErrDomainExists (RenewDomainClaim
// restarts an expired claim). Another reseller's pending claim on the host
// does not stop this one.
func (tx *Tx) AddDomain(d *Domain) error {
	if d.Host == "" || d.Token == "" {
		return fmt.Errorf("store: domain: host and token required: %w", ErrInvalid)
	}
	if _, err := tx.Reseller(d.ResellerID); err != nil {
		return err
	}
	switch held, err := tx.Domain(d.Host); {
	case err == nil && held.ResellerID != d.ResellerID:
		return fmt.Errorf("store: domain %q: %w", d.Host, ErrDomainTaken)
	case err == nil:
		return fmt.Errorf("store: domain %q: %w", d.Host, ErrDomainExists)
	case !isNotFound(err):
		return err
	}
	switch _, err := tx.claim(d.ResellerID, d.Host); {
	case err == nil:
		return fmt.Errorf("store: domain %q: %w", d.Host, ErrDomainExists)
	case !isNotFound(err):
		return err
	}
	d.Source, d.Status = DomainFromUser, DomainPending
	d.CreatedAt, d.ClaimedAt = tx.now, tx.now
	return put(tx.bucket(bucketDomainClaims), tenantStringKey(d.ResellerID, d.Host), d)
}

// RenewDomainClaim restarts the reseller's expired claim on host for
// another ClaimLifetime, keeping its token (the DNS record stays valid).
// A claim that is not expired is ErrDomainExists, a host another reseller
// took meanwhile ErrDomainTaken.
func (tx *Tx) RenewDomainClaim(rid uint64, host string) (*Domain, error) {
	d, err := tx.claim(rid, host)
	if err != nil {
		return nil, err
	}
	switch tx.claimState(d).Status {
	case DomainTaken:
		return nil, fmt.Errorf("store: domain %q: %w", host, ErrDomainTaken)
	case DomainPending:
		return nil, fmt.Errorf("store: domain %q: %w", host, ErrDomainExists)
	}
	d.Status, d.ClaimedAt, d.LastCheckAt, d.LastResult = DomainPending, tx.now, time.Time{}, ""
	return d, put(tx.bucket(bucketDomainClaims), tenantStringKey(rid, host), d)
}

// PendingDomains lists every reseller's live claims — pending, neither
// expired nor taken — by host, for the job that checks them.
func (tx *Tx) PendingDomains() ([]*Domain, error) {
	var out []*Domain
	err := tx.bucket(bucketDomainClaims).ForEach(func(_, v []byte) error {
		var d Domain
		if err := unmarshal(v, &d); err != nil {
			return err
		}
		if tx.claimState(&d).Status == DomainPending {
			out = append(out, &d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: pending domains: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].ResellerID < out[j].ResellerID
	})
	return out, nil
}

// DomainCheck is the outcome of one DNS check of a pending domain.
type DomainCheck struct {
	Token    string // the token the check looked for
	Verified bool
	Result   string // in words, e.g. "TXT record not found"
}

// RecordDomainCheck saves a check's outcome on the reseller's claim, and
// verifies the domain when the check passed while the claim was live:
// the claim then becomes the host's verified domain, and every other
// reseller's claim on it reads as taken. verified tells whether this call
// changed the status. A domain verified meanwhile is left as it is; a
// claim that expired or was taken meanwhile records the outcome and stays
// as it is; one removed and added again since the check began (another
// token) is ErrDomainChanged, so an old answer never verifies a new record.
func (tx *Tx) RecordDomainCheck(rid uint64, host string, check DomainCheck) (d *Domain, verified bool, err error) {
	if held, err := tx.Domain(host); err == nil && held.ResellerID == rid {
		return held, false, nil
	}
	if d, err = tx.claim(rid, host); err != nil {
		return nil, false, err
	}
	if d.Token != check.Token {
		return nil, false, fmt.Errorf("store: domain %q: %w", host, ErrDomainChanged)
	}
	d.LastCheckAt, d.LastResult = tx.now, check.Result
	state := *d // claimState sets the status it reads; the stored claim stays pending
	if !check.Verified || tx.claimState(&state).Status != DomainPending {
		if err := put(tx.bucket(bucketDomainClaims), tenantStringKey(rid, host), d); err != nil {
			return nil, false, err
		}
		return tx.claimState(d), false, nil
	}
	d.Status, d.VerifiedAt = DomainVerified, tx.now
	if err := tx.PutDomain(d); err != nil { // also deletes this claim
		return nil, false, err
	}
	return d, true, nil
}

// verifyDomainClaims reports claims that break the rules: a stored status
// other than pending, a key that does not match the claim, a reseller that
// does not exist, or a claim on a host the same reseller holds verified.
func (tx *Tx) verifyDomainClaims(add addFunc) error {
	return tx.bucket(bucketDomainClaims).ForEach(func(k, v []byte) error {
		var d Domain
		if err := unmarshal(v, &d); err != nil {
			return err
		}
		if !bytes.Equal(k, tenantStringKey(d.ResellerID, d.Host)) || d.Status != DomainPending || d.Token == "" || d.Source != DomainFromUser {
			add("domain claim %d/%q: malformed (status %q)", readU64(k[:8]), k[8:], d.Status)
		}
		if _, err := tx.Reseller(d.ResellerID); err != nil {
			add("domain claim %q: reseller %d missing", d.Host, d.ResellerID)
		}
		if held, err := tx.Domain(d.Host); err == nil && held.ResellerID == d.ResellerID {
			add("domain claim %d/%q: the reseller holds the domain already", d.ResellerID, d.Host)
		}
		return nil
	})
}
