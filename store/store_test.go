package store

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/v1.db")

var fixedNow = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "portico.db"), Options{Now: func() time.Time { return fixedNow }, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func seed(t *testing.T, s *Store) map[string]*Reseller {
	t.Helper()
	res, err := s.ReconcileResellers([]ResellerSpec{
		{Slug: "acme", Name: "Acme", Currency: "USD", Domains: []string{"portal.acme.example"}, OwnerEmail: "o@acme.example"},
		{Slug: "globex", Name: "Globex", Currency: "EUR", OwnerEmail: "o@globex.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 2 || len(res.NeedOwner) != 2 {
		t.Fatalf("reconcile: %+v", res)
	}
	out := map[string]*Reseller{}
	for _, r := range res.NeedOwner {
		out[r.Slug] = r
	}
	return out
}

func TestOpenEmptyMigratesToCurrent(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	v, err := s.Version()
	if err != nil || v != len(migrations) {
		t.Fatalf("version %d, %v; want %d", v, err, len(migrations))
	}
	if len(s.Secret()) != 32 {
		t.Fatalf("secret length %d", len(s.Secret()))
	}
	problems, err := s.Verify()
	if err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

// writeV1 builds a store as schema version 1 wrote it: no per-reseller
// domain index.
func writeV1(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucketIfNotExists(bucketMeta)
		if err := migrations[0](tx); err != nil {
			return err
		}
		if err := meta.Put(keySchemaVersion, []byte("1")); err != nil {
			return err
		}
		r := &Reseller{ID: 1, Slug: "old", Name: "Old Co", Status: ResellerActive, Currency: "USD", CreatedAt: fixedNow}
		if err := put(tx.Bucket(bucketResellers), u64(1), r); err != nil {
			return err
		}
		if _, err := tx.Bucket(bucketResellers).NextSequence(); err != nil {
			return err
		}
		if err := tx.Bucket(bucketResellerSlugs).Put([]byte("old"), u64(1)); err != nil {
			return err
		}
		d := &Domain{Host: "portal.old.example", ResellerID: 1, Source: DomainFromConfig, Status: DomainVerified, CreatedAt: fixedNow}
		return put(tx.Bucket(bucketDomains), []byte(d.Host), d)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateGoldenV1 opens a store file written by schema 1 (committed in
// testdata), checks a backup is written first, and that migration 2 built
// the per-reseller domain index.
func TestMigrateGoldenV1(t *testing.T) {
	t.Parallel()
	golden := filepath.Join("testdata", "v1.db")
	if *updateGolden {
		os.Remove(golden)
		writeV1(t, golden)
	}
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "portico.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.Version(); v != len(migrations) {
		t.Fatalf("version %d, want %d", v, len(migrations))
	}
	var domains []*Domain
	if err := s.View(func(tx *Tx) (err error) { domains, err = tx.Domains(1); return err }); err != nil {
		t.Fatal(err)
	}
	if len(domains) != 1 || domains[0].Host != "portal.old.example" {
		t.Fatalf("domains after migration: %+v", domains)
	}
	backups, _ := filepath.Glob(filepath.Join(dir, "backups", "pre-migrate-v1-to-v*.db"))
	if len(backups) != 1 {
		t.Fatalf("want one pre-migration backup, got %v", backups)
	}
	old, err := Open(backups[0], Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if v, _ := old.Version(); v != 1 {
		t.Fatalf("backup has version %d, want 1 (taken before migrating)", v)
	}
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "portico.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte("999"))
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "999") || !strings.Contains(err.Error(), "newer portico") {
		t.Fatalf("want a clear newer-schema refusal, got %v", err)
	}
}

func TestOpenLockedFailsFast(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	start := time.Now()
	_, err := Open(s.Path(), Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "portico serve") {
		t.Fatalf("want ErrLocked naming the running server, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("open waited %s", time.Since(start))
	}
}

func TestReconcileIsIdempotentAndDisablesRemoved(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	seed(t, s)
	res, err := s.ReconcileResellers([]ResellerSpec{
		{Slug: "acme", Name: "Acme", Currency: "USD", Domains: []string{"portal.acme.example"}, OwnerEmail: "o@acme.example"},
		{Slug: "globex", Name: "Globex", Currency: "EUR", OwnerEmail: "o@globex.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created)+len(res.Updated)+len(res.Disabled) != 0 || len(res.NeedOwner) != 2 {
		t.Fatalf("second reconcile changed something: %+v", res)
	}
	// globex removed, the domain moves to it... no: acme's domain moves to a new reseller.
	res, err = s.ReconcileResellers([]ResellerSpec{
		{Slug: "initech", Name: "Initech", Currency: "USD", Domains: []string{"portal.acme.example"}, OwnerEmail: "o@initech.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Disabled, ",") != "acme,globex" || strings.Join(res.Created, ",") != "initech" {
		t.Fatalf("reconcile: %+v", res)
	}
	err = s.View(func(tx *Tx) error {
		acme, err := tx.ResellerBySlug("acme")
		if err != nil {
			return err
		}
		if acme.Status != ResellerDisabled || acme.DisabledAt.IsZero() {
			t.Errorf("acme not disabled: %+v", acme)
		}
		d, err := tx.Domain("portal.acme.example")
		if err != nil {
			return err
		}
		initech, _ := tx.ResellerBySlug("initech")
		if d.ResellerID != initech.ID {
			t.Errorf("domain stayed with reseller %d", d.ResellerID)
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

func TestUsersAreScopedAndIndexed(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	acme, globex := rs["acme"].ID, rs["globex"].ID
	err := s.Update(func(tx *Tx) error {
		if err := tx.CreateUser(&User{ResellerID: acme, Email: "Ann@Example.com", Role: RoleAdmin, PasswordHash: "h"}); err != nil {
			return err
		}
		// the same email at another reseller is a different account
		return tx.CreateUser(&User{ResellerID: globex, Email: "ann@example.com", Role: RoleAdmin, PasswordHash: "h"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error {
		return tx.CreateUser(&User{ResellerID: acme, Email: " ANN@example.com ", Role: RoleAdmin, PasswordHash: "h"})
	})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate email: want ErrConflict, got %v", err)
	}
	err = s.Update(func(tx *Tx) error {
		return tx.CreateUser(&User{ResellerID: acme, Email: "second-owner@example.com", Role: RoleOwner, PasswordHash: "h"})
	})
	if err != nil {
		t.Fatal(err) // no owner exists yet in the seeded store
	}
	err = s.Update(func(tx *Tx) error {
		return tx.CreateUser(&User{ResellerID: acme, Email: "third-owner@example.com", Role: RoleOwner, PasswordHash: "h"})
	})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("second owner: want ErrConflict, got %v", err)
	}
	err = s.View(func(tx *Tx) error {
		u, err := tx.UserByEmail(acme, "ann@EXAMPLE.com")
		if err != nil {
			return err
		}
		if _, err := tx.User(globex, u.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("user of acme visible under globex: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// changing the email moves the index entry
	err = s.Update(func(tx *Tx) error {
		u, _ := tx.UserByEmail(acme, "ann@example.com")
		u.Email = "anne@example.com"
		return tx.UpdateUser(u)
	})
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

func TestSessionsExpireAndAreRevoked(t *testing.T) {
	t.Parallel()
	now := fixedNow
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, err := Open(filepath.Join(t.TempDir(), "p.db"), Options{Now: clock, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs := seed(t, s)
	rid := rs["acme"].ID
	var uid uint64
	err = s.Update(func(tx *Tx) error {
		u := &User{ResellerID: rid, Email: "a@example.com", Role: RoleAdmin, PasswordHash: "h"}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		uid = u.ID
		for i, idle := range []time.Duration{time.Hour, 10 * time.Hour} {
			if err := tx.CreateSession(&Session{Hash: []byte{byte(i + 1)}, ResellerID: rid, UserID: uid,
				ExpiresAt: tx.Now().Add(24 * time.Hour), IdleTimeout: idle}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	n, err := s.DeleteExpiredSessions()
	if err != nil || n != 1 {
		t.Fatalf("expired: %d, %v; want 1", n, err)
	}
	// a touch moves the idle deadline and the index with it
	if err := s.TouchSessions(map[string]time.Time{string([]byte{2}): clock()}); err != nil {
		t.Fatal(err)
	}
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
	err = s.Update(func(tx *Tx) error {
		n, err := tx.DeleteUserSessions(rid, uid)
		if n != 1 {
			t.Errorf("revoked %d sessions, want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
}

func TestLedgerBalancesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	rid := rs["acme"].ID
	pool := AccountKey{ResellerID: rid, Kind: "pool"}
	wallet := AccountKey{ResellerID: rid, ClientID: 1, Kind: "wallet"}
	grant := func(key string, amount int64) (bool, error) {
		var replayed bool
		err := s.Update(func(tx *Tx) (err error) {
			replayed, err = tx.PostLedger(&LedgerTx{ResellerID: rid, Kind: KindGrant, IdempotencyKey: key,
				Legs: []Leg{{Account: pool, Amount: -amount}, {Account: wallet, Amount: amount}}})
			return err
		})
		return replayed, err
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "k" + string(rune('a'+i%25)) // 25 distinct keys, each sent twice
			if _, err := grant(key, 1_0000); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	err := s.View(func(tx *Tx) error {
		if got := tx.Balance(wallet); got != 25_0000 {
			t.Errorf("wallet %d, want 250000", got)
		}
		if got := tx.Balance(pool); got != -25_0000 {
			t.Errorf("pool %d", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error {
		_, err := tx.PostLedger(&LedgerTx{ResellerID: rid, Kind: KindAdjustment,
			Legs: []Leg{{Account: pool, Amount: -5}, {Account: wallet, Amount: 4}}})
		return err
	})
	if !errors.Is(err, ErrUnbalanced) {
		t.Fatalf("unbalanced: got %v", err)
	}
	err = s.Update(func(tx *Tx) error {
		_, err := tx.PostLedger(&LedgerTx{ResellerID: rid, Kind: KindAdjustment,
			Legs: []Leg{{Account: pool, Amount: -5}, {Account: AccountKey{ResellerID: rs["globex"].ID, Kind: "pool"}, Amount: 5}}})
		return err
	})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("cross-tenant leg: got %v", err)
	}
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

// TestVerifyFindsDamage corrupts an index and a cached balance behind the
// store's back and expects verify to name both.
func TestVerifyFindsDamage(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	rid := rs["acme"].ID
	err := s.Update(func(tx *Tx) error {
		if err := tx.CreateUser(&User{ResellerID: rid, Email: "a@example.com", Role: RoleAdmin, PasswordHash: "h"}); err != nil {
			return err
		}
		_, err := tx.PostLedger(&LedgerTx{ResellerID: rid, Kind: KindGrant, Legs: []Leg{
			{Account: AccountKey{ResellerID: rid, Kind: "pool"}, Amount: -7},
			{Account: AccountKey{ResellerID: rid, ClientID: 1, Kind: "wallet"}, Amount: 7}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketUserEmails).Delete(emailKey(rid, "a@example.com")); err != nil {
			return err
		}
		return tx.Bucket(bucketAccounts).Put(AccountKey{ResellerID: rid, ClientID: 1, Kind: "wallet"}.bytes(), encodeBalance(9))
	})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := s.Verify()
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(problems, "\n")
	for _, want := range []string{`email "a@example.com" is not indexed`, "cached balance 9 but its legs sum to 7", "all accounts sum to 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("verify did not report %q; got:\n%s", want, text)
		}
	}
}

func TestBackupOpensAndVerifies(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	seed(t, s)
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := s.BackupTo(path); err != nil {
		t.Fatal(err)
	}
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if problems, err := c.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify copy: %v %v", problems, err)
	}
	var n int
	c.View(func(tx *Tx) error { rs, _ := tx.Resellers(); n = len(rs); return nil })
	if n != 2 {
		t.Fatalf("copy has %d resellers", n)
	}
}

func TestAuditPagesNewestFirst(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	for i := range 7 {
		for _, r := range rs {
			err := s.Update(func(tx *Tx) error {
				return tx.AddAudit(&AuditEvent{ResellerID: r.ID, Actor: r.Slug, Action: "a" + string(rune('0'+i))})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var first, second []*AuditEvent
	var moreFirst, moreSecond bool
	s.View(func(tx *Tx) error {
		first, moreFirst, _ = tx.AuditEvents(rs["acme"].ID, 0, 5)
		second, moreSecond, _ = tx.AuditEvents(rs["acme"].ID, first[len(first)-1].ID, 5)
		return nil
	})
	if !moreFirst || moreSecond {
		t.Fatalf("more flags: %v %v", moreFirst, moreSecond)
	}
	var got []string
	for _, e := range append(first, second...) {
		if e.Actor != "acme" {
			t.Fatalf("event of %s listed for acme", e.Actor)
		}
		got = append(got, e.Action)
	}
	if strings.Join(got, ",") != "a6,a5,a4,a3,a2,a1,a0" {
		t.Fatalf("order %v", got)
	}
}

func TestAPIKeysLimitAndLookup(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	rid := rs["acme"].ID
	for i := range MaxActiveAPIKeys + 1 {
		err := s.Update(func(tx *Tx) error {
			return tx.CreateAPIKey(&APIKey{ResellerID: rid, Name: "k", Prefix: "pk_x", Hash: []byte{byte(i)}})
		})
		if i < MaxActiveAPIKeys && err != nil {
			t.Fatal(err)
		}
		if i == MaxActiveAPIKeys && !errors.Is(err, ErrConflict) {
			t.Fatalf("11th key: got %v", err)
		}
	}
	s.View(func(tx *Tx) error {
		k, err := tx.APIKeyByHash([]byte{3})
		if err != nil || k.ResellerID != rid {
			t.Errorf("lookup: %+v %v", k, err)
		}
		return nil
	})
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

// TestReconcileKeepsBrandEdits: config colours are first values; an edit
// in the console survives restarts, and a later change of the file wins.
func TestReconcileKeepsBrandEdits(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	spec := ResellerSpec{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example", PrimaryColor: "#111111", AccentColor: "#222222"}
	if _, err := s.ReconcileResellers([]ResellerSpec{spec}); err != nil {
		t.Fatal(err)
	}
	brand := func() Brand {
		var b Brand
		s.View(func(tx *Tx) error { r, _ := tx.ResellerBySlug("acme"); b = r.Brand; return nil })
		return b
	}
	s.Update(func(tx *Tx) error {
		r, _ := tx.ResellerBySlug("acme")
		r.Brand.ProductName, r.Brand.PrimaryColor = "Acme Voice", "#333333"
		return tx.UpdateReseller(r)
	})
	if _, err := s.ReconcileResellers([]ResellerSpec{spec}); err != nil {
		t.Fatal(err)
	}
	if b := brand(); b.ProductName != "Acme Voice" || b.PrimaryColor != "#333333" || b.AccentColor != "#222222" {
		t.Fatalf("restart undid the editor: %+v", b)
	}
	spec.PrimaryColor = "#444444"
	if _, err := s.ReconcileResellers([]ResellerSpec{spec}); err != nil {
		t.Fatal(err)
	}
	if b := brand(); b.PrimaryColor != "#444444" || b.ProductName != "Acme Voice" {
		t.Fatalf("a changed config colour was ignored: %+v", b)
	}
}
