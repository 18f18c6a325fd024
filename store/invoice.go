package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"portico/store/money"
)

// Invoice kinds and statuses.
const (
	InvoicePeriod    = "period"    // the monthly invoice, one per client and period
	InvoiceProration = "proration" // issued at once for an upgrade or added seats/add-ons
	InvoiceReceipt   = "receipt"   // a credit purchase, issued paid

	InvoiceOpen          = "open"
	InvoicePaid          = "paid"
	InvoiceVoid          = "void"
	InvoiceUncollectible = "uncollectible"
)

// Ledger kinds of invoicing, and the accounts it uses. Issuing an invoice
// moves its total from the client's sales account (the reseller's revenue
// from that client) to the client's receivable (what the client owes);
// a payment moves it from the receivable to the reseller's collected
// account; voiding moves it back to sales.
const (
	KindInvoice = "invoice"
	KindPayment = "payment"
	KindVoid    = "void"

	AccountReceivable = "receivable" // a client's unpaid invoices (positive: owed)
	AccountSales      = "sales"      // the reseller's invoiced revenue from a client (negative)
	AccountCollected  = "collected"  // money the reseller received for invoices
)

// ReceivableOf is what a client owes on its invoices.
func ReceivableOf(rid, cid uint64) AccountKey {
	return AccountKey{ResellerID: rid, ClientID: cid, Kind: AccountReceivable}
}

// SalesOf is the reseller's invoiced revenue from one client.
func SalesOf(rid, cid uint64) AccountKey {
	return AccountKey{ResellerID: rid, ClientID: cid, Kind: AccountSales}
}

// CollectedOf is what the reseller received for its invoices.
func CollectedOf(rid uint64) AccountKey {
	return AccountKey{ResellerID: rid, Kind: AccountCollected}
}

// Errors of invoicing.
var (
	// ErrInvoiceExists: the (client, period) pair already has its invoice.
	ErrInvoiceExists = fmt.Errorf("the period is already invoiced: %w", ErrConflict)
	// ErrInvoiceState: the change is not allowed from the invoice's status.
	ErrInvoiceState = fmt.Errorf("not allowed in the invoice's status: %w", ErrConflict)
)

// InvoiceLine is one line of an invoice: Quantity × UnitPrice = Amount
// (prorated lines say so in their description and carry the prorated
// amount as their unit price).
type InvoiceLine struct {
	Kind        string `json:"kind"` // plan, seat, add_on, number, setup, proration, credit
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitPrice   int64  `json:"unit_price"`
	Amount      int64  `json:"amount"`
}

// Party is the seller or buyer block of an invoice, frozen at issue.
type Party struct {
	Name      string   `json:"name"`
	Company   string   `json:"company,omitempty"`
	VATNumber string   `json:"vat_number,omitempty"`
	Emails    []string `json:"emails,omitempty"`
	Address1  string   `json:"address1,omitempty"`
	Address2  string   `json:"address2,omitempty"`
	City      string   `json:"city,omitempty"`
	Zip       string   `json:"zip,omitempty"`
	State     string   `json:"state,omitempty"`
	Country   string   `json:"country,omitempty"`
}

// InvoiceBrand is the reseller's brand as it was at issue. The logo is
// kept once per reseller and digest (InvoiceLogo).
type InvoiceBrand struct {
	ProductName  string `json:"product_name"`
	PrimaryColor string `json:"primary_color"`
	AccentColor  string `json:"accent_color"`
	LogoSHA256   string `json:"logo_sha256,omitempty"`
	Footer       string `json:"footer,omitempty"`
}

// InvoiceEvent is one change of an invoice's status.
type InvoiceEvent struct {
	Status string    `json:"status"`
	By     string    `json:"by"`
	Note   string    `json:"note,omitempty"`
	At     time.Time `json:"at"`
}

