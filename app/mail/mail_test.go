package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
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

// attachmentOf reads the received message's parts and returns the text
// body and the one attachment's name, type and bytes.
func attachmentOf(t *testing.T, raw string) (text, name, ctype string, data []byte) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("content type %q (%v), want multipart/mixed", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	attachments := 0
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = p
		switch p.Header.Get("Content-Transfer-Encoding") {
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, p)
		case "quoted-printable":
			body = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		disp, dparams, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if disp == "attachment" {
			attachments++
			name, ctype, data = dparams["filename"], pt, b
		} else if pt == "text/plain" {
			text = string(b)
		}
	}
	if attachments != 1 {
		t.Fatalf("%d attachments, want 1", attachments)
	}
	return text, name, ctype, data
}

// pdfBytes stands for a rendered PDF: every byte value, so that the
// transfer encoding must carry binary exactly.
func pdfBytes() []byte {
	b := []byte("%PDF-1.3\n")
	for i := range 70000 {
		b = append(b, byte(i*7+i/256))
	}
	return append(b, "\n%%EOF\n"...)
}

func enqueueInvoiceMail(t *testing.T, s *store.Store, q *Queue) uint64 {
	t.Helper()
	m := &store.MailMessage{FromName: "Acme Voice", To: "ann@example.com", Subject: "Invoice ACME-2026-000007 from Acme Voice",
		Text:        "Your invoice is attached.\n",
		Attachments: []store.MailAttachment{{Name: "ACME-2026-000007.pdf", ContentType: "application/pdf", Ref: "invoice:1:7"}}}
	if err := s.Update(func(tx *store.Tx) error { return q.Enqueue(tx, m) }); err != nil {
		t.Fatal(err)
	}
	q.Wake()
	return m.ID
}

// TestDeliversAttachmentRenderedAtSendTime: the outbox keeps only the
// attachment's ref; the resolver renders it when the message is sent and
// the message arrives over real SMTP with a PDF part of exactly its bytes.
func TestDeliversAttachmentRenderedAtSendTime(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	s := openStore(t, c)
	be, cfg := startSMTP(t, 0)
	sender, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := pdfBytes()
	var mu sync.Mutex
	var refs []string
	q := NewQueue(s, sender, slog.New(slog.NewTextHandler(io.Discard, nil)), WithResolver(func(ref string) ([]byte, error) {
		mu.Lock()
		refs = append(refs, ref)
		mu.Unlock()
		return want, nil
	}))
	attempts := runQueue(t, q)
	id := enqueueInvoiceMail(t, s, q)
	if got := waitAttempt(t, attempts); got != "sent" {
		t.Fatalf("attempt: %s", got)
	}
	mu.Lock()
	if len(refs) != 1 || refs[0] != "invoice:1:7" {
		t.Errorf("resolver asked for %v", refs)
	}
	mu.Unlock()
	be.mu.Lock()
	if len(be.received) != 1 {
		t.Fatalf("server got %d messages", len(be.received))
	}
	raw := be.received[0]
	be.mu.Unlock()
	text, name, ctype, data := attachmentOf(t, raw)
	if !strings.Contains(text, "Your invoice is attached.") {
		t.Errorf("text part %q", text)
	}
	if name != "ACME-2026-000007.pdf" || ctype != "application/pdf" {
		t.Errorf("attachment %q of type %q", name, ctype)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("attachment is %d bytes, not the resolver's %d", len(data), len(want))
	}
	s.View(func(tx *store.Tx) error {
		m, err := tx.Mail(id)
		if err != nil || m.Status != store.MailSent || len(m.Attachments) != 1 || m.Attachments[0].Ref != "invoice:1:7" {
			t.Errorf("stored state: %+v %v", m, err)
		}
		return nil
	})
}

