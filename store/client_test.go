package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func newClient(t *testing.T, s *Store, rid uint64, username string) *Client {
	t.Helper()
	c := &Client{ResellerID: rid, Username: username, FirstName: "Ann", LastName: "Lee", Email: username + "@example.com", Company: "Co"}
	err := s.Update(func(tx *Tx) error {
		return tx.CreateClient(c, &User{Email: username + "@example.com", Name: "Ann Lee", PasswordHash: "h"}, "staff@example.com")
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCreateClientConflictsAndScope(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	acme, globex := rs["acme"].ID, rs["globex"].ID
	c := newClient(t, s, acme, "ann")
	newClient(t, s, globex, "ann") // another reseller: no conflict
	err := s.Update(func(tx *Tx) error {
		return tx.CreateUser(&User{ResellerID: acme, Email: "o@acme.example", Role: RoleAdmin, PasswordHash: "h"})
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		client *Client
		owner  string
		want   error
	}{
		"username in another case": {&Client{ResellerID: acme, Username: "ANN", Email: "x@example.com"}, "x@example.com", ErrUsernameTaken},
		"client email":             {&Client{ResellerID: acme, Username: "bob", Email: "ANN@example.com"}, "y@example.com", ErrEmailTaken},
		"owner email of a user":    {&Client{ResellerID: acme, Username: "bob", Email: "bob@example.com"}, "o@acme.example", ErrEmailTaken},
	} {
		err := s.Update(func(tx *Tx) error { return tx.CreateClient(tc.client, &User{Email: tc.owner, PasswordHash: "h"}, "x") })
		if !errors.Is(err, tc.want) || !errors.Is(err, ErrConflict) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
	// both taken: both reported, so a form can mark both fields at once
	both := &Client{ResellerID: acme, Username: "Ann", Email: "ann@example.com"}
	err = s.Update(func(tx *Tx) error { return tx.CreateClient(both, &User{Email: both.Email, PasswordHash: "h"}, "x") })
	if !errors.Is(err, ErrUsernameTaken) || !errors.Is(err, ErrEmailTaken) {
		t.Errorf("username and email taken: %v, want both", err)
	}
	bob := newClient(t, s, acme, "bob")
	bob.Username, bob.Email = "ANN", "ann@example.com"
	err = s.Update(func(tx *Tx) error { return tx.UpdateClient(bob) })
	if !errors.Is(err, ErrUsernameTaken) || !errors.Is(err, ErrEmailTaken) {
		t.Errorf("update to a taken username and email: %v, want both", err)
	}
	s.View(func(tx *Tx) error {
		if _, err := tx.Client(globex, c.ID); err == nil {
			other, _ := tx.ClientByUsername(globex, "ann")
			if other.ID == c.ID {
				t.Errorf("acme's client visible under globex")
			}
		}
		users, err := tx.ClientUsers(acme, c.ID)
		if err != nil || len(users) != 1 || users[0].Role != RoleOwner || users[0].ClientID != c.ID {
			t.Errorf("owner user: %+v %v", users, err)
		}
		return nil
	})
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

// TestUpdateClientEmailRule: an edit may not take an email that signs in
// reseller staff or another client's user (CreateClient refuses it), but
// may take one of the client's own users'.
func TestUpdateClientEmailRule(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	acme := seed(t, s)["acme"].ID
	ann, bob := newClient(t, s, acme, "ann"), newClient(t, s, acme, "bob")
	err := s.Update(func(tx *Tx) error {
		return tx.CreateUser(&User{ResellerID: acme, Email: "staff@acme.example", Role: RoleAdmin, PasswordHash: "h"})
	})
	if err != nil {
		t.Fatal(err)
	}
	update := func(c *Client, email string) error {
		return s.Update(func(tx *Tx) error {
			cur, err := tx.Client(acme, c.ID)
			if err != nil {
				return err
			}
			cur.Email = email
			return tx.UpdateClient(cur)
		})
	}
	if err := update(bob, "bob.contact@example.com"); err != nil { // bob's owner keeps bob@
		t.Fatal(err)
	}
	for _, taken := range []string{"staff@acme.example", "Bob@example.com", "bob.contact@example.com"} {
		if err := update(ann, taken); !errors.Is(err, ErrEmailTaken) {
			t.Errorf("ann → %s: %v", taken, err)
		}
	}
	if err := update(ann, "ann.contact@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := update(ann, "ann@example.com"); err != nil { // her own owner's address
		t.Fatalf("back to the owner's email: %v", err)
	}
}

func TestDisableRevokesSessionsAndEnableRestores(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rid := seed(t, s)["acme"].ID
	c := newClient(t, s, rid, "ann")
	err := s.Update(func(tx *Tx) error {
		users, _ := tx.ClientUsers(rid, c.ID)
		return tx.CreateSession(&Session{Hash: []byte("s1"), ResellerID: rid, UserID: users[0].ID, ExpiresAt: tx.Now().Add(time.Hour), IdleTimeout: time.Hour})
	})
	if err != nil {
		t.Fatal(err)
	}
	var disabled *Client
	err = s.Update(func(tx *Tx) (err error) {
		disabled, err = tx.SetClientStatus(rid, c.ID, ClientDisabled, true, "staff", "unpaid")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if disabled.Status != ClientDisabled || !disabled.RestrictAPI || !disabled.DisabledAt.Equal(fixedNow) || len(disabled.StatusHistory) != 2 {
		t.Fatalf("after disable: %+v", disabled)
	}
	s.View(func(tx *Tx) error {
		if _, err := tx.Session([]byte("s1")); !errors.Is(err, ErrNotFound) {
			t.Errorf("session survived disable")
		}
		list, _ := tx.ClientsDisabledBefore(fixedNow)
		if len(list) != 1 || list[0].ID != c.ID {
			t.Errorf("disabled index: %+v", list)
		}
		return nil
	})
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
	err = s.Update(func(tx *Tx) error {
		c, err := tx.SetClientStatus(rid, c.ID, ClientActive, true, "staff", "")
		if err == nil && (c.RestrictAPI || !c.DisabledAt.IsZero()) {
			t.Errorf("after enable: %+v", c)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		if list, _ := tx.ClientsDisabledBefore(fixedNow.Add(time.Hour)); len(list) != 0 {
			t.Errorf("enabled client still due for deletion")
		}
		return nil
	})
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
}

func TestGrantCreditIdempotencyAndLimit(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	rid := rs["acme"].ID
	c := newClient(t, s, rid, "ann")
	grant := func(amount int64, key, hash string) (*LedgerTx, bool, error) {
		var lt *LedgerTx
		var replayed bool
		err := s.Update(func(tx *Tx) (err error) {
			lt, replayed, err = tx.GrantCredit(rid, c.ID, amount, key, hash, "staff", "note")
			return err
		})
		return lt, replayed, err
	}
	first, replayed, err := grant(100_0000, "k1", "h1")
	if err != nil || replayed {
		t.Fatal(err, replayed)
	}
	again, replayed, err := grant(100_0000, "k1", "h1")
	if err != nil || !replayed || again.ID != first.ID {
		t.Fatalf("replay: %+v %v %v", again, replayed, err)
	}
	if _, _, err := grant(5_0000, "k1", "h2"); !errors.Is(err, ErrConflict) {
		t.Fatalf("same key, other body: %v", err)
	}
	if _, _, err := grant(0, "k3", "h"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero amount: %v", err)
	}
	s.View(func(tx *Tx) error {
		cl, _ := tx.Client(rid, c.ID)
		credit := tx.Credit(cl)
		if credit != (Credit{Available: 100_0000, Assigned: 100_0000}) {
			t.Errorf("credit %+v", credit)
		}
		ledger, _ := tx.ClientLedger(rid, c.ID)
		if len(ledger) != 1 || ledger[0].Legs[1].BalanceAfter != 100_0000 {
			t.Errorf("client ledger %+v", ledger)
		}
		return nil
	})
	// a limit of 150 leaves room for 50 more
	err = s.Update(func(tx *Tx) error {
		r, _ := tx.Reseller(rid)
		r.CreditLimit = 150_0000
		return tx.UpdateReseller(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := grant(60_0000, "k4", "h4"); !errors.Is(err, ErrCreditLimit) {
		t.Fatalf("over the limit: %v", err)
	}
	if _, _, err := grant(50_0000, "k5", "h5"); err != nil {
		t.Fatalf("up to the limit: %v", err)
	}
	// another reseller's client is not found
	err = s.Update(func(tx *Tx) error {
		_, _, err := tx.GrantCredit(rs["globex"].ID, c.ID, 1, "", "", "x", "")
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("cross-tenant grant: %v", err)
	}
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
}

// TestConcurrentRecharges: 200 recharges with 100 distinct keys, all at
// once, make exactly 100 entries and a ledger that sums to zero.
func TestConcurrentRecharges(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rid := seed(t, s)["acme"].ID
	c := newClient(t, s, rid, "ann")
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("key-%d", i%100)
			err := s.Update(func(tx *Tx) error {
				_, _, err := tx.GrantCredit(rid, c.ID, 1_0000, key, "same", "api", "")
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	s.View(func(tx *Tx) error {
		ledger, _ := tx.ClientLedger(rid, c.ID)
		cl, _ := tx.Client(rid, c.ID)
		if len(ledger) != 100 || tx.Credit(cl).Available != 100_0000 {
			t.Errorf("%d entries, available %d; want 100 and 1000000", len(ledger), tx.Credit(cl).Available)
		}
		return nil
	})
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
}

func TestDeleteClientKeepsLedger(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rid := seed(t, s)["acme"].ID
	c := newClient(t, s, rid, "ann")
	err := s.Update(func(tx *Tx) error {
		if _, _, err := tx.GrantCredit(rid, c.ID, 7_0000, "", "", "staff", ""); err != nil {
			return err
		}
		if err := tx.CreateAPIKey(&APIKey{ResellerID: rid, ClientID: c.ID, Name: "pbx", Prefix: "pk_x", Hash: []byte("key")}); err != nil {
			return err
		}
		if _, err := tx.SetClientStatus(rid, c.ID, ClientDisabled, false, "staff", ""); err != nil {
			return err
		}
		return tx.DeleteClient(rid, c.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		if _, err := tx.Client(rid, c.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted client found: %v", err)
		}
		if _, err := tx.UserByEmail(rid, "ann@example.com"); !errors.Is(err, ErrNotFound) {
			t.Errorf("owner user survived")
		}
		if _, err := tx.APIKeyByHash([]byte("key")); !errors.Is(err, ErrNotFound) {
			t.Errorf("api key survived")
		}
		if ledger, _ := tx.ClientLedger(rid, c.ID); len(ledger) != 1 {
			t.Errorf("ledger entries lost: %d", len(ledger))
		}
		if list, _ := tx.ClientsDisabledBefore(fixedNow); len(list) != 0 {
			t.Errorf("deleted client still listed for clean-up")
		}
		n := 0
		tx.Clients(rid, func(*Client) bool { n++; return true })
		if n != 0 {
			t.Errorf("deleted client listed")
		}
		return nil
	})
	// the username is free again
	newClient(t, s, rid, "ann")
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
}

// TestClientSummariesFollowChanges: the cached list reflects every commit
// that changes clients or credit, and nothing else invalidates it.
func TestClientSummariesFollowChanges(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rid := seed(t, s)["acme"].ID
	c := newClient(t, s, rid, "ann")
	first, _ := s.ClientSummaries(rid)
	again, _ := s.ClientSummaries(rid)
	if len(first) != 1 || &first[0] != &again[0] {
		t.Fatalf("second call not served from the cache")
	}
	s.Update(func(tx *Tx) error { return tx.AddAudit(&AuditEvent{ResellerID: rid, Action: "x"}) })
	if same, _ := s.ClientSummaries(rid); &same[0] != &first[0] {
		t.Errorf("an unrelated write dropped the cache")
	}
	s.Update(func(tx *Tx) error { _, _, err := tx.GrantCredit(rid, c.ID, 5, "", "", "x", ""); return err })
	after, _ := s.ClientSummaries(rid)
	if after[0].Credit.Available != 5 {
		t.Errorf("credit not refreshed: %+v", after[0].Credit)
	}
	// a failed write leaves the cache valid
	s.Update(func(tx *Tx) error { tx.GrantCredit(rid, c.ID, 5, "", "", "x", ""); return errors.New("rollback") })
	if again, _ := s.ClientSummaries(rid); again[0].Credit.Available != 5 || &again[0] != &after[0] {
		t.Errorf("rolled-back write changed the summaries")
	}
	newClient(t, s, rid, "bob")
	if list, _ := s.ClientSummaries(rid); len(list) != 2 {
		t.Errorf("new client missing: %d", len(list))
	}
}
