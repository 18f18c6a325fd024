package app

import (
	"slices"
	"strings"

	"portico/store"
)

// Links in mails. A request's Host (and X-Forwarded-Host) is whatever the
// sender wrote, with any port or a trailing dot, so a mail that copied it
// would carry a link to wherever an attacker pointed it; the person who
// opens it hands their token to that host. So every mailed link starts
// from the reseller's canonical host, chosen from the store and config
// alone.

// canonicalHost is the host that every link mailed for reseller r names:
// the first domain config.toml declares for it, else its custom domain
// verified first, else <slug>.<base_domain>. Only verified domains of r
// are candidates, so the link always reaches r.
func (a *App) canonicalHost(tx *store.Tx, r *store.Reseller) (string, error) {
	domains, err := tx.Domains(r.ID) // tenant scope: r's own domains
	if err != nil {
		return "", err
	}
	verified := map[string]*store.Domain{}
	var custom []*store.Domain
	for _, d := range domains {
		if d.Status == store.DomainVerified && d.ResellerID == r.ID {
			verified[d.Host] = d
			custom = append(custom, d)
		}
	}
	for _, rc := range a.cfg.Resellers {
		if rc.Slug != r.Slug {
			continue
		}
		for _, host := range rc.Domains {
			if verified[host] != nil {
				return host, nil
			}
		}
	}
	if len(custom) > 0 {
		first := slices.MinFunc(custom, func(x, y *store.Domain) int {
			if c := x.VerifiedAt.Compare(y.VerifiedAt); c != 0 {
				return c
			}
			return strings.Compare(x.Host, y.Host)
		})
		return first.Host, nil
	}
	return r.Slug + "." + a.cfg.Server.BaseDomain, nil
}

// mailLink is the absolute URL of pathAndQuery (which starts with "/") on
// reseller r's canonical host, with the configured public scheme and port.
func (a *App) mailLink(tx *store.Tx, r *store.Reseller, pathAndQuery string) (string, error) {
	host, err := a.canonicalHost(tx, r)
	if err != nil {
		return "", err
	}
	return a.cfg.PublicOrigin(host) + pathAndQuery, nil
}

// mailLinkBase is mailLink in its own read transaction, for mails written
// where no transaction is at hand yet.
func (a *App) mailLinkBase(r *store.Reseller, pathAndQuery string) (link string, err error) {
	err = a.store.View(func(tx *store.Tx) (err error) {
		link, err = a.mailLink(tx, r, pathAndQuery)
		return err
	})
	return link, err
}
