package app

import (
	"log/slog"

	"portico/app/account"
	"portico/app/billing"
	"portico/app/billing/invoicepdf"
	"portico/app/branding"
	"portico/app/calls"
	"portico/app/clients"
	"portico/app/config"
	"portico/app/domains"
	"portico/app/mail"
	"portico/app/team"
	"portico/app/tenancy"
	"portico/store"
)

// Services are the application's services. NewServices builds them once
// (main does, and the tests' harness the same way); the web app and the
// scheduled jobs share them, so there is one rate-deck cache and one host
// cache, and a domain the job verifies is served at once.
type Services struct {
	Hosts    *tenancy.Hosts // host → reseller, for requests and the TLS decision
	Account  *account.Service
	Clients  *clients.Service
	Calls    *calls.Service
	Team     *team.Service
	Domains  *domains.Service
	Branding *branding.Service
	Billing  *billing.Service
}

// ServiceDeps are what the services are built from.
type ServiceDeps struct {
	Config *config.Config
	Store  *store.Store
	Mail   *mail.Queue
	Log    *slog.Logger
	// DNS answers custom domains' checks; the system's name servers when
	// nil.
	DNS domains.Resolver
	// Certificates are automatic HTTPS's certificates (certs.Manager); nil
	// when it is off.
	Certificates domains.Certificates
}

// NewServices builds every service. The mail queue learns to render the
// invoice PDFs that invoice mails attach.
func NewServices(d ServiceDeps) *Services {
	if d.Mail != nil {
		d.Mail.SetResolver(invoicepdf.Resolver(d.Store))
	}
	hosts := tenancy.NewHosts(d.Store, d.Config.Server.BaseDomain)
	return &Services{
		Hosts: hosts,
		Account: account.New(d.Store, d.Mail, letterhead{d.Config},
			account.Sessions{MaxAge: d.Config.Session.MaxAge.Duration, IdleTimeout: d.Config.Session.IdleTimeout.Duration}),
		Clients: clients.New(d.Store),
		Calls:   calls.New(d.Store),
		Team:    team.New(d.Store, d.Mail),
		Domains: domains.New(domains.Config{Store: d.Store, BaseDomain: d.Config.Server.BaseDomain, Resolver: d.DNS,
			Certificates: d.Certificates, Log: d.Log,
			OnVerified: func(string) { hosts.Reset() }}), // the domain serves its reseller at once
		Branding: branding.New(d.Store),
		Billing:  billing.New(d.Store, d.Mail, letterhead{d.Config}, d.Log),
	}
}
