package billing

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"portico/store"
)

// Movement is one change of one of a client's ledger accounts: its wallet
// (prepaid credit) or its receivable (what it owes on invoices).
type Movement struct {
	ID           uint64 // the ledger transaction's id
	At           time.Time
	Kind         string // the ledger kind: grant, usage, invoice, payment, void, ...
	Actor        string
	Note         string
	Reference    string
	Amount       int64
	BalanceAfter int64
}

// InvoiceID is the invoice a receivable movement belongs to (0 when none).
func (m Movement) InvoiceID() uint64 {
	s, ok := strings.CutPrefix(m.Reference, "invoice:")
	if !ok {
		return 0
	}
	id, _ := strconv.ParseUint(s, 10, 64)
	return id
}

// Movements lists the movements of account, one of client cid's accounts,
// newest first, starting below the ledger transaction beforeID (0: the
// newest), at most limit of them (0: all); more reports whether older ones
// follow. Movements that leave the balance as it was (a leg of 0, kept
// only to remember an idempotency key) are left out. A client of another
// reseller is store.ErrNotFound.
func (s *Service) Movements(rid, cid uint64, account store.AccountKey, beforeID uint64, limit int) (out []Movement, more bool, err error) {
	if account.ResellerID != rid || account.ClientID != cid {
		return nil, false, fmt.Errorf("billing: account %v is not client %d/%d's", account, rid, cid)
	}
	err = s.store.View(func(tx *store.Tx) error {
		if _, err := tx.Client(rid, cid); err != nil { // tenant scope
			return err
		}
		walk := tx.ClientLedgerBefore
		if account.Kind == store.AccountReceivable {
			walk = tx.ReceivableLedgerBefore // invoice money only: not every call's entry
		}
		return walk(rid, cid, beforeID, func(t *store.LedgerTx) bool {
			n := len(out)
			for _, leg := range t.Legs {
				if leg.Account == account && leg.Amount != 0 {
					out = append(out, Movement{ID: t.ID, At: t.At, Kind: t.Kind, Actor: t.Actor, Note: t.Note, Reference: t.Reference,
						Amount: leg.Amount, BalanceAfter: leg.BalanceAfter})
				}
			}
			if limit > 0 && len(out) > limit && n > 0 { // a page ends between transactions: the cursor is a transaction
				out, more = out[:n], true
				return false
			}
			return true
		})
	})
	return out, more, err
}

// Transactions are the client's invoice money movements, newest first:
// each invoice issued (what it owes grows), paid or voided (it shrinks),
// with what it owes after each. Paging as Movements.
func (s *Service) Transactions(rid, cid, beforeID uint64, limit int) ([]Movement, bool, error) {
	return s.Movements(rid, cid, store.ReceivableOf(rid, cid), beforeID, limit)
}

// CreditMovements are the client's prepaid credit (wallet) movements,
// newest first: grants, top-ups, calls, adjustments. Paging as Movements.
func (s *Service) CreditMovements(rid, cid, beforeID uint64, limit int) ([]Movement, bool, error) {
	return s.Movements(rid, cid, store.WalletOf(rid, cid), beforeID, limit)
}
