package tenancy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"portico/app/config"
	"portico/store"
)

// The host → reseller rule. A reseller answers at two kinds of host:
// <slug>.<base_domain> (exactly one label under the base domain) and its
// verified custom domains; only an active reseller answers at all. The
// tenant middleware asks it for every request (through the cache in
// Hosts) and the TLS decision asks it for every new certificate, so a host
// serves pages exactly when it may get a certificate.

// ResellerOf is the reseller that host serves, read in tx; host must be
// normalised (config.NormalizeHost). The error says, for the TLS log, why
// a host serves nobody; it wraps store.ErrNotFound when no reseller
// claims the host.
func ResellerOf(tx *store.Tx, baseDomain, host string) (*store.Reseller, error) {
	var r *store.Reseller
	d, err := tx.Domain(host)
	switch {
	case err == nil:
		// Security: only verified domains serve pages and get
		// certificates; a pending domain has not proved the reseller
		// controls it.
		if d.Status != store.DomainVerified {
			return nil, fmt.Errorf("%s is %s, not verified: %w", host, d.Status, store.ErrNotFound)
		}
		if r, err = tx.Reseller(d.ResellerID); err != nil {
			return nil, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	default:
		slug, ok := strings.CutSuffix(host, "."+baseDomain)
		if !ok || slug == "" || strings.Contains(slug, ".") {
			return nil, fmt.Errorf("%s is not a domain of any reseller: %w", host, store.ErrNotFound)
		}
		r, err = tx.ResellerBySlug(slug)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%s: no reseller %q: %w", host, slug, store.ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
	}
	// Disabled resellers serve no pages, so they get no certificates.
	if !r.Active() {
		return nil, fmt.Errorf("%s belongs to reseller %s, which is %s: %w", host, r.Slug, r.Status, store.ErrNotFound)
	}
	return r, nil
}

// Hosts answers Host → active reseller from memory; a miss asks ResellerOf
// in the store. Unknown hosts are not cached, so junk Host headers cannot
// grow it. Every change to resellers or domains must Reset it.
type Hosts struct {
	store      *store.Store
	baseDomain string
	mu         sync.RWMutex
	hosts      map[string]*store.Reseller
	// generation moves on every reset; a lookup that read the store before
	// a reset must not put its (older) answer back into the fresh map.
	generation uint64
}

// maxCachedHosts bounds the cache; past it the cache starts again.
const maxCachedHosts = 10000

// NewHosts returns an empty cache over s; baseDomain is the normalised
// [server] base_domain.
func NewHosts(s *store.Store, baseDomain string) *Hosts {
	return &Hosts{store: s, baseDomain: baseDomain, hosts: map[string]*store.Reseller{}}
}

// Reset drops every cached answer (after a change to resellers or
// domains).
func (h *Hosts) Reset() {
	h.mu.Lock()
	h.hosts = map[string]*store.Reseller{}
	h.generation++
	h.mu.Unlock()
}

// Reseller is the active reseller host serves, or nil. host is lower case
// without port or trailing dot (the request's Host); it may alias a
// request buffer.
func (h *Hosts) Reseller(host string) *store.Reseller {
	h.mu.RLock()
	r, ok := h.hosts[host]
	generation := h.generation
	h.mu.RUnlock()
	if ok {
		return r
	}
	err := h.store.View(func(tx *store.Tx) (err error) {
		r, err = ResellerOf(tx, h.baseDomain, host)
		return err
	})
	if err != nil {
		return nil
	}
	h.mu.Lock()
	if h.generation == generation { // else a change came meanwhile: do not cache what we read
		if len(h.hosts) > maxCachedHosts {
			h.hosts = map[string]*store.Reseller{}
		}
		h.hosts[strings.Clone(host)] = r
	}
	h.mu.Unlock()
	return r
}

// CertificateDecision is the TLS decision over s (certs' DecisionFunc):
// may a certificate be obtained for name? Yes for the base domain and for
// every host that serves a reseller (ResellerOf); the error says why not.
// It reads the store, not a cache, so a domain verified a moment ago
// counts.
func CertificateDecision(s *store.Store, baseDomain string) func(ctx context.Context, name string) error {
	return func(_ context.Context, name string) error {
		// Security: the name comes from a stranger's ClientHello; it is
		// normalised (lower case, no trailing dot, punycode) before any
		// lookup, and IP addresses are refused (NormalizeHost says so).
		host, err := config.NormalizeHost(name)
		if err != nil {
			return err
		}
		if host == baseDomain {
			return nil
		}
		return s.View(func(tx *store.Tx) error {
			_, err := ResellerOf(tx, baseDomain, host)
			return err
		})
	}
}
