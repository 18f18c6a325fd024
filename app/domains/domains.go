// Package domains owns resellers' custom domains: checking a name a
// reseller adds, storing it as a pending claim with a token, proving it
// through DNS (a TXT token or a CNAME to the reseller's own address),
// removing it, and the job that checks every pending claim. Claims follow
// the rule in docs/domains.md: several resellers may claim one host, the
// first to prove it takes it, and a claim not proved within
// store.ClaimLifetime lapses until claimed again. It never imports Fiber;
// the HTML handlers (app/domains.go) and the scheduler call it.
package domains

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"

	"portico/app/actor"
	"portico/app/config"
	"portico/app/fault"
	"portico/store"
)

// MaxDomains is how many domains one reseller may add itself (config
// domains aside): each one is checked by the job and may get a
// certificate.
const MaxDomains = 50

// SuggestedSchedule is the cron spec for CheckPending.
const SuggestedSchedule = "@every 5m"

// checkWorkers bounds the DNS checks the job runs at once.
const checkWorkers = 8

// JobActor is the audit actor of the job's verifications.
const JobActor = "domain check"

// ErrDeclared: the domain is declared in config.toml; only the operator
// can remove it.
var ErrDeclared = fault.New(fault.Forbidden, "This domain is declared by the operator in config.toml; only the operator can remove it.")

// badHost says what is wrong with a domain a reseller typed, in words for
// the form's host field.
func badHost(message string) error { return fault.InvalidField("host", message) }

// Config is what a Service needs.
type Config struct {
	Store      *store.Store
	BaseDomain string // normalised [server] base_domain
	// Resolver answers the checks; SystemResolver() when nil.
	Resolver Resolver
	// CheckTimeout bounds one check; DefaultCheckTimeout when zero.
	CheckTimeout time.Duration
	Log          *slog.Logger
	// OnVerified, when set, is told after a commit that made a domain
	// verified (e.g. to drop cached Host → reseller answers).
	OnVerified func(host string)
	// Certificates are automatic HTTPS's certificates; nil when it is
	// off.
	Certificates Certificates
}

// Certificates are the certificates automatic HTTPS obtained for hosts
// (certs.Manager).
type Certificates interface {
	// Info tells host's certificate, if one was issued.
	Info(host string) (issued bool, issuer string, notAfter time.Time)
	// Remove forgets host's certificate, in memory and in storage.
	Remove(host string) error
}

// Service adds, verifies and removes custom domains; every change
// commits with its audit event.
type Service struct {
	store      *store.Store
	verifier   *Verifier
	baseDomain string
	log        *slog.Logger
	onVerified func(host string)
	certs      Certificates
}

// New returns the service.
func New(c Config) *Service {
	if c.Resolver == nil {
		c.Resolver = SystemResolver()
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.OnVerified == nil {
		c.OnVerified = func(string) {}
	}
	return &Service{store: c.Store, verifier: NewVerifier(c.Resolver, c.BaseDomain, c.CheckTimeout),
		baseDomain: c.BaseDomain, log: c.Log, onVerified: c.OnVerified, certs: c.Certificates}
}

// Certificates are automatic HTTPS's certificates, nil when it is off.
func (s *Service) Certificates() Certificates { return s.certs }

// ValidateHost turns what a reseller typed (a name, or a pasted address
// such as https://Portal.Example.com/) into a normalised host: lower
// case, no trailing dot, punycode. It refuses IP addresses, single
// labels, public suffixes, and the base domain and names under it, which
// are every reseller's own addresses.
func ValidateHost(input, baseDomain, slug string) (string, error) {
	s := strings.TrimSpace(input)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "", badHost("Enter a domain name such as portal.example.com.")
	}
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return "", badHost("Enter a domain name, not an IP address.")
	}
	host, err := config.NormalizeHost(s)
	if err != nil || !validLengths(host) {
		return "", badHost("This is not a valid domain name: use letters, digits, hyphens and dots, such as portal.example.com.")
	}
	switch suffix, _ := publicsuffix.PublicSuffix(host); {
	case !strings.Contains(host, "."):
		return "", badHost("Enter a full domain name such as portal.example.com.")
	case host == baseDomain || strings.HasSuffix(host, "."+baseDomain):
		return "", badHost(fmt.Sprintf("Names under %s belong to this service: your portal is at %s already. Add a domain of your own.",
			baseDomain, CNAMETarget(slug, baseDomain)))
	case suffix == host:
		return "", badHost(fmt.Sprintf("%s is a public suffix that nobody owns; add a domain under it, such as portal.%s.", host, host))
	}
	return strings.Clone(host), nil // the input may alias a request buffer
}

