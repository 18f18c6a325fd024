package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"portico/store/money"
)

// markBillingChanged moves the billing generation when this transaction
// commits: caches of what a client's plan includes are then stale.
func (tx *Tx) markBillingChanged() {
	if tx.billingChanged || tx.s == nil {
		return
	}
	tx.billingChanged = true
	s := tx.s
	tx.tx.OnCommit(func() { s.billingGen.Add(1) })
}

// BillingGeneration moves after every commit that changed a subscription
// or a plan, package or add-on. A cache of what clients' plans include
// (call rating keeps one) is valid while it has not moved; read it before
// reading the records the cache keeps.
func (s *Store) BillingGeneration() uint64 { return s.billingGen.Load() }

// Included is what a client's plan includes for call rating.
type Included struct {
	// Packages are the plan's calling packages, in the plan's order.
	Packages []*CallingPackage
	// Seats are the subscription's seats, at least 1.
	Seats int
	// Until, when set, is when a pending change of plan or seats takes
	// effect: what is included changes then.
	Until time.Time
}

// IncludedPackages is what the client's plan includes at the time at: the
// plan and seats of its subscription, or of the subscription's pending
// change once that is due (the invoice run applies it to the record a
// little later). A client without a subscription, or whose subscription
// is canceled or paused, has no packages; a package the plan names but the
// catalogue no longer has is skipped.
func (tx *Tx) IncludedPackages(rid, cid uint64, at time.Time) (Included, error) {
	in := Included{Seats: 1}
	sub, err := tx.Subscription(rid, cid)
	if isNotFound(err) {
		return in, nil
	}
	if err != nil {
		return in, err
	}
	planID, seats := sub.PlanID, sub.Seats
	if pc := sub.Pending; pc != nil {
		if at.Before(pc.EffectiveAt) {
			in.Until = pc.EffectiveAt
		} else {
			planID, seats = pc.PlanID, pc.Seats
		}
	}
	in.Seats = max(seats, 1)
	if sub.Status == SubscriptionCanceled || sub.Status == SubscriptionPaused {
		return in, nil
	}
	plan, err := Catalog[*Plan](tx, rid, planID)
	if isNotFound(err) {
		return in, nil
	}
	if err != nil {
		return in, err
	}
	for _, id := range plan.Packages {
		if slices.ContainsFunc(in.Packages, func(p *CallingPackage) bool { return p.ID == id }) {
			continue
		}
		p, err := Catalog[*CallingPackage](tx, rid, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return in, err
		}
		in.Packages = append(in.Packages, p)
	}
	return in, nil
}

// CoveredMinutes is what a covered call of durationS seconds counts
// against its package's fair use: whole minutes, rounded up (a call of
// 61 s counts 2, an unanswered call 0), whatever the deck's increments.
func CoveredMinutes(durationS int) int64 {
	if durationS <= 0 {
		return 0
	}
	return (int64(durationS) + 59) / 60
}

// FairUseMinutes is how many minutes of the client's calls the package
// covered in period ("2026-11").
func (tx *Tx) FairUseMinutes(rid, cid, pkg uint64, period string) (int64, error) {
	v := tx.bucket(bucketFairUse).Get(fairUseKey(rid, cid, pkg, period))
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("store: fair use %d/%d/%d/%s: %w", rid, cid, pkg, period, ErrCorrupt)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// FairUse is the fair-use tally of one client while RecordCoveredCDRs
// records its CDRs: what is stored plus what the batch has added so far.
// RecordCoveredCDRs writes the additions with the CDRs.
type FairUse struct {
	tx       *Tx
	rid, cid uint64
	counts   map[fairUseRef]int64 // stored + added, for the keys read or added
	added    []fairUseRef         // keys with additions, in the order first added
}

type fairUseRef struct {
	pkg    uint64
	period string
}

// Used is how many minutes of the package's fair use the client has used
// in period, this batch's covered calls included.
func (f *FairUse) Used(pkg uint64, period string) (int64, error) {
	ref := fairUseRef{pkg, period}
	if n, ok := f.counts[ref]; ok {
		return n, nil
	}
	n, err := f.tx.FairUseMinutes(f.rid, f.cid, pkg, period)
	if err != nil {
		return 0, err
	}
	f.counts[ref] = n
	return n, nil
}

// Add counts minutes of a covered call against the package in period.
func (f *FairUse) Add(pkg uint64, period string, minutes int64) error {
	if pkg == 0 || minutes < 0 || len(period) != 7 {
		return fmt.Errorf("store: fair use %d/%s: %w", pkg, period, ErrInvalid)
	}
	used, err := f.Used(pkg, period)
	if err != nil {
		return err
	}
	ref := fairUseRef{pkg, period}
	if f.counts[ref], err = money.Add(used, minutes); err != nil {
		return fmt.Errorf("store: fair use %d/%d/%d/%s: %w", f.rid, f.cid, pkg, period, err)
	}
	if !slices.Contains(f.added, ref) {
		f.added = append(f.added, ref)
	}
	return nil
}

// write stores the counts that the batch changed.
func (f *FairUse) write() error {
	b := f.tx.bucket(bucketFairUse)
	for _, ref := range f.added {
		if err := b.Put(fairUseKey(f.rid, f.cid, ref.pkg, ref.period), u64(uint64(f.counts[ref]))); err != nil {
			return err
		}
	}
	return nil
}

// CoverFunc decides whether an included package covers the CDR at index i
// of the slice given to RecordCoveredCDRs. It is called for each CDR about
// to be accepted (never for duplicates), in order, before the CDR is
// charged, and may run again on a rerun of the transaction: it must set
// the CDR's PackageID and Cost afresh each time. A covered CDR gets its
// PackageID, Cost 0, and its minutes added to fu.
type CoverFunc func(i int, cdr *CDR, fu *FairUse) error
