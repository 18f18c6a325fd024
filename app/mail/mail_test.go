package mail

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"portico/app/config"
	"portico/app/testkit"
	"portico/store"
)

// smtpBackend is a real SMTP server's backend that records what it gets
// and can refuse the first n messages.
type smtpBackend struct {
	mu       sync.Mutex
	refuse   int
	received []string
	rcpts    []string
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

type smtpSession struct {
	b  *smtpBackend
	to []string
}

func (s *smtpSession) Reset()                                    {}
func (s *smtpSession) Logout() error                             { return nil }
func (s *smtpSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.refuse > 0 {
		s.b.refuse--
		return &smtp.SMTPError{Code: 451, Message: "try again later"}
	}
	s.b.received = append(s.b.received, string(data))
	s.b.rcpts = append(s.b.rcpts, s.to...)
	return nil
}

func startSMTP(t *testing.T, refuse int) (*smtpBackend, config.Mail) {
	t.Helper()
	be := &smtpBackend{refuse: refuse}
	host, port := testkit.ServeSMTP(t, be)
	return be, config.Mail{Host: host, Port: port, From: "Portico <noreply@portico.example>", Security: "none"}
}

func openStore(t *testing.T, c *testkit.Clock) *store.Store {
	t.Helper()
	s := testkit.OpenStore(t, c)
	return s
}

// runQueue starts the worker and returns a channel of attempt outcomes.
func runQueue(t *testing.T, q *Queue) <-chan string {
	t.Helper()
	attempts := make(chan string, 16)
	q.OnAttempt = func(status string) { attempts <- status }
	q.Poll = time.Hour // only Wake triggers delivery: the test decides when
	ctx, cancel := context.WithCancel(context.Background())
	go q.Run(ctx)
	t.Cleanup(func() { cancel(); q.Wait() })
	return attempts
}

func waitAttempt(t *testing.T, attempts <-chan string) string {
	t.Helper()
	select {
	case s := <-attempts:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery attempt")
		return ""
	}
}

func enqueue(t *testing.T, s *store.Store, q *Queue) uint64 {
	t.Helper()
	m := &store.MailMessage{FromName: "Acme Voice", To: "ann@example.com", Subject: "Reset your Acme Voice password",
		Text: "Open http://acme.example/password/reset?token=abc\n"}
	if err := s.Update(func(tx *store.Tx) error { return q.Enqueue(tx, m) }); err != nil {
		t.Fatal(err)
	}
	q.Wake()
	return m.ID
}

func TestDeliversOverSMTP(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	s := openStore(t, c)
	be, cfg := startSMTP(t, 0)
	sender, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	q := NewQueue(s, sender, slog.New(slog.NewTextHandler(io.Discard, nil)))
	attempts := runQueue(t, q)
	id := enqueue(t, s, q)
	if got := waitAttempt(t, attempts); got != "sent" {
		t.Fatalf("attempt: %s", got)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.received) != 1 || be.rcpts[0] != "ann@example.com" {
		t.Fatalf("server got %d messages to %v", len(be.received), be.rcpts)
	}
	head, body, _ := strings.Cut(be.received[0], "\r\n\r\n")
	decoded, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	msg := head + "\n\n" + string(decoded)
	for _, want := range []string{`From: "Acme Voice" <noreply@portico.example>`, "Subject: Reset your Acme Voice password", "password/reset?token=abc"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	s.View(func(tx *store.Tx) error {
		m, err := tx.Mail(id)
		if err != nil || m.Status != store.MailSent || m.Attempts != 1 {
			t.Errorf("stored state: %+v %v", m, err)
		}
		return nil
	})
}

func TestRetriesAfterRefusal(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	s := openStore(t, c)
	be, cfg := startSMTP(t, 1)
	sender, _ := NewSMTP(cfg)
	q := NewQueue(s, sender, slog.New(slog.NewTextHandler(io.Discard, nil)))
	attempts := runQueue(t, q)
	id := enqueue(t, s, q)
	if got := waitAttempt(t, attempts); got != "retry" {
		t.Fatalf("first attempt: %s", got)
	}
	s.View(func(tx *store.Tx) error {
		m, _ := tx.Mail(id)
		if m.Status != store.MailPending || !m.NextAttempt.Equal(c.Now().Add(time.Minute)) || !strings.Contains(m.LastError, "try again later") {
			t.Errorf("after refusal: %+v", m)
		}
		return nil
	})
	q.Wake() // not due yet: nothing happens
	c.Advance(time.Minute)
	q.Wake()
	if got := waitAttempt(t, attempts); got != "sent" {
		t.Fatalf("second attempt: %s", got)
	}
	be.mu.Lock()
	if len(be.received) != 1 {
		t.Errorf("received %d", len(be.received))
	}
	be.mu.Unlock()
}

// failingSender always fails, to reach the last retry.
type failingSender struct{}

func (failingSender) Send(context.Context, *store.MailMessage) error {
	return errors.New("connection refused")
}

func TestGivesUpAfterLastRetry(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	s := openStore(t, c)
	q := NewQueue(s, failingSender{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	attempts := runQueue(t, q)
	id := enqueue(t, s, q)
	var outcomes []string
	for i := 0; i <= len(retryDelays); i++ {
		outcomes = append(outcomes, waitAttempt(t, attempts))
		if i < len(retryDelays) {
			c.Advance(retryDelays[i])
			q.Wake()
		}
	}
	if outcomes[len(outcomes)-1] != "failed" {
		t.Fatalf("outcomes %v", outcomes)
	}
	s.View(func(tx *store.Tx) error {
		m, _ := tx.Mail(id)
		if m.Status != store.MailFailed || m.Attempts != len(retryDelays)+1 {
			t.Errorf("final state: %+v", m)
		}
		return nil
	})
}

func TestWithoutSMTPKeepsAndLogs(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	s := openStore(t, c)
	var logged strings.Builder
	q := NewQueue(s, nil, slog.New(slog.NewTextHandler(&logged, nil)))
	id := enqueue(t, s, q)
	if !strings.Contains(logged.String(), "password/reset?token=abc") {
		t.Fatalf("link not logged: %s", logged.String())
	}
	s.View(func(tx *store.Tx) error {
		m, _ := tx.Mail(id)
		if m.Status != store.MailKept {
			t.Errorf("status %s", m.Status)
		}
		return nil
	})
}
