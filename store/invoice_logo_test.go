package store

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestInvoiceLogoDigest: an invoice names the digest of the logo it was
// issued with, whatever digest the caller put in: the caller's own is
// kept only when the logo frozen under it has exactly the same bytes.
func TestInvoiceLogoDigest(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rid := seed(t, s)["acme"].ID
	ann := newClient(t, s, rid, "ann")
	logo, other := []byte("logo bytes"), []byte("another logo")
	digest := func(b []byte) string { sum := sha256.Sum256(b); return hex.EncodeToString(sum[:]) }
	issue := func(logo []byte, claimed string) *Invoice {
		t.Helper()
		inv := testInvoice(rid, ann.ID, "", 100)
		inv.Brand.LogoSHA256 = claimed
		if err := s.Update(func(tx *Tx) error { return tx.IssueInvoice(inv, logo, "test") }); err != nil {
			t.Fatal(err)
		}
		return inv
	}
	for _, c := range []struct {
		logo    []byte
		claimed string
		want    string
	}{
		{logo, digest(logo), digest(logo)},   // first time: hashed, kept
		{logo, digest(logo), digest(logo)},   // kept already, same bytes
		{other, digest(logo), digest(other)}, // a digest of another logo is not believed
		{logo, "forged", digest(logo)},
		{nil, digest(logo), ""}, // no logo, no digest
	} {
		if inv := issue(c.logo, c.claimed); inv.Brand.LogoSHA256 != c.want {
			t.Errorf("logo %q claimed %q: digest %q, want %q", c.logo, c.claimed, inv.Brand.LogoSHA256, c.want)
		}
	}
	s.View(func(tx *Tx) error {
		if got := tx.InvoiceLogo(rid, digest(other)); string(got) != string(other) {
			t.Errorf("logo kept under its digest: %q", got)
		}
		return nil
	})
}
