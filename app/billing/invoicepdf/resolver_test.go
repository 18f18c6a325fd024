package invoicepdf_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"portico/app/billing"
	"portico/app/billing/invoicepdf"
	"portico/app/config"
	"portico/app/mail"
	"portico/app/testkit"
	"portico/store"
)

// issued stores a reseller, a client and an invoice with a logo, as the
// billing service would, and returns the store, the reseller id and the
// invoice.
func issued(t *testing.T) (*store.Store, uint64, *store.Invoice, []byte) {
	t.Helper()
	s := testkit.OpenStore(t, testkit.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)))
	res, err := s.ReconcileResellers([]store.ResellerSpec{
		{Slug: "acme", Name: "Acme", Currency: "EUR", Timezone: "Europe/Berlin", OwnerEmail: "o@acme.example"},
		{Slug: "globex", Name: "Globex", Currency: "EUR", OwnerEmail: "o@globex.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var rid uint64
	for _, r := range res.NeedOwner {
		if r.Slug == "acme" {
			rid = r.ID
		}
	}
	var logoBuf bytes.Buffer
	png.Encode(&logoBuf, image.NewNRGBA(image.Rect(0, 0, 40, 20)))
	logo := logoBuf.Bytes()
	c := &store.Client{ResellerID: rid, Username: "ann", FirstName: "Ann", LastName: "Lee", Email: "ann@example.com", Company: "Müller Łódź"}
	inv := &store.Invoice{ResellerID: rid, Kind: store.InvoiceProration,
		Lines:    []store.InvoiceLine{{Kind: "seat", Description: "Extra seat ₿ ₹ ₺", Quantity: 2, UnitPrice: 5_0000, Amount: 10_0000}},
		Subtotal: 10_0000, Total: 10_0000, Buyer: store.Party{Name: "Ann Lee", Company: "Müller Łódź"},
		Seller: store.Party{Name: "Acme GmbH"}, Brand: store.InvoiceBrand{ProductName: "Acme Voice", PrimaryColor: "#2457d6"}}
	err = s.Update(func(tx *store.Tx) error {
		if err := tx.CreateClient(c, &store.User{Email: "ann@example.com", Name: "Ann Lee", PasswordHash: "h"}, "test"); err != nil {
			return err
		}
		inv.ClientID = c.ID
		return tx.IssueInvoice(inv, logo, "test")
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, rid, inv, logo
}

// TestResolverRendersTheStoredInvoice: the reference the billing service
// puts on invoice mail resolves to the stored invoice's PDF, with its
// frozen logo; another tenant's id, an unknown invoice and a reference of
// another kind are errors.
func TestResolverRendersTheStoredInvoice(t *testing.T) {
	t.Parallel()
	s, rid, inv, logo := issued(t)
	ref := billing.InvoiceRef(rid, inv.ID)
	if got := invoicepdf.Ref(rid, inv.ID); got != ref {
		t.Fatalf("Ref %q, billing writes %q", got, ref)
	}
	if a := invoicepdf.Attachment(inv); a.Ref != ref || a.Name != inv.Number+".pdf" || a.ContentType != "application/pdf" {
		t.Errorf("attachment %+v", a)
	}
	got, err := invoicepdf.Resolver(s)(ref)
	if err != nil {
		t.Fatal(err)
	}
	want, err := invoicepdf.Bytes(inv, logo)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("the resolver's PDF is not the stored invoice's")
	}
	if noLogo, _ := invoicepdf.Bytes(inv, nil); bytes.Equal(got, noLogo) {
		t.Error("the frozen logo was not used")
	}
	for _, bad := range []string{
		billing.InvoiceRef(rid+1, inv.ID), // the other reseller
		billing.InvoiceRef(rid, inv.ID+1),
		"invoice:" + "x:1", "invoice:1", "receipt:1:1", "",
	} {
		if _, err := invoicepdf.Resolver(s)(bad); err == nil {
			t.Errorf("%q resolved", bad)
		}
	}
	if _, err := invoicepdf.Resolver(s)(billing.InvoiceRef(rid+1, inv.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another tenant's invoice: %v", err)
	}
}

type smtpBackend struct {
	mu       sync.Mutex
	received []string
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

type smtpSession struct{ b *smtpBackend }

func (s *smtpSession) Reset()                               {}
func (s *smtpSession) Logout() error                        { return nil }
func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	s.b.mu.Lock()
	s.b.received = append(s.b.received, string(data))
	s.b.mu.Unlock()
	return err
}

// TestInvoiceMailCarriesThePDF: an invoice mail queued with the invoice's
// attachment arrives over real SMTP with the invoice's PDF, rendered at
// send time by the resolver.
func TestInvoiceMailCarriesThePDF(t *testing.T) {
	t.Parallel()
	s, _, inv, logo := issued(t)
	be := &smtpBackend{}
	host, port := testkit.ServeSMTP(t, be)
	sender, err := mail.NewSMTP(config.Mail{Host: host, Port: port, From: "Portico <noreply@portico.example>", Security: "none"})
	if err != nil {
		t.Fatal(err)
	}
	q := mail.NewQueue(s, sender, slog.New(slog.NewTextHandler(io.Discard, nil)), mail.WithResolver(invoicepdf.Resolver(s)))
	attempts := make(chan string, 4)
	q.OnAttempt = func(status string) { attempts <- status }
	q.Poll = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	go q.Run(ctx)
	t.Cleanup(func() { cancel(); q.Wait() })
	m := &store.MailMessage{ResellerID: inv.ResellerID, To: "ann@example.com", Subject: "Invoice " + inv.Number,
		Text: "Your invoice is attached.\n", Attachments: []store.MailAttachment{invoicepdf.Attachment(inv)}}
	if err := s.Update(func(tx *store.Tx) error { return q.Enqueue(tx, m) }); err != nil {
		t.Fatal(err)
	}
	q.Wake()
	select {
	case got := <-attempts:
		if got != "sent" {
			t.Fatalf("attempt: %s", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery attempt")
	}
	be.mu.Lock()
	raw := be.received[0]
	be.mu.Unlock()
	msg, err := netmail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	mr := multipart.NewReader(msg.Body, params["boundary"])
	want, _ := invoicepdf.Bytes(inv, logo)
	found := false
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		disp, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if disp != "attachment" {
			continue
		}
		found = true
		data, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatal(err)
		}
		if dp["filename"] != inv.Number+".pdf" || !strings.HasPrefix(p.Header.Get("Content-Type"), "application/pdf") {
			t.Errorf("attachment %q of type %q", dp["filename"], p.Header.Get("Content-Type"))
		}
		if !bytes.Equal(data, want) {
			t.Errorf("attached PDF (%d bytes) is not the invoice's (%d bytes)", len(data), len(want))
		}
	}
	if !found {
		t.Fatal("no attachment")
	}
}
