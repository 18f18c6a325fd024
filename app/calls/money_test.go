package calls

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"portico/store"
)

// topDeck prices the UK at the highest rate a deck may carry, per second.
const topDeck = "prefix,description,rate_per_minute,increment\n" +
	"1,USA,0.0100,60/60\n" +
	"44,UK,1000000.0000,1/1\n"

// TestIngestCeilingsAndOverflow: a CDR longer than the reseller's
// maximum call length plus an hour, or costing more than MaxCDRCost, is
// refused by index (field duration_s); so is one whose charge would take
// the client's used credit past MaxInt64, while the others of its batch
// are charged. Nothing refused is saved, verify stays clean, and the
// client in debt is refused the next call.
func TestIngestCeilingsAndOverflow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.svc.ImportRates(f.r, []byte(topDeck), staff); err != nil {
		t.Fatal(err)
	}
	f.fund(f.c, 10_0000)
	start := t0.Add(-time.Hour)
	us, uk := "+14155550123", "+442079460958"
	maxDuration := int64(MaxCDRDuration(f.r))
	if maxDuration != 4*3600+3600 {
		t.Fatalf("max CDR duration %d, want 5 h", maxDuration)
	}
	res := f.ingest(f.c,
		cdr("long", store.Outbound, "+14155550100", us, start, maxDuration, store.Answered),     // 5 h at 0.01/min: 3.00
		cdr("longer", store.Outbound, "+14155550100", us, start, maxDuration+1, store.Answered), // past the ceiling
		cdr("week", store.Outbound, "+14155550100", uk, start, 604800, store.Answered),          // the probe's record
		cdr("dear", store.Outbound, "+14155550100", uk, start, 6000, store.Answered),            // exactly MaxCDRCost
		cdr("dearer", store.Outbound, "+14155550100", uk, start, 6001, store.Answered),          // one second more
	)
	if res.Accepted != 2 || res.Charged != 3_0000+MaxCDRCost || fmt.Sprint(errorsAt(res)) != "[1:duration_s 2:duration_s 4:duration_s]" {
		t.Fatalf("ceilings: %+v", res)
	}
	f.verify()

	// Bring the used credit within 5·10^11 of the limit through the store
	// (which takes any cost: the ceilings are rating's), then charge past it.
	used := f.credit(f.c).Used
	headroom := int64(MaxCDRCost / 2)
	err := f.s.Update(func(tx *store.Tx) error {
		_, err := tx.RecordCDRs(f.r.ID, f.c.ID, []*store.CDR{{CallID: "seed", Direction: store.Outbound, From: "+14155550100", To: uk,
			StartedAt: start, Disposition: store.Answered, Cost: math.MaxInt64 - used - headroom}}, "test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	res = f.ingest(f.c,
		cdr("fits", store.Outbound, "+14155550100", uk, start, 3000, store.Answered),   // exactly the headroom
		cdr("overflows", store.Outbound, "+14155550100", uk, start, 1, store.Answered), // one more second
		cdr("inbound", store.Inbound, "+14155550111", "+14155550100", start, 60, store.Answered),
		cdr("unanswered", store.Outbound, "+14155550100", uk, start, 0, store.NoAnswer), // costs nothing
	)
	if res.Accepted != 3 || res.Charged != headroom || fmt.Sprint(errorsAt(res)) != "[1:duration_s]" {
		t.Fatalf("overflow: %+v", res)
	}
	cr := f.credit(f.c)
	if cr.Used != math.MaxInt64 || cr.Available != 10_0000-math.MaxInt64 || cr.Reserved != 0 {
		t.Fatalf("credit %+v", cr)
	}
	if err := f.s.View(func(tx *store.Tx) error { _, err := tx.CDRByCallID(f.r.ID, f.c.ID, "overflows"); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused record: %v", err)
	}
	u, err := f.svc.Usage(f.r.ID, f.c.ID, t0)
	if err != nil || u.Cost != math.MaxInt64 || u.CallsOut != 5 {
		t.Fatalf("usage %+v %v", u, err)
	}
	f.verify()
	if a := f.authorize(f.c, "next", store.Outbound, "+14155550100", us); a.Allow || a.Reason != ReasonInsufficientCredit {
		t.Fatalf("authorise in debt: %+v", a)
	}
}

// TestAuthorizeReservesAtMostMaxCDRCost: a client rich enough for hours
// at the highest rate is authorised only as long as one CDR may cost, so
// the call's CDR is never refused for its cost.
func TestAuthorizeReservesAtMostMaxCDRCost(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.svc.ImportRates(f.r, []byte(topDeck), staff); err != nil {
		t.Fatal(err)
	}
	f.fund(f.c, 100*MaxCDRCost)
	a := f.authorize(f.c, "rich", store.Outbound, "+14155550100", "+442079460958")
	if !a.Allow || a.Reserved != MaxCDRCost || a.MaxDurationS != 6000 {
		t.Fatalf("authorise: %+v", a)
	}
	res := f.ingest(f.c, cdr("rich", store.Outbound, "+14155550100", "+442079460958", t0.Add(-time.Hour), int64(a.MaxDurationS), store.Answered))
	if res.Accepted != 1 || len(res.Errors) != 0 || res.Charged != MaxCDRCost {
		t.Fatalf("ingest: %+v", res)
	}
	f.verify()
}

func errorsAt(res *IngestResult) []string {
	var out []string
	for _, e := range res.Errors {
		out = append(out, fmt.Sprintf("%d:%s", e.Index, e.Field))
	}
	return out
}
