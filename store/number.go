package store

import (
	"bytes"
	"fmt"
	"time"
)

// Number types and statuses.
const (
	NumberLocal    = "local"
	NumberMobile   = "mobile"
	NumberTollFree = "toll_free"

	NumberAvailable   = "available"
	NumberAssigned    = "assigned"
	NumberQuarantined = "quarantined" // released; assignable again after QuarantineDays
)

// QuarantineDays is how long a released number rests before it can be
// assigned to another client.
const QuarantineDays = 30

// NumberHolding is one period in which a client held a number.
type NumberHolding struct {
	ClientID uint64    `json:"client_id"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to,omitzero"` // zero while held
	By       string    `json:"by"`          // who assigned it
	// ReleasedBy is who released it (or the job that deleted its holder).
	ReleasedBy string `json:"released_by,omitempty"`
}

// PhoneNumber is one number of the reseller's inventory.
type PhoneNumber struct {
	ResellerID uint64    `json:"reseller_id"`
	Number     string    `json:"number"` // E.164
	Type       string    `json:"type"`
	Country    string    `json:"country"` // ISO 3166-1 alpha-2
	MonthlyFee int64     `json:"monthly_fee"`
	SetupFee   int64     `json:"setup_fee"`
	Status     string    `json:"status"`
	ClientID   uint64    `json:"client_id,omitempty"`
	Label      string    `json:"label,omitempty"`
	AssignedAt time.Time `json:"assigned_at,omitzero"`
	ReleasedAt time.Time `json:"released_at,omitzero"`
	// SetupInvoiced is set once the current holding's setup fee is on an
	// invoice (it is billed once per assignment).
	SetupInvoiced bool            `json:"setup_invoiced,omitempty"`
	History       []NumberHolding `json:"history,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

// StatusAt is the number's status at t: a quarantined number reads as
// available once its quarantine is over.
func (n *PhoneNumber) StatusAt(t time.Time) string {
	if n.Status == NumberQuarantined && !t.Before(n.ReleasedAt.AddDate(0, 0, QuarantineDays)) {
		return NumberAvailable
	}
	return n.Status
}

// Number returns one number of the reseller's inventory.
func (tx *Tx) Number(rid uint64, e164 string) (*PhoneNumber, error) {
	var n PhoneNumber
	if err := get(tx.bucket(bucketNumbers), tenantStringKey(rid, e164), &n); err != nil {
		return nil, fmt.Errorf("store: number %s: %w", e164, err)
	}
	return &n, nil
}

// PutNumber stores a number, keeping the client index in step with its
// holder. create refuses a number that exists (ErrConflict).
func (tx *Tx) PutNumber(n *PhoneNumber, create bool) error {
	if n.ResellerID == 0 || n.Number == "" {
		return fmt.Errorf("store: number: reseller and number required: %w", ErrInvalid)
	}
	b, idx := tx.bucket(bucketNumbers), tx.bucket(bucketClientNumbers)
	key := tenantStringKey(n.ResellerID, n.Number)
	if old := b.Get(key); old != nil {
		if create {
			return fmt.Errorf("store: number %s exists: %w", n.Number, ErrConflict)
		}
		var prev PhoneNumber
		if err := unmarshal(old, &prev); err != nil {
			return err
		}
		if prev.ClientID != 0 {
			if err := idx.Delete(clientKeyString(n.ResellerID, prev.ClientID, n.Number)); err != nil {
				return err
			}
		}
	} else if !create {
		return fmt.Errorf("store: number %s: %w", n.Number, ErrNotFound)
	} else {
		n.CreatedAt = tx.now
	}
	if n.ClientID != 0 {
		if err := idx.Put(clientKeyString(n.ResellerID, n.ClientID, n.Number), nil); err != nil {
			return err
		}
	}
	n.UpdatedAt = tx.now
	return put(b, key, n)
}

// DeleteNumber removes a number from the inventory.
func (tx *Tx) DeleteNumber(rid uint64, e164 string) error {
	n, err := tx.Number(rid, e164)
	if err != nil {
		return err
	}
	if n.ClientID != 0 {
		if err := tx.bucket(bucketClientNumbers).Delete(clientKeyString(rid, n.ClientID, e164)); err != nil {
			return err
		}
	}
	return tx.bucket(bucketNumbers).Delete(tenantStringKey(rid, e164))
}

// Numbers calls fn with the reseller's numbers in E.164 order, starting
// after the number after ("" for the first); fn returning false stops.
func (tx *Tx) Numbers(rid uint64, after string, fn func(*PhoneNumber) bool) error {
	prefix := u64(rid)
	c := tx.bucket(bucketNumbers).Cursor()
	k, v := c.Seek(tenantStringKey(rid, after))
	if after != "" && k != nil && bytes.Equal(k, tenantStringKey(rid, after)) {
		k, v = c.Next()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var n PhoneNumber
		if err := unmarshal(v, &n); err != nil {
			return err
		}
		if !fn(&n) {
			return nil
		}
	}
	return nil
}

// ClientNumbers lists the numbers a client holds, in E.164 order.
func (tx *Tx) ClientNumbers(rid, cid uint64) ([]*PhoneNumber, error) {
	prefix := tenantKey(rid, cid)
	var out []*PhoneNumber
	c := tx.bucket(bucketClientNumbers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n, err := tx.Number(rid, string(k[16:]))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// releaseClientNumbers releases every number the client holds into
// quarantine, as a release by hand would, when the client is deleted.
func (tx *Tx) releaseClientNumbers(rid, cid uint64) error {
	held, err := tx.ClientNumbers(rid, cid)
	if err != nil {
		return err
	}
	for _, n := range held {
		if last := len(n.History) - 1; last >= 0 && n.History[last].To.IsZero() {
			n.History[last].To, n.History[last].ReleasedBy = tx.now, "client deleted"
		}
		n.Status, n.ClientID, n.AssignedAt, n.ReleasedAt, n.SetupInvoiced = NumberQuarantined, 0, time.Time{}, tx.now, false
		if err := tx.PutNumber(n, false); err != nil {
			return err
		}
	}
	return nil
}

// verifyNumbers checks the number inventory: a number is assigned exactly
// when it has a holder, its holder is a client that exists and has it in
// its index, and every index entry is a number its client holds.
func (tx *Tx) verifyNumbers(add addFunc) error {
	err := tx.bucket(bucketNumbers).ForEach(func(k, v []byte) error {
		var n PhoneNumber
		if err := unmarshal(v, &n); err != nil {
			return err
		}
		if (n.Status == NumberAssigned) != (n.ClientID != 0) {
			add("number %d/%s: status %s with holder %d", n.ResellerID, n.Number, n.Status, n.ClientID)
		}
		if n.ClientID == 0 {
			return nil
		}
		if _, err := tx.Client(n.ResellerID, n.ClientID); err != nil {
			add("number %d/%s: holder %d is not a client", n.ResellerID, n.Number, n.ClientID)
		}
		if tx.bucket(bucketClientNumbers).Get(clientKeyString(n.ResellerID, n.ClientID, n.Number)) == nil {
			add("number %d/%s: not in client %d's index", n.ResellerID, n.Number, n.ClientID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.bucket(bucketClientNumbers).ForEach(func(k, _ []byte) error {
		rid, cid, e164 := readU64(k[:8]), readU64(k[8:16]), string(k[16:])
		n, err := tx.Number(rid, e164)
		if err != nil || n.ClientID != cid {
			add("client number index entry %d/%d/%s: the number is not held by that client", rid, cid, e164)
		}
		return nil
	})
}
