package store

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestCDRVersion1StillDecodes: CDRs written before packages (version 1,
// with an empty package-name slot) decode as they were, with no package;
// version 2 carries the package id.
func TestCDRVersion1StillDecodes(t *testing.T) {
	t.Parallel()
	want := &CDR{ResellerID: 3, ClientID: 9, CallID: "c-1", Direction: Outbound, From: "+14155550100", To: "+442079460958",
		StartedAt: fixedNow, DurationS: 61, Disposition: Answered, BillableS: 61, Cost: 610, RatePrefix: "44", RatePerMinute: 600,
		Reserved: 1200, LedgerID: 77}
	// The version 1 encoding, as encodeCDR wrote it before version 2.
	v1 := []byte{1, 1, 0}
	v1 = binary.AppendUvarint(v1, 61)
	v1 = binary.AppendUvarint(v1, 61)
	v1 = binary.AppendVarint(v1, 610)
	v1 = binary.AppendVarint(v1, 600)
	v1 = binary.AppendVarint(v1, 1200)
	v1 = binary.AppendUvarint(v1, 77)
	for _, s := range []string{"c-1", "+14155550100", "+442079460958", "44", ""} {
		v1 = appendString(v1, s)
	}
	key := cdrKey(9, fixedNow.Unix(), 1)
	got, err := decodeCDR(3, key, v1)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("version 1: %+v %v", got, err)
	}
	want.PackageID, want.Cost = 12, 0
	v2 := encodeCDR(nil, want)
	if v2[0] != 2 {
		t.Fatalf("encodeCDR writes version %d", v2[0])
	}
	if got, err := decodeCDR(3, key, v2); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("version 2: %+v %v", got, err)
	}
	for _, bad := range [][]byte{append([]byte{3}, v2[1:]...), v2[:len(v2)-1], append(v2, 0)} {
		if _, err := decodeCDR(3, key, bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%x: %v", bad, err)
		}
	}
}

