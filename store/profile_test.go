package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// openClocked is openTest with a clock the test moves.
func openClocked(t *testing.T) (*Store, *time.Time) {
	t.Helper()
	now := fixedNow
	s, err := Open(filepath.Join(t.TempDir(), "portico.db"), Options{Now: func() time.Time { return now }, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, &now
}

// seedUsers creates user a@acme.example on acme and b@globex.example on globex.
func seedUsers(t *testing.T, s *Store) (acme, globex *User) {
	t.Helper()
	rs := seed(t, s)
	acme = &User{ResellerID: rs["acme"].ID, Email: "a@acme.example", Role: RoleOwner, PasswordHash: "x"}
	globex = &User{ResellerID: rs["globex"].ID, Email: "b@globex.example", Role: RoleOwner, PasswordHash: "x"}
	err := s.Update(func(tx *Tx) error {
		if err := tx.CreateUser(acme); err != nil {
			return err
		}
		return tx.CreateUser(globex)
	})
	if err != nil {
		t.Fatal(err)
	}
	return acme, globex
}

func mustVerify(t *testing.T, s *Store) {
	t.Helper()
	problems, err := s.Verify()
	if err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

func TestAvatarLifecycle(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	a, g := seedUsers(t, s)
	png := []byte("\x89PNG fake bytes")
	err := s.Update(func(tx *Tx) error {
		u, err := tx.SetAvatar(a.ResellerID, a.ID, png)
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(png); u.AvatarSHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("digest %q", u.AvatarSHA256)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, s)
	s.View(func(tx *Tx) error {
		if got, err := tx.Avatar(a.ResellerID, a.ID); err != nil || !bytes.Equal(got, png) {
			t.Errorf("avatar: %q %v", got, err)
		}
		// tenant scope: the same user id under another reseller is nothing
		if _, err := tx.Avatar(g.ResellerID, a.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("other reseller's avatar: %v", err)
		}
		return nil
	})
	s.Update(func(tx *Tx) error {
		if had, err := tx.RemoveAvatar(a.ResellerID, a.ID); !had || err != nil {
			t.Errorf("remove: %v %v", had, err)
		}
		if had, err := tx.RemoveAvatar(a.ResellerID, a.ID); had || err != nil {
			t.Errorf("remove again: %v %v", had, err)
		}
		return nil
	})
	mustVerify(t, s)
	// a broken link between user and avatar is reported
	s.Update(func(tx *Tx) error { return tx.bucket(bucketAvatars).Put(tenantKey(a.ResellerID, a.ID), png) })
	if problems, _ := s.Verify(); len(problems) != 1 {
		t.Errorf("verify of an orphan avatar: %v", problems)
	}
}

func TestEmailChangeLink(t *testing.T) {
	t.Parallel()
	s, now := openClocked(t)
	a, g := seedUsers(t, s)
	mk := func(hash, to string) error {
		return s.Update(func(tx *Tx) error {
			return tx.CreateEmailChange(&EmailChange{Hash: []byte(hash), ResellerID: a.ResellerID, UserID: a.ID, NewEmail: to, ExpiresAt: tx.Now().Add(24 * time.Hour)})
		})
	}
	use := func(rid uint64, hash string) error {
		return s.Update(func(tx *Tx) error { _, _, err := tx.UseEmailChange(rid, []byte(hash)); return err })
	}
	if err := mk("h1", "New@Acme.example"); err != nil {
		t.Fatal(err)
	}
	if err := mk("h2", "other@acme.example"); err != nil {
		t.Fatal(err)
	}
	if err := use(g.ResellerID, "h1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("used on another reseller: %v", err)
	}
	if err := use(a.ResellerID, "h1"); err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		if u, err := tx.UserByEmail(a.ResellerID, "new@acme.example"); err != nil || u.ID != a.ID {
			t.Errorf("by new email: %v", err)
		}
		if _, err := tx.UserByEmail(a.ResellerID, "a@acme.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("old email still indexed: %v", err)
		}
		return nil
	})
	if err := use(a.ResellerID, "h1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second use: %v", err)
	}
	// h2 was made for the old address: superseded
	if err := use(a.ResellerID, "h2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("superseded link: %v", err)
	}
	// a taken address is refused at request time
	s.Update(func(tx *Tx) error {
		return tx.CreateUser(&User{ResellerID: a.ResellerID, Email: "taken@acme.example", Role: RoleAdmin, PasswordHash: "x"})
	})
	if err := mk("h3", "taken@acme.example"); !errors.Is(err, ErrConflict) {
		t.Errorf("taken address: %v", err)
	}
	// and when it is taken between request and use
	if err := mk("h4", "late@acme.example"); err != nil {
		t.Fatal(err)
	}
	s.Update(func(tx *Tx) error {
		return tx.CreateUser(&User{ResellerID: a.ResellerID, Email: "late@acme.example", Role: RoleAdmin, PasswordHash: "x"})
	})
	if err := use(a.ResellerID, "h4"); !errors.Is(err, ErrConflict) {
		t.Errorf("taken meanwhile: %v", err)
	}
	// expiry
	if err := mk("h5", "later@acme.example"); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(24 * time.Hour)
	if err := use(a.ResellerID, "h5"); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired: %v", err)
	}
	*now = now.Add(time.Second)
	s.Update(func(tx *Tx) error {
		if n, err := tx.DeleteExpiredEmailChanges(); n != 4 || err != nil {
			t.Errorf("expired removed: %d %v", n, err)
		}
		return nil
	})
	mustVerify(t, s)
}

