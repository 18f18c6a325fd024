package store

import (
	"errors"
	"testing"
)

func TestDomainsAddCheckAndScope(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	acme, globex := rs["acme"].ID, rs["globex"].ID
	add := func(rid uint64, host, token string) error {
		return s.Update(func(tx *Tx) error { return tx.AddDomain(&Domain{ResellerID: rid, Host: host, Token: token}) })
	}
	if err := add(acme, "shop.acme.example", "t1"); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		rid       uint64
		host, tok string
		want      error
	}{
		"another reseller's user domain": {globex, "shop.acme.example", "t2", ErrDomainTaken},
		"another reseller's config one":  {globex, "portal.acme.example", "t2", ErrDomainTaken},
		"added twice":                    {acme, "shop.acme.example", "t2", ErrDomainExists},
		"its own config domain":          {acme, "portal.acme.example", "t2", ErrDomainExists},
		"no token":                       {acme, "x.example", "", ErrInvalid},
		"unknown reseller":               {999, "y.example", "t", ErrNotFound},
	} {
		if err := add(tc.rid, tc.host, tc.tok); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if err := add(globex, "lines.globex.example", "g1"); err != nil {
		t.Fatal(err)
	}

	err := s.View(func(tx *Tx) error {
		if _, err := tx.ResellerDomain(globex, "shop.acme.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("globex sees acme's domain: %v", err)
		}
		d, err := tx.ResellerDomain(acme, "shop.acme.example")
		if err != nil || d.Status != DomainPending || d.Source != DomainFromUser || d.Token != "t1" || !d.CreatedAt.Equal(fixedNow) {
			t.Errorf("added domain: %+v %v", d, err)
		}
		pending, err := tx.PendingDomains()
		if err != nil || len(pending) != 2 || pending[0].Host != "lines.globex.example" || pending[1].Host != "shop.acme.example" {
			t.Errorf("pending: %v %v", pending, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	record := func(rid uint64, host string, check DomainCheck) (*Domain, bool, error) {
		var d *Domain
		var verified bool
		err := s.Update(func(tx *Tx) (err error) { d, verified, err = tx.RecordDomainCheck(rid, host, check); return err })
		return d, verified, err
	}
	if _, _, err := record(globex, "shop.acme.example", DomainCheck{Token: "t1", Verified: true}); !errors.Is(err, ErrNotFound) {
		t.Errorf("globex recorded a check on acme's domain: %v", err)
	}
	if _, _, err := record(acme, "shop.acme.example", DomainCheck{Token: "old", Verified: true}); !errors.Is(err, ErrDomainChanged) {
		t.Errorf("a check for another token: %v", err)
	}
	d, verified, err := record(acme, "shop.acme.example", DomainCheck{Token: "t1", Result: "TXT record not found"})
	if err != nil || verified || d.Status != DomainPending || d.LastResult != "TXT record not found" || !d.LastCheckAt.Equal(fixedNow) {
		t.Fatalf("failed check: %+v %v %v", d, verified, err)
	}
	d, verified, err = record(acme, "shop.acme.example", DomainCheck{Token: "t1", Verified: true, Result: "verified by TXT record"})
	if err != nil || !verified || d.Status != DomainVerified || !d.VerifiedAt.Equal(fixedNow) {
		t.Fatalf("passing check: %+v %v %v", d, verified, err)
	}
	// a late failing answer never downgrades a verified domain
	d, verified, err = record(acme, "shop.acme.example", DomainCheck{Token: "t1", Result: "TXT record not found"})
	if err != nil || verified || d.Status != DomainVerified || d.LastResult != "verified by TXT record" {
		t.Fatalf("late check: %+v %v %v", d, verified, err)
	}

	// reconciling the config again keeps domains the reseller added
	if _, err := s.ReconcileResellers([]ResellerSpec{
		{Slug: "acme", Name: "Acme", Currency: "USD", Domains: []string{"portal.acme.example"}, OwnerEmail: "o@acme.example"},
		{Slug: "globex", Name: "Globex", Currency: "EUR", OwnerEmail: "o@globex.example"},
	}); err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Tx) error {
		all, err := tx.Domains(acme)
		if err != nil || len(all) != 2 || all[0].Host != "portal.acme.example" || all[1].Host != "shop.acme.example" || all[1].Status != DomainVerified {
			t.Errorf("acme's domains after reconcile: %v %v", all, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}
