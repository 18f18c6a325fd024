package store

import "bytes"

// ClientLedgerBefore calls fn with the ledger transactions that touch the
// client, newest first, starting below beforeID (0: the newest); fn
// returning false stops the walk. Lists read a page at a time with it
// (the id of a page's last transaction is the next page's beforeID)
// rather than decoding the client's whole ledger.
func (tx *Tx) ClientLedgerBefore(rid, cid, beforeID uint64, fn func(*LedgerTx) bool) error {
	return tx.ledgerBefore(bucketClientLedger, rid, cid, beforeID, fn)
}

// ReceivableLedgerBefore is ClientLedgerBefore over only the transactions
// that touch the client's receivable (invoices issued, paid, voided).
func (tx *Tx) ReceivableLedgerBefore(rid, cid, beforeID uint64, fn func(*LedgerTx) bool) error {
	return tx.ledgerBefore(bucketReceivableLedger, rid, cid, beforeID, fn)
}

func (tx *Tx) ledgerBefore(index []byte, rid, cid, beforeID uint64, fn func(*LedgerTx) bool) error {
	prefix := tenantKey(rid, cid)
	var below []byte
	if beforeID > 0 {
		below = clientLedgerKey(rid, cid, beforeID)
	}
	ledger := tx.bucket(bucketLedger)
	c := tx.bucket(index).Cursor()
	for k, _ := lastWithPrefix(c, prefix, below); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		var t LedgerTx
		if err := getLedgerTx(ledger, tenantKey(rid, readU64(k[16:])), &t); err != nil {
			return err
		}
		if !fn(&t) {
			return nil
		}
	}
	return nil
}
