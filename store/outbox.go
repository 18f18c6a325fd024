package store

import (
	"fmt"
	"time"
)

// Outbox statuses.
const (
	MailPending = "pending" // waiting for (another) SMTP attempt
	MailSent    = "sent"
	MailFailed  = "failed" // gave up after the last attempt
	MailKept    = "kept"   // no SMTP configured: kept in the outbox and logged
)

// MailMessage is one outgoing email, queued in the store so that a request
// never waits on SMTP and a restart loses nothing.
type MailMessage struct {
	ID         uint64 `json:"id"`
	ResellerID uint64 `json:"reseller_id"`
	FromName   string `json:"from_name"`
	To         string `json:"to"`
	Subject    string `json:"subject"`
	Text       string `json:"text"`
	// Attachments are rendered when the message is sent (see
	// MailAttachment), so the outbox keeps no large bytes.
	Attachments []MailAttachment `json:"attachments,omitempty"`
	Status      string           `json:"status"`
	Attempts    int              `json:"attempts"`
	LastError   string           `json:"last_error,omitempty"`
	CreatedAt   time.Time        `json:"created_at"`
	NextAttempt time.Time        `json:"next_attempt"`
	SentAt      time.Time        `json:"sent_at,omitzero"`
}

// MailAttachment names a file to attach: Ref says what to render (e.g.
// "invoice:<reseller id>:<invoice id>").
type MailAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Ref         string `json:"ref"`
}

// EnqueueMail adds a message to the outbox.
func (tx *Tx) EnqueueMail(m *MailMessage) error {
	b := tx.bucket(bucketOutbox)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	m.ID = id
	m.CreatedAt = tx.now
	if m.Status == "" {
		m.Status = MailPending
	}
	if m.NextAttempt.IsZero() {
		m.NextAttempt = tx.now
	}
	return put(b, u64(id), m)
}

// Mail returns one outbox message.
func (tx *Tx) Mail(id uint64) (*MailMessage, error) {
	var m MailMessage
	if err := get(tx.bucket(bucketOutbox), u64(id), &m); err != nil {
		return nil, fmt.Errorf("store: mail %d: %w", id, err)
	}
	return &m, nil
}

// Outbox lists every message, oldest first.
func (tx *Tx) Outbox() ([]*MailMessage, error) {
	var out []*MailMessage
	err := tx.bucket(bucketOutbox).ForEach(func(_, v []byte) error {
		var m MailMessage
		if err := unmarshal(v, &m); err != nil {
			return err
		}
		out = append(out, &m)
		return nil
	})
	return out, err
}

// DueMail lists pending messages whose next attempt has come, oldest first.
func (tx *Tx) DueMail(limit int) ([]*MailMessage, error) {
	var out []*MailMessage
	c := tx.bucket(bucketOutbox).Cursor()
	for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
		var m MailMessage
		if err := unmarshal(v, &m); err != nil {
			return nil, err
		}
		if m.Status == MailPending && !m.NextAttempt.After(tx.now) {
			out = append(out, &m)
		}
	}
	return out, nil
}

// SaveMail stores a message's new delivery state.
func (tx *Tx) SaveMail(m *MailMessage) error {
	if _, err := tx.Mail(m.ID); err != nil {
		return err
	}
	return put(tx.bucket(bucketOutbox), u64(m.ID), m)
}
