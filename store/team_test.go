package store

import (
	"errors"
	"testing"
	"time"
)

// TestInvitationLifecycle: one live invitation per user (a new one
// revokes the old), accepted once, scoped to its reseller, expiring, and
// swept after expiry; the verify pass stays clean throughout.
func TestInvitationLifecycle(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	rid, other := rs["acme"].ID, rs["globex"].ID
	var uid uint64
	err := s.Update(func(tx *Tx) error {
		c := &Client{ResellerID: rid, Username: "cleo", Email: "c@example.com", Country: "US"}
		if err := tx.CreateClient(c, &User{Email: "c@example.com", PasswordHash: "x"}, "t"); err != nil {
			return err
		}
		u := &User{ResellerID: rid, ClientID: c.ID, Email: "i@example.com", Role: RoleUser, Status: UserInvited}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		uid = u.ID
		for _, h := range [][]byte{{1}, {2}} {
			if err := tx.CreateInvitation(&Invitation{Hash: h, ResellerID: rid, ClientID: c.ID, UserID: uid, ExpiresAt: tx.Now().Add(time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error {
		old, _ := tx.Invitation(rid, []byte{1})
		if old.State(tx.Now()) != InvitationRevoked {
			t.Errorf("first invitation: %s", old.State(tx.Now()))
		}
		if _, err := tx.Invitation(other, []byte{2}); !errors.Is(err, ErrNotFound) {
			t.Errorf("another reseller's invitation: %v", err)
		}
		if _, err := tx.AcceptInvitation(rid, []byte{1}, "h"); !errors.Is(err, ErrNotFound) {
			t.Errorf("accept revoked: %v", err)
		}
		u, err := tx.AcceptInvitation(rid, []byte{2}, "h")
		if err != nil || u.Status != UserActive || u.PasswordHash != "h" {
			t.Fatalf("accept: %+v %v", u, err)
		}
		if _, err := tx.AcceptInvitation(rid, []byte{2}, "h2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("accept twice: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
	var swept int
	s.Update(func(tx *Tx) (err error) { swept, err = tx.DeleteExpiredInvitations(0); return err })
	if swept != 0 {
		t.Errorf("swept %d before expiry", swept)
	}
}

// TestProfileInUse: a profile some user has cannot be deleted; profiles
// are scoped to their client.
func TestProfileInUse(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	rid := rs["acme"].ID
	err := s.Update(func(tx *Tx) error {
		a := &Client{ResellerID: rid, Username: "a", Email: "a@example.com", Country: "US"}
		b := &Client{ResellerID: rid, Username: "b", Email: "b@example.com", Country: "US"}
		for _, c := range []*Client{a, b} {
			if err := tx.CreateClient(c, &User{Email: c.Email, PasswordHash: "x"}, "t"); err != nil {
				return err
			}
		}
		p := &PermissionProfile{ResellerID: rid, ClientID: a.ID, Name: "Agents", Access: map[string]string{"calls": "view"}}
		if err := tx.CreateProfile(p); err != nil {
			return err
		}
		if err := tx.CreateProfile(&PermissionProfile{ResellerID: rid, ClientID: a.ID, Name: " agents "}); !errors.Is(err, ErrProfileName) {
			t.Errorf("duplicate name: %v", err)
		}
		if err := tx.CreateProfile(&PermissionProfile{ResellerID: rid, ClientID: b.ID, Name: "Agents"}); err != nil {
			t.Errorf("same name in another client: %v", err)
		}
		if _, err := tx.Profile(rid, b.ID, p.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another client's profile: %v", err)
		}
		u := &User{ResellerID: rid, ClientID: a.ID, Email: "u@example.com", Role: RoleUser, PasswordHash: "x", ProfileID: p.ID}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		if _, err := tx.DeleteProfile(rid, a.ID, p.ID); !errors.Is(err, ErrProfileInUse) {
			t.Errorf("delete in use: %v", err)
		}
		if _, err := tx.DeleteUser(rid, u.ID); err != nil {
			return err
		}
		_, err := tx.DeleteProfile(rid, a.ID, p.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}
