// Package mail owns outgoing email: a queue kept in the store's outbox and
// a worker that delivers it over SMTP (wneessen/go-mail) with retries, or,
// when no SMTP server is configured, keeps each message in the outbox and
// logs it so that links still reach the operator. It never imports Fiber.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"

	"portico/app/config"
	"portico/store"
)

// Sender delivers one message; SMTP in production.
type Sender interface {
	Send(ctx context.Context, m *store.MailMessage) error
}

// Attachment is a file rendered for one delivery attempt: the bytes that
// a store.MailAttachment's Ref names.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// AttachmentSender is a Sender that can carry attachments (SMTP is one).
// The queue renders a message's attachments before each attempt and hands
// them over; a message with attachments given to a Sender that is not an
// AttachmentSender fails its attempt.
type AttachmentSender interface {
	SendWithAttachments(ctx context.Context, m *store.MailMessage, files []Attachment) error
}

// Resolver renders what an attachment's Ref names (for an invoice's PDF,
// "invoice:<reseller id>:<invoice id>"). It is called at send time, once
// per attempt, so the outbox never holds the bytes.
type Resolver func(ref string) ([]byte, error)

// SMTP sends through the server in [mail].
type SMTP struct {
	cfg  config.Mail
	from *mail.Address
	// TLSConfig overrides the TLS settings (tests use a private CA).
	TLSConfig *tls.Config
}

// NewSMTP prepares a sender from [mail]; it does not connect yet.
func NewSMTP(cfg config.Mail) (*SMTP, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: from: %w", err)
	}
	return &SMTP{cfg: cfg, from: from}, nil
}

// Send delivers m's text in one SMTP session; its Attachments are the
// queue's to render (see SendWithAttachments).
func (s *SMTP) Send(ctx context.Context, m *store.MailMessage) error {
	return s.SendWithAttachments(ctx, m, nil)
}

// SendWithAttachments delivers m with files attached, in one SMTP session.
func (s *SMTP) SendWithAttachments(ctx context.Context, m *store.MailMessage, files []Attachment) error {
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(30 * time.Second)}
	switch s.cfg.Security {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.TLSConfig))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail: client: %w", err)
	}
	msg := gomail.NewMsg()
	name := s.from.Name
	if m.FromName != "" {
		name = m.FromName
	}
	if err := msg.FromFormat(name, s.from.Address); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	for _, f := range files {
		if err := msg.AttachReader(f.Name, bytes.NewReader(f.Data), gomail.WithFileContentType(gomail.ContentType(f.ContentType))); err != nil {
			return fmt.Errorf("mail: attach %s: %w", f.Name, err)
		}
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	return nil
}

// retryDelays is the wait before each further attempt; after the last the
// message is marked failed.
var retryDelays = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour}

// Queue accepts messages from requests and delivers them in the background.
type Queue struct {
	store  *store.Store
	sender Sender // nil: keep in the outbox and log
	log    *slog.Logger
	wake   chan struct{}
	// Poll is how often the worker looks for due messages besides being
	// woken by Enqueue.
	Poll time.Duration
	// OnAttempt, when set, is told the outcome of every attempt (metrics).
	OnAttempt func(status string)
	running   sync.WaitGroup
	resolver  atomic.Pointer[Resolver]
}

// Option configures a Queue.
type Option func(*Queue)

// WithResolver sets the resolver that renders attachments at send time.
func WithResolver(r Resolver) Option { return func(q *Queue) { q.SetResolver(r) } }

// NewQueue returns a queue; sender nil means no SMTP.
func NewQueue(s *store.Store, sender Sender, log *slog.Logger, opts ...Option) *Queue {
	q := &Queue{store: s, sender: sender, log: log, wake: make(chan struct{}, 1), Poll: 30 * time.Second}
	for _, o := range opts {
		o(q)
	}
	return q
}

// SetResolver sets (or replaces) the resolver that renders attachments,
// for the services built after the queue; it is safe while Run goes on.
// Without one, a message with attachments fails its attempts (and is
// retried like any failure).
func (q *Queue) SetResolver(r Resolver) {
	if r == nil {
		q.resolver.Store(nil)
		return
	}
	q.resolver.Store(&r)
}

// errNoResolver: a message has attachments but nothing renders them.
var errNoResolver = errors.New("mail: no attachment resolver is set")

// render resolves m's attachments for one attempt.
func (q *Queue) render(m *store.MailMessage) ([]Attachment, error) {
	if len(m.Attachments) == 0 {
		return nil, nil
	}
	r := q.resolver.Load()
	if r == nil {
		return nil, errNoResolver
	}
	files := make([]Attachment, 0, len(m.Attachments))
	for _, a := range m.Attachments {
		data, err := (*r)(a.Ref)
		if err != nil {
			return nil, fmt.Errorf("mail: attachment %s (%s): %w", a.Name, a.Ref, err)
		}
		files = append(files, Attachment{Name: a.Name, ContentType: a.ContentType, Data: data})
	}
	return files, nil
}

