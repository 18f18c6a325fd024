package app

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/dates"
	"portico/app/domains"
	"portico/store"
)

// domainRoutes lists the custom-domain routes (under /reseller/domains,
// owner/admin).
func (a *App) domainRoutes(console fiber.Router) {
	console.Get("/", a.listDomains)
	console.Post("/", a.addDomain)
	console.Post("/:host/verify", a.verifyDomain)
	console.Post("/:host/remove", a.removeDomain)
}

// DomainHooks connect the domains page to DNS and automatic HTTPS. Every
// field is optional.
type DomainHooks struct {
	// Resolver answers "Verify now"; the system's name servers when nil.
	Resolver domains.Resolver
	// CertInfo tells a host's certificate; nil means automatic HTTPS is
	// off.
	CertInfo func(host string) (issued bool, issuer string, notAfter time.Time)
	// Removed is told, after the commit, that a reseller removed a domain,
	// so that its certificate leaves the cache and the storage (the TLS
	// decision is not asked again for a cached certificate).
	Removed func(host string)
}

// domainHookSet holds the hooks with the service built on them. main sets
// them once, but requests read them, so they are swapped atomically.
type domainHookSet struct{ p atomic.Pointer[domainState] }

type domainState struct {
	hooks   DomainHooks
	service *domains.Service
}

// SetDomainHooks connects custom domains to DNS and automatic HTTPS.
// main calls it once, before Serve; tests may call it any time.
func (a *App) SetDomainHooks(h DomainHooks) { a.domainHooks.p.Store(a.newDomainState(h)) }

func (a *App) newDomainState(h DomainHooks) *domainState {
	return &domainState{hooks: h, service: domains.New(domains.Config{Store: a.store, BaseDomain: a.cfg.Server.BaseDomain,
		Resolver: h.Resolver, Log: a.log, OnVerified: func(string) { a.InvalidateTenants() }})}
}

// customDomains is the current hooks and service (defaults when none
// were set).
func (a *App) customDomains() *domainState {
	if st := a.domainHooks.p.Load(); st != nil {
		return st
	}
	a.domainHooks.p.CompareAndSwap(nil, a.newDomainState(DomainHooks{}))
	return a.domainHooks.p.Load()
}

// domainRow is one line of the domains table.
type domainRow struct {
	Domain   *store.Domain
	Declared bool   // from config.toml: verified, not removable here
	Apex     bool   // example.com itself: no CNAME possible, TXT only
	Cert     string // the certificate in words
}

type domainsData struct {
	Rows        []domainRow
	Form        *Form
	PortalHost  string // <slug>.<base_domain>, the CNAME target
	TXTPrefix   string
	MaxDomains  int
	CertsActive bool
}

func (a *App) domainsData(c *fiber.Ctx, form *Form) (domainsData, error) {
	tenant := tenantOf(c)
	st := a.customDomains()
	data := domainsData{Form: form, PortalHost: domains.CNAMETarget(tenant.Slug, a.cfg.Server.BaseDomain),
		TXTPrefix: domains.TXTPrefix, MaxDomains: domains.MaxDomains, CertsActive: st.hooks.CertInfo != nil}
	var list []*store.Domain
	err := a.store.View(func(tx *store.Tx) (err error) {
		list, err = tx.Domains(tenant.ID) // tenant scope: the reseller comes from the host
		return err
	})
	for _, d := range list {
		data.Rows = append(data.Rows, domainRow{Domain: d, Declared: d.Source == store.DomainFromConfig,
			Apex: domains.IsApex(d.Host), Cert: certText(st.hooks.CertInfo, d, a.now())})
	}
	return data, err
}

