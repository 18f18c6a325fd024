package app

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"portico/app/config"
	appmail "portico/app/mail"
	"portico/app/testkit"
)

// inbox is a real SMTP server on loopback (emersion/go-smtp) that the
// app's mail queue delivers to; each message arrives on the channel.
type inbox struct {
	t        testing.TB
	messages chan delivered
}

// delivered is one message as the SMTP server received it, decoded.
type delivered struct {
	To      []string
	Subject string
	From    string
	Body    string
}

type inboxBackend struct{ in *inbox }

func (b inboxBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &inboxSession{in: b.in}, nil
}

type inboxSession struct {
	in *inbox
	to []string
}

func (s *inboxSession) Reset()                               { s.to = nil }
func (s *inboxSession) Logout() error                        { return nil }
func (s *inboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *inboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *inboxSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(msg.Body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	subject, _ := new(mimeDecoder).DecodeHeader(msg.Header.Get("Subject"))
	from, _ := new(mimeDecoder).DecodeHeader(msg.Header.Get("From"))
	s.in.messages <- delivered{To: s.to, Subject: subject, From: from, Body: strings.ReplaceAll(string(text), "\r\n", "\n")}
	return nil
}

// withSMTP starts an inbox and makes the test server deliver its mail
// there through the production SMTP sender and queue worker.
func withSMTP(t testing.TB) (*inbox, func(*Deps)) {
	in := &inbox{t: t, messages: make(chan delivered, 32)}
	host, port := testkit.ServeSMTP(t, inboxBackend{in: in})
	return in, func(d *Deps) {
		sender, err := appmail.NewSMTP(config.Mail{Host: host, Port: port, From: "Portico <noreply@portico.example>", Security: "none"})
		if err != nil {
			t.Fatal(err)
		}
		q := appmail.NewQueue(d.Store, sender, d.Log)
		q.Poll = time.Hour // Wake after each enqueue delivers; nothing runs behind the test's back
		ctx, cancel := context.WithCancel(context.Background())
		go q.Run(ctx)
		t.Cleanup(func() { cancel(); q.Wait() })
		d.Mail = q
	}
}

// next waits for the next message (failing the test after 20 s: delivery
// itself takes milliseconds, this only stops a broken test from hanging).
func (in *inbox) next() delivered {
	in.t.Helper()
	select {
	case m := <-in.messages:
		return m
	case <-time.After(20 * time.Second):
		in.t.Fatal("no mail arrived")
		return delivered{}
	}
}

var inviteLinkPattern = regexp.MustCompile(`http://[^\s]+/invite\?token=[A-Za-z0-9_-]+`)

// inviteLink is the invitation link in a message, split into host and
// path for the test browser.
func inviteLink(t testing.TB, m delivered) (host, path string) {
	t.Helper()
	link := inviteLinkPattern.FindString(m.Body)
	if link == "" {
		t.Fatalf("no invitation link in %q", m.Body)
	}
	rest := strings.TrimPrefix(link, "http://")
	hostport, path, _ := strings.Cut(rest, "/")
	host, _, _ = net.SplitHostPort(hostport)
	return host, "/" + path
}

// mimeDecoder decodes RFC 2047 headers (subjects with non-ASCII text).
type mimeDecoder = mime.WordDecoder
