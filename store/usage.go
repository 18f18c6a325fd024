package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"portico/store/money"
)

// DayUsage is one client's calls on one UTC day, kept when the CDRs are
// dropped. Hist counts calls by duration so that the qualified calls of
// any threshold come from it, without reading CDRs.
type DayUsage struct {
	Day        time.Time // midnight UTC
	CallsIn    int64
	CallsOut   int64
	SecondsIn  int64
	SecondsOut int64
	Cost       int64
	Answered   int64
	Hist       Histogram
}

// Histogram counts calls by duration in whole seconds, up to
// MaxQualifiedThreshold (longer calls count in that slot). It is sparse:
// only durations that occurred, in increasing order.
type Histogram []HistSlot

// HistSlot is the number of calls that lasted Seconds.
type HistSlot struct {
	Seconds int
	Calls   int64
}

// AtLeast is the number of calls that lasted at least seconds (1 to
// MaxQualifiedThreshold).
func (h Histogram) AtLeast(seconds int) int64 {
	i := sort.Search(len(h), func(i int) bool { return h[i].Seconds >= seconds })
	var n int64
	for _, s := range h[i:] {
		n += s.Calls
	}
	return n
}

// Add merges other into h and returns the result.
func (h Histogram) Add(other Histogram) Histogram {
	out := make(Histogram, 0, len(h)+len(other))
	i, j := 0, 0
	for i < len(h) || j < len(other) {
		switch {
		case j == len(other) || (i < len(h) && h[i].Seconds < other[j].Seconds):
			out = append(out, h[i])
			i++
		case i == len(h) || other[j].Seconds < h[i].Seconds:
			out = append(out, other[j])
			j++
		default:
			out = append(out, HistSlot{Seconds: h[i].Seconds, Calls: h[i].Calls + other[j].Calls})
			i, j = i+1, j+1
		}
	}
	return out
}

// Calls is every call of the day.
func (u *DayUsage) Calls() int64 { return u.CallsIn + u.CallsOut }

// add counts one CDR; money.ErrOverflow when a total would not fit.
func (u *DayUsage) add(c *CDR) error {
	var err error
	if c.Direction == Outbound {
		u.CallsOut++
		u.SecondsOut, err = money.Add(u.SecondsOut, int64(c.DurationS))
	} else {
		u.CallsIn++
		u.SecondsIn, err = money.Add(u.SecondsIn, int64(c.DurationS))
	}
	if err != nil {
		return err
	}
	if u.Cost, err = money.Add(u.Cost, c.Cost); err != nil {
		return err
	}
	if c.Disposition == Answered {
		u.Answered++
	}
	return nil
}

// Merge adds other's counts to u (the histogram too); money.ErrOverflow,
// with u unchanged, when a total would not fit.
func (u *DayUsage) Merge(other *DayUsage) error {
	var sum DayUsage
	var err error
	for _, f := range [...]struct {
		dst  *int64
		a, b int64
	}{
		{&sum.CallsIn, u.CallsIn, other.CallsIn}, {&sum.CallsOut, u.CallsOut, other.CallsOut},
		{&sum.SecondsIn, u.SecondsIn, other.SecondsIn}, {&sum.SecondsOut, u.SecondsOut, other.SecondsOut},
		{&sum.Cost, u.Cost, other.Cost}, {&sum.Answered, u.Answered, other.Answered},
	} {
		if *f.dst, err = money.Add(f.a, f.b); err != nil {
			return err
		}
	}
	sum.Day, sum.Hist = u.Day, u.Hist.Add(other.Hist)
	*u = sum
	return nil
}