// Invoice is an issued invoice. Everything but its status (and the
// status's history, payment reference and void reason) is frozen at issue.
type Invoice struct {
	ID          uint64        `json:"id"`
	ResellerID  uint64        `json:"reseller_id"`
	ClientID    uint64        `json:"client_id"`
	Seq         uint64        `json:"seq"`    // the reseller's gap-free sequence
	Number      string        `json:"number"` // ACME-2026-000123
	Kind        string        `json:"kind"`
	Period      string        `json:"period,omitempty"` // YYYY-MM of a period invoice
	PeriodStart time.Time     `json:"period_start"`
	PeriodEnd   time.Time     `json:"period_end"`
	IssuedAt    time.Time     `json:"issued_at"`
	DueAt       time.Time     `json:"due_at"`
	Status      string        `json:"status"`
	Currency    string        `json:"currency"`
	Lines       []InvoiceLine `json:"lines"`
	Subtotal    int64         `json:"subtotal"`
	// TaxRate is in basis points; TaxNote is the legal note printed with
	// it (the EU reverse charge).
	TaxRate   int          `json:"tax_rate"`
	TaxNote   string       `json:"tax_note,omitempty"`
	Tax       int64        `json:"tax"`
	Total     int64        `json:"total"`
	AmountDue int64        `json:"amount_due"`
	Buyer     Party        `json:"buyer"`
	Seller    Party        `json:"seller"`
	Brand     InvoiceBrand `json:"brand"`
	// TimeZone is the reseller's zone at issue: dates print in it.
	TimeZone   string         `json:"time_zone"`
	PaidAt     time.Time      `json:"paid_at,omitzero"`
	Reference  string         `json:"reference,omitempty"` // of the payment
	VoidReason string         `json:"void_reason,omitempty"`
	History    []InvoiceEvent `json:"history"`
}

// Unpaid reports whether the invoice still waits for money.
func (inv *Invoice) Unpaid() bool {
	return inv.Status == InvoiceOpen || inv.Status == InvoiceUncollectible
}

// CheckTotals reports whether subtotal is the checked sum of the lines,
// each line's amount is its quantity × unit price, and total is subtotal +
// tax.
func (inv *Invoice) CheckTotals() error {
	var sum int64
	for i, l := range inv.Lines {
		amount, err := money.Mul(l.Quantity, l.UnitPrice)
		if err != nil {
			return fmt.Errorf("line %d: %w", i+1, err)
		}
		if amount != l.Amount {
			return fmt.Errorf("line %d: %d × %d is not %d", i+1, l.Quantity, l.UnitPrice, l.Amount)
		}
		if sum, err = money.Add(sum, l.Amount); err != nil {
			return fmt.Errorf("lines: %w", err)
		}
	}
	if sum != inv.Subtotal {
		return fmt.Errorf("lines sum to %d, subtotal is %d", sum, inv.Subtotal)
	}
	total, err := money.Add(inv.Subtotal, inv.Tax)
	if err != nil {
		return fmt.Errorf("total: %w", err)
	}
	if total != inv.Total {
		return fmt.Errorf("subtotal %d + tax %d is not total %d", inv.Subtotal, inv.Tax, inv.Total)
	}
	if inv.Total < 0 {
		return fmt.Errorf("negative total %d", inv.Total)
	}
	return nil
}

func invoicePeriodKey(rid, cid uint64, period string) []byte {
	return clientKeyString(rid, cid, period)
}

