package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
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
		"another reseller's config one": {globex, "portal.acme.example", "t2", ErrDomainTaken},
		"added twice":                   {acme, "shop.acme.example", "t2", ErrDomainExists},
		"its own config domain":         {acme, "portal.acme.example", "t2", ErrDomainExists},
		"no token":                      {acme, "x.example", "", ErrInvalid},
		"unknown reseller":              {999, "y.example", "t", ErrNotFound},
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
		if _, err := tx.Domain("shop.acme.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a pending claim serves: %v", err)
		}
		d, err := tx.ResellerDomain(acme, "shop.acme.example")
		if err != nil || d.Status != DomainPending || d.Source != DomainFromUser || d.Token != "t1" || !d.CreatedAt.Equal(fixedNow) ||
			!d.ClaimEnds().Equal(fixedNow.Add(ClaimLifetime)) {
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
	// verified now, it is taken for anyone else
	if err := add(globex, "shop.acme.example", "t2"); !errors.Is(err, ErrDomainTaken) {
		t.Errorf("globex adds acme's verified domain: %v", err)
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

// TestDomainClaimsLapseAndRace is issue 10's probe at the store: a pending
// claim blocked every other reseller for ever. Now another reseller may
// claim the same host, the first to prove it in DNS takes it (the other's
// claim reads as taken and is no longer checked), and a claim not proved
// within ClaimLifetime lapses and can be renewed with the same token.
func TestDomainClaimsLapseAndRace(t *testing.T) {
	t.Parallel()
	now := fixedNow
	s, err := Open(filepath.Join(t.TempDir(), "portico.db"), Options{Now: func() time.Time { return now }, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rs := seed(t, s)
	acme, globex := rs["acme"].ID, rs["globex"].ID
	const host = "voice.shared.example"
	add := func(rid uint64, token string) error {
		return s.Update(func(tx *Tx) error { return tx.AddDomain(&Domain{ResellerID: rid, Host: host, Token: token}) })
	}
	state := func(rid uint64) *Domain {
		t.Helper()
		var d *Domain
		if err := s.View(func(tx *Tx) (err error) { d, err = tx.ResellerDomain(rid, host); return err }); err != nil {
			t.Fatal(err)
		}
		return d
	}
	pending := func() int {
		t.Helper()
		var n []*Domain
		if err := s.View(func(tx *Tx) (err error) { n, err = tx.PendingDomains(); return err }); err != nil {
			t.Fatal(err)
		}
		return len(n)
	}
	if err := add(acme, "a1"); err != nil {
		t.Fatal(err)
	}
	// the probe: a second reseller claims a host the first has pending
	if err := add(globex, "g1"); err != nil {
		t.Fatalf("globex's claim on a host acme has pending: %v", err)
	}
	if pending() != 2 {
		t.Fatalf("pending claims: %d, want 2", pending())
	}
	// globex proves it first and takes it
	var verified bool
	err = s.Update(func(tx *Tx) (err error) {
		_, verified, err = tx.RecordDomainCheck(globex, host, DomainCheck{Token: "g1", Verified: true, Result: "verified by TXT record"})
		return err
	})
	if err != nil || !verified {
		t.Fatalf("globex's check: %v %v", verified, err)
	}
	if d := state(globex); d.Status != DomainVerified || d.CreatedAt != fixedNow {
		t.Errorf("globex's domain: %+v", d)
	}
	if d := state(acme); d.Status != DomainTaken || d.Token != "a1" {
		t.Errorf("acme's claim after globex won: %+v", d)
	}
	if pending() != 0 {
		t.Error("the lost claim is still checked")
	}
	// a late passing check of the loser verifies nothing
	var d *Domain
	err = s.Update(func(tx *Tx) (err error) {
		d, verified, err = tx.RecordDomainCheck(acme, host, DomainCheck{Token: "a1", Verified: true, Result: "verified by CNAME"})
		return err
	})
	if err != nil || verified || d.Status != DomainTaken {
		t.Fatalf("the loser's late check: %+v %v %v", d, verified, err)
	}
	var held *Domain
	if err := s.View(func(tx *Tx) (err error) { held, err = tx.Domain(host); return err }); err != nil || held.ResellerID != globex {
		t.Fatalf("the host serves %+v %v", held, err)
	}
	// the loser's row can be removed; the winner's domain stays
	if err := s.Update(func(tx *Tx) error { return tx.RemoveDomain(acme, host) }); err != nil {
		t.Fatal(err)
	}
	if state(globex).Status != DomainVerified {
		t.Error("removing the lost claim touched the winner's domain")
	}

	// lapse: a claim not proved within ClaimLifetime expires
	const other = "lines.lapse.example"
	if err := s.Update(func(tx *Tx) error { return tx.AddDomain(&Domain{ResellerID: acme, Host: other, Token: "a2"}) }); err != nil {
		t.Fatal(err)
	}
	now = now.Add(ClaimLifetime - time.Second)
	if d, _ := claimOf(t, s, acme, other); d.Status != DomainPending || pending() != 1 {
		t.Fatalf("a claim a second before it lapses: %+v", d)
	}
	now = now.Add(time.Second)
	if d, _ := claimOf(t, s, acme, other); d.Status != DomainExpired || pending() != 0 {
		t.Fatalf("a claim at its end: %+v, %d pending", d, pending())
	}
	err = s.Update(func(tx *Tx) (err error) {
		d, verified, err = tx.RecordDomainCheck(acme, other, DomainCheck{Token: "a2", Verified: true, Result: "verified by TXT record"})
		return err
	})
	if err != nil || verified || d.Status != DomainExpired {
		t.Fatalf("an expired claim verified: %+v %v %v", d, verified, err)
	}
	// renewing keeps the token and restarts the lifetime
	err = s.Update(func(tx *Tx) (err error) { d, err = tx.RenewDomainClaim(acme, other); return err })
	if err != nil || d.Status != DomainPending || d.Token != "a2" || !d.ClaimEnds().Equal(now.Add(ClaimLifetime)) || pending() != 1 {
		t.Fatalf("renewed: %+v %v", d, err)
	}
	if err := s.Update(func(tx *Tx) (err error) { _, err = tx.RenewDomainClaim(acme, other); return err }); !errors.Is(err, ErrDomainExists) {
		t.Errorf("renewing a live claim: %v", err)
	}
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

func claimOf(t *testing.T, s *Store, rid uint64, host string) (*Domain, error) {
	t.Helper()
	var d *Domain
	err := s.View(func(tx *Tx) (err error) { d, err = tx.ResellerDomain(rid, host); return err })
	if err != nil {
		t.Fatal(err)
	}
	return d, err
}

// TestMigrateDomainClaims: a store of schema 7 with a pending domain in
// the domains bucket opens with it as a claim that started when it was
// added, and its verified domains untouched.
func TestMigrateDomainClaims(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "portico.db")
	s, err := Open(path, Options{Now: func() time.Time { return fixedNow }, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	acme := seed(t, s)["acme"].ID
	added := fixedNow.Add(-3 * 24 * time.Hour)
	// write what schema 7 held: the pending domain in the domains bucket
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketDomainClaims); err != nil {
			return err
		}
		d := &Domain{Host: "old.pending.example", ResellerID: acme, Source: DomainFromUser, Status: DomainPending, Token: "tok", CreatedAt: added}
		if err := put(tx.Bucket(bucketDomains), []byte(d.Host), d); err != nil {
			return err
		}
		if err := tx.Bucket(bucketResellerDomains).Put(tenantStringKey(acme, d.Host), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte("7"))
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{Now: func() time.Time { return fixedNow }, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var all []*Domain
	err = s.View(func(tx *Tx) (err error) {
		if _, err := tx.Domain("old.pending.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("the pending domain still serves: %v", err)
		}
		all, err = tx.Domains(acme)
		return err
	})
	if err != nil || len(all) != 2 || all[0].Host != "old.pending.example" || all[0].Status != DomainPending || all[0].Token != "tok" ||
		!all[0].ClaimEnds().Equal(added.Add(ClaimLifetime)) || all[1].Host != "portal.acme.example" || all[1].Status != DomainVerified {
		t.Fatalf("after migration: %+v %v", all, err)
	}
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}
