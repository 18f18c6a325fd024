package store

import (
	"fmt"
	"sort"
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

// ResellerDomain returns one of the reseller's domains; another reseller's
// host is not found, so its existence is never revealed.
func (tx *Tx) ResellerDomain(rid uint64, host string) (*Domain, error) {
	d, err := tx.Domain(host)
	if err != nil {
		return nil, err
	}
	if d.ResellerID != rid { // tenant scope: another reseller's domain does not exist here
		return nil, fmt.Errorf("store: domain %q: %w", host, ErrNotFound)
	}
	return d, nil
}

// AddDomain stores a host the reseller added itself, pending until DNS
// proves it. The host must be normalised and the token set; a host of
// another reseller is ErrDomainTaken, one already added ErrDomainExists.
func (tx *Tx) AddDomain(d *Domain) error {
	if d.Host == "" || d.Token == "" {
		return fmt.Errorf("store: domain: host and token required: %w", ErrInvalid)
	}
	if _, err := tx.Reseller(d.ResellerID); err != nil {
		return err
	}
	switch old, err := tx.Domain(d.Host); {
	case err == nil && old.ResellerID != d.ResellerID:
		return fmt.Errorf("store: domain %q: %w", d.Host, ErrDomainTaken)
	case err == nil:
		return fmt.Errorf("store: domain %q: %w", d.Host, ErrDomainExists)
	case !isNotFound(err):
		return err
	}
	d.Source, d.Status = DomainFromUser, DomainPending
	return tx.PutDomain(d)
}

// PendingDomains lists the pending domains of every reseller, by host, for
// the job that checks them.
func (tx *Tx) PendingDomains() ([]*Domain, error) {
	var out []*Domain
	err := tx.bucket(bucketDomains).ForEach(func(_, v []byte) error {
		var d Domain
		if err := unmarshal(v, &d); err != nil {
			return err
		}
		if d.Status == DomainPending {
			out = append(out, &d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: pending domains: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out, nil
}

// DomainCheck is the outcome of one DNS check of a pending domain.
type DomainCheck struct {
	Token    string // the token the check looked for
	Verified bool
	Result   string // in words, e.g. "TXT record not found"
}

// RecordDomainCheck saves a check's outcome on the reseller's pending
// domain, and verifies it when the check passed; verified tells whether
// this call changed the status. A domain verified meanwhile is left as it
// is; one removed and added again since the check began (another token)
// is ErrDomainChanged, so an old answer never verifies a new record.
func (tx *Tx) RecordDomainCheck(rid uint64, host string, check DomainCheck) (d *Domain, verified bool, err error) {
	d, err = tx.ResellerDomain(rid, host)
	if err != nil {
		return nil, false, err
	}
	if d.Status == DomainVerified {
		return d, false, nil
	}
	if d.Token != check.Token {
		return nil, false, fmt.Errorf("store: domain %q: %w", host, ErrDomainChanged)
	}
	d.LastCheckAt, d.LastResult = tx.now, check.Result
	if check.Verified {
		d.Status, d.VerifiedAt = DomainVerified, tx.now
	}
	if err := tx.PutDomain(d); err != nil {
		return nil, false, err
	}
	return d, check.Verified, nil
}