// IssueInvoice stores a new invoice: it takes the reseller's next number
// (gap-free: in this same transaction), freezes the logo, and posts the
// total to the client's receivable. The caller fills in the client, kind,
// period, lines and totals, buyer, seller and brand; the store sets the id,
// number, issue and due dates and status. A period invoice whose (client,
// period) pair already has one is ErrInvoiceExists and changes nothing.
func (tx *Tx) IssueInvoice(inv *Invoice, logo []byte, actor string) error {
	if inv.ResellerID == 0 || inv.ClientID == 0 {
		return fmt.Errorf("store: invoice: reseller and client required: %w", ErrInvalid)
	}
	switch inv.Kind {
	case InvoicePeriod:
		if _, err := time.Parse("2006-01", inv.Period); err != nil {
			return fmt.Errorf("store: invoice: period %q: %w", inv.Period, ErrInvalid)
		}
	case InvoiceProration, InvoiceReceipt:
	default:
		return fmt.Errorf("store: invoice: kind %q: %w", inv.Kind, ErrInvalid)
	}
	if err := inv.CheckTotals(); err != nil {
		return fmt.Errorf("store: invoice: %v: %w", err, ErrInvalid)
	}
	r, err := tx.Reseller(inv.ResellerID)
	if err != nil {
		return err
	}
	if _, err := tx.Client(inv.ResellerID, inv.ClientID); err != nil {
		return err
	}
	periods := tx.bucket(bucketInvoicePeriods)
	if inv.Kind == InvoicePeriod {
		if periods.Get(invoicePeriodKey(inv.ResellerID, inv.ClientID, inv.Period)) != nil {
			return fmt.Errorf("store: invoice %d/%d %s: %w", inv.ResellerID, inv.ClientID, inv.Period, ErrInvoiceExists)
		}
	}
	loc := LocationOf(r)
	counters := tx.bucket(bucketInvoiceCounters)
	var seq uint64 = 1
	if v := counters.Get(u64(inv.ResellerID)); v != nil {
		seq = readU64(v) + 1
	}
	if err := counters.Put(u64(inv.ResellerID), u64(seq)); err != nil {
		return err
	}
	b := tx.bucket(bucketInvoices)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	inv.ID, inv.Seq = id, seq
	inv.IssuedAt = tx.now
	inv.Number = InvoiceNumber(r, inv.IssuedAt.In(loc).Year(), seq)
	inv.DueAt = inv.IssuedAt.AddDate(0, 0, r.Seller.PaymentTerms())
	inv.Currency, inv.TimeZone = r.Currency, loc.String()
	inv.AmountDue = inv.Total
	inv.Status = InvoiceOpen
	if inv.Kind == InvoiceReceipt {
		inv.Status, inv.PaidAt, inv.AmountDue = InvoicePaid, tx.now, 0
	}
	inv.History = []InvoiceEvent{{Status: inv.Status, By: actor, Note: "issued", At: tx.now}}
	if len(logo) > 0 {
		if err := tx.freezeLogo(inv, logo); err != nil {
			return err
		}
	} else {
		inv.Brand.LogoSHA256 = ""
	}
	if inv.Total > 0 {
		legs := []Leg{{Account: SalesOf(inv.ResellerID, inv.ClientID), Amount: -inv.Total},
			{Account: ReceivableOf(inv.ResellerID, inv.ClientID), Amount: inv.Total}}
		if inv.Kind == InvoiceReceipt { // issued paid: the money is already in
			legs[1].Account = CollectedOf(inv.ResellerID)
		}
		if _, err := tx.PostLedger(&LedgerTx{ResellerID: inv.ResellerID, Kind: KindInvoice, Legs: legs,
			Reference: invoiceRef(id), Actor: actor, Note: inv.Number}); err != nil {
			return err
		}
	}
	key := tenantKey(inv.ResellerID, id)
	if inv.Kind == InvoicePeriod {
		if err := periods.Put(invoicePeriodKey(inv.ResellerID, inv.ClientID, inv.Period), u64(id)); err != nil {
			return err
		}
	}
	if err := tx.bucket(bucketClientInvoices).Put(append(tenantKey(inv.ResellerID, inv.ClientID), u64(id)...), nil); err != nil {
		return err
	}
	if err := tx.bucket(bucketInvoiceNumbers).Put(tenantStringKey(inv.ResellerID, inv.Number), u64(id)); err != nil {
		return err
	}
	return put(b, key, inv)
}

// freezeLogo keeps logo once per reseller and digest and names it in
// inv.Brand.LogoSHA256. A caller issuing many invoices with one logo may
// set that digest itself (the brand asset's SHA256): when the logo kept
// under it has exactly these bytes, it is not hashed again. Any other
// digest is replaced by the logo's own.
func (tx *Tx) freezeLogo(inv *Invoice, logo []byte) error {
	logos := tx.bucket(bucketInvoiceLogos)
	if d := inv.Brand.LogoSHA256; d != "" {
		if kept := logos.Get(tenantStringKey(inv.ResellerID, d)); kept != nil && bytes.Equal(kept, logo) {
			return nil
		}
	}
	sum := sha256.Sum256(logo)
	inv.Brand.LogoSHA256 = hex.EncodeToString(sum[:])
	if k := tenantStringKey(inv.ResellerID, inv.Brand.LogoSHA256); logos.Get(k) == nil {
		return logos.Put(k, logo)
	}
	return nil
}

func invoiceRef(id uint64) string { return "invoice:" + strconv.FormatUint(id, 10) }

// InvoiceNumber formats the reseller's invoice number seq issued in year:
// PREFIX-YYYY-000123.
func InvoiceNumber(r *Reseller, year int, seq uint64) string {
	prefix := r.Seller.InvoicePrefix
	if prefix == "" {
		prefix = strings.ToUpper(r.Slug)
	}
	digits := r.Seller.InvoiceDigits
	if digits <= 0 {
		digits = DefaultInvoiceDigits
	}
	return fmt.Sprintf("%s-%04d-%0*d", prefix, year, digits, seq)
}

