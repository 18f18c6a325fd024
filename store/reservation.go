package store

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// ErrInsufficientCredit means a reservation would take the wallet below
// zero.
var ErrInsufficientCredit = errors.New("insufficient credit")

// Reservation is credit held for an authorised call, from the moment the
// PBX asks until the call's CDR settles it or the release job returns it.
// It exists only while held: settling or releasing deletes it.
type Reservation struct {
	ResellerID    uint64 `json:"reseller_id"`
	ClientID      uint64 `json:"client_id"`
	CallID        string `json:"call_id"`
	To            string `json:"to"`
	Prefix        string `json:"prefix"`
	RatePerMinute int64  `json:"rate_per_minute"`
	MaxDurationS  int    `json:"max_duration_s"`
	Amount        int64  `json:"amount"`
	LedgerID      uint64 `json:"ledger_id,omitempty"`
	// Package is the included calling package that covers the call: it
	// then holds nothing (Amount 0), and the call's CDR is covered by the
	// package even if the package's fair use ran out meanwhile.
	Package   uint64    `json:"package,omitempty"`
	At        time.Time `json:"at"`
	ExpiresAt time.Time `json:"expires_at"`
}

var errNoReservation = fmt.Errorf("store: no reservation held for the call: %w", ErrNotFound)

// Reservation returns the held reservation of a call, or ErrNotFound.
func (tx *Tx) Reservation(rid, cid uint64, callID string) (*Reservation, error) {
	raw := tx.bucket(bucketReservations).Get(clientKeyString(rid, cid, callID))
	if raw == nil {
		return nil, errNoReservation // the usual answer on the authorise path: no formatting
	}
	var r Reservation
	if err := decodeReservation(raw, &r); err != nil {
		return nil, fmt.Errorf("store: reservation %d/%d/%q: %w", rid, cid, callID, err)
	}
	return &r, nil
}

// Reserve holds r.Amount of the client's wallet for a call: a ledger
// movement wallet → reserved and the reservation record with its expiry
// index entry. The wallet never goes below zero (ErrInsufficientCredit),
// so the sum of held reservations never exceeds the credit. A call id
// already held is ErrConflict.
func (tx *Tx) Reserve(r *Reservation, actor string) error {
	if r.Amount < 0 || r.CallID == "" || r.ExpiresAt.IsZero() {
		return fmt.Errorf("store: reservation: %w", ErrInvalid)
	}
	key := clientKeyString(r.ResellerID, r.ClientID, r.CallID)
	b := tx.bucket(bucketReservations)
	if b.Get(key) != nil {
		return fmt.Errorf("store: reservation %q: %w", r.CallID, ErrConflict)
	}
	r.At, r.LedgerID = tx.now, 0
	if r.Amount > 0 {
		if tx.Balance(WalletOf(r.ResellerID, r.ClientID)) < r.Amount { // money invariant: available credit never goes negative
			return fmt.Errorf("store: reservation %q: %w", r.CallID, ErrInsufficientCredit)
		}
		t := &LedgerTx{ResellerID: r.ResellerID, Kind: KindReservation, Reference: "call:" + r.CallID, Actor: actor,
			Legs: []Leg{{Account: WalletOf(r.ResellerID, r.ClientID), Amount: -r.Amount},
				{Account: ReservedOf(r.ResellerID, r.ClientID), Amount: r.Amount}}}
		if _, err := tx.PostLedger(t); err != nil {
			return err
		}
		r.LedgerID = t.ID
	}
	if err := tx.bucket(bucketReservationExpiry).Put(reservationExpiryKey(r.ExpiresAt, r.ResellerID, r.ClientID, r.CallID), nil); err != nil {
		return err
	}
	return putReservation(b, key, r)
}

// takeReservation deletes a held reservation and returns its amount (0
// when the call has none), for the caller to move the money.
func (tx *Tx) takeReservation(rid, cid uint64, callID string) (int64, error) {
	key := clientKeyString(rid, cid, callID)
	b := tx.bucket(bucketReservations)
	v := b.Get(key)
	if v == nil {
		return 0, nil
	}
	var r Reservation
	if err := decodeReservation(v, &r); err != nil {
		return 0, err
	}
	if err := tx.bucket(bucketReservationExpiry).Delete(reservationExpiryKey(r.ExpiresAt, rid, cid, callID)); err != nil {
		return 0, err
	}
	return r.Amount, b.Delete(key)
}

// ReleaseExpiredReservations returns to the wallet the credit of up to
// limit reservations that expired at or before now (calls whose CDR never
// came), one ledger movement reserved → wallet each. more says whether
// others are due.
func (tx *Tx) ReleaseExpiredReservations(now time.Time, limit int, actor string) (released int, more bool, err error) {
	limitKey := u64(uint64(now.UnixNano()))
	c := tx.bucket(bucketReservationExpiry).Cursor()
	var due [][]byte
	for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limitKey) <= 0; k, _ = c.Next() {
		if len(due) == limit {
			more = true
			break
		}
		due = append(due, append([]byte(nil), k...))
	}
	for _, k := range due {
		rid, cid, callID := readU64(k[8:16]), readU64(k[16:24]), string(k[24:])
		amount, err := tx.takeReservation(rid, cid, callID)
		if err != nil {
			return released, more, err
		}
		if err := tx.bucket(bucketReservationExpiry).Delete(k); err != nil { // also when the record had gone
			return released, more, err
		}
		if amount > 0 {
			t := &LedgerTx{ResellerID: rid, Kind: KindRelease, Reference: "call:" + callID, Actor: actor,
				Note: "no CDR within the maximum call length",
				Legs: []Leg{{Account: ReservedOf(rid, cid), Amount: -amount}, {Account: WalletOf(rid, cid), Amount: amount}}}
			if _, err := tx.PostLedger(t); err != nil {
				return released, more, err
			}
		}
		released++
	}
	return released, more, nil
}

// Reservations lists a client's held reservations in call id order.
func (tx *Tx) Reservations(rid, cid uint64) ([]*Reservation, error) {
	return listByPrefix(tx, bucketReservations, tenantKey(rid, cid), decodeReservation)
}
