package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"portico/store/money"
)

// Call directions and dispositions.
const (
	Inbound  = "inbound"
	Outbound = "outbound"

	Answered  = "answered"
	NoAnswer  = "no_answer"
	Busy      = "busy"
	Failed    = "failed"
	Anonymous = "anonymous" // the caller withheld its number
)

// Dispositions lists the dispositions a CDR may carry, in stored order.
var Dispositions = []string{Answered, NoAnswer, Busy, Failed}

// MaxQualifiedThreshold is the largest qualified-call threshold (seconds);
// the duration histogram counts longer calls in its last slot.
const MaxQualifiedThreshold = 3600

// CDR is one rated call. Whether it is qualified is not stored: it depends
// on the client's threshold, which may change.
type CDR struct {
	ResellerID  uint64    `json:"-"`
	ClientID    uint64    `json:"-"`
	CallID      string    `json:"call_id"`
	Direction   string    `json:"direction"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	StartedAt   time.Time `json:"started_at"` // whole seconds, UTC
	DurationS   int       `json:"duration_s"`
	Disposition string    `json:"disposition"`
	// BillableS is the duration rounded up to the rate's increments.
	BillableS     int    `json:"billable_s"`
	Cost          int64  `json:"cost"`
	RatePrefix    string `json:"rate_prefix,omitempty"`
	RatePerMinute int64  `json:"rate_per_minute"`
	// PackageID is the included calling package that covered the call
	// (its cost is then 0); 0 when none did.
	PackageID uint64 `json:"package_id,omitempty"`
	// Reserved is the credit its reservation held, released when the CDR
	// settled it.
	Reserved int64 `json:"reserved"`
	// LedgerID is the ledger transaction that charged the CDR's batch.
	LedgerID uint64 `json:"ledger_id,omitempty"`
}

// RecordResult is what RecordCDRs did.
type RecordResult struct {
	Accepted   int
	Duplicates int
	// Refused lists, by position in the slice given, the CDRs whose
	// charge would have taken a balance or total past what an int64
	// amount holds: nothing of them was saved (money.ErrOverflow's rule).
	Refused []int
	// Charged is the cost of the accepted CDRs, Released what their
	// reservations held.
	Charged  int64
	Released int64
	LedgerID uint64
	// LowCredit is set when the charge took the client below its auto
	// top-up threshold (a credit.low event was written).
	LowCredit bool
}

// RecordCDRs stores a client's rated CDRs in one go: a CDR whose call id
// the client reported before, or that appears twice in cdrs, is a
// duplicate and changes nothing. A CDR whose cost, added to what the batch
// charges before it, would take the client's used credit, usage account
// or wallet past what an amount holds is refused (Refused) and changes
// nothing either. For the others it settles and deletes their
// reservations, posts ONE ledger transaction for all of them (reserved
// −released, wallet +released −charged, usage +charged), adds the cost to
// the client's used credit, writes the CDRs and their call-id index, adds
// them to the daily usage, and emits credit.low when the charge crossed
// the auto top-up threshold. A charge beyond the reservation (a call
// longer than authorised, or never authorised) is taken as it is: the
// wallet may go negative, a debt billing invoices. It sets ResellerID,
// ClientID, Reserved and LedgerID of every accepted CDR; calling it again
// on the same slice (a rerun) gives the same result.
func (tx *Tx) RecordCDRs(rid, cid uint64, cdrs []*CDR, actor string) (RecordResult, error) {
	return tx.RecordCoveredCDRs(rid, cid, cdrs, actor, nil)
}

// RecordCoveredCDRs is RecordCDRs for a client whose plan includes calling
// packages: cover (when not nil) decides, for each CDR about to be
// accepted, whether a package covers it, and the minutes it counts are
// added to the client's fair-use counters with the CDRs, in the same
// transaction. A covered CDR costs nothing, so it is never refused.
func (tx *Tx) RecordCoveredCDRs(rid, cid uint64, cdrs []*CDR, actor string, cover CoverFunc) (RecordResult, error) {
	var res RecordResult
	var fu *FairUse
	if cover != nil {
		fu = &FairUse{tx: tx, rid: rid, cid: cid, counts: map[fairUseRef]int64{}}
	}
	c, err := tx.Client(rid, cid)
	if err != nil {
		return res, err
	}
	// What the charge adds to, read once: each CDR is taken only if the
	// running total still fits every one of them. Reservations only raise
	// the wallet back and never exceed the reserved balance, so the cost
	// alone decides; PostLedger checks every leg again.
	wallet, usage := tx.Balance(WalletOf(rid, cid)), tx.Balance(UsageOf(rid, cid))
	calls := tx.bucket(bucketCDRCalls)
	seen := make(map[string]struct{}, len(cdrs))
	accepted := make([]*CDR, 0, len(cdrs))
	for i, cdr := range cdrs {
		if _, dup := seen[cdr.CallID]; dup || calls.Get(clientKeyString(rid, cid, cdr.CallID)) != nil {
			res.Duplicates++
			continue
		}
		if cover != nil {
			if err := cover(i, cdr, fu); err != nil {
				return res, err
			}
		}
		if cdr.CallID == "" || cdr.Cost < 0 || cdr.DurationS < 0 || cdr.StartedAt.Unix() < 0 || dispositionCode(cdr.Disposition) < 0 ||
			(cdr.PackageID != 0 && cdr.Cost != 0) {
			return res, fmt.Errorf("store: cdr %q: %w", cdr.CallID, ErrInvalid)
		}
		if !chargeFits(res.Charged, cdr.Cost, c.CreditUsed, usage, wallet) {
			res.Refused = append(res.Refused, i)
			continue
		}
		res.Charged += cdr.Cost // fits: chargeFits added it
		seen[cdr.CallID] = struct{}{}
		accepted = append(accepted, cdr)
	}
	if len(accepted) == 0 {
		return res, nil
	}
	for _, cdr := range accepted {
		cdr.ResellerID, cdr.ClientID, cdr.LedgerID = rid, cid, 0
		if cdr.Reserved, err = tx.takeReservation(rid, cid, cdr.CallID); err != nil {
			return res, err
		}
		if res.Released, err = money.Add(res.Released, cdr.Reserved); err != nil {
			return res, fmt.Errorf("store: cdrs: reservations released: %w", err)
		}
	}
	res.Accepted = len(accepted)
	spendableBefore, err := money.Add(wallet, tx.Balance(ReservedOf(rid, cid)))
	if err != nil {
		return res, fmt.Errorf("store: client %d/%d: wallet and reserved: %w", rid, cid, err)
	}
	if res.Released != 0 || res.Charged != 0 {
		walletLeg, err := money.Sub(res.Released, res.Charged)
		if err != nil {
			return res, fmt.Errorf("store: cdrs: wallet leg: %w", err)
		}
		var legs []Leg
		for _, l := range []Leg{{Account: ReservedOf(rid, cid), Amount: -res.Released},
			{Account: WalletOf(rid, cid), Amount: walletLeg},
			{Account: UsageOf(rid, cid), Amount: res.Charged}} {
			if l.Amount != 0 {
				legs = append(legs, l)
			}
		}
		t := &LedgerTx{ResellerID: rid, Kind: KindUsage, Reference: fmt.Sprintf("cdrs:%d", len(accepted)), Actor: actor, Legs: legs}
		if _, err := tx.PostLedger(t); err != nil {
			return res, err
		}
		res.LedgerID = t.ID
		for _, cdr := range accepted {
			cdr.LedgerID = t.ID
		}
	}
	if res.Charged != 0 {
		if c.CreditUsed, err = money.Add(c.CreditUsed, res.Charged); err != nil {
			return res, fmt.Errorf("store: client %d/%d: used credit: %w", rid, cid, err)
		}
		c.UpdatedAt = tx.now
		if err := put(tx.bucket(bucketClients), tenantKey(rid, cid), c); err != nil {
			return res, err
		}
	}
	if err := tx.writeCDRs(rid, cid, accepted); err != nil {
		return res, err
	}
	if err := tx.addUsage(rid, cid, accepted); err != nil {
		return res, err
	}
	if fu != nil {
		if err := fu.write(); err != nil {
			return res, err
		}
	}
	spendableAfter, err := money.Sub(spendableBefore, res.Charged)
	if err != nil {
		return res, fmt.Errorf("store: client %d/%d: spendable credit: %w", rid, cid, err)
	}
	if top := c.AutoTopUp; top.Enabled && spendableBefore >= top.Threshold && spendableAfter < top.Threshold {
		res.LowCredit = true
		err := tx.AddEvent(&Event{Kind: EventCreditLow, ResellerID: rid, ClientID: cid,
			Available: tx.Balance(WalletOf(rid, cid)), Spendable: spendableAfter, Threshold: top.Threshold})
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// chargeFits says whether a batch that charged charged so far may also
// charge cost: the batch total, the client's used credit, its usage
// account and its wallet (which the charge lowers) must all stay within
// int64. No allocation: it runs once per CDR.
func chargeFits(charged, cost, used, usage, wallet int64) bool {
	total, err := money.Add(charged, cost)
	if err != nil {
		return false
	}
	if _, err := money.Add(used, total); err != nil {
		return false
	}
	if _, err := money.Add(usage, total); err != nil {
		return false
	}
	_, err = money.Sub(wallet, total)
	return err == nil
}

// writeCDRs puts the CDRs into their month buckets with the call-id index.
func (tx *Tx) writeCDRs(rid, cid uint64, cdrs []*CDR) error {
	rb, err := tx.bucket(bucketCDRs).CreateBucketIfNotExists(u64(rid))
	if err != nil {
		return err
	}
	calls := tx.bucket(bucketCDRCalls)
	var month []byte
	var mb *bolt.Bucket
	var buf [7]byte
	for _, cdr := range cdrs {
		y, mo, _ := cdr.StartedAt.UTC().Date()
		if m := appendMonth(buf[:0], y, mo); mb == nil || !bytes.Equal(m, month) {
			month = bytes.Clone(m)
			if mb, err = rb.CreateBucketIfNotExists(month); err != nil {
				return err
			}
		}
		seq, err := rb.NextSequence()
		if err != nil {
			return err
		}
		key := cdrKey(cid, cdr.StartedAt.Unix(), seq)
		// bbolt keeps the value slice until commit: each CDR gets its own.
		if err := mb.Put(key, encodeCDR(make([]byte, 0, 64+len(cdr.CallID)+len(cdr.From)+len(cdr.To)), cdr)); err != nil {
			return err
		}
		if err := calls.Put(clientKeyString(rid, cid, cdr.CallID), append(append([]byte(nil), month...), key[8:]...)); err != nil {
			return err
		}
	}
	return nil
}

func dispositionCode(d string) int {
	for i, v := range Dispositions {
		if v == d {
			return i
		}
	}
	return -1
}

// encodeCDR appends the CDR's binary form (the client and start time are
// in the key): a version byte, flags, disposition, then varints and
// length-prefixed strings. Version 2 ends with the covering package's id
// (a uvarint) where version 1 ended with a package name that nothing ever
// set (no call was covered before billing); decodeCDR reads both.
func encodeCDR(b []byte, c *CDR) []byte {
	var flags byte
	if c.Direction == Outbound {
		flags |= 1
	}
	b = append(b, cdrVersion, flags, byte(dispositionCode(c.Disposition)))
	b = binary.AppendUvarint(b, uint64(c.DurationS))
	b = binary.AppendUvarint(b, uint64(c.BillableS))
	b = binary.AppendVarint(b, c.Cost)
	b = binary.AppendVarint(b, c.RatePerMinute)
	b = binary.AppendVarint(b, c.Reserved)
	b = binary.AppendUvarint(b, c.LedgerID)
	b = appendString(b, c.CallID)
	b = appendString(b, c.From)
	b = appendString(b, c.To)
	b = appendString(b, c.RatePrefix)
	return binary.AppendUvarint(b, c.PackageID)
}

// cdrVersion is the version encodeCDR writes.
const cdrVersion = 2

// decodeCDR reads a CDR from its month-bucket key and value.
func decodeCDR(rid uint64, key, v []byte) (*CDR, error) {
	if len(key) != 24 || len(v) < 3 || (v[0] != 1 && v[0] != 2) || int(v[2]) >= len(Dispositions) {
		return nil, ErrCorrupt
	}
	c := &CDR{ResellerID: rid, ClientID: readU64(key[:8]), StartedAt: time.Unix(int64(readU64(key[8:16])), 0).UTC(),
		Direction: Inbound, Disposition: Dispositions[v[2]]}
	if v[1]&1 != 0 {
		c.Direction = Outbound
	}
	d := decoder{b: v[3:]}
	c.DurationS = int(d.uvarint())
	c.BillableS = int(d.uvarint())
	c.Cost = d.varint()
	c.RatePerMinute = d.varint()
	c.Reserved = d.varint()
	c.LedgerID = d.uvarint()
	c.CallID = d.string()
	c.From = d.string()
	c.To = d.string()
	c.RatePrefix = d.string()
	if v[0] == 1 {
		d.string() // the package name slot of version 1, always empty
	} else {
		c.PackageID = d.uvarint()
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, ErrCorrupt
	}
	return c, nil
}

var errNoCDR = fmt.Errorf("store: no cdr for the call: %w", ErrNotFound)

// CDRByCallID returns the client's CDR of a call, or ErrNotFound.
func (tx *Tx) CDRByCallID(rid, cid uint64, callID string) (*CDR, error) {
	ref := tx.bucket(bucketCDRCalls).Get(clientKeyString(rid, cid, callID))
	if len(ref) != 23 {
		return nil, errNoCDR // the usual answer on the authorise path: no formatting
	}
	rb := tx.bucket(bucketCDRs).Bucket(u64(rid))
	if rb == nil {
		return nil, fmt.Errorf("store: cdr %q: %w", callID, ErrNotFound)
	}
	mb := rb.Bucket(ref[:7])
	if mb == nil {
		return nil, fmt.Errorf("store: cdr %q: %w", callID, ErrNotFound)
	}
	key := append(u64(cid), ref[7:]...)
	v := mb.Get(key)
	if v == nil {
		return nil, fmt.Errorf("store: cdr %q: %w", callID, ErrNotFound)
	}
	return decodeCDR(rid, key, v)
}

// CDRQuery selects a page of a client's CDRs.
type CDRQuery struct {
	// Since and Until bound the start time: Since ≤ started < Until; zero
	// is unbounded.
	Since, Until time.Time
	// Desc lists newest first (the call log); otherwise oldest first.
	Desc bool
	// After is the Next of the previous page.
	After string
	// Limit is the page size (1 when less).
	Limit int
	// Match, when set, keeps only the CDRs it accepts.
	Match func(*CDR) bool
	// MaxScan, when positive, stops the walk after that many CDRs were
	// looked at, so a rare filter cannot read the whole history in one
	// request; the page may then be short, with Next set to go on.
	MaxScan int
}

// CDRPage is one page of CDRs; Next is empty on the last page.
type CDRPage struct {
	CDRs []*CDR
	Next string
}

// CDRs lists a client's CDRs by start time, a page at a time.
func (tx *Tx) CDRs(rid, cid uint64, q CDRQuery) (*CDRPage, error) {
	page := &CDRPage{}
	limit := max(q.Limit, 1)
	var afterMonth, afterKey []byte
	if q.After != "" {
		raw, err := hex.DecodeString(q.After)
		if err != nil || len(raw) != 7+24 || readU64(raw[7:15]) != cid {
			return nil, fmt.Errorf("store: cdr cursor: %w", ErrInvalid)
		}
		afterMonth, afterKey = raw[:7], raw[7:]
	}
	rb := tx.bucket(bucketCDRs).Bucket(u64(rid))
	if rb == nil {
		return page, nil
	}
	lo, hi := uint64(0), uint64(math.MaxUint64)
	if !q.Since.IsZero() && q.Since.Unix() > 0 {
		lo = uint64(q.Since.Unix())
		if q.Since.Nanosecond() > 0 {
			lo++
		}
	}
	if !q.Until.IsZero() {
		hi = uint64(max(q.Until.Unix(), 0))
		if q.Until.Nanosecond() > 0 {
			hi++
		}
	}
	var loMonth, hiMonth []byte
	if lo > 0 {
		loMonth = monthName(time.Unix(int64(lo), 0))
	}
	if hi < math.MaxUint64 && hi > 0 {
		hiMonth = monthName(time.Unix(int64(hi)-1, 0))
	}
	var months [][]byte
	rc := rb.Cursor()
	for k, v := rc.First(); k != nil; k, v = rc.Next() {
		if v != nil || (loMonth != nil && bytes.Compare(k, loMonth) < 0) || (hiMonth != nil && bytes.Compare(k, hiMonth) > 0) {
			continue
		}
		if afterMonth != nil && ((!q.Desc && bytes.Compare(k, afterMonth) < 0) || (q.Desc && bytes.Compare(k, afterMonth) > 0)) {
			continue
		}
		months = append(months, append([]byte(nil), k...))
	}
	if q.Desc {
		sort.Slice(months, func(i, j int) bool { return bytes.Compare(months[i], months[j]) > 0 })
	}
	prefix := u64(cid)
	loKey, hiKey := cdrKey(cid, int64(lo), 0), cdrKey(cid, int64(hi), 0)
	scanned := 0
	var lastMonth, lastKey []byte
	for _, month := range months {
		c := rb.Bucket(month).Cursor()
		var k, v []byte
		sameMonth := afterMonth != nil && bytes.Equal(month, afterMonth)
		if !q.Desc {
			if sameMonth {
				if k, v = c.Seek(afterKey); k != nil && bytes.Equal(k, afterKey) {
					k, v = c.Next()
				}
			} else {
				k, v = c.Seek(loKey)
			}
		} else {
			start := hiKey
			if sameMonth {
				start = afterKey
			}
			if k, _ = c.Seek(start); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for k != nil && bytes.HasPrefix(k, prefix) {
			if (!q.Desc && bytes.Compare(k, hiKey) >= 0) || (q.Desc && bytes.Compare(k, loKey) < 0) {
				break
			}
			if q.MaxScan > 0 && scanned >= q.MaxScan && lastKey != nil {
				page.Next = hex.EncodeToString(append(append([]byte(nil), lastMonth...), lastKey...))
				return page, nil
			}
			scanned++
			cdr, err := decodeCDR(rid, k, v)
			if err != nil {
				return nil, fmt.Errorf("store: cdr %x: %w", k, err)
			}
			if q.Match == nil || q.Match(cdr) {
				if len(page.CDRs) == limit {
					page.Next = hex.EncodeToString(append(append([]byte(nil), lastMonth...), lastKey...))
					return page, nil
				}
				page.CDRs = append(page.CDRs, cdr)
			}
			lastMonth, lastKey = month, append(lastKey[:0], k...)
			if q.Desc {
				k, v = c.Prev()
			} else {
				k, v = c.Next()
			}
		}
	}
	return page, nil
}

// CDRMonths lists the months ("2026-11") of which the reseller keeps
// CDRs, oldest first.
func (tx *Tx) CDRMonths(rid uint64) []string {
	rb := tx.bucket(bucketCDRs).Bucket(u64(rid))
	if rb == nil {
		return nil
	}
	var out []string
	c := rb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			out = append(out, string(k))
		}
	}
	return out
}

// DropCDRMonth deletes up to limit CDRs of one of the reseller's months,
// with their call-id index entries; once the month is empty its bucket
// goes too (done). Usage aggregates are kept.
func (tx *Tx) DropCDRMonth(rid uint64, month string, limit int) (deleted int, done bool, err error) {
	rb := tx.bucket(bucketCDRs).Bucket(u64(rid))
	if rb == nil || rb.Bucket([]byte(month)) == nil {
		return 0, true, nil
	}
	mb := rb.Bucket([]byte(month))
	var keys [][]byte
	var callIDs []string
	c := mb.Cursor()
	for k, v := c.First(); k != nil && len(keys) < limit; k, v = c.Next() {
		cdr, err := decodeCDR(rid, k, v)
		if err != nil {
			return 0, false, fmt.Errorf("store: cdr %s %x: %w", month, k, err)
		}
		keys = append(keys, append([]byte(nil), k...))
		callIDs = append(callIDs, cdr.CallID)
	}
	calls := tx.bucket(bucketCDRCalls)
	for i, k := range keys {
		cid := readU64(k[:8])
		ik := clientKeyString(rid, cid, callIDs[i])
		if ref := calls.Get(ik); ref != nil && bytes.Equal(ref[:7], []byte(month)) && bytes.Equal(ref[7:], k[8:]) {
			if err := calls.Delete(ik); err != nil {
				return deleted, false, err
			}
		}
		if err := mb.Delete(k); err != nil {
			return deleted, false, err
		}
		deleted++
	}
	if k, _ := mb.Cursor().First(); k == nil {
		return deleted, true, rb.DeleteBucket([]byte(month))
	}
	return deleted, false, nil
}