// validLengths: at most 253 characters, labels of 1 to 63.
func validLengths(host string) bool {
	if len(host) > 253 {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
	}
	return true
}

// IsApex reports whether host is a registered domain itself (example.com,
// shop.co.uk), where DNS allows no CNAME: only the TXT record proves it.
func IsApex(host string) bool {
	registered, err := publicsuffix.EffectiveTLDPlusOne(host)
	return err == nil && registered == host
}

// newToken is the value the TXT record must hold.
func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Add validates input and stores the reseller's pending claim on the
// domain with a fresh token, or restarts its own expired claim (same
// token). Another reseller's pending claim does not stop it; a domain
// another reseller has proved is refused without naming it.
func (s *Service) Add(r *store.Reseller, input string, by actor.Actor) (*store.Domain, error) {
	host, err := ValidateHost(input, s.baseDomain, r.Slug)
	if err != nil {
		return nil, err
	}
	d := &store.Domain{ResellerID: r.ID, Host: host, Token: newToken()}
	err = s.store.Update(func(tx *store.Tx) error {
		if own, err := tx.ResellerDomain(r.ID, host); err == nil && own.Status == store.DomainExpired { // tenant scope: r's own claim
			if d, err = tx.RenewDomainClaim(r.ID, host); err != nil {
				return err
			}
			return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: "domain.renew", Target: host, IP: by.IP})
		}
		current, err := tx.Domains(r.ID) // tenant scope: the reseller comes from the caller's host
		if err != nil {
			return err
		}
		added := 0
		for _, other := range current {
			if other.Source == store.DomainFromUser {
				added++
			}
		}
		if added >= MaxDomains {
			return badHost(fmt.Sprintf("You have %d domains already, the most a portal may have. Remove one first.", added))
		}
		if err := tx.AddDomain(d); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: "domain.add", Target: host, IP: by.IP})
	})
	switch {
	case errors.Is(err, store.ErrDomainTaken):
		// never say whose it is: that would reveal another reseller's customer
		return nil, badHost("This domain is already used by another portal.")
	case errors.Is(err, store.ErrDomainExists):
		return nil, badHost("This domain is on your list already.")
	case err != nil:
		return nil, err
	}
	return d, nil
}

// Domain returns one of the reseller's domains by the host as written in
// a URL; another reseller's is store.ErrNotFound.
func (s *Service) Domain(r *store.Reseller, host string) (*store.Domain, error) {
	host, err := lookupHost(host)
	if err != nil {
		return nil, err
	}
	var d *store.Domain
	err = s.store.View(func(tx *store.Tx) (err error) {
		d, err = tx.ResellerDomain(r.ID, host) // tenant scope
		return err
	})
	return d, err
}

func lookupHost(host string) (string, error) {
	h, err := config.NormalizeHost(host)
	if err != nil {
		return "", fmt.Errorf("domains: %q: %w", host, store.ErrNotFound)
	}
	return strings.Clone(h), nil // the caller's string may alias a request buffer
}

// Remove deletes one of the reseller's own domains and, after the commit,
// its certificate: the TLS decision is not asked again for a cached
// certificate. A config domain is ErrDeclared; another reseller's is
// store.ErrNotFound.
func (s *Service) Remove(r *store.Reseller, host string, by actor.Actor) (*store.Domain, error) {
	host, err := lookupHost(host)
	if err != nil {
		return nil, err
	}
	var d *store.Domain
	err = s.store.Update(func(tx *store.Tx) error {
		if d, err = tx.ResellerDomain(r.ID, host); err != nil { // tenant scope: 404 for another reseller's
			return err
		}
		if d.Source == store.DomainFromConfig {
			return ErrDeclared
		}
		if err := tx.RemoveDomain(r.ID, host); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: "domain.remove", Target: host, IP: by.IP})
	})
	if err != nil {
		return nil, err
	}
	if s.certs != nil {
		if err := s.certs.Remove(host); err != nil { // the domain is gone; a stale certificate is only logged
			s.log.Error("domains: forget the removed domain's certificate", "host", host, "err", err)
		}
	}
	return d, nil
}

