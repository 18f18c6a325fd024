package calls

import (
	"errors"
	"fmt"
	"time"

	"portico/app/fault"
	"portico/store"
)

// Reasons an authorisation is refused (docs/api.md).
const (
	ReasonAccountDisabled       = "account_disabled"
	ReasonAccountPaused         = "account_paused"
	ReasonAccountClosed         = "account_closed"
	ReasonBlockedCaller         = "blocked_caller"
	ReasonInsufficientCredit    = "insufficient_credit"
	ReasonDestinationNotAllowed = "destination_not_allowed"
	ReasonNoRate                = "no_rate"
)

// maxCallID is the longest call id (bytes).
const maxCallID = 128

// AuthorizeRequest is the PBX's question: may this call start?
type AuthorizeRequest struct {
	CallID    string `json:"call_id"`
	Direction string `json:"direction"`
	From      string `json:"from"`
	To        string `json:"to"`
}

// Authorization is the answer. An allowed outbound call holds Reserved
// (minor units) for up to MaxDurationS seconds at RatePerMinute; one that
// an included package covers holds nothing.
type Authorization struct {
	Allow         bool
	CallID        string
	Reason        string
	MaxDurationS  int
	RatePerMinute int64
	Reserved      int64
	// Package is the id of the included calling package that covers the
	// call (0: none); a covered call reserves nothing.
	Package uint64
}

