package clients

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"portico/app/actor"
	"portico/app/auth"
	"portico/app/fault"
	"portico/app/tenancy"
	"portico/app/textfield"
	"portico/store"
	"portico/store/money"
)

// Retention is how long a disabled client waits before the clean-up job
// deletes it.
const Retention = 90 * 24 * time.Hour

// DefaultMaxRecharge caps one recharge when the reseller sets no maximum:
// 100,000 currency units.
const DefaultMaxRecharge = 100_000 * money.Unit

// Service changes clients; every change commits with its audit event.
type Service struct {
	store *store.Store
}

// New returns the service.
func New(s *store.Store) *Service { return &Service{store: s} }

// DeletionDate is when a disabled client will be deleted.
func DeletionDate(c *store.Client) time.Time {
	if c.Status != store.ClientDisabled {
		return time.Time{}
	}
	return c.DisabledAt.Add(Retention)
}

// Create validates in and creates the client and its owner user, who can
// sign in at once. Nothing is saved when anything is wrong.
func (s *Service) Create(r *store.Reseller, in Input, by actor.Actor) (*store.Client, error) {
	if errs := in.Validate(tenancy.Policy(r), true); len(errs) > 0 {
		return nil, errs
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	c := &store.Client{ResellerID: r.ID}
	apply(c, in)
	owner := &store.User{Email: in.Email, Name: strings.TrimSpace(in.FirstName + " " + in.LastName), PasswordHash: hash}
	err = s.store.Update(func(tx *store.Tx) error {
		if err := tx.CreateClient(c, owner, by.Name); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, ClientID: c.ID, Actor: by.Name, Action: "client.create", Target: c.Username, IP: by.IP})
	})
	return c, conflictToField(err)
}

// Update applies edit to the client's current details and saves them
// (not password, status or credit). The edit runs inside the write
// transaction, so two concurrent edits of different fields both land.
func (s *Service) Update(r *store.Reseller, cid uint64, edit func(*Input), by actor.Actor) (*store.Client, error) {
	var c *store.Client
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		if c, err = tx.Client(r.ID, cid); err != nil {
			return err
		}
		in := InputOf(c)
		edit(&in)
		if errs := in.Validate(tenancy.Policy(r), false); len(errs) > 0 {
			return errs
		}
		apply(c, in)
		if err := tx.UpdateClient(c); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, ClientID: c.ID, Actor: by.Name, Action: "client.update", Target: c.Username, IP: by.IP})
	})
	return c, conflictToField(err)
}

func apply(c *store.Client, in Input) {
	c.Username, c.FirstName, c.LastName, c.Email = in.Username, in.FirstName, in.LastName, store.NormalizeEmail(in.Email)
	c.Phone, c.Country, c.State, c.City, c.Zip = in.Phone, in.Country, in.State, in.City, in.Zip
	c.Address1, c.Address2, c.Company, c.Role = in.Address1, in.Address2, in.Company, in.Role
}

// InputOf is the editable form of a client.
func InputOf(c *store.Client) Input {
	return Input{Username: c.Username, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Phone: c.Phone,
		Country: c.Country, State: c.State, City: c.City, Zip: c.Zip, Address1: c.Address1, Address2: c.Address2,
		Company: c.Company, Role: c.Role}
}

// conflictToField turns taken usernames and emails into field errors,
// every one the store found (both at once when both are taken).
func conflictToField(err error) error {
	var errs fault.Fields
	if errors.Is(err, store.ErrUsernameTaken) {
		errs.Add("username", "This username is taken.")
	}
	if errors.Is(err, store.ErrEmailTaken) {
		errs.Add("email", "This email is used by another client or user.")
	}
	if errs != nil {
		return errs
	}
	return noClient(err)
}

// noClient describes a client that is not found (another reseller's, or
// deleted meanwhile) in the words the API and the pages show.
func noClient(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.Wrap(fault.NotFound, "There is no such client.", err)
	}
	return err
}

// Client is client cid of reseller rid with its credit; another
// reseller's client is not found.
func (s *Service) Client(rid, cid uint64) (*store.Client, store.Credit, error) {
	return s.find(func(tx *store.Tx) (*store.Client, error) { return tx.Client(rid, cid) })
}

// ClientByRef is the reseller's client named by ref (an API path's
// {client}): a numeric id, or else a username. Digits are always an id,
// so a path never means one client today and another tomorrow.
func (s *Service) ClientByRef(rid uint64, ref string) (*store.Client, store.Credit, error) {
	return s.find(func(tx *store.Tx) (*store.Client, error) {
		if id, err := strconv.ParseUint(ref, 10, 64); err == nil {
			return tx.Client(rid, id) // tenant scope: rid comes from the host, never the request
		}
		return tx.ClientByUsername(rid, ref) // tenant scope: usernames are looked up within rid only
	})
}

func (s *Service) find(get func(tx *store.Tx) (*store.Client, error)) (*store.Client, store.Credit, error) {
	var c *store.Client
	var credit store.Credit
	err := s.store.View(func(tx *store.Tx) (err error) {
		if c, err = get(tx); err != nil {
			return err
		}
		credit = tx.Credit(c)
		return nil
	})
	return c, credit, noClient(err)
}

// Recharge is the outcome of a credit recharge.
type Recharge struct {
	Entry    *store.LedgerTx
	Client   *store.Client
	Credit   store.Credit
	Replayed bool // the idempotency key was seen before: nothing moved
}

