package store

import (
	"bytes"
	"fmt"
	"time"
)

// Session is a signed-in browser. It is stored under the SHA-256 of the
// cookie's token, so a stolen copy of the store holds no usable token.
type Session struct {
	Hash       []byte    `json:"hash"`
	ResellerID uint64    `json:"reseller_id"`
	UserID     uint64    `json:"user_id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	// ExpiresAt is the absolute end; IdleTimeout ends it earlier when unused.
	ExpiresAt   time.Time     `json:"expires_at"`
	IdleTimeout time.Duration `json:"idle_timeout"`
	IP          string        `json:"ip"`
	UserAgent   string        `json:"user_agent"`
}

// Deadline is when the session ends unless it is used again.
func (s *Session) Deadline() time.Time {
	idle := s.LastSeenAt.Add(s.IdleTimeout)
	if idle.Before(s.ExpiresAt) {
		return idle
	}
	return s.ExpiresAt
}

// Session returns the session stored under hash, expired or not.
func (tx *Tx) Session(hash []byte) (*Session, error) {
	var s Session
	if err := get(tx.bucket(bucketSessions), hash, &s); err != nil {
		return nil, fmt.Errorf("store: session: %w", err)
	}
	return &s, nil
}

// CreateSession stores a new session with its indexes.
func (tx *Tx) CreateSession(s *Session) error {
	if len(s.Hash) == 0 || s.ResellerID == 0 || s.UserID == 0 {
		return fmt.Errorf("store: session: hash, reseller and user required: %w", ErrInvalid)
	}
	s.CreatedAt, s.LastSeenAt = tx.now, tx.now
	return tx.putSession(s)
}

func (tx *Tx) putSession(s *Session) error {
	if err := put(tx.bucket(bucketSessions), s.Hash, s); err != nil {
		return err
	}
	if err := tx.bucket(bucketSessionExpiry).Put(expiryKey(s.Deadline(), s.Hash), nil); err != nil {
		return err
	}
	return tx.bucket(bucketUserSessions).Put(userSessionKey(s.ResellerID, s.UserID, s.Hash), nil)
}

// DeleteSession removes a session and its index entries; a missing session
// is not an error (signing out twice is fine).
func (tx *Tx) DeleteSession(hash []byte) error {
	s, err := tx.Session(hash)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := tx.bucket(bucketSessionExpiry).Delete(expiryKey(s.Deadline(), hash)); err != nil {
		return err
	}
	if err := tx.bucket(bucketUserSessions).Delete(userSessionKey(s.ResellerID, s.UserID, hash)); err != nil {
		return err
	}
	return tx.bucket(bucketSessions).Delete(hash)
}

// UserSessions lists a user's sessions.
func (tx *Tx) UserSessions(rid, uid uint64) ([]*Session, error) {
	var out []*Session
	prefix := tenantKey(rid, uid)
	c := tx.bucket(bucketUserSessions).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		s, err := tx.Session(k[16:])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// DeleteUserSessions revokes every session of one user.
func (tx *Tx) DeleteUserSessions(rid, uid uint64) (int, error) {
	sessions, err := tx.UserSessions(rid, uid)
	if err != nil {
		return 0, err
	}
	for _, s := range sessions {
		if err := tx.DeleteSession(s.Hash); err != nil {
			return 0, err
		}
	}
	return len(sessions), nil
}

// TouchSessions records last-seen times gathered in memory, in one
// transaction, so that page views themselves never write.
func (s *Store) TouchSessions(seen map[string]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	return s.Update(func(tx *Tx) error {
		for hash, at := range seen {
			sess, err := tx.Session([]byte(hash))
			if isNotFound(err) {
				continue // signed out meanwhile
			}
			if err != nil {
				return err
			}
			if !at.After(sess.LastSeenAt) {
				continue
			}
			if err := tx.bucket(bucketSessionExpiry).Delete(expiryKey(sess.Deadline(), sess.Hash)); err != nil {
				return err
			}
			sess.LastSeenAt = at.UTC()
			if err := tx.putSession(sess); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteExpiredSessions removes sessions whose deadline has passed, walking
// the expiry index from the oldest.
func (s *Store) DeleteExpiredSessions() (int, error) {
	n := 0
	err := s.Update(func(tx *Tx) error {
		n = 0
		limit := u64(uint64(tx.now.UnixNano()))
		c := tx.bucket(bucketSessionExpiry).Cursor()
		var expired [][]byte
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) <= 0; k, _ = c.Next() {
			expired = append(expired, append([]byte(nil), k[8:]...))
		}
		for _, hash := range expired {
			if err := tx.DeleteSession(hash); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