// validCallID: 1–128 visible ASCII characters.
func validCallID(id string) bool {
	if id == "" || len(id) > maxCallID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// validate checks the request and normalises its numbers, with cl's
// country as the region of national numbers.
func (req *AuthorizeRequest) validate(cl *store.Client) fault.Fields {
	var errs fault.Fields
	add := errs.Add
	if !validCallID(req.CallID) {
		add("call_id", "Send the PBX's call id: 1 to 128 visible ASCII characters.")
	}
	switch req.Direction {
	case store.Inbound, store.Outbound:
	default:
		add("direction", "Use outbound or inbound.")
	}
	if from, err := callerNumber(req.From, cl.Country); err != nil {
		add("from", "Use an E.164 number such as +14155550100 (or anonymous for a withheld caller id).")
	} else {
		req.From = from
	}
	if to, err := NormalizeNumber(req.To, cl.Country); err != nil {
		add("to", "Use an E.164 number such as +14155550100.")
	} else {
		req.To = to
	}
	return errs
}

// statusReason is why a client's status refuses a call, or "".
func statusReason(c store.ClientCallState, direction string) string {
	switch {
	case c.Status == store.ClientClosed:
		return ReasonAccountClosed
	case c.Status == store.ClientDisabled && c.RestrictAPI: // the reseller cut this client off; a plain disable keeps calls working
		return ReasonAccountDisabled
	case c.Status == store.ClientPaused && direction == store.Outbound: // unpaid: no outbound calls, inbound still ring
		return ReasonAccountPaused
	}
	return ""
}

// Authorize answers whether a call may start. cl is the client as the
// request found it (its country reads national numbers); decisions use
// the client as stored in the deciding transaction. An outbound call that
// is allowed reserves the cost of its longest affordable duration (capped
// by the reseller's maximum call length) in the same durable commit; the
// same call id again gets the same reservation. An inbound call writes
// nothing unless its caller is blocked (the refusal is counted). Invalid
// input is fault.Fields; another reseller's or a deleted client is a
// fault.NotFound.
func (s *Service) Authorize(r *store.Reseller, cl *store.Client, req AuthorizeRequest, actor string) (*Authorization, error) {
	if errs := req.validate(cl); len(errs) > 0 {
		return nil, fmt.Errorf("invalid call request: %w", errs)
	}
	if req.Direction == store.Inbound {
		out, err := s.authorizeInbound(r, cl.ID, req)
		return out, noClient(err)
	}
	inc, err := s.includedPackages(r.ID, cl.ID)
	if err != nil {
		return nil, err
	}
	call := outboundCall{AuthorizeRequest: req, covering: s.covering(inc, req.To, cl.Country), loc: time.UTC}
	if len(call.covering) > 0 {
		call.loc = s.location(r)
	}
	out := &Authorization{}
	err = s.withDeck(r.ID, func(d *Deck) error {
		return s.store.Commit(8, func(tx *store.Tx) error {
			*out = Authorization{CallID: req.CallID}
			if tx.RateDeckVersion(r.ID) != d.Version {
				return errStaleDeck
			}
			return s.authorizeOutbound(tx, r, cl.ID, &call, d, out, actor)
		})
	})
	if err != nil {
		return nil, noClient(err)
	}
	return out, nil
}

// outboundCall is an outbound authorisation as the commit decides it:
// the request, the client's packages that cover its destination (fair use
// aside) and the reseller's time zone, worked out before the commit.
type outboundCall struct {
	AuthorizeRequest
	covering []*includedPackage
	loc      *time.Location
}

// authorizeOutbound decides and reserves inside the commit: the credit
// read and the reservation are one serial step, so concurrent calls can
// never hold more than the wallet.
func (s *Service) authorizeOutbound(tx *store.Tx, r *store.Reseller, cid uint64, req *outboundCall, d *Deck, out *Authorization, actor string) error {
	c, err := tx.ClientCallState(r.ID, cid) // tenant scope: rid from the host, cid from the key or path
	if err != nil {
		return err
	}
	if held, err := tx.Reservation(r.ID, cid, req.CallID); err == nil {
		out.Allow, out.MaxDurationS, out.RatePerMinute, out.Reserved, out.Package = true, held.MaxDurationS, held.RatePerMinute, held.Amount, held.Package
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// A call whose CDR has come is over: asking again (a PBX retrying a
	// stale request) must not hold the client's credit for hours. It gets
	// the call's rate and no time, and nothing moves.
	if cdr, err := tx.CDRByCallID(r.ID, cid, req.CallID); err == nil {
		out.Allow, out.MaxDurationS, out.RatePerMinute, out.Package = true, 0, cdr.RatePerMinute, cdr.PackageID
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if out.Reason = statusReason(c, store.Outbound); out.Reason != "" {
		return nil
	}
	rate, ok := d.Lookup(req.To)
	if !ok {
		out.Reason = ReasonNoRate
		return nil
	}
	if rate.Premium && !c.AllowPremium {
		out.Reason = ReasonDestinationNotAllowed
		return nil
	}
	maxCall := r.MaxCallLength()
	now := tx.Now()
	if !rate.Premium && len(req.covering) > 0 { // premium destinations are never included
		p, err := coverCall(tx, r.ID, cid, req.covering, periodOf(now, req.loc))
		if err != nil {
			return err
		}
		if p != nil { // free: no credit needed, nothing held, the whole maximum call length
			err = tx.Reserve(&store.Reservation{ResellerID: r.ID, ClientID: cid, CallID: req.CallID, To: req.To, Prefix: rate.Prefix,
				RatePerMinute: rate.RatePerMinute, MaxDurationS: maxCall, Package: p.ID,
				ExpiresAt: now.Add(secondsToDuration(maxCall) + ReleaseGrace)}, actor)
			if err != nil {
				return err
			}
			out.Allow, out.MaxDurationS, out.RatePerMinute, out.Package = true, maxCall, rate.RatePerMinute, p.ID
			return nil
		}
	}
	available := tx.Balance(store.WalletOf(r.ID, cid))
	duration, amount, ok := MaxAffordable(rate, available, maxCall)
	if !ok { // no positive balance, or not enough for the first increment
		out.Reason = ReasonInsufficientCredit
		return nil
	}
	err = tx.Reserve(&store.Reservation{ResellerID: r.ID, ClientID: cid, CallID: req.CallID, To: req.To, Prefix: rate.Prefix,
		RatePerMinute: rate.RatePerMinute, MaxDurationS: duration, Amount: amount,
		ExpiresAt: now.Add(secondsToDuration(maxCall) + ReleaseGrace)}, actor)
	if err != nil {
		return err
	}
	out.Allow, out.MaxDurationS, out.RatePerMinute, out.Reserved = true, duration, rate.RatePerMinute, amount
	return nil
}

// authorizeInbound reads the client's status and blocked list in one
// view; only a refused caller writes (its daily counter).
func (s *Service) authorizeInbound(r *store.Reseller, cid uint64, req AuthorizeRequest) (*Authorization, error) {
	out := &Authorization{CallID: req.CallID}
	blocked := false
	err := s.store.View(func(tx *store.Tx) error {
		c, err := tx.ClientCallState(r.ID, cid) // tenant scope
		if err != nil {
			return err
		}
		if out.Reason = statusReason(c, store.Inbound); out.Reason != "" {
			return nil
		}
		blocked = req.From != store.Anonymous && tx.IsBlocked(r.ID, cid, req.From)
		return nil
	})
	if err != nil || out.Reason != "" {
		return out, err
	}
	if blocked {
		out.Reason = ReasonBlockedCaller
		err := s.store.Commit(1, func(tx *store.Tx) error {
			if !tx.IsBlocked(r.ID, cid, req.From) { // unblocked meanwhile: nothing to count
				return nil
			}
			return tx.CountBlockedCall(r.ID, cid, req.From)
		})
		return out, err
	}
	out.Allow, out.MaxDurationS = true, r.MaxCallLength()
	return out, nil
}

func secondsToDuration(s int) time.Duration { return time.Duration(s) * time.Second }
