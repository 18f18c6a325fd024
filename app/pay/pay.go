// Package pay holds the payment providers behind one small interface:
// sandbox (the default: offline, test cards only, every page says TEST
// MODE) and stripe. Providers keep card data to themselves: what Portico
// stores of a method is its kind, brand, last four digits, expiry or
// PayPal email, and the provider's token — never a card number or CVC.
// The package never imports Fiber or the store.
package pay

import (
	"context"
	"errors"
)

// Method kinds.
const (
	KindCard   = "card"
	KindPayPal = "paypal"
)

// Charge statuses.
const (
	Succeeded = "succeeded"
	Failed    = "failed"
	Pending   = "pending" // the provider did not answer in time: a job reconciles it
)

// Failure reasons a charge or a saved card reports (the API's
// failure_reason values).
const (
	ReasonDeclined          = "card_declined"
	ReasonInsufficientFunds = "insufficient_funds"
	ReasonExpired           = "expired_card"
	ReasonProcessing        = "processing_error"
)

// Customer is the buyer a provider keeps methods for: one per client.
type Customer struct {
	// Ref is the provider's customer id ("" before the first method).
	Ref   string
	Email string
	Name  string
	// Key is Portico's stable name for the client, e.g. "acme/42", sent
	// as metadata so provider records can be traced back.
	Key string
}

// Method is a saved payment method as the provider describes it.
type Method struct {
	Kind     string
	Brand    string // visa, mastercard, amex… ("" for PayPal)
	Last4    string
	ExpMonth int
	ExpYear  int
	Email    string // PayPal
	// Token is the provider's reference to the method (Stripe's
	// PaymentMethod id); CustomerRef the customer it belongs to.
	Token       string
	CustomerRef string
}

// CardInput is a card typed into the sandbox form or API. It is used for
// the one call and dropped: never stored, never logged.
type CardInput struct {
	Number   string
	ExpMonth int
	ExpYear  int
	CVC      string
}

// ChargeRequest is one off-session charge of a saved method.
type ChargeRequest struct {
	CustomerRef string
	MethodToken string
	Amount      int64 // minor units of Portico (1/10,000 of the currency)
	Currency    string
	// IdempotencyKey is sent to the provider, so a retried charge (after a
	// timeout) is never taken twice.
	IdempotencyKey string
	Description    string
}

// ChargeResult is what a charge did.
type ChargeResult struct {
	Status        string // Succeeded, Failed or Pending
	FailureReason string
	ProviderRef   string // the provider's payment id
}

// RefundRequest refunds part or all of a succeeded charge.
type RefundRequest struct {
	ProviderRef    string
	Amount         int64
	Currency       string
	IdempotencyKey string
}

// Provider is one payment provider.
type Provider interface {
	// Name is "sandbox" or "stripe".
	Name() string
	// TestMode reports whether no real money moves (pages show TEST MODE).
	TestMode() bool
	// SaveCard saves a card typed into Portico's own form; only the
	// sandbox accepts one (ErrNotSupported otherwise: real cards go
	// through the provider's page). A refused card is a *MethodError.
	SaveCard(ctx context.Context, c Customer, card CardInput) (Method, error)
	// SavePayPal saves a PayPal account by email (sandbox only).
	SavePayPal(ctx context.Context, c Customer, email string) (Method, error)
	// Charge takes money from a saved method, off-session.
	Charge(ctx context.Context, r ChargeRequest) (ChargeResult, error)
	// Refund gives back part or all of a charge.
	Refund(ctx context.Context, r RefundRequest) (ChargeResult, error)
}

// ErrNotSupported: the provider does not take this kind of request.
var ErrNotSupported = errors.New("pay: not supported by this provider")

// MethodError is a method the provider refused to save, with the field
// it names (card_number, exp_month, exp_year, cvc, paypal_email).
type MethodError struct {
	Field, Reason, Message string
}

func (e *MethodError) Error() string { return "pay: " + e.Field + ": " + e.Message }