// checkAttachments refuses what could not be attached as named: an empty
// name or ref, a name with control characters or a path, a content type
// that is not one.
func checkAttachments(as []store.MailAttachment) error {
	for _, a := range as {
		if a.Name == "" || a.Ref == "" {
			return fmt.Errorf("mail: attachment needs a name and a ref: %+v", a)
		}
		if strings.ContainsAny(a.Name, "/\\\"") || strings.IndexFunc(a.Name, unicode.IsControl) >= 0 {
			return fmt.Errorf("mail: attachment name %q", a.Name)
		}
		if _, _, err := mime.ParseMediaType(a.ContentType); err != nil {
			return fmt.Errorf("mail: attachment %s: content type %q: %w", a.Name, a.ContentType, err)
		}
	}
	return nil
}

// Enqueue adds the message in the caller's transaction, so a request that
// fails after it sends nothing. Without SMTP the message is logged at once
// with its text (which carries any link) and kept in the outbox.
//
// Attachments are named, not stored: each Ref is rendered by the resolver
// when the message is sent, and never while no SMTP is configured.
func (q *Queue) Enqueue(tx *store.Tx, m *store.MailMessage) error {
	if err := checkAttachments(m.Attachments); err != nil {
		return err
	}
	if q.sender == nil {
		m.Status = store.MailKept
	}
	if err := tx.EnqueueMail(m); err != nil {
		return fmt.Errorf("mail: enqueue: %w", err)
	}
	if q.sender == nil {
		args := []any{"to", m.To, "subject", m.Subject, "text", m.Text}
		if len(m.Attachments) > 0 { // named only: nothing renders without SMTP
			args = append(args, "attachments", attachmentNames(m.Attachments))
		}
		q.log.Info("mail kept in outbox (no [mail] host configured)", args...)
	}
	return nil
}

// Delivers reports whether messages are sent: an SMTP server is
// configured. Without one they stay in the outbox, and pages that would
// say "we have emailed" show the link instead.
func (q *Queue) Delivers() bool { return q.sender != nil }

// Wake asks the worker to look at the outbox now; call it after the
// transaction that enqueued has committed.
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run delivers due messages until ctx ends. It returns at once without SMTP.
func (q *Queue) Run(ctx context.Context) {
	if q.sender == nil {
		return
	}
	q.running.Add(1)
	defer q.running.Done()
	ticker := time.NewTicker(q.Poll)
	defer ticker.Stop()
	for {
		q.deliverDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-q.wake:
		}
	}
}

// Wait blocks until Run has returned.
func (q *Queue) Wait() { q.running.Wait() }

func (q *Queue) deliverDue(ctx context.Context) {
	for ctx.Err() == nil {
		var due []*store.MailMessage
		err := q.store.View(func(tx *store.Tx) error {
			var err error
			due, err = tx.DueMail(20)
			return err
		})
		if err != nil {
			q.log.Error("mail: read outbox", "err", err)
			return
		}
		if len(due) == 0 {
			return
		}
		for _, m := range due {
			q.attempt(ctx, m)
		}
	}
}

func attachmentNames(as []store.MailAttachment) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}

// send renders m's attachments and delivers it; an attachment that cannot
// be rendered fails the attempt like a refusal.
func (q *Queue) send(ctx context.Context, m *store.MailMessage) error {
	files, err := q.render(m)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return q.sender.Send(ctx, m)
	}
	as, ok := q.sender.(AttachmentSender)
	if !ok {
		return fmt.Errorf("mail: the sender %T cannot attach files", q.sender)
	}
	return as.SendWithAttachments(ctx, m, files)
}

func (q *Queue) attempt(ctx context.Context, m *store.MailMessage) {
	sendCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err := q.send(sendCtx, m)
	cancel()
	m.Attempts++
	now := q.store.Now().UTC()
	status := "sent"
	switch {
	case err == nil:
		m.Status, m.SentAt, m.LastError = store.MailSent, now, ""
	case m.Attempts > len(retryDelays):
		m.Status, m.LastError = store.MailFailed, err.Error()
		status = "failed"
		q.log.Error("mail: giving up", "id", m.ID, "to", m.To, "attempts", m.Attempts, "err", err)
	default:
		m.LastError, m.NextAttempt = err.Error(), now.Add(retryDelays[m.Attempts-1])
		status = "retry"
		q.log.Warn("mail: will retry", "id", m.ID, "to", m.To, "next_attempt", m.NextAttempt, "err", err)
	}
	if err := q.store.Update(func(tx *store.Tx) error { return tx.SaveMail(m) }); err != nil {
		q.log.Error("mail: save delivery state", "id", m.ID, "err", err)
	}
	if q.OnAttempt != nil {
		q.OnAttempt(status)
	}
}
