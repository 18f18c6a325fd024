package store

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func fund(t *testing.T, s *Store, rid, cid uint64, amount int64) {
	t.Helper()
	err := s.Update(func(tx *Tx) error {
		_, _, err := tx.GrantCredit(rid, cid, amount, "", "", "staff", "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func verifyClean(t *testing.T, s *Store) {
	t.Helper()
	problems, err := s.Verify()
	if err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", err, problems)
	}
}

func TestRateDeckReplaceAndRoundTrip(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	rid := rs["acme"].ID
	rates := []Rate{
		{Prefix: "1", Description: "USA", RatePerMinute: 100, First: 60, Next: 60},
		{Prefix: "1900", Description: "USA premium", RatePerMinute: 50000, First: 1, Next: 1, Premium: true},
		{Prefix: "44", Description: "UK — ünïcode", RatePerMinute: 0, First: 30, Next: 6},
	}
	var v1, v2 uint64
	err := s.Update(func(tx *Tx) (err error) {
		if tx.RateDeckVersion(rid) != 0 {
			t.Error("a new reseller has a deck")
		}
		v1, err = tx.ReplaceRateDeck(rid, rates, "staff")
		return err
	})
	if err != nil || v1 != 1 {
		t.Fatal(v1, err)
	}
	if err := s.Update(func(tx *Tx) error { _, err := tx.ReplaceRateDeck(rid, []Rate{rates[1], rates[0]}, "x"); return err }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unsorted deck: %v", err)
	}
	s.View(func(tx *Tx) error {
		d, err := tx.RateDeck(rid)
		if err != nil || !reflect.DeepEqual(d.Rates, rates) || d.Info.Version != 1 || d.Info.Count != 3 || d.Info.ImportedBy != "staff" {
			t.Errorf("deck %+v %v", d, err)
		}
		if other, _ := tx.RateDeck(rs["globex"].ID); other.Info.Version != 0 || len(other.Rates) != 0 {
			t.Errorf("globex sees a deck: %+v", other)
		}
		return nil
	})
	s.Update(func(tx *Tx) (err error) { v2, err = tx.ReplaceRateDeck(rid, rates[:1], "staff"); return err })
	s.View(func(tx *Tx) error {
		d, _ := tx.RateDeck(rid)
		if v2 != 2 || len(d.Rates) != 1 {
			t.Errorf("replaced deck: version %d, %d rates", v2, len(d.Rates))
		}
		return nil
	})
	verifyClean(t, s)
}

// TestReserveSettleAndRelease follows the money: a reservation moves
// wallet → reserved, a CDR settles it (one ledger movement for the batch),
// an expired one is released by the job, and verify agrees throughout.
func TestReserveSettleAndRelease(t *testing.T) {
	t.Parallel()
	s, rid, c := openWithAnn(t)
	fund(t, s, rid, c.ID, 10_0000) // 10.00
	reserve := func(callID string, amount int64) error {
		return s.Commit(1, func(tx *Tx) error {
			return tx.Reserve(&Reservation{ResellerID: rid, ClientID: c.ID, CallID: callID, Amount: amount, ExpiresAt: fixedNow.Add(time.Hour)}, "api")
		})
	}
	if err := reserve("a", 4_0000); err != nil {
		t.Fatal(err)
	}
	if err := reserve("b", 5_0000); err != nil {
		t.Fatal(err)
	}
	if err := reserve("c", 2_0000); !errors.Is(err, ErrInsufficientCredit) {
		t.Fatalf("over-reserve: %v", err)
	}
	if err := reserve("a", 1); !errors.Is(err, ErrConflict) {
		t.Fatalf("same call twice: %v", err)
	}
	credit := func() Credit {
		var cr Credit
		s.View(func(tx *Tx) error { cl, _ := tx.Client(rid, c.ID); cr = tx.Credit(cl); return nil })
		return cr
	}
	if got := credit(); got != (Credit{Available: 1_0000, Reserved: 9_0000, Assigned: 10_0000}) {
		t.Fatalf("after reserving: %+v", got)
	}
	verifyClean(t, s)
	started := fixedNow.Add(-time.Minute)
	cdrs := []*CDR{
		{CallID: "a", Direction: Outbound, From: "+1", To: "+44", StartedAt: started, DurationS: 61, Disposition: Answered, BillableS: 120, Cost: 5_0000},
		{CallID: "a", Direction: Outbound, StartedAt: started, Disposition: Answered},                                      // duplicate within the batch
		{CallID: "x", Direction: Inbound, From: "+2", To: "+1", StartedAt: started, DurationS: 200, Disposition: Answered}, // free
	}
	var res RecordResult
	err := s.Commit(1, func(tx *Tx) (err error) { res, err = tx.RecordCDRs(rid, c.ID, cdrs, "api"); return err })
	if err != nil || res.Accepted != 2 || res.Duplicates != 1 || res.Charged != 5_0000 || res.Released != 4_0000 || res.LedgerID == 0 {
		t.Fatalf("record: %+v %v", res, err)
	}
	// charged beyond its reservation: the extra 1.00 comes from the wallet
	if got := credit(); got != (Credit{Available: 0, Used: 5_0000, Reserved: 5_0000, Assigned: 10_0000}) {
		t.Fatalf("after settling: %+v", got)
	}
	err = s.Commit(1, func(tx *Tx) (err error) { res, err = tx.RecordCDRs(rid, c.ID, cdrs[:1], "api"); return err })
	if err != nil || res.Accepted != 0 || res.Duplicates != 1 {
		t.Fatalf("replayed batch: %+v %v", res, err)
	}
	verifyClean(t, s)
	// "b" never reports: the job releases it once expired, not before
	var released int
	s.Update(func(tx *Tx) (err error) {
		released, _, err = tx.ReleaseExpiredReservations(fixedNow, 10, "job")
		return err
	})
	if released != 0 {
		t.Fatalf("released %d before expiry", released)
	}
	s.Update(func(tx *Tx) (err error) {
		released, _, err = tx.ReleaseExpiredReservations(fixedNow.Add(2*time.Hour), 10, "job")
		return err
	})
	if got := credit(); released != 1 || got != (Credit{Available: 5_0000, Used: 5_0000, Assigned: 10_0000}) {
		t.Fatalf("after release (%d): %+v", released, got)
	}
	// the settled CDR is found by call id and carries its ledger id
	s.View(func(tx *Tx) error {
		cdr, err := tx.CDRByCallID(rid, c.ID, "a")
		if err != nil || cdr.Cost != 5_0000 || cdr.Reserved != 4_0000 || cdr.LedgerID != res.LedgerID && cdr.LedgerID == 0 || cdr.BillableS != 120 {
			t.Errorf("cdr a: %+v %v", cdr, err)
		}
		return nil
	})
	verifyClean(t, s)
}

// TestLowCreditEventOncePerCrossing: the credit.low event is written when
// a charge crosses the threshold, not again while below it, and again
// after credit was topped up above it and crossed once more.
func TestLowCreditEventOncePerCrossing(t *testing.T) {
	t.Parallel()
	s, rid, c := openWithAnn(t)
	fund(t, s, rid, c.ID, 10_0000)
	s.Update(func(tx *Tx) error {
		_, err := tx.SetClientCallSettings(rid, c.ID, ClientCallSettings{AutoTopUp: &AutoTopUp{Enabled: true, Threshold: 5_0000, Amount: 20_0000}})
		return err
	})
	n := 0
	charge := func(cost int64) bool {
		n++
		var res RecordResult
		err := s.Commit(1, func(tx *Tx) (err error) {
			res, err = tx.RecordCDRs(rid, c.ID, []*CDR{{CallID: fmt.Sprint("c", n), Direction: Outbound, StartedAt: fixedNow, Disposition: Answered, Cost: cost}}, "api")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return res.LowCredit
	}
	if charge(4_0000) { // 10 → 6
		t.Fatal("event above the threshold")
	}
	if !charge(2_0000) { // 6 → 4: crossed
		t.Fatal("no event when crossing")
	}
	if charge(1_0000) { // 4 → 3: still below
		t.Fatal("second event while below")
	}
	fund(t, s, rid, c.ID, 10_0000) // 13
	if !charge(9_0000) {           // 13 → 4: crossed again
		t.Fatal("no event on the second crossing")
	}
	s.View(func(tx *Tx) error {
		events, _ := tx.Events(0, 10)
		if len(events) != 2 || events[0].Kind != EventCreditLow || events[0].ClientID != c.ID || events[0].Spendable != 4_0000 || events[1].Threshold != 5_0000 {
			t.Errorf("events %+v", events)
		}
		if more, _ := tx.Events(events[1].ID, 10); len(more) != 0 {
			t.Errorf("events after the last: %+v", more)
		}
		return nil
	})
}

// TestCDRPagesAndRetention: CDRs over three months page in both orders
// with since/until, are scoped to their client, and dropping a month
// removes its CDRs and index entries but keeps the usage days.
func TestCDRPagesAndRetention(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	rid := rs["acme"].ID
	ann, bob := newClient(t, s, rid, "ann"), newClient(t, s, rid, "bob")
	base := time.Date(2026, 9, 30, 23, 0, 0, 0, time.UTC)
	var all []*CDR
	for i := range 30 {
		all = append(all, &CDR{CallID: fmt.Sprintf("call-%02d", i), Direction: Inbound, From: "+1", To: "+2",
			StartedAt: base.Add(time.Duration(i) * 72 * time.Hour), DurationS: i * 10, Disposition: Answered})
	}
	for _, cid := range []uint64{ann.ID, bob.ID} {
		batch := make([]*CDR, len(all))
		for i, c := range all {
			cp := *c
			batch[i] = &cp
		}
		if err := s.Commit(len(batch), func(tx *Tx) error { _, err := tx.RecordCDRs(rid, cid, batch, "api"); return err }); err != nil {
			t.Fatal(err)
		}
	}
	walk := func(q CDRQuery) []string {
		var ids []string
		for {
			var page *CDRPage
			if err := s.View(func(tx *Tx) (err error) { page, err = tx.CDRs(rid, ann.ID, q); return err }); err != nil {
				t.Fatal(err)
			}
			for _, c := range page.CDRs {
				if c.ClientID != ann.ID {
					t.Fatalf("bob's cdr in ann's list")
				}
				ids = append(ids, c.CallID)
			}
			if page.Next == "" {
				return ids
			}
			q.After = page.Next
		}
	}
	if got := walk(CDRQuery{Limit: 7}); len(got) != 30 || got[0] != "call-00" || got[29] != "call-29" {
		t.Fatalf("ascending: %v", got)
	}
	if got := walk(CDRQuery{Limit: 4, Desc: true}); len(got) != 30 || got[0] != "call-29" || got[29] != "call-00" {
		t.Fatalf("descending: %v", got)
	}
	since, until := base.Add(72*time.Hour), base.Add(10*72*time.Hour) // calls 1..9
	if got := walk(CDRQuery{Limit: 3, Since: since, Until: until}); len(got) != 9 || got[0] != "call-01" || got[8] != "call-09" {
		t.Fatalf("since/until: %v", got)
	}
	if got := walk(CDRQuery{Limit: 2, Desc: true, Since: since, Until: until, Match: func(c *CDR) bool { return c.DurationS%20 == 0 }}); !reflect.DeepEqual(got, []string{"call-08", "call-06", "call-04", "call-02"}) {
		t.Fatalf("filtered: %v", got)
	}
	if got := walk(CDRQuery{Limit: 50, MaxScan: 5}); len(got) != 30 {
		t.Fatalf("max scan pages: %d", len(got))
	}
	var bad error
	s.View(func(tx *Tx) error {
		page, _ := tx.CDRs(rid, bob.ID, CDRQuery{Limit: 1})
		_, bad = tx.CDRs(rid, ann.ID, CDRQuery{After: page.Next}) // bob's cursor on ann
		return nil
	})
	if !errors.Is(bad, ErrInvalid) {
		t.Fatalf("another client's cursor: %v", bad)
	}
	var months []string
	s.View(func(tx *Tx) error { months = tx.CDRMonths(rid); return nil })
	if !reflect.DeepEqual(months, []string{"2026-09", "2026-10", "2026-11", "2026-12"}) {
		t.Fatalf("months %v", months)
	}
	for done := false; !done; {
		err := s.Update(func(tx *Tx) (err error) { _, done, err = tx.DropCDRMonth(rid, "2026-10", 7); return err })
		if err != nil {
			t.Fatal(err)
		}
	}
	verifyClean(t, s)
	s.View(func(tx *Tx) error {
		if _, err := tx.CDRByCallID(rid, ann.ID, "call-01"); !errors.Is(err, ErrNotFound) {
			t.Errorf("dropped month's cdr: %v", err)
		}
		if _, err := tx.CDRByCallID(rid, ann.ID, "call-00"); err != nil {
			t.Errorf("kept month's cdr: %v", err)
		}
		days, _ := tx.UsageDays(rid, ann.ID, base, base.AddDate(0, 4, 0), true)
		var calls, qualified int64
		for _, d := range days {
			calls += d.Calls()
			qualified += d.Hist.AtLeast(90)
		}
		if len(days) != 30 || calls != 30 || qualified != 21 { // durations 90..290
			t.Errorf("usage kept: %d days, %d calls, %d qualified", len(days), calls, qualified)
		}
		return nil
	})
	if got := walk(CDRQuery{Limit: 100}); len(got) != 20 {
		t.Fatalf("after dropping October: %d", len(got))
	}
}

// TestUsageHistogram: qualified calls for any threshold come from the day
// records, long calls count in the last slot, days merge across batches.
func TestUsageHistogram(t *testing.T) {
	t.Parallel()
	s, rid, c := openWithAnn(t)
	durations := []int{0, 1, 89, 90, 90, 3599, 3600, 7200, 45}
	for i, d := range durations {
		dir := Inbound
		if i%2 == 0 {
			dir = Outbound
		}
		cdr := &CDR{CallID: fmt.Sprint("u", i), Direction: dir, StartedAt: fixedNow, DurationS: d, Disposition: Answered, Cost: int64(d)}
		if d == 0 {
			cdr.Disposition = NoAnswer
		}
		if err := s.Commit(1, func(tx *Tx) error { _, err := tx.RecordCDRs(rid, c.ID, []*CDR{cdr}, "api"); return err }); err != nil {
			t.Fatal(err)
		}
	}
	s.View(func(tx *Tx) error {
		days, err := tx.UsageDays(rid, c.ID, fixedNow, fixedNow, true)
		if err != nil || len(days) != 1 {
			t.Fatalf("days %v %v", days, err)
		}
		d := days[0]
		if d.CallsOut != 5 || d.CallsIn != 4 || d.Answered != 8 || d.SecondsOut+d.SecondsIn != 14714 || d.Cost != 14714 {
			t.Errorf("totals %+v", d)
		}
		for threshold, want := range map[int]int64{1: 8, 45: 7, 90: 5, 91: 3, 3600: 2} {
			if got := d.Hist.AtLeast(threshold); got != want {
				t.Errorf("at least %d s: %d, want %d", threshold, got, want)
			}
		}
		light, _ := tx.UsageDays(rid, c.ID, fixedNow, fixedNow, false)
		if light[0].Hist != nil || light[0].Calls() != 9 {
			t.Errorf("without histogram: %+v", light[0])
		}
		return nil
	})
}

func TestBlockedCallersAndCounters(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	rid := rs["acme"].ID
	c := newClient(t, s, rid, "ann")
	add := func(number string) error {
		return s.Update(func(tx *Tx) error {
			return tx.BlockCaller(&BlockedCaller{ResellerID: rid, ClientID: c.ID, Number: number, CreatedBy: "ann"})
		})
	}
	if err := add("+14155550100"); err != nil {
		t.Fatal(err)
	}
	if err := add("+14155550100"); !errors.Is(err, ErrConflict) {
		t.Fatalf("twice: %v", err)
	}
	add("+441632960961")
	for range 3 {
		s.Update(func(tx *Tx) error { return tx.CountBlockedCall(rid, c.ID, "+14155550100") })
	}
	s.View(func(tx *Tx) error {
		list, _ := tx.BlockedCallers(rid, c.ID)
		if len(list) != 2 || list[0].Number != "+14155550100" || !tx.IsBlocked(rid, c.ID, "+441632960961") || tx.IsBlocked(rs["globex"].ID, c.ID, "+441632960961") {
			t.Errorf("list %+v", list)
		}
		if n := tx.BlockedCallsSince(rid, c.ID, "+14155550100", fixedNow.AddDate(0, 0, -29)); n != 3 {
			t.Errorf("count %d", n)
		}
		if n := tx.BlockedCallsSince(rid, c.ID, "+1415555010", fixedNow.AddDate(0, 0, -29)); n != 0 {
			t.Errorf("a prefix of the number counts %d", n)
		}
		return nil
	})
	var pruned int
	s.Update(func(tx *Tx) (err error) {
		pruned, _, err = tx.PruneBlockedCounts(fixedNow.AddDate(0, 0, 1), 100)
		return err
	})
	if pruned != 1 {
		t.Fatalf("pruned %d", pruned)
	}
	if err := s.Update(func(tx *Tx) error { return tx.UnblockCaller(rid, c.ID, "+14155550100") }); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *Tx) error { return tx.UnblockCaller(rid, c.ID, "+14155550100") }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unblock twice: %v", err)
	}
}

func TestMonthName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC), "2026-11"},
		{time.Date(2026, 12, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600)), "2026-11"}, // UTC decides
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), "2000-01"},
		{time.Date(999, 9, 9, 0, 0, 0, 0, time.UTC), "0999-09"},
	} {
		if got := string(monthName(tc.t)); got != tc.want || got != tc.t.UTC().Format("2006-01") {
			t.Errorf("monthName(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}
