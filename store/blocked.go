package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// BlockedCaller is a number whose inbound calls a client refuses.
type BlockedCaller struct {
	ResellerID uint64    `json:"reseller_id"`
	ClientID   uint64    `json:"client_id"`
	Number     string    `json:"number"` // E.164
	Note       string    `json:"note,omitempty"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
}

// BlockedCallers lists a client's blocked numbers in number order.
func (tx *Tx) BlockedCallers(rid, cid uint64) ([]*BlockedCaller, error) {
	return listByPrefix(tx, bucketBlockedCallers, tenantKey(rid, cid), decodeJSON[BlockedCaller])
}

// IsBlocked reports with one lookup whether the client blocks number.
func (tx *Tx) IsBlocked(rid, cid uint64, number string) bool {
	return tx.bucket(bucketBlockedCallers).Get(clientKeyString(rid, cid, number)) != nil
}

// BlockCaller adds a number to the client's list; ErrConflict when it is
// there already.
func (tx *Tx) BlockCaller(b *BlockedCaller) error {
	if b.Number == "" || b.ResellerID == 0 || b.ClientID == 0 {
		return fmt.Errorf("store: blocked caller: %w", ErrInvalid)
	}
	key := clientKeyString(b.ResellerID, b.ClientID, b.Number)
	bucket := tx.bucket(bucketBlockedCallers)
	if bucket.Get(key) != nil {
		return fmt.Errorf("store: blocked caller %s: %w", b.Number, ErrConflict)
	}
	b.CreatedAt = tx.now
	return put(bucket, key, b)
}

// UnblockCaller removes a number from the client's list, with its
// counters; ErrNotFound when it is not there.
func (tx *Tx) UnblockCaller(rid, cid uint64, number string) error {
	key := clientKeyString(rid, cid, number)
	bucket := tx.bucket(bucketBlockedCallers)
	if bucket.Get(key) == nil {
		return fmt.Errorf("store: blocked caller %s: %w", number, ErrNotFound)
	}
	if err := bucket.Delete(key); err != nil {
		return err
	}
	prefix := append(key, 0)
	counts := tx.bucket(bucketBlockedCounts)
	var keys [][]byte
	c := counts.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := counts.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// CountBlockedCall adds one to today's count of calls stopped from number.
func (tx *Tx) CountBlockedCall(rid, cid uint64, number string) error {
	key := blockedCountKey(rid, cid, number, dayNumber(tx.now))
	b := tx.bucket(bucketBlockedCounts)
	var n uint64
	if v := b.Get(key); len(v) == 8 {
		n = readU64(v)
	}
	return b.Put(key, u64(n+1))
}

// BlockedCallsSince is how many calls from number the client's list
// stopped on the days from since (UTC date) to today.
func (tx *Tx) BlockedCallsSince(rid, cid uint64, number string, since time.Time) int64 {
	prefix := append(clientKeyString(rid, cid, number), 0)
	from := dayNumber(since)
	var n int64
	c := tx.bucket(bucketBlockedCounts).Cursor()
	for k, v := c.Seek(binary.BigEndian.AppendUint32(append([]byte(nil), prefix...), from)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) == len(prefix)+4 && len(v) == 8 {
			n += int64(readU64(v))
		}
	}
	return n
}

// PruneBlockedCounts deletes up to limit daily counters older than
// before (UTC date); more says whether others remain.
func (tx *Tx) PruneBlockedCounts(before time.Time, limit int) (deleted int, more bool, err error) {
	cut := dayNumber(before)
	b := tx.bucket(bucketBlockedCounts)
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) < 4 || binary.BigEndian.Uint32(k[len(k)-4:]) >= cut {
			continue
		}
		if len(keys) == limit {
			more = true
			break
		}
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return deleted, more, err
		}
		deleted++
	}
	return deleted, more, nil
}

// Event kinds.
const (
	// EventCreditLow: a charge took a client's spendable credit (wallet
	// plus reservations, i.e. assigned − used) from at least its auto
	// top-up threshold to below it.
	EventCreditLow = "credit.low"
)

// Event is a fact for another part of Portico to act on (billing's auto
// top-up consumes credit.low), written in the transaction that caused it.
type Event struct {
	ID         uint64 `json:"id"`
	Kind       string `json:"kind"`
	ResellerID uint64 `json:"reseller_id"`
	ClientID   uint64 `json:"client_id"`
	// Available is the wallet after the change; Spendable is assigned −
	// used (available plus what reservations hold).
	Available int64     `json:"available"`
	Spendable int64     `json:"spendable"`
	Threshold int64     `json:"threshold"`
	At        time.Time `json:"at"`
}

// AddEvent appends an event.
func (tx *Tx) AddEvent(e *Event) error {
	b := tx.bucket(bucketEvents)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.ID, e.At = id, tx.now
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return b.Put(u64(id), data)
}

// Events lists up to limit events after the id after, oldest first.
func (tx *Tx) Events(after uint64, limit int) ([]*Event, error) {
	var out []*Event
	c := tx.bucket(bucketEvents).Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
		var e Event
		if err := unmarshal(v, &e); err != nil {
			return nil, err
		}
		out = append(out, &e)
	}
	return out, nil
}
