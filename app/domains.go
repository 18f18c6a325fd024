package app

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/dates"
	"portico/app/domains"
	"portico/app/fault"
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
	certs := a.domains.Certificates()
	data := domainsData{Form: form, PortalHost: domains.CNAMETarget(tenant.Slug, a.cfg.Server.BaseDomain),
		TXTPrefix: domains.TXTPrefix, MaxDomains: domains.MaxDomains, CertsActive: certs != nil}
	var list []*store.Domain
	err := a.store.View(func(tx *store.Tx) (err error) {
		list, err = tx.Domains(tenant.ID) // tenant scope: the reseller comes from the host
		return err
	})
	for _, d := range list {
		data.Rows = append(data.Rows, domainRow{Domain: d, Declared: d.Source == store.DomainFromConfig,
			Apex: domains.IsApex(d.Host), Cert: certText(certs, d, a.now())})
	}
	return data, err
}

// certText words a domain's certificate for the table.
func certText(certs domains.Certificates, d *store.Domain, now time.Time) string {
	switch {
	case certs == nil:
		return "automatic HTTPS is off"
	case d.Status != store.DomainVerified:
		return "after verification"
	}
	issued, issuer, notAfter := certs.Info(d.Host)
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
	d, err := a.domains.Add(tenantOf(c), input, a.actor(c))
	if form := newForm(); form.refused(err) {
		form.Values["host"] = input
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
	d, err := a.domains.Verify(ctx, tenantOf(c), c.Params("host"), a.actor(c))
	switch {
	case fault.Is(err, fault.Conflict): // the domain changed while it was checked
		a.setFlash(c, "error", messageOf(err))
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
	d, err := a.domains.Remove(tenantOf(c), c.Params("host"), a.actor(c))
	if fault.Is(err, fault.Forbidden) { // declared in config.toml: only the operator removes it
		a.setFlash(c, "error", messageOf(err))
		return c.Redirect("/reseller/domains", fiber.StatusSeeOther)
	}
	if err != nil {
		return err // another reseller's domain is not found
	}
	a.InvalidateTenants() // the host stops serving this reseller at once (the service forgot its certificate)
	a.setFlash(c, "success", d.Host+" removed. Your portal no longer answers there.")
	return c.Redirect("/reseller/domains", fiber.StatusSeeOther)
}
