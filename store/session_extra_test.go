package store

import (
	"testing"
	"time"
)

func TestChangePasswordKeepsOneSession(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	rid, other := rs["acme"].ID, rs["globex"].ID
	var uid, otherUID uint64
	err := s.Update(func(tx *Tx) error {
		u := &User{ResellerID: rid, Email: "a@example.com", Role: RoleAdmin, PasswordHash: "old"}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		v := &User{ResellerID: other, Email: "a@example.com", Role: RoleAdmin, PasswordHash: "old"}
		if err := tx.CreateUser(v); err != nil {
			return err
		}
		uid, otherUID = u.ID, v.ID
		for i := range 3 {
			if err := tx.CreateSession(&Session{Hash: []byte{byte(i + 1)}, ResellerID: rid, UserID: uid,
				ExpiresAt: tx.Now().Add(time.Hour), IdleTimeout: time.Hour}); err != nil {
				return err
			}
		}
		return tx.CreateSession(&Session{Hash: []byte{9}, ResellerID: other, UserID: otherUID,
			ExpiresAt: tx.Now().Add(time.Hour), IdleTimeout: time.Hour})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error {
		n, err := tx.ChangePassword(rid, uid, "new", []byte{2})
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("revoked %d sessions, want 2", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Tx) error {
		u, err := tx.User(rid, uid)
		if err != nil {
			return err
		}
		if u.PasswordHash != "new" {
			t.Errorf("hash %q, want new", u.PasswordHash)
		}
		left, err := tx.UserSessions(rid, uid)
		if err != nil {
			return err
		}
		if len(left) != 1 || left[0].Hash[0] != 2 {
			t.Errorf("sessions left: %+v, want only the kept one", left)
		}
		// another reseller's user with the same id space is untouched
		if theirs, err := tx.UserSessions(other, otherUID); err != nil || len(theirs) != 1 {
			t.Errorf("other reseller's sessions: %d, %v", len(theirs), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
	// without a session to keep, every one goes
	err = s.Update(func(tx *Tx) error {
		n, err := tx.DeleteUserSessionsExcept(rid, uid, nil)
		if n != 1 {
			t.Errorf("revoked %d, want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error { _, err := tx.ChangePassword(rid, 999, "new", nil); return err })
	if !isNotFound(err) {
		t.Fatalf("missing user: %v, want not found", err)
	}
}
