package billing

// The reseller's phone-number inventory: numbers added one at a time or
// imported from a CSV (numbercsv.go), assigned to a client, released into
// quarantine, and the history of who held each number when.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"portico/app/actor"
	"portico/app/fault"
	"portico/app/textfield"
	"portico/store"
	"portico/store/money"
)

// Limits of the inventory's fields.
const (
	// MaxNumberFee caps a monthly or setup fee (one million currency
	// units): far above any real fee, and far enough below what an amount
	// holds that an invoice summing thousands of them cannot overflow.
	MaxNumberFee = 1_000_000 * money.Unit
	// maxNumberLabel is the longest label (characters).
	maxNumberLabel = 100
)

// NumberTypes are the types a number may have, in the order forms offer them.
var NumberTypes = []string{store.NumberLocal, store.NumberMobile, store.NumberTollFree}

// Errors of the inventory that a person or program can act on.
var (
	// ErrNumberExists: the number is in the inventory already.
	ErrNumberExists error = &fault.Error{Kind: fault.Conflict, Message: "This number is in your inventory already."}
	// ErrNumberTaken: another client holds the number; release it first.
	ErrNumberTaken error = &fault.Error{Kind: fault.Conflict, Message: "This number is assigned to another client; release it first."}
	// ErrNumberInUse: only an available number can be deleted.
	ErrNumberInUse error = &fault.Error{Kind: fault.Conflict, Message: "Only an available number can be deleted; release it and wait for its quarantine to end."}
)

// noNumber is the answer for a number the reseller does not have: the
// same whether it is another reseller's or nobody's.
func noNumber(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.Wrap(fault.NotFound, "There is no such number in your inventory.", err)
	}
	return err
}

// quarantined is the refusal to assign a number that rests in quarantine.
func quarantined(n *store.PhoneNumber) error {
	until := n.ReleasedAt.AddDate(0, 0, store.QuarantineDays)
	return fault.Newf(fault.Conflict, "This number was released on %s and rests in quarantine until %s; it cannot be assigned before then.",
		n.ReleasedAt.UTC().Format("2 Jan 2006"), until.UTC().Format("2 Jan 2006 15:04 UTC"))
}

// isE164 reports whether s is in E.164 form: + and 7 to 15 digits, the
// first not 0.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parsedNumber is a number of the inventory as the phone-number library
// reads it.
type parsedNumber struct {
	E164    string
	Type    string // inferred
	Country string // ISO 3166-1 alpha-2; "" for a non-geographic number (+800 and the like)
}

// parseNumber reads a number to add: international form, or a national
// form of region (the seller's country; "" when unknown). It must be a
// valid number, not only a possible one, so that a typo is explained
// rather than put on sale; its type and country come from the library.
func parseNumber(s, region string) (parsedNumber, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 40 {
		return parsedNumber{}, false
	}
	if strings.HasPrefix(s, "00") && region == "" { // an international prefix with no country to read it by
		s = "+" + s[2:]
	}
	num, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return parsedNumber{}, false
	}
	p := parsedNumber{E164: phonenumbers.Format(num, phonenumbers.E164), Type: inferType(num)}
	if !isE164(p.E164) {
		return parsedNumber{}, false
	}
	if rc := phonenumbers.GetRegionCodeForNumber(num); len(rc) == 2 { // "001" is the library's region of non-geographic numbers
		p.Country = rc
	}
	return p, true
}

// inferType maps the library's number types onto the inventory's three:
// mobile and toll-free are themselves, every other kind (fixed line,
// fixed line or mobile, VoIP, personal, shared cost, ...) is local.
func inferType(num *phonenumbers.PhoneNumber) string {
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE:
		return store.NumberMobile
	case phonenumbers.TOLL_FREE:
		return store.NumberTollFree
	}
	return store.NumberLocal
}

// NumberKey is the E.164 form of a number that a request names (a path
// segment, a search): E.164 as stored, digits without the + (read as
// international, the + being what gets lost in URLs), or any form the
// phone-number library reads, national forms in region. false when it
// names no number.
func NumberKey(ref, region string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if ref != "" && ref[0] != '0' && strings.Trim(ref, "0123456789") == "" {
		ref = "+" + ref
	}
	if isE164(ref) {
		return ref, true
	}
	if ref == "" || len(ref) > 40 {
		return "", false
	}
	if strings.HasPrefix(ref, "00") && region == "" {
		ref = "+" + ref[2:]
	}
	num, err := phonenumbers.Parse(ref, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return "", false
	}
	out := phonenumbers.Format(num, phonenumbers.E164)
	return out, isE164(out)
}

