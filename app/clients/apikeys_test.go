package clients

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portico/app/actor"
	"portico/app/auth"
	"portico/app/fault"
	"portico/app/testkit"
	"portico/store"
)

// keyFixture is a store with two resellers, acme with clients ann and bob
// and globex with client gus.
type keyFixture struct {
	svc           *Service
	store         *store.Store
	acme, globex  *store.Reseller
	ann, bob, gus *store.Client
}

func newKeyFixture(t *testing.T) *keyFixture {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	s, err := store.Open(filepath.Join(t.TempDir(), "p.db"), store.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.ReconcileResellers([]store.ResellerSpec{
		{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example"},
		{Slug: "globex", Name: "Globex", Currency: "EUR", OwnerEmail: "o@globex.example"},
	}); err != nil {
		t.Fatal(err)
	}
	f := &keyFixture{svc: New(s), store: s}
	s.View(func(tx *store.Tx) (err error) {
		if f.acme, err = tx.ResellerBySlug("acme"); err != nil {
			return err
		}
		f.globex, err = tx.ResellerBySlug("globex")
		return err
	})
	client := func(r *store.Reseller, username string) *store.Client {
		in := validInput()
		in.Username, in.Email = username, username+"@example.com"
		c, err := f.svc.Create(r, in, actor.Actor{Name: "staff"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	f.ann, f.bob, f.gus = client(f.acme, "ann"), client(f.acme, "bob"), client(f.globex, "gus")
	return f
}

// keyAudit is the reseller's api_key.* events, oldest first.
func (f *keyFixture) keyAudit(t *testing.T, rid uint64) []*store.AuditEvent {
	t.Helper()
	var out []*store.AuditEvent
	f.store.View(func(tx *store.Tx) error {
		events, _, err := tx.AuditEvents(rid, 0, 1000)
		for i := len(events) - 1; i >= 0; i-- {
			if strings.HasPrefix(events[i].Action, "api_key.") {
				out = append(out, events[i])
			}
		}
		return err
	})
	return out
}

func TestCreateKeyStoresOnlyTheHash(t *testing.T) {
	t.Parallel()
	f := newKeyFixture(t)
	k, err := f.svc.CreateKey(f.acme.ID, f.ann.ID, "  Office PBX ", actor.Actor{Name: "ann@example.com", IP: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "Office PBX" || k.ClientID != f.ann.ID || k.CreatedBy != "ann@example.com" || !strings.HasPrefix(k.Secret, k.Prefix+"_") {
		t.Fatalf("key %+v", k)
	}
	f.store.View(func(tx *store.Tx) error {
		stored, err := tx.APIKeyByHash(auth.HashToken(k.Secret))
		if err != nil || stored.ID != k.ID {
			t.Fatalf("lookup by hash: %+v %v", stored, err)
		}
		secret := k.Secret[len(k.Prefix)+1:]
		if bytes.Contains(stored.Hash, []byte(secret)) || strings.Contains(fmt.Sprint(*stored), secret) {
			t.Errorf("the secret is stored: %+v", stored)
		}
		return nil
	})
	events := f.keyAudit(t, f.acme.ID)
	if len(events) != 1 || events[0].Action != "api_key.create" || events[0].Actor != "ann@example.com" || events[0].IP != "192.0.2.7" ||
		events[0].ClientID != f.ann.ID || events[0].Target != "ann "+k.Prefix+" Office PBX" || strings.Contains(events[0].Target, k.Secret) {
		t.Errorf("audit %+v", events)
	}
}

func TestCreateKeyRules(t *testing.T) {
	t.Parallel()
	f := newKeyFixture(t)
	for name, want := range map[string]string{"": "Enter a name", "   ": "Enter a name", strings.Repeat("é", KeyNameMax+1): "at most 100",
		"pbx\nnext": "control characters", "bad\xffutf8": "control characters"} {
		_, err := f.svc.CreateKey(f.acme.ID, f.ann.ID, name, actor.Actor{Name: "x"})
		var errs fault.Fields
		if !errors.As(err, &errs) || errs[0].Field != "name" || !strings.Contains(errs[0].Message, want) {
			t.Errorf("name %q: %v, want %q", name, err, want)
		}
	}
	if _, err := f.svc.CreateKey(f.acme.ID, f.ann.ID, strings.Repeat("é", KeyNameMax), actor.Actor{Name: "x"}); err != nil {
		t.Errorf("100 characters refused: %v", err)
	}
	// another reseller's client, an unknown one, and the reseller itself get no key
	for _, cid := range []uint64{f.gus.ID, 999, 0} {
		if _, err := f.svc.CreateKey(f.acme.ID, cid, "pbx", actor.Actor{Name: "x"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("client %d: %v, want not found", cid, err)
		}
	}
	if keys, _ := f.svc.Keys(f.acme.ID, f.ann.ID); len(keys) != 1 {
		t.Errorf("%d keys after refusals, want 1", len(keys))
	}
}

func TestKeyLimitCountsActiveKeysOnly(t *testing.T) {
	t.Parallel()
	f := newKeyFixture(t)
	var first *NewKey
	for i := range store.MaxActiveAPIKeys {
		k, err := f.svc.CreateKey(f.acme.ID, f.ann.ID, fmt.Sprint("pbx ", i), actor.Actor{Name: "x"})
		if err != nil {
			t.Fatalf("key %d: %v", i+1, err)
		}
		if first == nil {
			first = k
		}
	}
	_, err := f.svc.CreateKey(f.acme.ID, f.ann.ID, "eleventh", actor.Actor{Name: "x"})
	if !errors.Is(err, ErrKeyLimit) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("11th key: %v", err)
	}
	// other clients' allowances are their own
	if _, err := f.svc.CreateKey(f.acme.ID, f.bob.ID, "pbx", actor.Actor{Name: "x"}); err != nil {
		t.Fatalf("bob's first key: %v", err)
	}
	if _, err := f.svc.CreateKey(f.globex.ID, f.gus.ID, "pbx", actor.Actor{Name: "x"}); err != nil {
		t.Fatalf("gus's first key: %v", err)
	}
	// a revoked key frees its place
	if _, revoked, err := f.svc.RevokeKey(f.acme.ID, f.ann.ID, first.ID, actor.Actor{Name: "x"}); err != nil || !revoked {
		t.Fatalf("revoke: %v %v", revoked, err)
	}
	if _, err := f.svc.CreateKey(f.acme.ID, f.ann.ID, "eleventh", actor.Actor{Name: "x"}); err != nil {
		t.Fatalf("key after a revocation: %v", err)
	}
	if _, err := f.svc.CreateKey(f.acme.ID, f.ann.ID, "twelfth", actor.Actor{Name: "x"}); !errors.Is(err, ErrKeyLimit) {
		t.Fatalf("past the limit again: %v", err)
	}
	keys, err := f.svc.Keys(f.acme.ID, f.ann.ID)
	if err != nil || len(keys) != store.MaxActiveAPIKeys+1 {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	// active first, newest first; the revoked one last
	if keys[0].Name != "eleventh" || keys[len(keys)-1].ID != first.ID || keys[len(keys)-1].RevokedAt.IsZero() {
		t.Errorf("order: first %q, last %q", keys[0].Name, keys[len(keys)-1].Name)
	}
	if problems, err := f.store.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

func TestRevokeKeyScopeAndIdempotence(t *testing.T) {
	t.Parallel()
	f := newKeyFixture(t)
	ann, err := f.svc.CreateKey(f.acme.ID, f.ann.ID, "ann pbx", actor.Actor{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	gus, err := f.svc.CreateKey(f.globex.ID, f.gus.ID, "gus pbx", actor.Actor{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var resellerKey *store.APIKey
	f.store.Update(func(tx *store.Tx) error {
		_, prefix, hash := auth.NewAPIKey()
		resellerKey = &store.APIKey{ResellerID: f.acme.ID, Name: "ops", Prefix: prefix, Hash: hash}
		return tx.CreateAPIKey(resellerKey)
	})
	refused := []struct {
		name         string
		rid, cid, id uint64
	}{
		{"another client's key", f.acme.ID, f.bob.ID, ann.ID},
		{"another reseller's key", f.acme.ID, f.ann.ID, gus.ID},
		{"another reseller's key for its own client id", f.acme.ID, f.gus.ID, gus.ID},
		{"the key's client under another reseller", f.globex.ID, f.ann.ID, ann.ID},
		{"the reseller's own key", f.acme.ID, f.ann.ID, resellerKey.ID},
		{"no such key", f.acme.ID, f.ann.ID, 999},
	}
	for _, tc := range refused {
		if _, _, err := f.svc.RevokeKey(tc.rid, tc.cid, tc.id, actor.Actor{Name: "x"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want not found", tc.name, err)
		}
	}
	f.store.View(func(tx *store.Tx) error {
		for _, k := range []*NewKey{ann, gus} {
			if stored, err := tx.APIKeyByHash(auth.HashToken(k.Secret)); err != nil || !stored.RevokedAt.IsZero() {
				t.Errorf("%s was revoked by a refused request: %+v %v", k.Name, stored, err)
			}
		}
		return nil
	})
	by := actor.Actor{Name: "ann@example.com", IP: "192.0.2.8"}
	for i := range 2 {
		k, revoked, err := f.svc.RevokeKey(f.acme.ID, f.ann.ID, ann.ID, by)
		if err != nil || revoked != (i == 0) || k.RevokedAt.IsZero() || k.ID != ann.ID {
			t.Fatalf("revoke %d: %+v %v %v", i+1, k, revoked, err)
		}
	}
	events := f.keyAudit(t, f.acme.ID)
	if len(events) != 2 || events[1].Action != "api_key.revoke" || events[1].Actor != by.Name || events[1].IP != by.IP ||
		events[1].Target != "ann "+ann.Prefix+" ann pbx" {
		t.Errorf("audit %+v", events)
	}
	if events := f.keyAudit(t, f.globex.ID); len(events) != 1 {
		t.Errorf("globex audit %+v", events)
	}
	// the store's own method, for a reseller key
	err = f.store.Update(func(tx *store.Tx) error {
		if _, _, err := tx.RevokeAPIKey(f.acme.ID, f.ann.ID, resellerKey.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a client revokes the reseller's key: %v", err)
		}
		k, revoked, err := tx.RevokeAPIKey(f.acme.ID, 0, resellerKey.ID)
		if err != nil || !revoked || !k.RevokedAt.Equal(tx.Now()) {
			t.Errorf("reseller key: %+v %v %v", k, revoked, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKeysListsOneClient(t *testing.T) {
	t.Parallel()
	f := newKeyFixture(t)
	for _, c := range []*store.Client{f.ann, f.bob} {
		if _, err := f.svc.CreateKey(f.acme.ID, c.ID, c.Username+" pbx", actor.Actor{Name: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.CreateKey(f.globex.ID, f.gus.ID, "gus pbx", actor.Actor{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	keys, err := f.svc.Keys(f.acme.ID, f.ann.ID)
	if err != nil || len(keys) != 1 || keys[0].Name != "ann pbx" {
		t.Fatalf("ann's keys: %v %v", keys, err)
	}
	if keys, _ := f.svc.Keys(f.globex.ID, f.ann.ID); len(keys) != 0 {
		t.Errorf("ann's keys under globex: %v", keys)
	}
	if keys, _ := f.svc.Keys(f.acme.ID, 0); len(keys) != 0 {
		t.Errorf("client 0 lists %v", keys)
	}
}