// certText words a domain's certificate for the table.
func certText(info func(string) (bool, string, time.Time), d *store.Domain, now time.Time) string {
	switch {
	case info == nil:
		return "automatic HTTPS is off"
	case d.Status != store.DomainVerified:
		return "after verification"
	}
	issued, issuer, notAfter := info(d.Host)
	if !issued {
		return "not yet: requested on the first HTTPS visit"
	}
	text := "issued"
	if issuer != "" {
		text += " by " + issuer
	}
	switch {
	case notAfter.IsZero():
	case notAfter.Before(now):
		text += ", expired " + dates.Day(notAfter)
	default:
		text += ", expires " + dates.Day(notAfter)
	}
	return text
}

// listDomains shows the reseller's domains, how to prove each pending
// one, and the form to add one.
func (a *App) listDomains(c *fiber.Ctx) error {
	data, err := a.domainsData(c, newForm())
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "domains/list", "Domains", data)
}

// addDomain stores a domain pending, or shows the form again with what is
// wrong with the name.
func (a *App) addDomain(c *fiber.Ctx) error {
	input := c.FormValue("host")
	d, err := a.customDomains().service.Add(tenantOf(c), input, domains.Actor(a.actor(c)))
	var bad *domains.InputError
	if errors.As(err, &bad) {
		form := newForm()
		form.Values["host"], form.Errors["host"] = input, bad.Message
		data, err := a.domainsData(c, form)
		if err != nil {
			return err
		}
		return a.render(c, fiber.StatusUnprocessableEntity, "domains/list", "Domains", data)
	}
	if err != nil {
		return err
	}
	a.InvalidateTenants()
	a.setFlash(c, "success", d.Host+" added. Create one of the DNS records shown for it by "+d.ClaimEnds().UTC().Format("2 January 2006")+", then press Verify now.")
	return c.Redirect("/reseller/domains#dns-"+d.Host, fiber.StatusSeeOther)
}

// verifyTimeout bounds "Verify now" (both DNS lookups).
const verifyTimeout = 15 * time.Second

// verifyDomain checks a pending domain's DNS now.
func (a *App) verifyDomain(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), verifyTimeout)
	defer cancel()
	d, err := a.customDomains().service.Verify(ctx, tenantOf(c), c.Params("host"), domains.Actor(a.actor(c)))
	switch {
	case errors.Is(err, store.ErrDomainChanged):
		a.setFlash(c, "error", "The domain changed while it was checked. Try again.")
	case err != nil:
		return err // another reseller's domain is not found
	case d.Status == store.DomainVerified: // the service dropped cached tenants when it verified it
		a.setFlash(c, "success", d.Host+" is verified: your portal answers there.")
	case d.Status == store.DomainTaken: // never say who: that would reveal another reseller's customer
		a.setFlash(c, "error", d.Host+" was proved by another portal first, so your claim ended.")
	case d.Status == store.DomainExpired:
		a.setFlash(c, "error", "Your claim on "+d.Host+" expired unproved. Claim it again to check it.")
	default:
		a.setFlash(c, "error", d.Host+" is not verified yet: "+d.LastResult+". DNS changes can take a while to show; the domain is checked again every few minutes.")
	}
	return c.Redirect("/reseller/domains", fiber.StatusSeeOther)
}

// removeDomain deletes one of the reseller's own domains and lets the
// certificate manager forget it.
func (a *App) removeDomain(c *fiber.Ctx) error {
	st := a.customDomains()
	d, err := st.service.Remove(tenantOf(c), c.Params("host"), domains.Actor(a.actor(c)))
	if errors.Is(err, domains.ErrDeclared) {
		a.setFlash(c, "error", "This domain is declared by the operator in config.toml; only the operator can remove it.")
		return c.Redirect("/reseller/domains", fiber.StatusSeeOther)
	}
	if err != nil {
		return err // another reseller's domain is not found
	}
	a.InvalidateTenants() // the host stops serving this reseller at once
	if st.hooks.Removed != nil {
		st.hooks.Removed(d.Host)
	}
	a.setFlash(c, "success", d.Host+" removed. Your portal no longer answers there.")
	return c.Redirect("/reseller/domains", fiber.StatusSeeOther)
}