// numberType reads a type as typed: one of NumberTypes, in any case, with
// "toll-free" and "toll free" for toll_free; "" when empty.
func numberType(s string) (string, bool) {
	t := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
	switch t {
	case "", store.NumberLocal, store.NumberMobile, store.NumberTollFree:
		return t, true
	}
	return "", false
}

// numberFee reads a fee in the reseller's currency: a decimal of at most
// the currency's digits, 0 to MaxNumberFee.
func numberFee(s, currency string) (int64, string) {
	v, err := money.Parse(s)
	switch {
	case err != nil:
		return 0, "Enter an amount such as 2.50 (a dot for decimals, no currency sign)."
	case v > MaxNumberFee:
		return 0, "At most " + money.Format(MaxNumberFee, currency) + "."
	case money.Round(v, currency) != v:
		return 0, fmt.Sprintf("Use at most %d decimals.", money.Digits(currency))
	}
	return v, ""
}

// numberLabel checks a label as it will be stored.
func numberLabel(s string) (string, string) {
	s = strings.TrimSpace(s)
	if msg := textfield.SingleLine(s); msg != "" {
		return s, msg
	}
	if utf8.RuneCountInString(s) > maxNumberLabel {
		return s, fmt.Sprintf("Use at most %d characters.", maxNumberLabel)
	}
	return s, ""
}

// NumberInput is a number to add, as a person or program typed it.
// MonthlyFee is required ("0" for none); SetupFee and Label may be empty;
// an empty Type is inferred from the number.
type NumberInput struct {
	Number, Type, MonthlyFee, SetupFee, Label string
}

// record checks the input and builds the number of reseller r (region
// reads national forms). Problems are per field, named as the API and
// the CSV name them.
func (in NumberInput) record(rid uint64, region, currency string) (*store.PhoneNumber, fault.Fields) {
	var errs fault.Fields
	n := &store.PhoneNumber{ResellerID: rid, Status: store.NumberAvailable}
	p, ok := parseNumber(in.Number, region)
	switch {
	case ok:
		n.Number, n.Type, n.Country = p.E164, p.Type, p.Country
	case strings.TrimSpace(in.Number) == "":
		errs.Add("number", "Enter the number, in international form such as +14155550100.")
	default:
		errs.Add("number", "Enter a valid phone number in international form, such as +14155550100.")
	}
	if t, ok := numberType(in.Type); !ok {
		errs.Add("type", "Use local, mobile or toll_free, or leave it empty to infer it from the number.")
	} else if t != "" {
		n.Type = t
	}
	if strings.TrimSpace(in.MonthlyFee) == "" {
		errs.Add("monthly_fee", "Enter the monthly fee, such as 2.50 (0 for none).")
	} else if v, msg := numberFee(in.MonthlyFee, currency); msg != "" {
		errs.Add("monthly_fee", msg)
	} else {
		n.MonthlyFee = v
	}
	if strings.TrimSpace(in.SetupFee) != "" {
		if v, msg := numberFee(in.SetupFee, currency); msg != "" {
			errs.Add("setup_fee", msg)
		} else {
			n.SetupFee = v
		}
	}
	label, msg := numberLabel(in.Label)
	if msg != "" {
		errs.Add("label", msg)
	}
	n.Label = label
	return n, errs
}

