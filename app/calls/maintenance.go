package calls

import (
	"fmt"
	"time"

	"portico/store"
)

// Chunk sizes of the jobs: each chunk is one transaction, well under the
// ~10k puts where bbolt commits slow down.
const (
	releaseChunk   = 500
	retentionChunk = 2000
)

// ReleaseExpired returns to the wallets the credit of reservations whose
// CDR did not come within the maximum call length and grace, in chunks.
// Running it again releases nothing twice (a released reservation is
// gone).
func (s *Service) ReleaseExpired(now time.Time) (int, error) {
	total := 0
	for {
		var n int
		var more bool
		err := s.store.Update(func(tx *store.Tx) (err error) {
			n, more, err = tx.ReleaseExpiredReservations(now, releaseChunk, "system")
			return err
		})
		if err != nil {
			return total, fmt.Errorf("calls: release reservations: %w", err)
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

// Retention is what ApplyRetention removed.
type Retention struct {
	Months        int // month buckets dropped
	CDRs          int
	BlockedCounts int
}

// ApplyRetention drops, per reseller, the months of CDRs older than its
// retention (the current month counts as one; usage aggregates are kept),
// with their call-id index entries, a chunk per transaction; and blocked
// callers' daily counters older than 31 days. Idempotent: a month half
// dropped by an interrupted run is finished by the next.
func (s *Service) ApplyRetention(now time.Time) (Retention, error) {
	var out Retention
	var resellers []*store.Reseller
	if err := s.store.View(func(tx *store.Tx) (err error) { resellers, err = tx.Resellers(); return err }); err != nil {
		return out, err
	}
	now = now.UTC()
	for _, r := range resellers {
		keepFrom := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1-r.CDRRetention(), 0).Format("2006-01")
		var months []string
		s.store.View(func(tx *store.Tx) error { months = tx.CDRMonths(r.ID); return nil })
		for _, m := range months {
			if m >= keepFrom {
				break
			}
			for done := false; !done; {
				var n int
				err := s.store.Update(func(tx *store.Tx) (err error) { n, done, err = tx.DropCDRMonth(r.ID, m, retentionChunk); return err })
				if err != nil {
					return out, fmt.Errorf("calls: retention %s %s: %w", r.Slug, m, err)
				}
				out.CDRs += n
			}
			out.Months++
		}
	}
	cut := now.AddDate(0, 0, -31)
	for more := true; more; {
		var n int
		err := s.store.Update(func(tx *store.Tx) (err error) { n, more, err = tx.PruneBlockedCounts(cut, retentionChunk); return err })
		if err != nil {
			return out, fmt.Errorf("calls: prune blocked counters: %w", err)
		}
		out.BlockedCounts += n
	}
	return out, nil
}