// Verify checks one of the reseller's pending claims now and records the
// outcome; a verified domain, an expired claim and one another reseller
// took are returned as they are, without a check. The DNS lookups run
// outside any transaction.
func (s *Service) Verify(ctx context.Context, r *store.Reseller, host string, by actor.Actor) (*store.Domain, error) {
	d, err := s.Domain(r, host)
	if err != nil || d.Status != store.DomainPending {
		return d, err
	}
	d, err = s.check(ctx, r, d, by)
	if errors.Is(err, store.ErrDomainChanged) {
		return nil, fault.Wrap(fault.Conflict, "The domain changed while it was checked. Try again.", err)
	}
	return d, err
}

// check runs one DNS check of d and commits its outcome with an audit
// event (a passing check by the job is audited too: it changes what the
// domain serves).
func (s *Service) check(ctx context.Context, r *store.Reseller, d *store.Domain, by actor.Actor) (*store.Domain, error) {
	res := s.verifier.Check(ctx, d.Host, d.Token, r.Slug)
	var verified bool
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		d, verified, err = tx.RecordDomainCheck(r.ID, d.Host, store.DomainCheck{Token: d.Token, Verified: res.Verified, Result: res.Message})
		if err != nil {
			return err
		}
		action := "domain.check"
		if verified {
			action = "domain.verify"
		} else if by.Name == JobActor {
			return nil // the job's failed checks change nothing worth an audit line every few minutes
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: action, Target: d.Host, IP: by.IP})
	})
	if err != nil {
		return nil, err
	}
	if verified {
		s.log.Info("domain verified", "reseller", r.Slug, "host", d.Host, "by", by.Name, "result", res.Message)
		s.onVerified(d.Host)
	}
	return d, nil
}

// due says whether the job checks a live claim now: on every run in its
// first day, then hourly until it lapses (store.PendingDomains lists no
// expired claim), so that forgotten claims do not cost a lookup every few
// minutes for a week.
func due(d *store.Domain, now time.Time) bool {
	age := now.Sub(d.ClaimEnds().Add(-store.ClaimLifetime))
	return age < 24*time.Hour || now.Sub(d.LastCheckAt) >= time.Hour
}

// CheckPending checks the live claims of every active reseller that are
// due, a few at a time, and records each outcome. It is idempotent: a
// claim removed, verified or taken meanwhile is skipped or recorded as it
// is. DNS failures are
// results, not errors; only store errors are returned.
func (s *Service) CheckPending(ctx context.Context) error {
	var pending []*store.Domain
	resellers := map[uint64]*store.Reseller{}
	now := s.store.Now()
	err := s.store.View(func(tx *store.Tx) error {
		all, err := tx.PendingDomains()
		if err != nil {
			return err
		}
		for _, d := range all {
			r, ok := resellers[d.ResellerID]
			if !ok {
				if r, err = tx.Reseller(d.ResellerID); err != nil {
					return err
				}
				resellers[d.ResellerID] = r
			}
			if r.Active() && due(d, now) {
				pending = append(pending, d)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("domains: pending: %w", err)
	}
	var (
		mu       sync.Mutex
		errs     []error
		verified int
		wg       sync.WaitGroup
		slots    = make(chan struct{}, checkWorkers)
	)
	for _, d := range pending {
		if ctx.Err() != nil {
			break // shutting down: the next run picks up the rest
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			got, err := s.check(ctx, resellers[d.ResellerID], d, actor.Job(JobActor))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrDomainChanged):
				// removed or added again while it was checked: nothing to record
			case err != nil:
				errs = append(errs, fmt.Errorf("domains: check %s: %w", d.Host, err))
			case got.Status == store.DomainVerified:
				verified++
			}
		}()
	}
	wg.Wait()
	s.log.Info("pending domains checked", "job", "domain_check", "checked", len(pending), "verified", verified)
	return errors.Join(errs...)
}