func TestTwoFactorRecords(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	a, _ := seedUsers(t, s)
	rid, uid := a.ResellerID, a.ID
	codes := [][]byte{{1}, {2}, {3}}
	err := s.Update(func(tx *Tx) error {
		if err := tx.StartTOTPEnrolment(rid, uid, "PENDING"); err != nil {
			return err
		}
		u, err := tx.EnableTOTP(rid, uid, "SECRET", 100, codes)
		if err != nil || !u.TwoFactorOn() || u.TwoFactor.PendingSecret != "" {
			t.Errorf("enable: %+v %v", u, err)
		}
		if _, err := tx.EnableTOTP(rid, uid, "OTHER", 1, codes); !errors.Is(err, ErrConflict) {
			t.Errorf("enable twice: %v", err)
		}
		if err := tx.StartTOTPEnrolment(rid, uid, "P2"); !errors.Is(err, ErrConflict) {
			t.Errorf("enrol while on: %v", err)
		}
		for step, want := range map[int64]error{100: ErrReplayed, 99: ErrReplayed} {
			if err := tx.UseTOTPStep(rid, uid, step); !errors.Is(err, want) {
				t.Errorf("step %d: %v", step, err)
			}
		}
		if err := tx.UseTOTPStep(rid, uid, 101); err != nil {
			t.Errorf("step 101: %v", err)
		}
		if err := tx.UseTOTPStep(rid, uid, 101); !errors.Is(err, ErrReplayed) {
			t.Errorf("step 101 again: %v", err)
		}
		if left, err := tx.UseRecoveryCode(rid, uid, []byte{2}); left != 2 || err != nil {
			t.Errorf("recovery: %d %v", left, err)
		}
		if _, err := tx.UseRecoveryCode(rid, uid, []byte{2}); !errors.Is(err, ErrNotFound) {
			t.Errorf("recovery again: %v", err)
		}
		u, _ = tx.User(rid, uid)
		if len(u.TwoFactor.RecoveryCodes) != 2 || u.TwoFactor.RecoveryCodes[0][0] != 1 || u.TwoFactor.RecoveryCodes[1][0] != 3 {
			t.Errorf("codes left: %v", u.TwoFactor.RecoveryCodes)
		}
		if u, err := tx.DisableTOTP(rid, uid); err != nil || u.TwoFactorOn() || len(u.TwoFactor.RecoveryCodes) != 0 {
			t.Errorf("disable: %+v %v", u, err)
		}
		if _, err := tx.UseRecoveryCode(rid, uid, []byte{1}); !errors.Is(err, ErrNotFound) {
			t.Errorf("recovery after disable: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoginChallengeAndFormUse(t *testing.T) {
	t.Parallel()
	s, now := openClocked(t)
	a, g := seedUsers(t, s)
	err := s.Update(func(tx *Tx) error {
		c := &LoginChallenge{Hash: []byte("c"), ResellerID: a.ResellerID, UserID: a.ID, ExpiresAt: tx.Now().Add(5 * time.Minute)}
		if err := tx.CreateLoginChallenge(c); err != nil {
			return err
		}
		if err := tx.CreateLoginChallenge(&LoginChallenge{Hash: []byte("d"), ResellerID: a.ResellerID, UserID: a.ID, Enrol: true}); !errors.Is(err, ErrInvalid) {
			t.Errorf("enrol without secret: %v", err)
		}
		if _, err := tx.LoginChallenge(g.ResellerID, []byte("c")); !errors.Is(err, ErrNotFound) {
			t.Errorf("other reseller: %v", err)
		}
		if got, err := tx.LoginChallenge(a.ResellerID, []byte("c")); err != nil || got.UserID != a.ID {
			t.Errorf("challenge: %+v %v", got, err)
		}
		if err := tx.PutFormUse(a.ResellerID, []byte("f"), &FormUse{Purpose: "api_key", Ref: 7, ExpiresAt: tx.Now().Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.PutFormUse(a.ResellerID, []byte("f"), &FormUse{Purpose: "api_key", Ref: 8}); !errors.Is(err, ErrConflict) {
			t.Errorf("form token twice: %v", err)
		}
		if _, err := tx.FormUse(g.ResellerID, []byte("f")); !errors.Is(err, ErrNotFound) {
			t.Errorf("form use on another reseller: %v", err)
		}
		if f, err := tx.FormUse(a.ResellerID, []byte("f")); err != nil || f.Ref != 7 {
			t.Errorf("form use: %+v %v", f, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	*now = now.Add(2 * time.Hour)
	s.Update(func(tx *Tx) error {
		if _, err := tx.LoginChallenge(a.ResellerID, []byte("c")); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired challenge: %v", err)
		}
		if n, err := tx.DeleteExpiredLoginChallenges(); n != 1 || err != nil {
			t.Errorf("challenges removed: %d %v", n, err)
		}
		if n, err := tx.DeleteExpiredFormUses(); n != 1 || err != nil {
			t.Errorf("form uses removed: %d %v", n, err)
		}
		return nil
	})
}

func TestDeleteUserDropsAvatar(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	a, _ := seedUsers(t, s)
	err := s.Update(func(tx *Tx) error {
		if _, err := tx.SetAvatar(a.ResellerID, a.ID, []byte("\x89PNG picture")); err != nil {
			return err
		}
		_, err := tx.DeleteUser(a.ResellerID, a.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		if _, err := tx.Avatar(a.ResellerID, a.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("avatar after the user was deleted: %v", err)
		}
		return nil
	})
	mustVerify(t, s)
}
