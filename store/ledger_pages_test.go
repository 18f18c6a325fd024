package store

import (
	"slices"
	"testing"
)

// TestClientLedgerBefore: the walk gives the client's transactions newest
// first, only its own (not another client's, nor another reseller's), and
// resumes below a page's last id with nothing skipped or repeated.
func TestClientLedgerBefore(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	acme, globex := rs["acme"].ID, rs["globex"].ID
	ann, bob, gus := newClient(t, s, acme, "ann"), newClient(t, s, acme, "bob"), newClient(t, s, globex, "gus")
	grant := func(rid, cid uint64) uint64 {
		t.Helper()
		lt := &LedgerTx{ResellerID: rid, Kind: KindGrant, Actor: "test",
			Legs: []Leg{{Account: PoolOf(rid), Amount: -1}, {Account: WalletOf(rid, cid), Amount: 1}}}
		if err := s.Update(func(tx *Tx) error { _, err := tx.PostLedger(lt); return err }); err != nil {
			t.Fatal(err)
		}
		return lt.ID
	}
	var want []uint64
	for range 7 {
		want = append(want, grant(acme, ann.ID))
		grant(acme, bob.ID)
		grant(globex, gus.ID)
	}
	slices.Reverse(want)
	walk := func(rid, cid, before uint64, n int) (ids []uint64) {
		t.Helper()
		err := s.View(func(tx *Tx) error {
			return tx.ClientLedgerBefore(rid, cid, before, func(lt *LedgerTx) bool {
				ids = append(ids, lt.ID)
				return len(ids) < n
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := walk(acme, ann.ID, 0, 100); !slices.Equal(got, want) {
		t.Fatalf("whole walk %v, want %v", got, want)
	}
	var paged []uint64
	for before := uint64(0); ; {
		page := walk(acme, ann.ID, before, 3)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		before = page[len(page)-1]
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged walk %v, want %v", paged, want)
	}
	if got := walk(globex, ann.ID, 0, 100); len(got) != 0 { // ann's id under another reseller
		t.Fatalf("another reseller's walk found %v", got)
	}
}