// AddNumber adds one number to the reseller's inventory, available. The
// number is stored in E.164; its type is inferred unless given; its
// country is the number's. A number in the inventory already is
// ErrNumberExists.
func (s *Service) AddNumber(r *store.Reseller, in NumberInput, by actor.Actor) (*store.PhoneNumber, error) {
	n, errs := in.record(r.ID, r.Seller.Country, r.Currency)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	err := s.store.Update(func(tx *store.Tx) error {
		if err := tx.PutNumber(n, true); err != nil { // tenant scope: the key is the reseller's id and the number
			if errors.Is(err, store.ErrConflict) {
				return ErrNumberExists
			}
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: "number.add", Target: n.Number, IP: by.IP})
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Number is one number of the reseller's inventory, named in any form
// NumberKey reads; fault.NotFound when the reseller has no such number.
func (s *Service) Number(r *store.Reseller, ref string) (*store.PhoneNumber, error) {
	key, ok := NumberKey(ref, r.Seller.Country)
	if !ok {
		return nil, noNumber(store.ErrNotFound)
	}
	var n *store.PhoneNumber
	err := s.store.View(func(tx *store.Tx) (err error) {
		n, err = tx.Number(r.ID, key) // tenant scope: another reseller's number is not found
		return err
	})
	return n, noNumber(err)
}

// NumberQuery filters the inventory: by status as it reads now (a number
// whose quarantine is over is available) and by holder.
type NumberQuery struct {
	Status   string // "" for all
	ClientID uint64 // 0 for all
	After    string // the last number of the previous page
	Limit    int
}

// Numbers lists the reseller's numbers in E.164 order after q.After, at
// most q.Limit, and whether more follow. A holder filter reads the
// client's index; otherwise the inventory is walked (10,000 numbers
// take a few milliseconds).
func (s *Service) Numbers(rid uint64, q NumberQuery) (page []*store.PhoneNumber, more bool, err error) {
	if q.Limit < 1 {
		q.Limit = 50
	}
	now := s.store.Now()
	keep := func(n *store.PhoneNumber) bool {
		if n.Number <= q.After && q.After != "" {
			return true
		}
		if q.Status == "" || n.StatusAt(now) == q.Status {
			if len(page) == q.Limit {
				more = true
				return false
			}
			page = append(page, n)
		}
		return true
	}
	err = s.store.View(func(tx *store.Tx) error {
		if q.ClientID != 0 {
			held, err := tx.ClientNumbers(rid, q.ClientID) // tenant scope: rid's index only
			if err != nil {
				return err
			}
			for _, n := range held {
				if !keep(n) {
					break
				}
			}
			return nil
		}
		return tx.Numbers(rid, q.After, keep) // tenant scope: rid's numbers only
	})
	return page, more, err
}

// NumberCounts is how many of the reseller's numbers are in each status now.
func (s *Service) NumberCounts(rid uint64) (map[string]int, error) {
	now := s.store.Now()
	counts := map[string]int{}
	err := s.store.View(func(tx *store.Tx) error {
		return tx.Numbers(rid, "", func(n *store.PhoneNumber) bool {
			counts[n.StatusAt(now)]++
			return true
		})
	})
	return counts, err
}

// NumberPatch is a change to a number; nil fields stay as they are.
type NumberPatch struct {
	Type, MonthlyFee, SetupFee, Label *string
	// Client, when set, assigns the number to the client it names (an
	// id, or else a username); "" releases it.
	Client *string
}

// UpdateNumber changes a number in one transaction: its type, fees and
// label, and its holder. Assigning an assigned number to another client
// is ErrNumberTaken, and assigning a number in quarantine is a conflict
// until the quarantine is over; assigning to its holder, or releasing a
// number nobody holds, changes nothing. A client of another reseller is
// not found (field client), never told apart from one that does not
// exist. Every change is audited in the same transaction.
func (s *Service) UpdateNumber(r *store.Reseller, ref string, patch NumberPatch, by actor.Actor) (*store.PhoneNumber, error) {
	var errs fault.Fields
	var typ, label string
	var monthly, setup int64
	if patch.Type != nil {
		t, ok := numberType(*patch.Type)
		if !ok || t == "" {
			errs.Add("type", "Use local, mobile or toll_free.")
		}
		typ = t
	}
	if patch.MonthlyFee != nil {
		var msg string
		if monthly, msg = numberFee(*patch.MonthlyFee, r.Currency); msg != "" {
			errs.Add("monthly_fee", msg)
		}
	}
	if patch.SetupFee != nil {
		var msg string
		if setup, msg = numberFee(*patch.SetupFee, r.Currency); msg != "" {
			errs.Add("setup_fee", msg)
		}
	}
	if patch.Label != nil {
		var msg string
		if label, msg = numberLabel(*patch.Label); msg != "" {
			errs.Add("label", msg)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	key, ok := NumberKey(ref, r.Seller.Country)
	if !ok {
		return nil, noNumber(store.ErrNotFound)
	}
	var n *store.PhoneNumber
	err := s.store.Update(func(tx *store.Tx) (err error) {
		if n, err = tx.Number(r.ID, key); err != nil { // tenant scope
			return noNumber(err)
		}
		before := *n
		if patch.Type != nil {
			n.Type = typ
		}
		if patch.MonthlyFee != nil {
			n.MonthlyFee = monthly
		}
		if patch.SetupFee != nil {
			n.SetupFee = setup
		}
		if patch.Label != nil {
			n.Label = label
		}
		var events []*store.AuditEvent
		if n.Type != before.Type || n.MonthlyFee != before.MonthlyFee || n.SetupFee != before.SetupFee || n.Label != before.Label {
			events = append(events, &store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: "number.update", Target: n.Number, IP: by.IP})
		}
		if patch.Client != nil {
			event, err := changeHolder(tx, r.ID, n, *patch.Client, by)
			if err != nil {
				return err
			}
			if event != nil {
				events = append(events, event)
			}
		}
		if len(events) == 0 {
			return nil // nothing changed: nothing written
		}
		if err := tx.PutNumber(n, false); err != nil {
			return err
		}
		for _, e := range events {
			if err := tx.AddAudit(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// changeHolder assigns n to the client ref names, or releases it when ref
// is "", in tx; it returns the audit event of the change, or nil when
// there is none.
func changeHolder(tx *store.Tx, rid uint64, n *store.PhoneNumber, ref string, by actor.Actor) (*store.AuditEvent, error) {
	now := tx.Now()
	ref = strings.TrimSpace(ref)
	if ref == "" {
		if n.Status != store.NumberAssigned {
			return nil, nil // nobody holds it
		}
		holder := n.ClientID
		if last := len(n.History) - 1; last >= 0 && n.History[last].To.IsZero() {
			n.History[last].To, n.History[last].ReleasedBy = now, by.Name
		}
		n.Status, n.ClientID, n.AssignedAt, n.ReleasedAt, n.SetupInvoiced = store.NumberQuarantined, 0, time.Time{}, now, false
		return &store.AuditEvent{ResellerID: rid, ClientID: holder, Actor: by.Name, Action: "number.release", Target: n.Number, IP: by.IP}, nil
	}
	cl, err := clientByRef(tx, rid, ref)
	if err != nil {
		return nil, err
	}
	switch {
	case n.Status == store.NumberAssigned && n.ClientID == cl.ID:
		return nil, nil // held by this client already
	case n.Status == store.NumberAssigned:
		return nil, ErrNumberTaken
	case n.StatusAt(now) == store.NumberQuarantined:
		return nil, quarantined(n)
	}
	n.Status, n.ClientID, n.AssignedAt, n.ReleasedAt = store.NumberAssigned, cl.ID, now, time.Time{}
	n.SetupInvoiced = false // a new holding: its setup fee is invoiced once
	n.History = append(n.History, store.NumberHolding{ClientID: cl.ID, From: now, By: by.Name})
	return &store.AuditEvent{ResellerID: rid, ClientID: cl.ID, Actor: by.Name, Action: "number.assign", Target: n.Number, IP: by.IP}, nil
}

// clientByRef is the reseller's client named by id or username; a client
// that does not exist, is deleted or belongs to another reseller is the
// same field problem, and a closed one cannot take numbers.
func clientByRef(tx *store.Tx, rid uint64, ref string) (*store.Client, error) {
	var cl *store.Client
	var err error
	if id, perr := strconv.ParseUint(ref, 10, 64); perr == nil {
		cl, err = tx.Client(rid, id) // tenant scope: rid comes from the host, never the request
	} else {
		cl, err = tx.ClientByUsername(rid, ref) // tenant scope: usernames are looked up within rid only
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fault.InvalidField("client", "There is no such client.")
	case err != nil:
		return nil, err
	case cl.Status == store.ClientClosed:
		return nil, fault.InvalidField("client", "This client's account is closed; it cannot take numbers.")
	}
	return cl, nil
}

// AssignNumber assigns the number to the client named by id or username
// (UpdateNumber's rules).
func (s *Service) AssignNumber(r *store.Reseller, ref, client string, by actor.Actor) (*store.PhoneNumber, error) {
	if strings.TrimSpace(client) == "" {
		return nil, fault.InvalidField("client", "Choose the client to assign the number to.")
	}
	return s.UpdateNumber(r, ref, NumberPatch{Client: &client}, by)
}

// ReleaseNumber takes the number from its holder: it rests in quarantine
// for store.QuarantineDays before it can be assigned again.
func (s *Service) ReleaseNumber(r *store.Reseller, ref string, by actor.Actor) (*store.PhoneNumber, error) {
	none := ""
	return s.UpdateNumber(r, ref, NumberPatch{Client: &none}, by)
}

// DeleteNumber removes a number from the inventory, only while it is
// available (ErrNumberInUse otherwise): an assigned number is billed, and
// one in quarantine keeps its history until the quarantine is over.
func (s *Service) DeleteNumber(r *store.Reseller, ref string, by actor.Actor) error {
	key, ok := NumberKey(ref, r.Seller.Country)
	if !ok {
		return noNumber(store.ErrNotFound)
	}
	return s.store.Update(func(tx *store.Tx) error {
		n, err := tx.Number(r.ID, key) // tenant scope
		if err != nil {
			return noNumber(err)
		}
		if n.StatusAt(tx.Now()) != store.NumberAvailable {
			return ErrNumberInUse
		}
		if err := tx.DeleteNumber(r.ID, key); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: "number.delete", Target: key, IP: by.IP})
	})
}
