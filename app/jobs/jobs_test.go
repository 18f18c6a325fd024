package jobs

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"portico/app/calls"
	"portico/app/clients"
	"portico/app/config"
	"portico/app/testkit"
	"portico/store"
)

func newScheduler(t *testing.T, keep int) (*Scheduler, *store.Store, *testkit.Clock, string) {
	t.Helper()
	dir := t.TempDir()
	c := testkit.NewClock(time.Date(2026, 11, 2, 3, 30, 0, 0, time.UTC))
	s, err := store.Open(filepath.Join(dir, "portico.db"), store.Options{Now: c.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	backups := filepath.Join(dir, "backups")
	sch, err := New(config.Jobs{SessionCleanup: "@every 1h", Backup: "30 3 * * *", BackupKeep: keep}, s,
		Services{Clients: clients.New(s), Calls: calls.New(s)}, backups, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return sch, s, c, backups
}

func TestBackupKeepsNewest(t *testing.T) {
	t.Parallel()
	sch, _, c, dir := newScheduler(t, 3)
	for range 5 {
		if err := sch.Backup(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.Advance(24 * time.Hour)
	}
	// a pre-migration backup is never pruned
	os.WriteFile(filepath.Join(dir, "pre-migrate-v1-to-v2-x.db"), []byte("x"), 0o600)
	if err := sch.Backup(context.Background()); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.db"))
	var base []string
	for _, n := range names {
		base = append(base, filepath.Base(n))
	}
	want := []string{"portico-20261105T033000Z.db", "portico-20261106T033000Z.db", "portico-20261107T033000Z.db", "pre-migrate-v1-to-v2-x.db"}
	if len(base) != len(want) {
		t.Fatalf("backups %v, want %v", base, want)
	}
	for i := range want {
		if base[i] != want[i] {
			t.Fatalf("backups %v, want %v", base, want)
		}
	}
	copyStore, err := store.Open(names[2], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer copyStore.Close()
	if problems, err := copyStore.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("backup does not verify: %v %v", problems, err)
	}
}

func TestCleanupSessions(t *testing.T) {
	t.Parallel()
	sch, s, c, _ := newScheduler(t, 1)
	_, err := s.ReconcileResellers([]store.ResellerSpec{{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example"}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *store.Tx) error {
		r, _ := tx.ResellerBySlug("acme")
		u := &store.User{ResellerID: r.ID, Email: "o@acme.example", Role: store.RoleOwner, PasswordHash: "h"}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		if err := tx.CreatePasswordReset(&store.PasswordReset{Hash: []byte("r"), ResellerID: r.ID, UserID: u.ID, ExpiresAt: tx.Now().Add(time.Hour)}); err != nil {
			return err
		}
		for i, life := range []time.Duration{time.Hour, 48 * time.Hour} {
			err := tx.CreateSession(&store.Session{Hash: []byte{byte(i)}, ResellerID: r.ID, UserID: u.ID, ExpiresAt: tx.Now().Add(life), IdleTimeout: 72 * time.Hour})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Hour)
	for range 2 { // idempotent: the second run finds nothing
		if err := sch.CleanupSessions(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	s.View(func(tx *store.Tx) error {
		if _, err := tx.Session([]byte{0}); err == nil {
			t.Error("expired session kept")
		}
		if _, err := tx.Session([]byte{1}); err != nil {
			t.Error("live session removed")
		}
		return nil
	})
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
}

func TestBadSpecRefused(t *testing.T) {
	t.Parallel()
	_, err := New(config.Jobs{Backup: "nonsense", BackupKeep: 1}, nil, Services{}, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		t.Fatal("bad spec accepted")
	}
}

// TestCallJobs: the release job returns a reservation's credit once it is
// past the maximum call length and grace, and the retention job drops a
// reseller's CDR months beyond its retention; both are idempotent.
func TestCallJobs(t *testing.T) {
	t.Parallel()
	sch, s, c, _ := newScheduler(t, 1)
	res, err := s.ReconcileResellers([]store.ResellerSpec{{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example", CDRRetentionMonths: 2}})
	if err != nil {
		t.Fatal(err)
	}
	rid := res.NeedOwner[0].ID
	cl := &store.Client{ResellerID: rid, Username: "ann", Email: "ann@example.com"}
	err = s.Update(func(tx *store.Tx) error {
		if err := tx.CreateClient(cl, &store.User{Email: "ann@example.com", PasswordHash: "h"}, "seed"); err != nil {
			return err
		}
		if _, _, err := tx.GrantCredit(rid, cl.ID, 1000, "", "", "staff", ""); err != nil {
			return err
		}
		if err := tx.Reserve(&store.Reservation{ResellerID: rid, ClientID: cl.ID, CallID: "lost", Amount: 600, ExpiresAt: tx.Now().Add(time.Hour)}, "api"); err != nil {
			return err
		}
		old := &store.CDR{CallID: "old", Direction: store.Inbound, StartedAt: tx.Now().AddDate(0, -2, 0), Disposition: store.Answered}
		recent := &store.CDR{CallID: "recent", Direction: store.Inbound, StartedAt: tx.Now().AddDate(0, -1, 0), Disposition: store.Answered}
		_, err := tx.RecordCDRs(rid, cl.ID, []*store.CDR{old, recent}, "api")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	available := func() int64 {
		var v int64
		s.View(func(tx *store.Tx) error { v = tx.Balance(store.WalletOf(rid, cl.ID)); return nil })
		return v
	}
	if err := sch.ReleaseReservations(context.Background()); err != nil || available() != 400 {
		t.Fatalf("before expiry: %v, available %d", err, available())
	}
	c.Advance(2 * time.Hour)
	for range 2 {
		if err := sch.ReleaseReservations(context.Background()); err != nil || available() != 1000 {
			t.Fatalf("after expiry: %v, available %d", err, available())
		}
	}
	for range 2 {
		if err := sch.ApplyCDRRetention(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	s.View(func(tx *store.Tx) error {
		if months := tx.CDRMonths(rid); len(months) != 1 || months[0] != "2026-10" {
			t.Errorf("months kept: %v", months)
		}
		return nil
	})
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
}
