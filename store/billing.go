package store

import (
	"bytes"
	"fmt"
	"slices"
	"time"
)

// Plan kinds and catalogue statuses.
const (
	PlanSubscription = "subscription" // a monthly fee, seats, packages
	PlanPerMinute    = "per_minute"   // no fee: calls are paid from credit
	CatalogActive    = "active"
	CatalogArchived  = "archived" // keeps its subscribers, takes no new ones
)

// Plan is one of a reseller's offers. Amounts are minor units (1/10,000 of
// the currency).
type Plan struct {
	ID            uint64    `json:"id"`
	ResellerID    uint64    `json:"reseller_id"`
	Name          string    `json:"name"`
	Kind          string    `json:"kind"`
	MonthlyFee    int64     `json:"monthly_fee"`
	IncludedSeats int       `json:"included_seats"`
	SeatFee       int64     `json:"seat_fee"` // per seat beyond IncludedSeats
	Packages      []uint64  `json:"packages"` // CallingPackage ids
	AddOns        []uint64  `json:"add_ons"`  // AddOn ids the plan allows
	Status        string    `json:"status"`   // CatalogActive / CatalogArchived
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// CallingPackage is a bundle of calls a plan includes: outbound calls to
// its countries cost nothing up to FairUseMinutes a period (per seat when
// PerSeat); 0 minutes is unlimited.
type CallingPackage struct {
	ID             uint64    `json:"id"`
	ResellerID     uint64    `json:"reseller_id"`
	Name           string    `json:"name"`
	Countries      []string  `json:"countries"` // ISO 3166-1 alpha-2, upper case
	DomesticOnly   bool      `json:"domestic_only"`
	FairUseMinutes int64     `json:"fair_use_minutes"`
	PerSeat        bool      `json:"per_seat"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// AddOn is an extra a client may buy each month, flat or per seat.
type AddOn struct {
	ID         uint64    `json:"id"`
	ResellerID uint64    `json:"reseller_id"`
	Name       string    `json:"name"`
	MonthlyFee int64     `json:"monthly_fee"`
	PerSeat    bool      `json:"per_seat"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// catalogRecord is what the three catalogue kinds share, so that one set
// of generic methods stores them.
type catalogRecord interface {
	*Plan | *CallingPackage | *AddOn
}

func catalogBucket[T catalogRecord]() []byte {
	var zero T
	switch any(zero).(type) {
	case *Plan:
		return bucketPlans
	case *CallingPackage:
		return bucketPackages
	default:
		return bucketAddOns
	}
}

func catalogIDs(r any) (rid uint64, id *uint64, created, updated *time.Time) {
	switch v := r.(type) {
	case *Plan:
		return v.ResellerID, &v.ID, &v.CreatedAt, &v.UpdatedAt
	case *CallingPackage:
		return v.ResellerID, &v.ID, &v.CreatedAt, &v.UpdatedAt
	case *AddOn:
		return v.ResellerID, &v.ID, &v.CreatedAt, &v.UpdatedAt
	}
	panic("store: not a catalogue record")
}

// PutCatalog stores a plan, package or add-on: a new one (ID 0) gets the
// next id, an existing one is replaced.
func PutCatalog[T catalogRecord](tx *Tx, r T) error {
	rid, id, created, updated := catalogIDs(r)
	if rid == 0 {
		return fmt.Errorf("store: catalogue: reseller required: %w", ErrInvalid)
	}
	b := tx.bucket(catalogBucket[T]())
	if *id == 0 {
		next, err := b.NextSequence()
		if err != nil {
			return err
		}
		*id, *created = next, tx.now
	} else if b.Get(tenantKey(rid, *id)) == nil {
		return fmt.Errorf("store: catalogue %d/%d: %w", rid, *id, ErrNotFound)
	}
	*updated = tx.now
	tx.markBillingChanged() // rating reads packages and the plans that include them
	return put(b, tenantKey(rid, *id), r)
}

// Catalog returns one of the reseller's plans, packages or add-ons.
func Catalog[T catalogRecord](tx *Tx, rid, id uint64) (T, error) {
	var r T
	r = newOf[T]()
	if err := get(tx.bucket(catalogBucket[T]()), tenantKey(rid, id), r); err != nil {
		return nil, fmt.Errorf("store: catalogue %d/%d: %w", rid, id, err)
	}
	return r, nil
}

// CatalogList lists the reseller's plans, packages or add-ons in id order.
func CatalogList[T catalogRecord](tx *Tx, rid uint64) ([]T, error) {
	var out []T
	prefix := u64(rid)
	c := tx.bucket(catalogBucket[T]()).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		r := newOf[T]()
		if err := unmarshal(v, r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func newOf[T catalogRecord]() T {
	var zero T
	switch any(zero).(type) {
	case *Plan:
		return any(new(Plan)).(T)
	case *CallingPackage:
		return any(new(CallingPackage)).(T)
	default:
		return any(new(AddOn)).(T)
	}
}

// Subscription statuses.
const (
	SubscriptionActive   = "active"
	SubscriptionPastDue  = "past_due"
	SubscriptionPaused   = "paused"
	SubscriptionCanceled = "canceled"
)

// Subscription is a client's plan, seats and add-ons. Periods are the
// calendar months of the reseller's time zone; they are computed, not
// stored.
type Subscription struct {
	ResellerID uint64   `json:"reseller_id"`
	ClientID   uint64   `json:"client_id"`
	PlanID     uint64   `json:"plan_id"`
	Seats      int      `json:"seats"`
	AddOns     []uint64 `json:"add_ons"`
	Status     string   `json:"status"`
	// StartedAt is when the subscription began: the period it began in
	// is billed by day from here.
	StartedAt time.Time `json:"started_at"`
	// Pending is a downgrade (or fewer seats, or add-ons removed) that
	// takes effect at the start of the next period.
	Pending *PendingChange `json:"pending,omitempty"`
	// Carried are lines waiting for the next period invoice (charges of
	// a period whose invoice had already been issued).
	Carried []InvoiceLine `json:"carried,omitempty"`
	// Billed is the monthly unit price at which each part of the
	// subscription ("plan:1", "seats:1", "add_on:3") was last invoiced,
	// in the period BilledPeriod (YYYY-MM). A change within that period
	// credits the unused time at these prices rather than the
	// catalogue's, whose new fees apply from the next invoice.
	Billed       map[string]int64 `json:"billed,omitempty"`
	BilledPeriod string           `json:"billed_period,omitempty"`
	UpdatedAt    time.Time        `json:"updated_at"`
}

// PendingChange is a subscription change waiting for EffectiveAt.
type PendingChange struct {
	PlanID      uint64    `json:"plan_id"`
	Seats       int       `json:"seats"`
	AddOns      []uint64  `json:"add_ons"`
	EffectiveAt time.Time `json:"effective_at"`
}

// Subscription returns a client's subscription (ErrNotFound when it has
// none).
func (tx *Tx) Subscription(rid, cid uint64) (*Subscription, error) {
	var s Subscription
	if err := get(tx.bucket(bucketSubscriptions), tenantKey(rid, cid), &s); err != nil {
		return nil, fmt.Errorf("store: subscription %d/%d: %w", rid, cid, err)
	}
	return &s, nil
}

// PutSubscription stores a client's subscription.
func (tx *Tx) PutSubscription(s *Subscription) error {
	if s.ResellerID == 0 || s.ClientID == 0 || s.PlanID == 0 {
		return fmt.Errorf("store: subscription: reseller, client and plan required: %w", ErrInvalid)
	}
	if s.Seats < 0 {
		return fmt.Errorf("store: subscription: negative seats: %w", ErrInvalid)
	}
	s.AddOns = slices.Compact(slices.Sorted(slices.Values(s.AddOns)))
	s.UpdatedAt = tx.now
	tx.markClientsChanged()
	tx.markBillingChanged() // rating reads the client's packages
	return put(tx.bucket(bucketSubscriptions), tenantKey(s.ResellerID, s.ClientID), s)
}

// Subscriptions calls fn with each of the reseller's subscriptions in
// client order; fn returning false stops the walk.
func (tx *Tx) Subscriptions(rid uint64, fn func(*Subscription) bool) error {
	prefix := u64(rid)
	c := tx.bucket(bucketSubscriptions).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var s Subscription
		if err := unmarshal(v, &s); err != nil {
			return err
		}
		if !fn(&s) {
			return nil
		}
	}
	return nil
}

// BillingDetails are what a client's invoices are addressed to.
type BillingDetails struct {
	Company       string   `json:"company"`
	VATNumber     string   `json:"vat_number"`
	InvoiceEmails []string `json:"invoice_emails"`
	Address1      string   `json:"address1"`
	Address2      string   `json:"address2"`
	City          string   `json:"city"`
	Zip           string   `json:"zip"`
	State         string   `json:"state"`
	Country       string   `json:"country"` // ISO 3166-1 alpha-2
}

// SellerDetails are the reseller's own invoicing settings: who sells, how
// invoices are numbered, when they are due and what tax they carry.
type SellerDetails struct {
	LegalName string `json:"legal_name"`
	VATNumber string `json:"vat_number"`
	Address1  string `json:"address1"`
	Address2  string `json:"address2"`
	City      string `json:"city"`
	Zip       string `json:"zip"`
	State     string `json:"state"`
	Country   string `json:"country"` // ISO 3166-1 alpha-2
	Footer    string `json:"footer"`
	// PaymentTermsDays is the due date's distance from issue; 0 means
	// DefaultPaymentTerms.
	PaymentTermsDays int `json:"payment_terms_days"`
	// InvoicePrefix starts every invoice number ("ACME" gives
	// ACME-2026-000123); empty means the upper-case slug.
	InvoicePrefix string `json:"invoice_prefix"`
	// InvoiceDigits pads the sequence; 0 means DefaultInvoiceDigits.
	InvoiceDigits int `json:"invoice_digits"`
	// TaxRates is the tax rate by buyer country in basis points (2000 =
	// 20 %); "*" is the rate of countries not listed.
	TaxRates map[string]int `json:"tax_rates,omitempty"`
}

// Defaults of the seller details.
const (
	DefaultPaymentTerms  = 14
	DefaultInvoiceDigits = 6
)

// PaymentTerms is the number of days an invoice is due after issue.
func (s SellerDetails) PaymentTerms() int {
	if s.PaymentTermsDays <= 0 {
		return DefaultPaymentTerms
	}
	return s.PaymentTermsDays
}