// TestAttachmentThatCannotRenderIsRetried: without a resolver, and then
// with one that fails, the attempt fails and nothing reaches the server;
// once the attachment renders, the message goes out.
func TestAttachmentThatCannotRenderIsRetried(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	s := openStore(t, c)
	be, cfg := startSMTP(t, 0)
	sender, _ := NewSMTP(cfg)
	q := NewQueue(s, sender, slog.New(slog.NewTextHandler(io.Discard, nil))) // the existing constructor: no resolver yet
	attempts := runQueue(t, q)
	id := enqueueInvoiceMail(t, s, q)
	if got := waitAttempt(t, attempts); got != "retry" {
		t.Fatalf("without a resolver: %s", got)
	}
	s.View(func(tx *store.Tx) error {
		m, _ := tx.Mail(id)
		if m.Status != store.MailPending || m.Attempts != 1 || !strings.Contains(m.LastError, "no attachment resolver") {
			t.Errorf("after the first attempt: %+v", m)
		}
		return nil
	})
	fail := true
	want := pdfBytes()
	q.SetResolver(func(ref string) ([]byte, error) {
		if fail {
			return nil, errors.New("invoice 7 not found")
		}
		return want, nil
	})
	c.Advance(retryDelays[0])
	q.Wake()
	if got := waitAttempt(t, attempts); got != "retry" {
		t.Fatalf("with a failing resolver: %s", got)
	}
	s.View(func(tx *store.Tx) error {
		m, _ := tx.Mail(id)
		if m.Attempts != 2 || !strings.Contains(m.LastError, "ACME-2026-000007.pdf") || !strings.Contains(m.LastError, "invoice 7 not found") {
			t.Errorf("after the second attempt: %+v", m)
		}
		return nil
	})
	be.mu.Lock()
	if len(be.received) != 0 {
		t.Errorf("a message without its attachment went out")
	}
	be.mu.Unlock()
	fail = false // the worker reads it after Wake, which happens after this write
	c.Advance(retryDelays[1])
	q.Wake()
	if got := waitAttempt(t, attempts); got != "sent" {
		t.Fatalf("third attempt: %s", got)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.received) != 1 {
		t.Fatalf("received %d", len(be.received))
	}
	if _, _, _, data := attachmentOf(t, be.received[0]); !bytes.Equal(data, want) {
		t.Error("attachment bytes differ")
	}
}

// TestWithoutSMTPNothingRenders: a kept message names its attachment in
// the log and never calls the resolver.
func TestWithoutSMTPNothingRenders(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	s := openStore(t, c)
	var logged strings.Builder
	q := NewQueue(s, nil, slog.New(slog.NewTextHandler(&logged, nil)), WithResolver(func(string) ([]byte, error) {
		t.Error("the resolver was called without SMTP")
		return nil, nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q.Run(ctx) // returns at once without SMTP
	id := enqueueInvoiceMail(t, s, q)
	if !strings.Contains(logged.String(), "ACME-2026-000007.pdf") {
		t.Errorf("attachment not named in the log: %s", logged.String())
	}
	s.View(func(tx *store.Tx) error {
		m, _ := tx.Mail(id)
		if m.Status != store.MailKept || len(m.Attachments) != 1 {
			t.Errorf("kept: %+v", m)
		}
		return nil
	})
}

// TestEnqueueRefusesAttachmentsItCannotName: an attachment without a ref
// or name, a name that is a path or carries control characters, or a
// content type that is none is refused, and nothing is queued.
func TestEnqueueRefusesAttachmentsItCannotName(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	s := openStore(t, c)
	q := NewQueue(s, failingSender{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, a := range []store.MailAttachment{
		{Name: "a.pdf", ContentType: "application/pdf"},
		{ContentType: "application/pdf", Ref: "invoice:1:7"},
		{Name: "../a.pdf", ContentType: "application/pdf", Ref: "invoice:1:7"},
		{Name: "a\r\nBcc: x@example.com", ContentType: "application/pdf", Ref: "invoice:1:7"},
		{Name: "a.pdf", ContentType: "pdf please", Ref: "invoice:1:7"},
	} {
		m := &store.MailMessage{To: "ann@example.com", Subject: "x", Text: "x", Attachments: []store.MailAttachment{a}}
		if err := s.Update(func(tx *store.Tx) error { return q.Enqueue(tx, m) }); err == nil {
			t.Errorf("%+v accepted", a)
		}
	}
	s.View(func(tx *store.Tx) error {
		if out, _ := tx.Outbox(); len(out) != 0 {
			t.Errorf("outbox has %d messages", len(out))
		}
		return nil
	})
}
