package store

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"portico/store/money"
)

func (s *Store) testCredit(t *testing.T, rid, cid uint64) Credit {
	t.Helper()
	var cr Credit
	err := s.View(func(tx *Tx) error {
		cl, err := tx.Client(rid, cid)
		if err != nil {
			return err
		}
		cr = tx.Credit(cl)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

func recordCDRs(s *Store, rid, cid uint64, cdrs []*CDR) (res RecordResult, err error) {
	err = s.Commit(1, func(tx *Tx) (err error) { res, err = tx.RecordCDRs(rid, cid, cdrs, "api"); return err })
	return res, err
}

func outboundCDR(callID string, started time.Time, duration int, cost int64) *CDR {
	return &CDR{CallID: callID, Direction: Outbound, From: "+14155550100", To: "+442079460958", StartedAt: started,
		DurationS: duration, BillableS: duration, Disposition: Answered, Cost: cost, RatePrefix: "44", RatePerMinute: 600}
}

// TestRecordCDRsRefusesOverflow: a CDR whose charge would take the used
// credit (and usage account) past MaxInt64 is refused by position, with
// nothing of it saved, while the others of the batch are charged; the
// store then verifies clean.
func TestRecordCDRsRefusesOverflow(t *testing.T) {
	t.Parallel()
	s, rid, c := openWithAnn(t)
	fund(t, s, rid, c.ID, 10_0000)
	started := fixedNow.Add(-time.Hour)
	// the store takes any cost (ceilings are the rating's): one huge call
	// brings the used credit within 10 of the limit
	if res, err := recordCDRs(s, rid, c.ID, []*CDR{outboundCDR("huge", started, 60, math.MaxInt64-10)}); err != nil || res.Accepted != 1 || len(res.Refused) != 0 {
		t.Fatalf("huge: %+v %v", res, err)
	}
	verifyClean(t, s)
	batch := []*CDR{
		outboundCDR("a", started, 60, 4),   // used MaxInt64−6
		outboundCDR("b", started, 60, 100), // would overflow: refused
		{CallID: "in", Direction: Inbound, From: "+442079460958", To: "+14155550100", StartedAt: started, DurationS: 30, BillableS: 30, Disposition: Answered},
		outboundCDR("c", started, 60, 6), // exactly MaxInt64
		outboundCDR("d", started, 60, 1), // one past: refused
		outboundCDR("a", started, 60, 4), // duplicate of an accepted one
		outboundCDR("b", started, 60, 0), // a refused call id may come again, and fits now
	}
	res, err := recordCDRs(s, rid, c.ID, batch)
	if err != nil || res.Accepted != 4 || res.Duplicates != 1 || res.Charged != 10 || fmt.Sprint(res.Refused) != "[1 4]" {
		t.Fatalf("batch: %+v %v", res, err)
	}
	if got, want := s.testCredit(t, rid, c.ID), (Credit{Available: 10_0000 - math.MaxInt64, Used: math.MaxInt64, Assigned: 10_0000}); got != want {
		t.Fatalf("credit %+v, want %+v", got, want)
	}
	s.View(func(tx *Tx) error {
		if _, err := tx.CDRByCallID(rid, c.ID, "d"); !errors.Is(err, ErrNotFound) {
			t.Errorf("refused cdr d stored: %v", err)
		}
		if b, err := tx.CDRByCallID(rid, c.ID, "b"); err != nil || b.Cost != 0 {
			t.Errorf("cdr b: %+v %v", b, err)
		}
		days, err := tx.UsageDays(rid, c.ID, started, started, true)
		if err != nil || len(days) != 1 || days[0].Cost != math.MaxInt64 || days[0].CallsOut != 4 || days[0].CallsIn != 1 {
			t.Errorf("usage: %+v %v", days, err)
		}
		return nil
	})
	verifyClean(t, s)
	// a batch of nothing but refusals writes nothing at all
	res, err = recordCDRs(s, rid, c.ID, []*CDR{outboundCDR("e", started, 60, 1), outboundCDR("f", started, 60, math.MaxInt64)})
	if err != nil || res.Accepted != 0 || res.LedgerID != 0 || fmt.Sprint(res.Refused) != "[0 1]" {
		t.Fatalf("all refused: %+v %v", res, err)
	}
	verifyClean(t, s)
}

// TestGrantAndLedgerRefuseOverflow: a grant that would take the pool or
// the client's assigned credit past what an amount holds is
// money.ErrOverflow and moves nothing; so is a ledger transaction whose
// legs only balance by wrapping, or that would wrap a balance.
func TestGrantAndLedgerRefuseOverflow(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rid := seed(t, s)["acme"].ID
	ann, bob := newClient(t, s, rid, "ann"), newClient(t, s, rid, "bob")
	grant := func(cid uint64, amount int64) error {
		return s.Update(func(tx *Tx) error { _, _, err := tx.GrantCredit(rid, cid, amount, "", "", "staff", ""); return err })
	}
	if err := grant(ann.ID, math.MaxInt64-5); err != nil {
		t.Fatal(err)
	}
	if err := grant(bob.ID, 5); err != nil { // the pool reaches −MaxInt64: still fits
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cid    uint64
		amount int64
	}{{bob.ID, 1}, {bob.ID, 2}, {ann.ID, math.MaxInt64}} {
		if err := grant(tc.cid, tc.amount); !errors.Is(err, money.ErrOverflow) {
			t.Errorf("grant %d to %d: %v, want ErrOverflow", tc.amount, tc.cid, err)
		}
	}
	if got := s.testCredit(t, rid, bob.ID); got != (Credit{Available: 5, Assigned: 5}) {
		t.Errorf("bob after refused grants: %+v", got)
	}
	for name, legs := range map[string][]Leg{
		"legs that balance only by wrapping": {{Account: PoolOf(rid), Amount: math.MaxInt64}, {Account: WalletOf(rid, bob.ID), Amount: math.MaxInt64}, {Account: UsageOf(rid, bob.ID), Amount: 2}},
		"a balance that would wrap":          {{Account: PoolOf(rid), Amount: -10}, {Account: WalletOf(rid, bob.ID), Amount: 10}},
	} {
		err := s.Update(func(tx *Tx) error {
			_, err := tx.PostLedger(&LedgerTx{ResellerID: rid, Kind: KindAdjustment, Actor: "test", Legs: legs})
			return err
		})
		if !errors.Is(err, money.ErrOverflow) {
			t.Errorf("%s: %v, want ErrOverflow", name, err)
		}
	}
	var entries []*LedgerTx
	s.View(func(tx *Tx) (err error) { entries, err = tx.LedgerTxs(rid); return err })
	if len(entries) != 2 {
		t.Errorf("%d ledger entries, want the 2 grants", len(entries))
	}
	verifyClean(t, s)
}

// moneyStore is a sound store for verify to judge: ann funded with 10.00,
// two calls charged (one with a reservation settled), a call reserved.
func moneyStore(t *testing.T) (s *Store, rid, cid uint64) {
	t.Helper()
	s = openTest(t)
	rid = seed(t, s)["acme"].ID
	c := newClient(t, s, rid, "ann")
	fund(t, s, rid, c.ID, 10_0000)
	for _, id := range []string{"a", "held"} {
		err := s.Commit(1, func(tx *Tx) error {
			return tx.Reserve(&Reservation{ResellerID: rid, ClientID: c.ID, CallID: id, Amount: 2_0000, ExpiresAt: fixedNow.Add(time.Hour)}, "api")
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	started := fixedNow.Add(-time.Hour)
	if _, err := recordCDRs(s, rid, c.ID, []*CDR{outboundCDR("a", started, 61, 6100), outboundCDR("b", started, 120, 1_2000)}); err != nil {
		t.Fatal(err)
	}
	verifyClean(t, s)
	return s, rid, c.ID
}

// wrappingPost is PostLedger as it was before amounts were checked: it
// adds in wrapping int64 arithmetic, as the probe's store was written.
func (tx *Tx) wrappingPost(t *LedgerTx) error {
	accounts := tx.bucket(bucketAccounts)
	for i := range t.Legs {
		ak := t.Legs[i].Account.bytes()
		balance := readBalance(accounts.Get(ak)) + t.Legs[i].Amount
		if err := accounts.Put(ak, encodeBalance(balance)); err != nil {
			return err
		}
		t.Legs[i].BalanceAfter = balance
	}
	id, err := tx.bucket(bucketLedger).NextSequence()
	if err != nil {
		return err
	}
	t.ID, t.At = id, tx.now
	return put(tx.bucket(bucketLedger), tenantKey(t.ResellerID, id), t)
}

// TestVerifyReportsImpossibleMoney writes stores corrupted on purpose
// (by hand, as the old unchecked arithmetic did) and checks that verify
// reports each: all of them passed verify before it recomputed with
// checked arithmetic and knew the states that cannot happen.
func TestVerifyReportsImpossibleMoney(t *testing.T) {
	t.Parallel()
	started := fixedNow.Add(-time.Hour)
	cases := []struct {
		name    string
		corrupt func(tx *Tx, rid, cid uint64) error
		want    []string // each must be in some problem
	}{
		{"hand-corrupted cached balance", func(tx *Tx, rid, cid uint64) error {
			wallet := WalletOf(rid, cid)
			return tx.bucket(bucketAccounts).Put(wallet.bytes(), encodeBalance(tx.Balance(wallet)+1_0000))
		}, []string{"/wallet: cached balance", "wallet 71900 but assigned 100000 − used 18100 − reserved 20000 = 61900"}},

		{"the probe's overflowed balance", func(tx *Tx, rid, cid uint64) error {
			// two charges of 5·10^18 in wrapping arithmetic: every sum
			// still "balances", the wallet turns hugely positive and the
			// used credit negative
			c, err := tx.Client(rid, cid)
			if err != nil {
				return err
			}
			const charge = 5_000_000_000_000_000_000
			for range 2 {
				err := tx.wrappingPost(&LedgerTx{ResellerID: rid, Kind: KindUsage, Actor: "api", Reference: "cdrs:1000",
					Legs: []Leg{{Account: WalletOf(rid, cid), Amount: -charge}, {Account: UsageOf(rid, cid), Amount: charge}}})
				if err != nil {
					return err
				}
				c.CreditUsed += charge
			}
			return put(tx.bucket(bucketClients), tenantKey(rid, cid), c)
		}, []string{"/wallet: its legs overflow", "/usage: its legs overflow", "/usage: balance", "below zero",
			"used credit -8446744073709533516 below zero"}},

		{"negative used", func(tx *Tx, rid, cid uint64) error {
			c, err := tx.Client(rid, cid)
			if err != nil {
				return err
			}
			c.CreditUsed = -5
			return put(tx.bucket(bucketClients), tenantKey(rid, cid), c)
		}, []string{"used credit -5 below zero", "used credit -5 but its usage account holds 18100"}},

		{"negative assigned", func(tx *Tx, rid, cid uint64) error {
			c, err := tx.Client(rid, cid)
			if err != nil {
				return err
			}
			c.CreditAssigned = -100000
			return put(tx.bucket(bucketClients), tenantKey(rid, cid), c)
		}, []string{"assigned credit -100000 below zero"}},

		{"negative reserved account", func(tx *Tx, rid, cid uint64) error {
			// moved by a balanced, correctly cached entry: only the sign
			// and the reservations betray it
			return tx.wrappingPost(&LedgerTx{ResellerID: rid, Kind: KindAdjustment, Actor: "x",
				Legs: []Leg{{Account: ReservedOf(rid, cid), Amount: -3_0000}, {Account: WalletOf(rid, cid), Amount: 3_0000}}})
		}, []string{"/reserved: balance -10000 below zero"}},

		{"a leg's balance after", func(tx *Tx, rid, cid uint64) error {
			entries, err := tx.LedgerTxs(rid)
			if err != nil {
				return err
			}
			first := entries[0]
			first.Legs[1].BalanceAfter += 7
			return put(tx.bucket(bucketLedger), tenantKey(rid, first.ID), first)
		}, []string{"balance after 100007, but its legs so far sum to 100000"}},

		{"usage day costing more than was charged", func(tx *Tx, rid, cid uint64) error {
			return editDay(tx, rid, cid, started, func(u *DayUsage) { u.Cost += 1_0000 })
		}, []string{"usage days cost 28100 but its usage account holds 18100"}},

		{"usage day counting fewer calls than its CDRs", func(tx *Tx, rid, cid uint64) error {
			return editDay(tx, rid, cid, started, func(u *DayUsage) { u.CallsOut, u.SecondsOut, u.Hist = 1, 61, Histogram{{Seconds: 61, Calls: 1}} })
		}, []string{"outbound calls 1, but the day's CDRs add up to 2", "outbound seconds 61, but the day's CDRs add up to 181"}},

		{"usage day whose histogram does not add up", func(tx *Tx, rid, cid uint64) error {
			return editDay(tx, rid, cid, started, func(u *DayUsage) { u.Hist[0].Calls += 3 })
		}, []string{"2 calls, but its duration histogram counts 5"}},

		{"usage day overflowed", func(tx *Tx, rid, cid uint64) error {
			return editDay(tx, rid, cid, started, func(u *DayUsage) { u.Cost = math.MinInt64 + 18100 }) // 18100 more, wrapped
		}, []string{"cost -9223372036854757708 below zero", "usage days cost -9223372036854757708 but its usage account holds 18100"}},

		{"CDRs with no usage day", func(tx *Tx, rid, cid uint64) error {
			return tx.bucket(bucketUsageDays).Delete(dayKey(rid, cid, dayNumber(started)))
		}, []string{"the day has CDRs but no usage record", "usage days cost 0 but its usage account holds 18100"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, rid, cid := moneyStore(t)
			if err := s.Update(func(tx *Tx) error { return tc.corrupt(tx, rid, cid) }); err != nil {
				t.Fatal(err)
			}
			problems, err := s.Verify()
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(problems, "\n")
			for _, want := range tc.want {
				if !strings.Contains(all, want) {
					t.Errorf("verify does not report %q; it says:\n%s", want, all)
				}
			}
		})
	}
}

func editDay(tx *Tx, rid, cid uint64, day time.Time, edit func(*DayUsage)) error {
	key := dayKey(rid, cid, dayNumber(day))
	var u DayUsage
	if err := decodeDayUsage(tx.bucket(bucketUsageDays).Get(key), &u, true); err != nil {
		return err
	}
	edit(&u)
	return tx.bucket(bucketUsageDays).Put(key, encodeDayUsage(&u))
}
