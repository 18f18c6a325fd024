package store

import (
	"errors"
	"testing"
)

// The decoded cache is exact: a write by any path is seen by the next
// read, and a caller that changes what it got changes nothing shared.
func TestDecodedCacheIsExactAndPrivate(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	acme := rs["acme"].ID
	c := newClient(t, s, acme, "ann")
	read := func() *Client {
		t.Helper()
		var got *Client
		if err := s.View(func(tx *Tx) (err error) { got, err = tx.Client(acme, c.ID); return err }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := read()
	first.Company = "changed by a caller"
	first.StatusHistory[0].Note = "changed by a caller"
	first.StatusHistory = append(first.StatusHistory, StatusChange{Status: "x"})
	if again := read(); again.Company != "Co" || len(again.StatusHistory) != 1 || again.StatusHistory[0].Note == "changed by a caller" {
		t.Fatalf("a caller's change leaked into the cache: %+v", again)
	}

	// A status change through the store's own path is read at once.
	if err := s.Update(func(tx *Tx) error {
		_, err := tx.SetClientStatus(acme, c.ID, ClientDisabled, true, "staff", "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.Status != ClientDisabled || !got.RestrictAPI {
		t.Fatalf("after disabling: %s restrict %v", got.Status, got.RestrictAPI)
	}
	// And so is a raw write that bypasses every helper.
	if err := s.Update(func(tx *Tx) error {
		cl, err := tx.Client(acme, c.ID)
		if err != nil {
			return err
		}
		cl.Company = "Raw Ltd"
		return put(tx.bucket(bucketClients), tenantKey(acme, c.ID), cl)
	}); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.Company != "Raw Ltd" {
		t.Fatalf("after a raw write: %q", got.Company)
	}
	if err := s.View(func(tx *Tx) error {
		st, err := tx.ClientCallState(acme, c.ID)
		if err != nil || st.Status != ClientDisabled || !st.RestrictAPI {
			t.Errorf("call state %+v %v", st, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// A revoked API key is seen revoked by the next lookup.
	k := &APIKey{ResellerID: acme, ClientID: c.ID, Name: "pbx", Prefix: "abcd1234", Hash: []byte("0123456789abcdef0123456789abcdef")}
	if err := s.Update(func(tx *Tx) error { return tx.CreateAPIKey(k) }); err != nil {
		t.Fatal(err)
	}
	lookup := func() *APIKey {
		t.Helper()
		var got *APIKey
		if err := s.View(func(tx *Tx) (err error) { got, err = tx.APIKeyByHash(k.Hash); return err }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := lookup(); !got.RevokedAt.IsZero() {
		t.Fatal("new key revoked")
	}
	lookup().Hash[0] = 'X' // a caller scribbling on its copy
	if err := s.Update(func(tx *Tx) error { _, _, err := tx.RevokeAPIKey(acme, c.ID, k.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if got := lookup(); got.RevokedAt.IsZero() || got.Hash[0] != '0' {
		t.Fatalf("after revoking: revoked at %v, hash %q", got.RevokedAt, got.Hash)
	}
	if err := s.View(func(tx *Tx) error {
		_, err := tx.Client(rs["globex"].ID, c.ID) // tenant scope holds through the cache
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("another reseller's client: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