// LocationOf is the reseller's time zone (UTC when unset or unknown).
func LocationOf(r *Reseller) *time.Location {
	if r.Timezone == "" {
		return time.UTC
	}
	if loc, ok := locations.Load(r.Timezone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(r.Timezone)
	if err != nil {
		return time.UTC
	}
	locations.Store(r.Timezone, loc)
	return loc
}

// locations are the zones LocationOf loaded, by name: time.LoadLocation
// reads and parses the zone file on every call, and an invoice run asks
// for the reseller's zone for every invoice. A *time.Location is never
// changed once loaded, so one may be shared.
var locations sync.Map

// Invoice returns one of the reseller's invoices.
func (tx *Tx) Invoice(rid, id uint64) (*Invoice, error) {
	key := tenantKey(rid, id)
	raw := tx.bucket(bucketInvoices).Get(key)
	if raw == nil {
		return nil, fmt.Errorf("store: invoice %d/%d: %w", rid, id, ErrNotFound)
	}
	inv, err := tx.cachedInvoice(key, raw) // decoded once per version of the record (decoded.go)
	if err != nil {
		return nil, fmt.Errorf("store: invoice %d/%d: %w", rid, id, err)
	}
	return inv, nil
}

// PeriodInvoice returns the client's invoice of period (YYYY-MM).
func (tx *Tx) PeriodInvoice(rid, cid uint64, period string) (*Invoice, error) {
	id := tx.bucket(bucketInvoicePeriods).Get(invoicePeriodKey(rid, cid, period))
	if id == nil {
		return nil, fmt.Errorf("store: invoice %d/%d %s: %w", rid, cid, period, ErrNotFound)
	}
	return tx.Invoice(rid, readU64(id))
}

// PeriodInvoiced reports whether the client has its invoice of period
// (YYYY-MM), without reading the invoice.
func (tx *Tx) PeriodInvoiced(rid, cid uint64, period string) bool {
	return tx.bucket(bucketInvoicePeriods).Get(invoicePeriodKey(rid, cid, period)) != nil
}

// LatestPeriodInvoiced is the newest period (YYYY-MM) the client has a
// period invoice for ("" when none).
func (tx *Tx) LatestPeriodInvoiced(rid, cid uint64) string {
	prefix := tenantKey(rid, cid)
	c := tx.bucket(bucketInvoicePeriods).Cursor()
	k, _ := lastWithPrefix(c, prefix, nil)
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return ""
	}
	return string(k[16:])
}

// ClientInvoices calls fn with the client's invoices, newest first; fn
// returning false stops the walk.
func (tx *Tx) ClientInvoices(rid, cid uint64, fn func(*Invoice) bool) error {
	prefix := tenantKey(rid, cid)
	c := tx.bucket(bucketClientInvoices).Cursor()
	for k, _ := lastWithPrefix(c, prefix, nil); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		inv, err := tx.Invoice(rid, readU64(k[16:]))
		if err != nil {
			return err
		}
		if !fn(inv) {
			return nil
		}
	}
	return nil
}

// Invoices calls fn with the reseller's invoices, newest first, starting
// below beforeID (0: the newest); fn returning false stops the walk.
func (tx *Tx) Invoices(rid, beforeID uint64, fn func(*Invoice) bool) error {
	prefix := u64(rid)
	var below []byte
	if beforeID > 0 {
		below = tenantKey(rid, beforeID)
	}
	c := tx.bucket(bucketInvoices).Cursor()
	for k, v := lastWithPrefix(c, prefix, below); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		var inv Invoice
		if err := unmarshal(v, &inv); err != nil {
			return err
		}
		if !fn(&inv) {
			return nil
		}
	}
	return nil
}

// lastWithPrefix positions c on the last key with prefix that sorts below
// below (or on the last key with prefix when below is nil); the caller
// checks the prefix of what it gets.
func lastWithPrefix(c *bolt.Cursor, prefix, below []byte) ([]byte, []byte) {
	seek := below
	if seek == nil {
		seek = nextPrefix(prefix)
	}
	var k []byte
	if seek != nil {
		k, _ = c.Seek(seek)
	}
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}

