// Package calls owns the PBX's side of Portico: rate decks (import,
// export, longest-prefix rating), call authorisation with credit
// reservation, CDR ingest (rating, charging, usage), qualified calls,
// blocked callers and the usage figures of the dashboard. HTML and JSON
// handlers both call it. It never imports Fiber.
package calls

import (
	"math"
	"math/bits"
	"sort"
	"strings"

	"portico/store"
	"portico/store/money"
)

// Limits of rating input.
const (
	// MaxRatePerMinute is the highest rate a deck may carry: 1,000,000
	// currency units a minute.
	MaxRatePerMinute = 1_000_000 * 10_000
	// MaxIncrement is the longest first or next interval (seconds).
	MaxIncrement = 3600
	// MaxPrefixLength is the longest prefix: an E.164 number has at most
	// 15 digits.
	MaxPrefixLength = 15
	// CDRDurationMargin is how much longer than the reseller's maximum
	// call length (the authorise cap) a CDR may last: a PBX's clock and
	// tear-down run a little over, an hour more is a wrong record.
	CDRDurationMargin = 3600
	// MaxCDRCost is the most one CDR may cost: 100,000,000 currency units.
	// Authorise never reserves more, so an authorised call's CDR is never
	// refused for its cost.
	MaxCDRCost = 100_000_000 * money.Unit
)

// MaxCDRDuration is the longest call (seconds) a CDR of the reseller may
// report: its maximum call length plus CDRDurationMargin.
func MaxCDRDuration(r *store.Reseller) int { return r.MaxCallLength() + CDRDurationMargin }

// ErrOverflow means an amount does not fit in int64 (money's rule).
var ErrOverflow = money.ErrOverflow

// Billable is the duration a call is billed for: nothing for 0 seconds,
// else at least first seconds and then whole steps of next seconds.
func Billable(durationS, first, next int) int {
	switch {
	case durationS <= 0:
		return 0
	case durationS <= first:
		return first
	}
	steps := (durationS - first + next - 1) / next
	return first + steps*next
}

// Cost is what billableS seconds cost at ratePerMinute (minor units),
// rounded up to the next minor unit: a fraction of 1/10,000 is never
// given away. The product is computed in 128 bits, so it cannot wrap.
func Cost(ratePerMinute int64, billableS int) (int64, error) {
	return money.MulDivUp(ratePerMinute, int64(billableS), 60)
}

// CallCost rates a call of durationS seconds.
func CallCost(r *store.Rate, durationS int) (billableS int, cost int64, err error) {
	billableS = Billable(durationS, r.First, r.Next)
	cost, err = Cost(r.RatePerMinute, billableS)
	return billableS, cost, err
}

// MaxAffordable is the longest call (seconds, at most capS) whose cost is
// within available credit at rate r, and that cost; ok is false when not
// even the first increment is affordable. A call of exactly the returned
// duration bills exactly that duration, so the reservation covers it.
// The cost never exceeds MaxCDRCost, so the call's CDR is not refused for
// it.
func MaxAffordable(r *store.Rate, available int64, capS int) (durationS int, cost int64, ok bool) {
	if available <= 0 || capS <= 0 {
		return 0, 0, false
	}
	available = min(available, MaxCDRCost)
	if r.RatePerMinute == 0 {
		return capS, 0, true
	}
	// cost(b) ≤ available ⇔ ceil(rate·b/60) ≤ available ⇔ rate·b ≤ 60·available
	hi, lo := bits.Mul64(60, uint64(available))
	maxBillable := uint64(math.MaxInt32)
	if hi < uint64(r.RatePerMinute) {
		if q, _ := bits.Div64(hi, lo, uint64(r.RatePerMinute)); q < maxBillable {
			maxBillable = q
		}
	}
	if maxBillable < uint64(r.First) {
		return 0, 0, false
	}
	steps := (maxBillable - uint64(r.First)) / uint64(r.Next)
	longest := uint64(r.First) + steps*uint64(r.Next)
	durationS = capS
	if longest < uint64(capS) {
		durationS = int(longest)
	}
	_, cost, err := CallCost(r, durationS)
	if err != nil || cost > available {
		return 0, 0, false
	}
	return durationS, cost, true
}

// Deck is a reseller's rate deck compiled for rating: immutable, shared
// by every request until the deck changes. Lookup probes a hash index
// from the longest possible prefix length down (at most 15 probes), so
// rating never walks the deck whatever its size.
type Deck struct {
	// Version is the stored deck's version this was compiled from.
	Version uint64
	rates   []store.Rate // sorted by prefix
	index   map[string]int32
	lengths []int // prefix lengths present, longest first
}

// Compile builds the rating structure of a stored deck.
func Compile(d *store.RateDeck) *Deck {
	out := &Deck{Version: d.Info.Version, rates: d.Rates, index: make(map[string]int32, len(d.Rates))}
	seen := map[int]bool{}
	for i := range d.Rates {
		p := d.Rates[i].Prefix
		out.index[p] = int32(i)
		if !seen[len(p)] {
			seen[len(p)] = true
			out.lengths = append(out.lengths, len(p))
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out.lengths)))
	return out
}

// Len is the number of rates.
func (d *Deck) Len() int { return len(d.rates) }

// Lookup finds the rate of the longest prefix of number (E.164, with or
// without the +).
func (d *Deck) Lookup(number string) (*store.Rate, bool) {
	digits := strings.TrimPrefix(number, "+")
	for _, n := range d.lengths {
		if n > len(digits) {
			continue
		}
		if i, ok := d.index[digits[:n]]; ok {
			return &d.rates[i], true
		}
	}
	return nil, false
}

// Rates lists up to limit rates whose prefix starts with prefix, in
// prefix order, after the prefix after ("" from the start); more says
// whether others follow.
func (d *Deck) Rates(prefix, after string, limit int) (page []store.Rate, more bool) {
	start := sort.Search(len(d.rates), func(i int) bool { return d.rates[i].Prefix >= prefix })
	if after != "" {
		if j := sort.Search(len(d.rates), func(i int) bool { return d.rates[i].Prefix > after }); j > start {
			start = j
		}
	}
	for i := start; i < len(d.rates) && strings.HasPrefix(d.rates[i].Prefix, prefix); i++ {
		if len(page) == limit {
			return page, true
		}
		page = append(page, d.rates[i])
	}
	return page, false
}

// All is every rate, in prefix order (shared: do not modify).
func (d *Deck) All() []store.Rate { return d.rates }
