package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"portico/store/money"
)

// Ledger entry kinds: the movements that exist today. Billing adds its
// own (payments, invoices, refunds) with the code that posts them.
const (
	KindGrant       = "grant"
	KindUsage       = "usage"
	KindReservation = "reservation"
	KindRelease     = "release"
	KindAdjustment  = "adjustment"
)

// Leg is one side of a ledger transaction: a signed amount in minor units
// (1/10,000 of the currency) on one account.
type Leg struct {
	Account AccountKey `json:"account"`
	Amount  int64      `json:"amount"`
	// BalanceAfter is the account's balance once this leg applied.
	BalanceAfter int64 `json:"balance_after"`
}

// LedgerTx is one append-only movement of credit. Its legs sum to zero.
type LedgerTx struct {
	ID             uint64 `json:"id"`
	ResellerID     uint64 `json:"reseller_id"`
	Kind           string `json:"kind"`
	Legs           []Leg  `json:"legs"`
	Reference      string `json:"reference,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// RequestHash fingerprints the request behind an idempotency key, so
	// the same key with another request is refused.
	RequestHash string    `json:"request_hash,omitempty"`
	Actor       string    `json:"actor"`
	Note        string    `json:"note,omitempty"`
	At          time.Time `json:"at"`
}

// ErrUnbalanced means a ledger transaction's legs do not sum to zero.
var ErrUnbalanced = errors.New("ledger legs do not sum to zero")

// PostLedger appends a balanced transaction and updates the cached balance
// of each account it touches, in the caller's transaction. With an
// idempotency key seen before, it returns the first transaction and
// changes nothing (replayed is then true). A leg that would take a balance
// past what an amount holds is money.ErrOverflow: the caller must then let
// its transaction roll back.
func (tx *Tx) PostLedger(t *LedgerTx) (replayed bool, err error) {
	tx.markClientsChanged() // balances change the meters
	if len(t.Legs) < 2 {
		return false, fmt.Errorf("store: ledger: at least two legs: %w", ErrInvalid)
	}
	var sum int64
	for _, l := range t.Legs {
		if l.Account.ResellerID != t.ResellerID { // tenant scope: money never crosses resellers
			return false, fmt.Errorf("store: ledger: leg of another reseller: %w", ErrInvalid)
		}
		if sum, err = money.Add(sum, l.Amount); err != nil { // a wrapped sum could pass for zero
			return false, fmt.Errorf("store: ledger: legs: %w", err)
		}
	}
	if sum != 0 {
		return false, fmt.Errorf("store: ledger: %w", ErrUnbalanced)
	}
	keys := tx.bucket(bucketLedgerKeys)
	if t.IdempotencyKey != "" {
		if ref := keys.Get(tenantStringKey(t.ResellerID, t.IdempotencyKey)); ref != nil {
			var first LedgerTx
			if err := getLedgerTx(tx.bucket(bucketLedger), ref, &first); err != nil {
				return false, err
			}
			*t = first
			return true, nil
		}
	}
	accounts := tx.bucket(bucketAccounts)
	for i := range t.Legs {
		ak := t.Legs[i].Account.bytes()
		balance, err := money.Add(readBalance(accounts.Get(ak)), t.Legs[i].Amount)
		if err != nil { // the caller's transaction rolls back: nothing of it is saved
			a := t.Legs[i].Account
			return false, fmt.Errorf("store: ledger: account %d/%d/%s: %w", a.ResellerID, a.ClientID, a.Kind, err)
		}
		if err := accounts.Put(ak, encodeBalance(balance)); err != nil {
			return false, err
		}
		t.Legs[i].BalanceAfter = balance
	}
	b := tx.bucket(bucketLedger)
	id, err := b.NextSequence()
	if err != nil {
		return false, err
	}
	t.ID = id
	t.At = tx.now
	key := tenantKey(t.ResellerID, id)
	if t.IdempotencyKey != "" {
		if err := keys.Put(tenantStringKey(t.ResellerID, t.IdempotencyKey), key); err != nil {
			return false, err
		}
	}
	clientIdx := tx.bucket(bucketClientLedger)
	for i, l := range t.Legs {
		if l.Account.ClientID == 0 || slices.ContainsFunc(t.Legs[:i], func(o Leg) bool { return o.Account.ClientID == l.Account.ClientID }) {
			continue // the reseller's own accounts, or a client already indexed (a reservation's two legs are one client's)
		}
		if err := clientIdx.Put(clientLedgerKey(t.ResellerID, l.Account.ClientID, id), nil); err != nil {
			return false, err
		}
	}
	for _, l := range t.Legs {
		if l.Account.Kind == AccountReceivable {
			if err := tx.bucket(bucketReceivableLedger).Put(clientLedgerKey(t.ResellerID, l.Account.ClientID, id), nil); err != nil {
				return false, err
			}
		}
	}
	return false, putLedgerTx(b, key, t)
}

// Balance is an account's cached balance (0 for an account never used).
func (tx *Tx) Balance(a AccountKey) int64 {
	return readBalance(tx.bucket(bucketAccounts).Get(a.bytes()))
}

// LedgerTxs lists a reseller's ledger transactions, oldest first.
func (tx *Tx) LedgerTxs(rid uint64) ([]*LedgerTx, error) {
	return listByPrefix(tx, bucketLedger, u64(rid), decodeLedgerTx)
}

func readBalance(b []byte) int64 {
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

func encodeBalance(v int64) []byte { return u64(uint64(v)) }
