package store

import (
	"bytes"
	"time"
)

// AuditEvent records one change or sign-in: who, what, on what, from where.
type AuditEvent struct {
	ID         uint64    `json:"id"`
	ResellerID uint64    `json:"reseller_id"`
	ClientID   uint64    `json:"client_id,omitempty"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	Target     string    `json:"target,omitempty"`
	IP         string    `json:"ip,omitempty"`
	At         time.Time `json:"at"`
}

// AddAudit appends an event in the caller's transaction, so the change and
// its record commit together.
func (tx *Tx) AddAudit(e *AuditEvent) error {
	b := tx.bucket(bucketAudit)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.ID = id
	if e.At.IsZero() {
		e.At = tx.now
	}
	return put(b, tenantKey(e.ResellerID, id), e)
}

// AuditEvents lists a reseller's events newest first, starting below
// beforeID (0 for the newest), at most limit of them; more tells whether
// older events remain (found without decoding them).
func (tx *Tx) AuditEvents(rid uint64, beforeID uint64, limit int) (events []*AuditEvent, more bool, err error) {
	return tx.AuditEventsMatching(rid, beforeID, limit, nil)
}

// AuditEventsMatching is AuditEvents keeping only events for which match
// (when not nil) is true; more then tells whether another match exists.
func (tx *Tx) AuditEventsMatching(rid uint64, beforeID uint64, limit int, match func(*AuditEvent) bool) (events []*AuditEvent, more bool, err error) {
	prefix := u64(rid)
	c := tx.bucket(bucketAudit).Cursor()
	seek := u64(rid + 1) // just past the tenant's last event
	if beforeID != 0 {
		seek = tenantKey(rid, beforeID)
	}
	k, v := c.Seek(seek)
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		if len(events) == limit && match == nil {
			return events, true, nil
		}
		var e AuditEvent
		if err := unmarshal(v, &e); err != nil {
			return nil, false, err
		}
		if match != nil && !match(&e) {
			continue
		}
		if len(events) == limit {
			return events, true, nil
		}
		events = append(events, &e)
	}
	return events, false, nil
}
