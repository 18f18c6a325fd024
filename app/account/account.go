// Package account is a person's own account: signing in and out (with the
// second step of two-factor sign-in), their password (change, reset by
// mail, the first one of an invitation or an initial password), their
// sessions, two-factor sign-in, their profile and avatar, and changing
// their sign-in email. Every change commits in one transaction with its
// audit event and any mail it sends.
//
// It returns errors with a kind (app/fault): a refused form is an Invalid
// error carrying the fields at fault (and, for a wrong password or code,
// ErrWrongPassword or ErrWrongCode as its cause, which the caller counts
// against its limits). It uses the store, the password rules and the mail
// queue; it never imports Fiber. Counting attempts is left to the web layer
// (app/lockout.go), which holds the in-memory limits of docs/security.md.
package account

import (
	"errors"
	"strconv"
	"time"

	"portico/app/actor"
	"portico/app/auth"
	"portico/app/fault"
	"portico/store"
)

// Mailer queues mail in the caller's transaction and wakes the sender once
// it has committed (app/mail.Queue).
type Mailer interface {
	Enqueue(tx *store.Tx, m *store.MailMessage) error
	Wake()
}

// Letterhead is how a reseller signs its mails: the product name people
// know it by, the sender's name, and links on its canonical host (never
// the request's Host; see app/links.go).
type Letterhead interface {
	BrandName(r *store.Reseller) string
	SenderName(r *store.Reseller) string
	Link(tx *store.Tx, r *store.Reseller, pathAndQuery string) (string, error)
}

// Sessions are the lifetimes of a new session (config [session]).
type Sessions struct {
	MaxAge, IdleTimeout time.Duration
}

// Service changes people's own accounts.
type Service struct {
	store    *store.Store
	mail     Mailer
	letters  Letterhead
	sessions Sessions
	// addAudit writes an audit event; tests make it fail to show that the
	// change it belongs to is rolled back with it.
	addAudit func(tx *store.Tx, e *store.AuditEvent) error
}

// New returns the service.
func New(s *store.Store, m Mailer, l Letterhead, sessions Sessions) *Service {
	return &Service{store: s, mail: m, letters: l, sessions: sessions, addAudit: (*store.Tx).AddAudit}
}

// Actor is the signed-in person acting on their own account, and from
// where: the one Actor of every service (app/actor), whose User is set.
type Actor = actor.Actor

// ErrWrongPassword is the cause of a refusal for a wrong password: the
// caller counts it as a guess at the account.
var ErrWrongPassword = errors.New("account: wrong password")

// ErrWrongCode is the cause of a refusal for a wrong or replayed
// two-factor code: the caller counts it against the account's codes.
var ErrWrongCode = errors.New("account: wrong code")

// guessed is the refusal of a form whose fields include a wrong password
// or code (cause).
func guessed(fields fault.Fields, cause error) error {
	return &fault.Error{Kind: fault.Invalid, Fields: fields, Err: cause}
}

// audit writes what by did on their own account, in tx.
func (s *Service) audit(tx *store.Tx, u *store.User, ip, action, target string) error {
	return s.addAudit(tx, &store.AuditEvent{ResellerID: u.ResellerID, ClientID: u.ClientID, Actor: u.Email,
		Action: action, Target: target, IP: ip})
}

// auditAlone records an event that changes nothing else (a failed
// attempt) in its own transaction.
func (s *Service) auditAlone(u *store.User, ip, action, target string) error {
	return s.store.Update(func(tx *store.Tx) error { return s.audit(tx, u, ip, action, target) })
}

// checkPassword reports whether password is u's. A wrong one is audited
// as action (with target) and is fault-free: the caller adds the field.
func (s *Service) checkPassword(u *store.User, password, ip, action, target string) (bool, error) {
	if err := auth.CheckPassword(u.PasswordHash, password); errors.Is(err, auth.ErrBusy) {
		return false, err // not checked (503): no failure to audit or count
	} else if err != nil {
		return false, s.auditAlone(u, ip, action, target)
	}
	return true, nil
}

// Plural is "1 noun" or "n nouns".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
