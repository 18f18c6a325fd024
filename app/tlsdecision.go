package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"portico/app/config"
	"portico/store"
)

// AllowCertificate is the TLS decision (certs' DecisionFunc): may a
// certificate be obtained for name? Yes only for the base domain, for
// <slug>.<base_domain> of an active reseller, and for a verified custom
// domain of an active reseller. The error says why not. It reads the
// store, not the tenant cache, so a domain verified a moment ago counts.
func (a *App) AllowCertificate(_ context.Context, name string) error {
	return allowCertificate(a.store, a.cfg.Server.BaseDomain, name)
}

func allowCertificate(s *store.Store, baseDomain, name string) error {
	// Security: the name comes from a stranger's ClientHello; it is
	// normalised (lower case, no trailing dot, punycode) before any lookup,
	// and IP addresses are refused (NormalizeHost says so).
	host, err := config.NormalizeHost(name)
	if err != nil {
		return err
	}
	if host == baseDomain {
		return nil
	}
	return s.View(func(tx *store.Tx) error {
		d, err := tx.Domain(host)
		switch {
		case err == nil:
			// Security: only verified domains get certificates; a pending
			// domain has not proved the reseller controls it.
			if d.Status != store.DomainVerified {
				return fmt.Errorf("%s is %s, not verified", host, d.Status)
			}
			return activeReseller(tx, d.ResellerID, host)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if slug, ok := strings.CutSuffix(host, "."+baseDomain); ok && !strings.Contains(slug, ".") {
			r, err := tx.ResellerBySlug(slug)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%s: no reseller %q", host, slug)
			}
			if err != nil {
				return err
			}
			return activeReseller(tx, r.ID, host)
		}
		return fmt.Errorf("%s is not a domain of any reseller", host)
	})
}

// activeReseller refuses hosts of disabled resellers: they serve no pages,
// so they get no certificates.
func activeReseller(tx *store.Tx, id uint64, host string) error {
	r, err := tx.Reseller(id)
	if err != nil {
		return err
	}
	if !r.Active() {
		return fmt.Errorf("%s belongs to reseller %s, which is %s", host, r.Slug, r.Status)
	}
	return nil
}