// Recharge grants amount (a decimal in the reseller's currency) to the
// client. The idempotency key makes a retried or double-submitted request
// recharge once; the same key with another amount or note is a conflict.
// An amount that would take the reseller's pool or the client's balances
// past what an amount holds is refused (field amount).
func (s *Service) Recharge(r *store.Reseller, cid uint64, amount, note, key string, by actor.Actor) (*Recharge, error) {
	v, err := money.Parse(amount)
	note = strings.TrimSpace(note)
	maxAmount := r.MaxRecharge
	if maxAmount == 0 {
		maxAmount = DefaultMaxRecharge
	}
	switch {
	case err != nil:
		return nil, fault.InvalidField("amount", "Enter an amount such as 25.00.")
	case v <= 0:
		return nil, fault.InvalidField("amount", "Enter an amount above zero.")
	case v > maxAmount:
		return nil, fault.InvalidField("amount", "At most "+money.Format(maxAmount, r.Currency)+" at once.")
	case money.Round(v, r.Currency) != v:
		return nil, fault.InvalidField("amount", fmt.Sprintf("Use at most %d decimals.", money.Digits(r.Currency)))
	case len(note) > 500:
		return nil, fault.InvalidField("note", "Use at most 500 characters.")
	case textfield.SingleLine(note) != "":
		return nil, fault.InvalidField("note", textfield.SingleLineMessage)
	}
	sum := sha256.Sum256([]byte(strconv.FormatUint(cid, 10) + "\x00" + strconv.FormatInt(v, 10) + "\x00" + note))
	fingerprint := hex.EncodeToString(sum[:])
	out := &Recharge{}
	// Batch: concurrent recharges share one fsync. The function only sets
	// out's fields, so running it again (as Batch may) is harmless.
	err = s.store.Batch(func(tx *store.Tx) error {
		*out = Recharge{}
		entry, replayed, err := tx.GrantCredit(r.ID, cid, v, key, fingerprint, by.Name, note)
		if err != nil {
			return err
		}
		out.Entry, out.Replayed = entry, replayed
		if out.Client, err = tx.Client(r.ID, cid); err != nil {
			return err
		}
		out.Credit = tx.Credit(out.Client)
		if replayed {
			return nil
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, ClientID: cid, Actor: by.Name, Action: "client.recharge",
			Target: out.Client.Username + " " + money.Decimal(v, r.Currency) + " " + r.Currency, IP: by.IP})
	})
	switch {
	case errors.Is(err, store.ErrCreditLimit):
		return nil, fault.InvalidField("amount", "This recharge would pass your credit limit of "+money.Format(r.CreditLimit, r.Currency)+".")
	case errors.Is(err, money.ErrOverflow): // nothing moved: the grant's transaction rolled back
		return nil, fault.InvalidField("amount", "This recharge would take a balance past the largest amount Portico can hold.")
	case errors.Is(err, store.ErrConflict): // the key's first use was for another client, amount or note
		return nil, fault.Wrap(fault.Conflict, "This Idempotency-Key was already used for a different request.", err)
	case err != nil:
		return nil, noClient(err)
	}
	return out, nil
}

// SetStatus disables or enables a client; see store.SetClientStatus.
func (s *Service) SetStatus(r *store.Reseller, cid uint64, status string, restrictAPI bool, note string, by actor.Actor) (*store.Client, error) {
	if status != store.ClientActive && status != store.ClientDisabled {
		return nil, fault.InvalidField("status", "Use active or disabled.")
	}
	if msg := textfield.SingleLine(strings.TrimSpace(note)); msg != "" {
		return nil, fault.InvalidField("note", msg)
	}
	var c *store.Client
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		before, err := tx.Client(r.ID, cid)
		if err != nil {
			return err
		}
		if c, err = tx.SetClientStatus(r.ID, cid, status, restrictAPI, by.Name, strings.TrimSpace(note)); err != nil {
			return err
		}
		if before.Status == c.Status && before.RestrictAPI == c.RestrictAPI {
			return nil
		}
		action := "client.enable"
		if status == store.ClientDisabled {
			action = "client.disable"
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, ClientID: cid, Actor: by.Name, Action: action, Target: c.Username, IP: by.IP})
	})
	return c, noClient(err)
}

// Cleanup deletes every client disabled for Retention or longer at now,
// each in its own transaction with its audit event. Running it again the
// same day deletes nothing more.
func (s *Service) Cleanup(now time.Time) (int, error) {
	var due []*store.Client
	err := s.store.View(func(tx *store.Tx) (err error) {
		due, err = tx.ClientsDisabledBefore(now.Add(-Retention))
		return err
	})
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, c := range due {
		err := s.store.Update(func(tx *store.Tx) error {
			if err := tx.DeleteClient(c.ResellerID, c.ID); err != nil {
				return err
			}
			return tx.AddAudit(&store.AuditEvent{ResellerID: c.ResellerID, ClientID: c.ID, Actor: "system", Action: "client.delete",
				Target: fmt.Sprintf("client %d (disabled %s)", c.ID, c.DisabledAt.UTC().Format("2006-01-02"))})
		})
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return deleted, fmt.Errorf("clients: delete %d/%d: %w", c.ResellerID, c.ID, err)
		}
		deleted++
	}
	return deleted, nil
}
