// Package billing is the billing service: the reseller's catalogue
// (plans, calling packages, add-ons), the phone-number inventory,
// subscriptions with proration, tax, invoices and their PDF. It uses the
// store and never imports Fiber. Pure money math (periods, proration,
// tax) lives in its own files and takes no store.
package billing

import (
	"log/slog"

	"portico/store"
)

// Mailer queues mail in the caller's transaction.
type Mailer interface {
	Enqueue(tx *store.Tx, m *store.MailMessage) error
}

// Service owns billing; every change commits with its audit event.
type Service struct {
	store *store.Store
	log   *slog.Logger
}

// New returns the service.
func New(s *store.Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: s, log: log}
}
