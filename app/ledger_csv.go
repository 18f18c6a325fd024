package app

import (
	"bufio"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/billing"
	"portico/app/csvx"
	"portico/store"
	"portico/store/money"
)

// The CSV exports of a client's ledger: its credit movements (the
// reseller's client page, the Billing tab, GET /credit/movements?format=csv)
// and its transactions (the Billing tab, GET /transactions?format=csv).
// A client makes ledger entries as fast as it authorises calls, so an
// export never holds the ledger in memory: it is read a page at a time,
// once to find how many decimals each amount column needs (one number of
// decimals down a column) and once to write the rows as they are read.

// ledgerCSVPage is how many movements one read of an export holds.
const ledgerCSVPage = 500

// ledgerExport is one kind of ledger CSV: its header and how a movement
// is written, with the column displays the first read decided.
type ledgerExport struct {
	header []string
	row    func(m billing.Movement, amount, balance money.Display, currency string) []string
}

// creditMovementsCSV is the credit movements' file: exact amounts, who
// made each and its note.
var creditMovementsCSV = ledgerExport{
	header: []string{"date", "kind", "amount", "currency", "balance_after", "who", "note"},
	row: func(m billing.Movement, amount, balance money.Display, cur string) []string {
		return []string{m.At.UTC().Format(time.RFC3339), m.Kind, amount.Text(m.Amount, cur), cur, balance.Text(m.BalanceAfter, cur), m.Actor, m.Note}
	},
}

// transactionsExportCSV is the transactions' file: each invoice issued,
// paid or voided, and what is owed after it.
var transactionsExportCSV = ledgerExport{
	header: []string{"date", "kind", "invoice_number", "amount", "currency", "balance_after"},
	row: func(m billing.Movement, amount, balance money.Display, cur string) []string {
		return []string{m.At.UTC().Format(time.RFC3339), m.Kind, m.Note, amount.Text(m.Amount, cur), cur, balance.Text(m.BalanceAfter, cur)}
	},
}

// sendLedgerCSV sends the movements of account (one of client cid's) as
// the file kind describes, newest first. Reading fails before the reply
// starts (a client of another reseller is not found); the rows are then
// written a page at a time, down to the newest movement the first read
// saw, so both reads cover the same movements.
func (a *App) sendLedgerCSV(c *fiber.Ctx, r *store.Reseller, cid uint64, account store.AccountKey, kind ledgerExport, filename string) error {
	cur := r.Currency
	places := [2]int{money.Digits(cur), money.Digits(cur)}
	var newest, before uint64
	for {
		page, more, err := a.billing.Movements(r.ID, cid, account, before, ledgerCSVPage) // tenant scope: rid and cid from the caller
		if err != nil {
			return err
		}
		for _, m := range page {
			newest = max(newest, m.ID)
			places[0] = max(places[0], money.ExactPlaces(cur, m.Amount))
			places[1] = max(places[1], money.ExactPlaces(cur, m.BalanceAfter))
		}
		if !more || len(page) == 0 {
			break
		}
		before = page[len(page)-1].ID
	}
	amount := money.Display{Exact: true, Plain: true, Places: places[0]}
	balance := money.Display{Exact: true, Plain: true, Places: places[1]}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	requestID := requestIDOf(c)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		cw := csvx.NewWriter(w) // the export writer: a note or name never runs as a formula
		err := cw.Write(kind.header...)
		for before := newest + 1; err == nil && newest != 0; {
			var page []billing.Movement
			var more bool
			if page, more, err = a.billing.Movements(r.ID, cid, account, before, ledgerCSVPage); err != nil {
				break
			}
			for _, m := range page {
				if err = cw.Write(kind.row(m, amount, balance, cur)...); err != nil {
					break
				}
			}
			if err == nil {
				err = cw.Flush()
			}
			if err == nil {
				err = w.Flush() // this page goes out: the next read holds only its own
			}
			if !more || len(page) == 0 {
				break
			}
			before = page[len(page)-1].ID
		}
		if err == nil {
			err = cw.Flush()
		}
		if err != nil {
			a.log.Error("ledger: csv export", "request_id", requestID, "file", filename, "err", err)
		}
	})
	return nil
}