// addUsage adds CDRs to their days' usage records, one read and one write
// per day touched.
func (tx *Tx) addUsage(rid, cid uint64, cdrs []*CDR) error {
	type dayAcc struct {
		u     DayUsage
		slots map[int]int64
	}
	days := map[uint32]*dayAcc{}
	for _, c := range cdrs {
		d := dayNumber(c.StartedAt)
		acc := days[d]
		if acc == nil {
			acc = &dayAcc{slots: map[int]int64{}}
			days[d] = acc
		}
		if err := acc.u.add(c); err != nil {
			return fmt.Errorf("store: usage %d/%d/%d: %w", rid, cid, d, err)
		}
		acc.slots[min(c.DurationS, MaxQualifiedThreshold)]++
	}
	b := tx.bucket(bucketUsageDays)
	for d, acc := range days {
		key := dayKey(rid, cid, d)
		var cur DayUsage
		if v := b.Get(key); v != nil {
			if err := decodeDayUsage(v, &cur, true); err != nil {
				return fmt.Errorf("store: usage %d/%d/%d: %w", rid, cid, d, err)
			}
		}
		add := make(Histogram, 0, len(acc.slots))
		for s, n := range acc.slots {
			add = append(add, HistSlot{Seconds: s, Calls: n})
		}
		sort.Slice(add, func(i, j int) bool { return add[i].Seconds < add[j].Seconds })
		acc.u.Hist = add
		if err := cur.Merge(&acc.u); err != nil {
			return fmt.Errorf("store: usage %d/%d/%d: %w", rid, cid, d, err)
		}
		if err := b.Put(key, encodeDayUsage(&cur)); err != nil {
			return err
		}
	}
	return nil
}

func encodeDayUsage(u *DayUsage) []byte {
	b := make([]byte, 0, 48+4*len(u.Hist))
	b = append(b, 1)
	for _, v := range []int64{u.CallsIn, u.CallsOut, u.SecondsIn, u.SecondsOut, u.Answered} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	b = binary.AppendVarint(b, u.Cost)
	b = binary.AppendUvarint(b, uint64(len(u.Hist)))
	prev := 0
	for _, s := range u.Hist {
		b = binary.AppendUvarint(b, uint64(s.Seconds-prev))
		b = binary.AppendUvarint(b, uint64(s.Calls))
		prev = s.Seconds
	}
	return b
}

// decodeDayUsage reads a day record; without hist it stops before the
// histogram (the monthly chart needs only the totals).
func decodeDayUsage(v []byte, u *DayUsage, hist bool) error {
	if len(v) == 0 || v[0] != 1 {
		return ErrCorrupt
	}
	d := decoder{b: v[1:]}
	u.CallsIn = int64(d.uvarint())
	u.CallsOut = int64(d.uvarint())
	u.SecondsIn = int64(d.uvarint())
	u.SecondsOut = int64(d.uvarint())
	u.Answered = int64(d.uvarint())
	u.Cost = d.varint()
	if !hist {
		return d.err
	}
	n := d.uvarint()
	if d.err != nil || n > MaxQualifiedThreshold+1 {
		return ErrCorrupt
	}
	u.Hist = make(Histogram, n)
	prev := 0
	for i := range u.Hist {
		prev += int(d.uvarint())
		u.Hist[i] = HistSlot{Seconds: prev, Calls: int64(d.uvarint())}
	}
	if d.err != nil || len(d.b) != 0 {
		return ErrCorrupt
	}
	return nil
}

// UsageDays lists the client's days with calls from from to to (dates in
// UTC, both included), oldest first; without hist their histograms are
// left empty (faster).
func (tx *Tx) UsageDays(rid, cid uint64, from, to time.Time, hist bool) ([]DayUsage, error) {
	var out []DayUsage
	lo, hi := dayKey(rid, cid, dayNumber(from)), dayKey(rid, cid, dayNumber(to))
	c := tx.bucket(bucketUsageDays).Cursor()
	for k, v := c.Seek(lo); k != nil && bytes.Compare(k, hi) <= 0; k, v = c.Next() {
		var u DayUsage
		if err := decodeDayUsage(v, &u, hist); err != nil {
			return nil, fmt.Errorf("store: usage %x: %w", k, err)
		}
		n := binary.BigEndian.Uint32(k[16:20])
		u.Day = time.Date(int(n/10000), time.Month(n/100%100), int(n%100), 0, 0, 0, 0, time.UTC)
		out = append(out, u)
	}
	return out, nil
}