// TestRecordCoveredCDRsCountsFairUse: the minutes of covered CDRs are
// counted per package and period in the CDRs' transaction; duplicates
// are not asked about nor counted; a covered CDR costs nothing; verify
// holds the counters to the covered CDRs kept.
func TestRecordCoveredCDRsCountsFairUse(t *testing.T) {
	t.Parallel()
	s, rid, c := openWithAnn(t)
	fund(t, s, rid, c.ID, 10_0000)
	cdr := func(id, to string, d int) *CDR {
		return &CDR{CallID: id, Direction: Outbound, From: "+14155550100", To: to, StartedAt: fixedNow, DurationS: d,
			Disposition: Answered, BillableS: d, Cost: int64(d) * 10, RatePrefix: to[1:3], RatePerMinute: 600}
	}
	var asked []string
	// Package 7 covers +44 while under 3 minutes in the period, counted
	// whole per call.
	cover := func(i int, cdr *CDR, fu *FairUse) error {
		asked = append(asked, cdr.CallID)
		cdr.PackageID, cdr.Cost = 0, int64(cdr.DurationS)*10
		if !strings.HasPrefix(cdr.To, "+44") {
			return nil
		}
		used, err := fu.Used(7, "2026-11")
		if err != nil || used >= 3 {
			return err
		}
		cdr.PackageID, cdr.Cost = 7, 0
		return fu.Add(7, "2026-11", CoveredMinutes(cdr.DurationS))
	}
	record := func(cdrs ...*CDR) RecordResult {
		t.Helper()
		asked = nil
		var res RecordResult
		err := s.Commit(1, func(tx *Tx) (err error) { res, err = tx.RecordCoveredCDRs(rid, c.ID, cdrs, "api", cover); return err })
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	minutes := func() int64 {
		var n int64
		s.View(func(tx *Tx) (err error) { n, err = tx.FairUseMinutes(rid, c.ID, 7, "2026-11"); return err })
		return n
	}
	a, b, us := cdr("a", "+442079460958", 61), cdr("b", "+442079460959", 30), cdr("us", "+14155550123", 60)
	res := record(a, cdr("a", "+442079460958", 61), us, b)
	if res.Accepted != 3 || res.Duplicates != 1 || res.Charged != 600 || !reflect.DeepEqual(asked, []string{"a", "us", "b"}) {
		t.Fatalf("first batch: %+v, asked %v", res, asked)
	}
	if a.PackageID != 7 || a.Cost != 0 || b.PackageID != 7 || us.PackageID != 0 || minutes() != 3 { // 61 s counts 2 minutes, 30 s 1
		t.Fatalf("covered: a %+v b %+v us %+v, %d minutes", a, b, us, minutes())
	}
	// fair use spent: the next +44 call is charged
	c2 := cdr("c", "+442079460960", 10)
	if res := record(c2, cdr("a", "+442079460958", 61)); res.Accepted != 1 || res.Duplicates != 1 || c2.PackageID != 0 || res.Charged != 100 || minutes() != 3 {
		t.Fatalf("past fair use: %+v %+v, %d minutes", res, c2, minutes())
	}
	s.View(func(tx *Tx) error {
		got, err := tx.CDRByCallID(rid, c.ID, "a")
		if err != nil || got.PackageID != 7 || got.Cost != 0 {
			t.Errorf("stored a: %+v %v", got, err)
		}
		return nil
	})
	verifyClean(t, s)
	// a counter below its CDRs' minutes is reported
	s.Update(func(tx *Tx) error { return tx.bucket(bucketFairUse).Put(fairUseKey(rid, c.ID, 7, "2026-11"), u64(2)) })
	if problems, _ := s.Verify(); len(problems) != 1 || !strings.Contains(problems[0], "covered CDRs add up to 3") {
		t.Fatalf("verify: %v", problems)
	}
}

// TestIncludedPackagesAndBillingGeneration: a client's packages come from
// its subscription's plan, in the plan's order; none without a
// subscription or with a canceled one; the billing generation moves on
// every committed catalogue or subscription write, and not on a rollback.
func TestIncludedPackagesAndBillingGeneration(t *testing.T) {
	t.Parallel()
	s, rid, c := openWithAnn(t)
	includedAt := func(at time.Time) ([]uint64, int, time.Time) {
		var ids []uint64
		var in Included
		s.View(func(tx *Tx) (err error) {
			if in, err = tx.IncludedPackages(rid, c.ID, at); err != nil {
				t.Fatal(err)
			}
			for _, p := range in.Packages {
				ids = append(ids, p.ID)
			}
			return nil
		})
		return ids, in.Seats, in.Until
	}
	included := func() ([]uint64, int) { ids, seats, _ := includedAt(fixedNow); return ids, seats }
	if ids, seats := included(); ids != nil || seats != 1 {
		t.Fatalf("no subscription: %v %d", ids, seats)
	}
	gen := s.BillingGeneration()
	uk, fr := &CallingPackage{ResellerID: rid, Name: "UK", Countries: []string{"GB"}}, &CallingPackage{ResellerID: rid, Name: "FR", Countries: []string{"FR"}}
	plan := &Plan{ResellerID: rid, Name: "Pro", Kind: PlanSubscription, Status: CatalogActive}
	err := s.Update(func(tx *Tx) error {
		if err := PutCatalog(tx, uk); err != nil {
			return err
		}
		if err := PutCatalog(tx, fr); err != nil {
			return err
		}
		plan.Packages = []uint64{fr.ID, 999, uk.ID, fr.ID} // 999: not in the catalogue
		return PutCatalog(tx, plan)
	})
	if err != nil || s.BillingGeneration() == gen {
		t.Fatalf("catalogue write: %v, generation %d → %d", err, gen, s.BillingGeneration())
	}
	gen = s.BillingGeneration()
	sub := &Subscription{ResellerID: rid, ClientID: c.ID, PlanID: plan.ID, Seats: 0, Status: SubscriptionActive, StartedAt: fixedNow}
	if err := s.Update(func(tx *Tx) error { return tx.PutSubscription(sub) }); err != nil || s.BillingGeneration() == gen {
		t.Fatalf("subscription write: %v", err)
	}
	if ids, seats := included(); !reflect.DeepEqual(ids, []uint64{fr.ID, uk.ID}) || seats != 1 {
		t.Fatalf("included: %v, %d seats", ids, seats)
	}
	gen = s.BillingGeneration()
	rollback := errors.New("rollback")
	if err := s.Update(func(tx *Tx) error { _ = PutCatalog(tx, uk); return rollback }); err != rollback || s.BillingGeneration() != gen {
		t.Fatalf("rolled back write moved the generation: %v", err)
	}
	// a pending change (a downgrade at the period end) applies from its
	// time, whether or not the invoice run has applied it to the record
	small := &Plan{ResellerID: rid, Name: "Small", Kind: PlanSubscription, Status: CatalogActive, Packages: []uint64{uk.ID}}
	end := fixedNow.Add(time.Hour)
	sub.Pending = &PendingChange{PlanID: small.ID, Seats: 2, EffectiveAt: end}
	err = s.Update(func(tx *Tx) error {
		if err := PutCatalog(tx, small); err != nil {
			return err
		}
		sub.Pending.PlanID = small.ID
		return tx.PutSubscription(sub)
	})
	if err != nil {
		t.Fatal(err)
	}
	if ids, seats, until := includedAt(end.Add(-time.Nanosecond)); !reflect.DeepEqual(ids, []uint64{fr.ID, uk.ID}) || seats != 1 || !until.Equal(end) {
		t.Fatalf("before the pending change: %v, %d seats, until %v", ids, seats, until)
	}
	if ids, seats, until := includedAt(end); !reflect.DeepEqual(ids, []uint64{uk.ID}) || seats != 2 || !until.IsZero() {
		t.Fatalf("once the pending change is due: %v, %d seats, until %v", ids, seats, until)
	}
	sub.Status, sub.Seats, sub.Pending = SubscriptionCanceled, 4, nil
	s.Update(func(tx *Tx) error { return tx.PutSubscription(sub) })
	if ids, seats := included(); ids != nil || seats != 4 {
		t.Fatalf("canceled: %v %d", ids, seats)
	}
}
