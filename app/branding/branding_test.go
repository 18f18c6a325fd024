package branding

import (
	"path/filepath"
	"slices"
	"testing"

	"portico/app/actor"
	"portico/app/fault"
	"portico/store"
)

func newService(t *testing.T) (*Service, *store.Store, *store.Reseller) {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "p.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	res, err := s.ReconcileResellers([]store.ResellerSpec{{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example",
		PrimaryColor: "#AA0000", AccentColor: "#00AA00"}})
	if err != nil {
		t.Fatal(err)
	}
	return New(s), s, res.NeedOwner[0]
}

func audit(t *testing.T, s *store.Store, rid uint64) []string {
	t.Helper()
	var out []string
	err := s.View(func(tx *store.Tx) error {
		events, _, err := tx.AuditEvents(rid, 0, 100)
		for _, e := range events {
			out = append(out, e.Actor+" "+e.Action+" "+e.Target+" "+e.IP)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func stored(t *testing.T, s *store.Store, rid uint64) (store.Brand, []string) {
	t.Helper()
	var b store.Brand
	var assets []string
	err := s.View(func(tx *store.Tx) error {
		r, err := tx.Reseller(rid)
		if err != nil {
			return err
		}
		b = r.Brand
		headers, err := tx.BrandAssetHeaders(rid)
		for _, a := range headers {
			assets = append(assets, a.Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(assets)
	return b, assets
}

var by = actor.Actor{Name: "owner@acme.example", IP: "192.0.2.1"}

// TestSave: the brand, the images and one audit event naming what changed
// are written together; text is trimmed, colours in either case are
// saved in lower case.
func TestSave(t *testing.T) {
	t.Parallel()
	svc, s, r := newService(t)
	in := Input{Brand: store.Brand{ProductName: "  Acme Voice ", PrimaryColor: "#2457D6", AccentColor: " #F59E0B ",
		SupportURL: "https://help.acme.example/", MailSender: "Acme"},
		Images: map[string][]byte{store.AssetLogo: []byte("png-logo"), store.AssetFavicon: []byte("png-icon")}}
	if err := svc.Save(r, in, by); err != nil {
		t.Fatal(err)
	}
	b, assets := stored(t, s, r.ID)
	want := store.Brand{ProductName: "Acme Voice", PrimaryColor: "#2457d6", AccentColor: "#f59e0b", SupportURL: "https://help.acme.example/", MailSender: "Acme"}
	if b != want || !slices.Equal(assets, []string{"favicon", "logo"}) {
		t.Fatalf("stored %+v with %v, want %+v with both images", b, assets, want)
	}
	if got := audit(t, s, r.ID); len(got) != 1 || got[0] != "owner@acme.example branding.update product name, primary colour, accent colour, support URL, mail sender, logo, favicon 192.0.2.1" {
		t.Fatalf("audit %q", got)
	}

	// Removing the favicon while a new logo comes: the new logo wins over
	// a removal of the same image.
	in = Input{Brand: want, Images: map[string][]byte{store.AssetLogo: []byte("png-logo-2")},
		Remove: map[string]bool{store.AssetLogo: true, store.AssetFavicon: true}}
	if err := svc.Save(r, in, by); err != nil {
		t.Fatal(err)
	}
	if _, assets := stored(t, s, r.ID); !slices.Equal(assets, []string{"logo"}) {
		t.Fatalf("images %v, want the new logo only", assets)
	}
	if got := audit(t, s, r.ID); len(got) != 2 || got[0] != "owner@acme.example branding.update logo, favicon removed 192.0.2.1" {
		t.Fatalf("audit %q", got)
	}
}

// TestSaveRefuses: any problem, in the text or found by the caller in an
// upload, comes back by field and nothing is written, not even the valid
// fields or images of the same submission.
func TestSaveRefuses(t *testing.T) {
	t.Parallel()
	svc, s, r := newService(t)
	before, _ := stored(t, s, r.ID)
	for _, tc := range []struct {
		name   string
		in     Input
		fields []string
	}{
		{"bad colours", Input{Brand: store.Brand{ProductName: "New", PrimaryColor: "red", AccentColor: "#fff;}x"}},
			[]string{"primary_color", "accent_color"}},
		{"short colour", Input{Brand: store.Brand{ProductName: "New", PrimaryColor: "#abc", AccentColor: "#00aa00"}}, []string{"primary_color"}},
		{"no name, script URL", Input{Brand: store.Brand{ProductName: " ", PrimaryColor: "#aa0000", AccentColor: "#00aa00", SupportURL: "javascript:alert(1)"}},
			[]string{"product_name", "support_url"}},
		{"header injection", Input{Brand: store.Brand{ProductName: "New", PrimaryColor: "#aa0000", AccentColor: "#00aa00", MailSender: "A\r\nBcc: x@example.com"}},
			[]string{"mail_sender"}},
		{"refused upload", Input{Brand: store.Brand{ProductName: "New", PrimaryColor: "#aa0000", AccentColor: "#00aa00"},
			Images: map[string][]byte{store.AssetLogo: []byte("png")}, Refused: fault.Fields{{Field: "favicon", Message: "SVG is not accepted"}}},
			[]string{"favicon"}},
	} {
		err := svc.Save(r, tc.in, by)
		problems, invalid := fault.FieldsOf(err)
		if !invalid || fault.KindOf(err) != fault.Invalid {
			t.Errorf("%s: %v, want a validation error", tc.name, err)
			continue
		}
		var fields []string
		for _, p := range problems {
			fields = append(fields, p.Field)
		}
		if !slices.Equal(fields, tc.fields) {
			t.Errorf("%s: fields %v, want %v", tc.name, fields, tc.fields)
		}
	}
	after, assets := stored(t, s, r.ID)
	if after != before || len(assets) != 0 || len(audit(t, s, r.ID)) != 0 {
		t.Fatalf("refused saves wrote: brand %+v (was %+v), images %v, audit %v", after, before, assets, audit(t, s, r.ID))
	}
}