// nextPrefix is the smallest key above every key with prefix (nil when
// there is none: a prefix of 0xff bytes).
func nextPrefix(prefix []byte) []byte {
	next := bytes.Clone(prefix)
	for i := len(next) - 1; i >= 0; i-- {
		if next[i] < 0xff {
			next[i]++
			return next[:i+1]
		}
	}
	return nil
}

// InvoiceLogo returns a logo frozen by an invoice (nil when it has none).
func (tx *Tx) InvoiceLogo(rid uint64, digest string) []byte {
	if digest == "" {
		return nil
	}
	v := tx.bucket(bucketInvoiceLogos).Get(tenantStringKey(rid, digest))
	return bytes.Clone(v)
}

// InvoiceStatusChange is a request to move an invoice to another status.
type InvoiceStatusChange struct {
	Status string // InvoicePaid, InvoiceVoid or InvoiceUncollectible
	// Note is the void reason or the payment's reference.
	Note string
	// IdempotencyKey and RequestHash make a payment safe to retry: the
	// same key with the same request returns the invoice as it is; with
	// another request it is ErrConflict.
	IdempotencyKey, RequestHash string
	Actor                       string
}

// SetInvoiceStatus moves an invoice to another status, with the ledger
// movement the change makes: paid (open or uncollectible → paid) moves
// the amount due from the receivable to collected; void (only while open)
// moves the total back to sales; uncollectible (only while open) moves
// nothing, the client still owes it. Any other change is ErrInvoiceState.
func (tx *Tx) SetInvoiceStatus(rid, id uint64, ch InvoiceStatusChange) (inv *Invoice, replayed bool, err error) {
	inv, err = tx.Invoice(rid, id)
	if err != nil {
		return nil, false, err
	}
	if ch.IdempotencyKey != "" {
		if first, err := tx.ledgerByKey(rid, ch.IdempotencyKey); err == nil {
			if first.RequestHash != ch.RequestHash || first.Reference != invoiceRef(id) {
				return nil, false, fmt.Errorf("store: idempotency key %q was used for another request: %w", ch.IdempotencyKey, ErrConflict)
			}
			return inv, true, nil
		}
	}
	var legs []Leg
	kind := ""
	switch {
	case ch.Status == InvoicePaid && inv.Unpaid():
		kind = KindPayment
		if inv.AmountDue > 0 {
			legs = []Leg{{Account: ReceivableOf(rid, inv.ClientID), Amount: -inv.AmountDue},
				{Account: CollectedOf(rid), Amount: inv.AmountDue}}
		}
		inv.PaidAt, inv.Reference, inv.AmountDue = tx.now, ch.Note, 0
	case ch.Status == InvoiceVoid && inv.Status == InvoiceOpen:
		kind = KindVoid
		if inv.Total > 0 {
			legs = []Leg{{Account: ReceivableOf(rid, inv.ClientID), Amount: -inv.AmountDue},
				{Account: SalesOf(rid, inv.ClientID), Amount: inv.AmountDue}}
		}
		inv.VoidReason, inv.AmountDue = ch.Note, 0
	case ch.Status == InvoiceUncollectible && inv.Status == InvoiceOpen:
	default:
		return nil, false, fmt.Errorf("store: invoice %s is %s, cannot become %s: %w", inv.Number, inv.Status, ch.Status, ErrInvoiceState)
	}
	if legs != nil || ch.IdempotencyKey != "" {
		if legs == nil { // nothing to move, but the key must still be remembered
			legs = []Leg{{Account: ReceivableOf(rid, inv.ClientID)}, {Account: CollectedOf(rid)}}
		}
		if _, err := tx.PostLedger(&LedgerTx{ResellerID: rid, Kind: kind, Legs: legs, Reference: invoiceRef(id),
			IdempotencyKey: ch.IdempotencyKey, RequestHash: ch.RequestHash, Actor: ch.Actor, Note: inv.Number}); err != nil {
			return nil, false, err
		}
	}
	inv.Status = ch.Status
	inv.History = append(inv.History, InvoiceEvent{Status: ch.Status, By: ch.Actor, Note: ch.Note, At: tx.now})
	return inv, false, put(tx.bucket(bucketInvoices), tenantKey(rid, id), inv)
}

// LastInvoiceSeq is the sequence of the reseller's latest invoice (0 when
// none was issued).
func (tx *Tx) LastInvoiceSeq(rid uint64) uint64 {
	if v := tx.bucket(bucketInvoiceCounters).Get(u64(rid)); v != nil {
		return readU64(v)
	}
	return 0
}
