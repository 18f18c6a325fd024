package store

import (
	"errors"
	"testing"
)

// TestLinksEndWhenCredentialsChange: a reset or email-change link works
// only while the user's password hash and email are those it was made
// with, so one link used, a password changed or an email moved ends every
// other outstanding link; a link stored without the digest (made before
// it existed) is void.
func TestLinksEndWhenCredentialsChange(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	a, _ := seedUsers(t, s)
	hash := func(n byte) []byte { return append(make([]byte, 31), n) }
	mustUpdate := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := s.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
	valid := func(h []byte) bool {
		var err error
		s.View(func(tx *Tx) error { _, err = tx.PasswordReset(a.ResellerID, h); return nil })
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	newReset := func(h []byte) {
		mustUpdate(func(tx *Tx) error {
			return tx.CreatePasswordReset(&PasswordReset{Hash: h, ResellerID: a.ResellerID, UserID: a.ID, ExpiresAt: fixedNow.Add(1 << 40)})
		})
	}
	newReset(hash(1))
	newReset(hash(2))
	mustUpdate(func(tx *Tx) error { _, err := tx.UsePasswordReset(a.ResellerID, hash(1), "new-hash"); return err })
	if valid(hash(1)) || valid(hash(2)) {
		t.Fatal("a reset link outlives the use of another")
	}
	newReset(hash(3))
	mustUpdate(func(tx *Tx) error { _, err := tx.ChangePassword(a.ResellerID, a.ID, "newer-hash", nil); return err })
	if valid(hash(3)) {
		t.Error("a reset link outlives a password change")
	}
	newReset(hash(4))
	change := &EmailChange{Hash: hash(5), ResellerID: a.ResellerID, UserID: a.ID, NewEmail: "moved@acme.example", ExpiresAt: fixedNow.Add(1 << 40)}
	mustUpdate(func(tx *Tx) error { return tx.CreateEmailChange(change) })
	mustUpdate(func(tx *Tx) error { _, _, err := tx.UseEmailChange(a.ResellerID, hash(5)); return err })
	if valid(hash(4)) {
		t.Error("a reset link outlives an email change")
	}
	stale := &EmailChange{Hash: hash(6), ResellerID: a.ResellerID, UserID: a.ID, NewEmail: "thief@evil.example", ExpiresAt: fixedNow.Add(1 << 40)}
	mustUpdate(func(tx *Tx) error { return tx.CreateEmailChange(stale) })
	mustUpdate(func(tx *Tx) error { return tx.SetPassword(a.ResellerID, a.ID, "owner-recovered") })
	err := s.View(func(tx *Tx) error { _, err := tx.EmailChange(a.ResellerID, hash(6)); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("an email change outlives a password reset: %v", err)
	}
	// a link stored before the digest existed
	mustUpdate(func(tx *Tx) error {
		return put(tx.bucket(bucketPasswordResets), hash(7), &PasswordReset{Hash: hash(7), ResellerID: a.ResellerID, UserID: a.ID, ExpiresAt: fixedNow.Add(1 << 40)})
	})
	if valid(hash(7)) {
		t.Error("a link without its digest works")
	}
}
