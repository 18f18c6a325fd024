package invoicepdf

import (
	"fmt"
	"strconv"
	"strings"

	"portico/store"
)

const refPrefix = "invoice:"

// Ref names an invoice's PDF in a mail attachment (store.MailAttachment
// .Ref): "invoice:<reseller id>:<invoice id>", as billing.InvoiceRef
// writes it.
func Ref(rid, id uint64) string {
	return refPrefix + strconv.FormatUint(rid, 10) + ":" + strconv.FormatUint(id, 10)
}

// ParseRef reads a Ref.
func ParseRef(ref string) (rid, id uint64, err error) {
	rest, ok := strings.CutPrefix(ref, refPrefix)
	a, b, ok2 := strings.Cut(rest, ":")
	if ok && ok2 {
		rid, err = strconv.ParseUint(a, 10, 64)
		if err == nil {
			id, err = strconv.ParseUint(b, 10, 64)
		}
		if err == nil && rid > 0 && id > 0 {
			return rid, id, nil
		}
	}
	return 0, 0, fmt.Errorf("invoicepdf: %q is not an invoice reference", ref)
}

// Attachment is the mail attachment of inv's PDF: named by its number,
// rendered when the mail is sent.
func Attachment(inv *store.Invoice) store.MailAttachment {
	return store.MailAttachment{Name: inv.Number + ".pdf", ContentType: "application/pdf", Ref: Ref(inv.ResellerID, inv.ID)}
}

// Load reads an invoice and the logo frozen with it, for Render.
func Load(tx *store.Tx, rid, id uint64) (*store.Invoice, []byte, error) {
	inv, err := tx.Invoice(rid, id)
	if err != nil {
		return nil, nil, err
	}
	return inv, tx.InvoiceLogo(rid, inv.Brand.LogoSHA256), nil
}

// Resolver renders the PDFs that Refs name, reading each invoice from s:
// the mail queue's attachment resolver (mail.WithResolver or
// Queue.SetResolver). The store is read in a short transaction and the
// PDF rendered after it. A reference that is not an invoice's, or an
// invoice that does not exist, is an error: the mail attempt fails.
func Resolver(s *store.Store) func(ref string) ([]byte, error) {
	return func(ref string) ([]byte, error) {
		rid, id, err := ParseRef(ref)
		if err != nil {
			return nil, err
		}
		var inv *store.Invoice
		var logo []byte
		if err := s.View(func(tx *store.Tx) error {
			inv, logo, err = Load(tx, rid, id)
			return err
		}); err != nil {
			return nil, err
		}
		return Bytes(inv, logo)
	}
}
