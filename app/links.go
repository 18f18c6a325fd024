package app

import (
	"slices"
	"strings"

	"portico/app/config"
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
func canonicalHost(cfg *config.Config, tx *store.Tx, r *store.Reseller) (string, error) {
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
	for _, rc := range cfg.Resellers {
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
	return r.Slug + "." + cfg.Server.BaseDomain, nil
}

// mailLink is the absolute URL of pathAndQuery (which starts with "/") on
// reseller r's canonical host, with the configured public scheme and port.
func (a *App) mailLink(tx *store.Tx, r *store.Reseller, pathAndQuery string) (string, error) {
	return letterhead{a.cfg}.Link(tx, r, pathAndQuery)
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

// letterhead signs the mails of services with the reseller's brand and
// builds their links from its canonical host (account.Letterhead). It
// needs the config alone, so NewServices builds it with the services.
type letterhead struct{ cfg *config.Config }

// BrandName is the name pages and mails show: the product name, or the
// reseller's.
func (letterhead) BrandName(r *store.Reseller) string {
	if r.Brand.ProductName != "" {
		return r.Brand.ProductName
	}
	return r.Name
}

// SenderName is the From name of the reseller's mails.
func (l letterhead) SenderName(r *store.Reseller) string {
	if r.Brand.MailSender != "" {
		return r.Brand.MailSender
	}
	return l.BrandName(r)
}

// Link is the absolute URL of pathAndQuery on r's canonical host.
func (l letterhead) Link(tx *store.Tx, r *store.Reseller, pathAndQuery string) (string, error) {
	host, err := canonicalHost(l.cfg, tx, r)
	if err != nil {
		return "", err
	}
	return l.cfg.PublicOrigin(host) + pathAndQuery, nil
}
