package tenancy

import (
	"context"
	"path/filepath"
	"testing"

	"portico/store"
)

const base = "test.portico"

// hostsStore has acme (active, with a config domain, a pending and a
// verified custom domain) and globex (disabled, with a verified custom
// domain).
func hostsStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "p.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.ReconcileResellers([]store.ResellerSpec{
		{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example", Domains: []string{"portal.acme.example"}},
		{Slug: "globex", Name: "Globex", Currency: "EUR", OwnerEmail: "o@globex.example"},
	}); err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *store.Tx) error {
		acme, err := tx.ResellerBySlug("acme")
		if err != nil {
			return err
		}
		globex, err := tx.ResellerBySlug("globex")
		if err != nil {
			return err
		}
		for _, d := range []*store.Domain{
			{Host: "pending.acme.example", ResellerID: acme.ID, Source: store.DomainFromUser, Status: store.DomainPending, Token: "t"},
			{Host: "shop.acme.example", ResellerID: acme.ID, Source: store.DomainFromUser, Status: store.DomainVerified},
			{Host: "portal.globex.example", ResellerID: globex.ID, Source: store.DomainFromUser, Status: store.DomainVerified},
		} {
			if err := tx.PutDomain(d); err != nil {
				return err
			}
		}
		globex.Status = store.ResellerDisabled
		return tx.UpdateReseller(globex)
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOneHostRule: the tenant lookup and the TLS decision give the same
// answer for every host, because both ask ResellerOf: a host serves pages
// exactly when it may get a certificate (the base domain, which serves no
// reseller, aside).
func TestOneHostRule(t *testing.T) {
	t.Parallel()
	s := hostsStore(t)
	hosts := NewHosts(s, base)
	allow := CertificateDecision(s, base)
	for host, slug := range map[string]string{
		"acme.test.portico":     "acme",
		"portal.acme.example":   "acme",
		"shop.acme.example":     "acme",
		"pending.acme.example":  "",
		"globex.test.portico":   "",
		"portal.globex.example": "",
		"nobody.test.portico":   "",
		"x.acme.test.portico":   "",
		"nobody.example":        "",
		".test.portico":         "",
	} {
		r := hosts.Reseller(host)
		switch {
		case slug == "" && r != nil:
			t.Errorf("%s serves %s, want nobody", host, r.Slug)
		case slug != "" && (r == nil || r.Slug != slug):
			t.Errorf("%s serves %v, want %s", host, r, slug)
		}
		if err := allow(context.Background(), host); (err == nil) != (r != nil) {
			t.Errorf("%s: certificate decision %v, but the host serves %v", host, err, r)
		}
	}
	if err := allow(context.Background(), base); err != nil {
		t.Errorf("base domain refused: %v", err)
	}
	if r := hosts.Reseller(base); r != nil {
		t.Errorf("the base domain serves %s", r.Slug)
	}
}

// TestHostsReset: a cached answer stays until Reset, and a host that
// served nobody is not cached.
func TestHostsReset(t *testing.T) {
	t.Parallel()
	s := hostsStore(t)
	hosts := NewHosts(s, base)
	if hosts.Reseller("shop.acme.example") == nil || hosts.Reseller("pending.acme.example") != nil {
		t.Fatal("first answers wrong")
	}
	err := s.Update(func(tx *store.Tx) error {
		acme, err := tx.ResellerBySlug("acme")
		if err != nil {
			return err
		}
		if err := tx.RemoveDomain(acme.ID, "shop.acme.example"); err != nil {
			return err
		}
		return tx.PutDomain(&store.Domain{Host: "pending.acme.example", ResellerID: acme.ID, Source: store.DomainFromUser, Status: store.DomainVerified})
	})
	if err != nil {
		t.Fatal(err)
	}
	if hosts.Reseller("shop.acme.example") == nil {
		t.Error("the cached answer went before Reset")
	}
	if hosts.Reseller("pending.acme.example") == nil {
		t.Error("a refused host was cached")
	}
	hosts.Reset()
	if r := hosts.Reseller("shop.acme.example"); r != nil {
		t.Errorf("after Reset a removed domain still serves %s", r.Slug)
	}
}
