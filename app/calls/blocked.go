package calls

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"portico/app/actor"
	"portico/app/fault"
	"portico/app/textfield"
	"portico/store"
)

// BlockedView is a blocked number with the calls it stopped in the last
// 30 days.
type BlockedView struct {
	*store.BlockedCaller
	BlockedLast30Days int64
}

// maxBlockedNote is the longest note (characters).
const maxBlockedNote = 200

// BlockedCallers lists the client's blocked numbers with their counts of
// the last 30 days (today included) at now.
func (s *Service) BlockedCallers(rid, cid uint64, now time.Time) ([]BlockedView, error) {
	var out []BlockedView
	err := s.store.View(func(tx *store.Tx) error {
		if _, err := tx.Client(rid, cid); err != nil { // tenant scope
			return err
		}
		list, err := tx.BlockedCallers(rid, cid)
		if err != nil {
			return err
		}
		since := now.UTC().AddDate(0, 0, -29)
		out = make([]BlockedView, len(list))
		for i, b := range list {
			out[i] = BlockedView{BlockedCaller: b, BlockedLast30Days: tx.BlockedCallsSince(rid, cid, b.Number, since)}
		}
		return nil
	})
	return out, noClient(err)
}

// ErrAlreadyBlocked means the number is on the list already (a conflict).
var ErrAlreadyBlocked error = &fault.Error{Kind: fault.Conflict, Message: "This number is blocked already."}

// Block adds a number to the client's blocked list. The number is read
// with the client's country for national forms and must be a valid
// number (fault.Fields explains otherwise); a number already blocked is
// ErrAlreadyBlocked.
func (s *Service) Block(r *store.Reseller, cid uint64, number, note string, by actor.Actor) (*store.BlockedCaller, error) {
	note = strings.TrimSpace(note)
	var b *store.BlockedCaller
	err := s.store.Update(func(tx *store.Tx) error {
		c, err := tx.Client(r.ID, cid) // tenant scope
		if err != nil {
			return err
		}
		var errs fault.Fields
		e164, numErr := NormalizeBlockedNumber(number, c.Country)
		if numErr != nil {
			errs.Add("number", "Enter a valid phone number, in international form such as +14155550100 or as dialled in the account's country.")
		}
		if msg := textfield.SingleLine(note); msg != "" {
			errs.Add("note", msg)
		} else if utf8.RuneCountInString(note) > maxBlockedNote {
			errs.Add("note", "Use at most 200 characters.")
		}
		if err := errs.Err(); err != nil {
			return err
		}
		b = &store.BlockedCaller{ResellerID: r.ID, ClientID: cid, Number: e164, Note: note, CreatedBy: by.Name}
		if err := tx.BlockCaller(b); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrAlreadyBlocked
			}
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, ClientID: cid, Actor: by.Name, Action: "caller.block", Target: e164, IP: by.IP})
	})
	if err != nil {
		return nil, noClient(err)
	}
	return b, nil
}

// Unblock removes a number (in any form Block accepts) from the client's
// list; a fault.NotFound when it is not on it (or the client is gone).
func (s *Service) Unblock(r *store.Reseller, cid uint64, number string, by actor.Actor) error {
	err := s.store.Update(func(tx *store.Tx) error {
		c, err := tx.Client(r.ID, cid) // tenant scope
		if err != nil {
			return err
		}
		e164, err := NormalizeNumber(number, c.Country)
		if err != nil {
			return store.ErrNotFound
		}
		if err := tx.UnblockCaller(r.ID, cid, e164); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, ClientID: cid, Actor: by.Name, Action: "caller.unblock", Target: e164, IP: by.IP})
	})
	if errors.Is(err, store.ErrNotFound) {
		return fault.Wrap(fault.NotFound, "This number is not blocked.", err)
	}
	return err
}
