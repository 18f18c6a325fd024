package clients

import (
	"cmp"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"portico/app/actor"
	"portico/app/auth"
	"portico/app/fault"
	"portico/app/textfield"
	"portico/store"
)

// KeyNameMax is the longest API key name, in characters.
const KeyNameMax = 100

// ErrKeyLimit refuses a key beyond store.MaxActiveAPIKeys active keys of
// one business: a conflict, and a store.ErrConflict too.
var ErrKeyLimit error = &fault.Error{Kind: fault.Conflict, Err: store.ErrConflict,
	Message: fmt.Sprintf("This client already has the most active API keys allowed (%d). Revoke one before creating another.", store.MaxActiveAPIKeys)}

// NewKey is an API key just created. Secret is the full key: it is given
// to whoever asked for it this once and is never stored (the store keeps
// its SHA-256 only).
type NewKey struct {
	*store.APIKey
	Secret string
}

// KeyName checks and tidies the name of a new key.
func KeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", fault.InvalidField("name", "Enter a name of 1 to 100 characters that says what uses the key, such as “Office PBX”.")
	case textfield.SingleLine(name) != "":
		return "", fault.InvalidField("name", textfield.SingleLineMessage)
	case utf8.RuneCountInString(name) > KeyNameMax:
		return "", fault.InvalidField("name", fmt.Sprintf("Use at most %d characters.", KeyNameMax))
	}
	return name, nil
}

// CreateKey issues an API key that acts for client cid of reseller rid,
// with its audit event. A wrong name is fault.Fields, a client that
// already holds store.MaxActiveAPIKeys active keys ErrKeyLimit, and a
// client not of rid a fault.NotFound.
func (s *Service) CreateKey(rid, cid uint64, name string, by actor.Actor) (*NewKey, error) {
	if cid == 0 {
		return nil, fmt.Errorf("clients: create key: no client: %w", store.ErrNotFound) // reseller keys: CreateResellerKeyOnce
	}
	return s.createKey(rid, cid, name, by, nil)
}

// CreateResellerKeyOnce creates a key of the reseller itself (it acts for
// the reseller and names clients in its paths), under the same rules as
// client keys: at most store.MaxActiveAPIKeys active, a one-time form.
func (s *Service) CreateResellerKeyOnce(rid uint64, name string, formHash []byte, by actor.Actor) (*NewKey, error) {
	if len(formHash) == 0 {
		return nil, fmt.Errorf("clients: form token required: %w", store.ErrInvalid)
	}
	return s.createKey(rid, 0, name, by, formHash)
}

// FormUsed is what CreateKeyOnce answers for a form submitted before:
// KeyID is the key that submission created.
type FormUsed struct{ KeyID uint64 }

func (e *FormUsed) Error() string {
	return fmt.Sprintf("clients: form already created key %d", e.KeyID)
}

// formTokenLifetime is how long a spent form token is remembered; a form
// older than that is long stale.
const formTokenLifetime = 24 * time.Hour

// CreateKeyOnce is CreateKey for a form that carries a one-time token
// (stored as formHash, its SHA-256): the first submission creates the
// key, and any resubmission of the same form (a reload, the back button)
// creates nothing and returns *FormUsed naming the key it made.
func (s *Service) CreateKeyOnce(rid, cid uint64, name string, formHash []byte, by actor.Actor) (*NewKey, error) {
	if cid == 0 {
		return nil, fmt.Errorf("clients: create key: no client: %w", store.ErrNotFound)
	}
	if len(formHash) == 0 {
		return nil, fmt.Errorf("clients: form token required: %w", store.ErrInvalid)
	}
	return s.createKey(rid, cid, name, by, formHash)
}

func (s *Service) createKey(rid, cid uint64, name string, by actor.Actor, formHash []byte) (*NewKey, error) {
	if formHash != nil {
		var used *FormUsed
		_ = s.store.View(func(tx *store.Tx) error {
			if f, err := tx.FormUse(rid, formHash); err == nil {
				used = &FormUsed{KeyID: f.Ref}
			}
			return nil
		})
		if used != nil {
			return nil, used // before the name is checked: the form was good the first time
		}
	}
	name, err := KeyName(name)
	if err != nil {
		return nil, err
	}
	secret, prefix, hash := auth.NewAPIKey() // only the hash is stored
	key := &store.APIKey{ResellerID: rid, ClientID: cid, Name: name, Prefix: prefix, Hash: hash, CreatedBy: by.Name}
	err = s.store.Update(func(tx *store.Tx) error {
		cl, err := ownerOf(tx, rid, cid)
		if err != nil {
			return err
		}
		if err := tx.CreateAPIKey(key); errors.Is(err, store.ErrConflict) {
			// The store's only other conflict is two keys with one SHA-256,
			// which 256 random bits make impossible in practice.
			return ErrKeyLimit
		} else if err != nil {
			return err
		}
		if formHash != nil {
			// in the key's transaction: of two racing submissions, one commits
			err := tx.PutFormUse(rid, formHash, &store.FormUse{Purpose: "api_key", Ref: key.ID, ExpiresAt: tx.Now().Add(formTokenLifetime)})
			if errors.Is(err, store.ErrConflict) {
				f, ferr := tx.FormUse(rid, formHash)
				if ferr != nil {
					return ferr
				}
				return &FormUsed{KeyID: f.Ref}
			}
			if err != nil {
				return err
			}
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, ClientID: cid, Actor: by.Name, Action: "api_key.create",
			Target: keyTarget(cl, key), IP: by.IP})
	})
	if err != nil {
		return nil, noClient(err)
	}
	return &NewKey{APIKey: key, Secret: secret}, nil
}

// Authenticate finds reseller rid's active key whose secret is token,
// with its client as stored now (nil for a reseller key). Every refusal
// is the same fault.Unauthorized, so a caller cannot tell a revoked key
// from another reseller's or a made-up one.
func (s *Service) Authenticate(rid uint64, token string) (*store.APIKey, *store.Client, error) {
	hash := auth.HashToken(token) // only the SHA-256 of a key is stored
	var key *store.APIKey
	var cl *store.Client
	err := s.store.View(func(tx *store.Tx) (err error) {
		if key, err = tx.APIKeyByHash(hash); err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(key.Hash, hash) != 1 { // security: compare secrets in constant time
			return store.ErrNotFound
		}
		if key.ResellerID != rid || !key.RevokedAt.IsZero() { // tenant scope: a key works on its own reseller's hosts only
			return store.ErrNotFound
		}
		if key.ClientID == 0 {
			return nil
		}
		cl, err = tx.Client(rid, key.ClientID) // tenant scope: the key's client, within this reseller
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fault.Wrap(fault.Unauthorized, "The API key is not valid for this site.", err)
	}
	if err != nil {
		return nil, nil, err
	}
	return key, cl, nil
}

// RevokeKey revokes key id of client cid: the next request with it is
// refused. Another client's or another reseller's key is
// store.ErrNotFound. Revoking a revoked key changes nothing and records
// nothing; revoked says whether this call revoked it.
func (s *Service) RevokeKey(rid, cid, id uint64, by actor.Actor) (key *store.APIKey, revoked bool, err error) {
	if cid == 0 {
		return nil, false, fmt.Errorf("clients: revoke key: no client: %w", store.ErrNotFound) // reseller keys: RevokeResellerKey
	}
	return s.revokeKey(rid, cid, id, by)
}

// RevokeResellerKey revokes the reseller's own key id (a client's key is
// store.ErrNotFound here).
func (s *Service) RevokeResellerKey(rid, id uint64, by actor.Actor) (key *store.APIKey, revoked bool, err error) {
	return s.revokeKey(rid, 0, id, by)
}

func (s *Service) revokeKey(rid, cid, id uint64, by actor.Actor) (key *store.APIKey, revoked bool, err error) {
	err = s.store.Update(func(tx *store.Tx) error {
		cl, err := ownerOf(tx, rid, cid)
		if err != nil {
			return err
		}
		if key, revoked, err = tx.RevokeAPIKey(rid, cid, id); err != nil || !revoked {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, ClientID: cid, Actor: by.Name, Action: "api_key.revoke",
			Target: keyTarget(cl, key), IP: by.IP})
	})
	if err != nil {
		return nil, false, err
	}
	return key, revoked, nil
}

// Keys lists client cid's API keys: active ones first, then revoked ones,
// each newest first.
func (s *Service) Keys(rid, cid uint64) ([]*store.APIKey, error) {
	if cid == 0 {
		return nil, nil // scope: this client's keys, never the reseller's (ResellerKeys)
	}
	return s.keysOf(rid, cid)
}

// ResellerKeys lists the reseller's own API keys in the order of Keys.
func (s *Service) ResellerKeys(rid uint64) ([]*store.APIKey, error) { return s.keysOf(rid, 0) }

func (s *Service) keysOf(rid, cid uint64) ([]*store.APIKey, error) {
	var out []*store.APIKey
	err := s.store.View(func(tx *store.Tx) error {
		all, err := tx.APIKeys(rid) // tenant scope: the reseller's keys only
		if err != nil {
			return err
		}
		for _, k := range all {
			if k.ClientID == cid { // scope: one owner's keys only
				out = append(out, k)
			}
		}
		return nil
	})
	slices.SortStableFunc(out, func(x, y *store.APIKey) int {
		if c := cmp.Compare(revokedRank(x), revokedRank(y)); c != 0 {
			return c
		}
		return cmp.Compare(y.ID, x.ID)
	})
	return out, err
}

func revokedRank(k *store.APIKey) int {
	if k.RevokedAt.IsZero() {
		return 0
	}
	return 1
}

// keyTarget names a key in the audit log by its visible prefix, never
// its secret.
func keyTarget(cl *store.Client, k *store.APIKey) string {
	if cl == nil {
		return "reseller " + k.Prefix + " " + k.Name
	}
	return cl.Username + " " + k.Prefix + " " + k.Name
}

// ownerOf is the client a key belongs to, checked in the tenant (only the
// reseller's own clients get keys), or nil for the reseller's own keys
// (cid 0).
func ownerOf(tx *store.Tx, rid, cid uint64) (*store.Client, error) {
	if cid == 0 {
		return nil, nil
	}
	return tx.Client(rid, cid)
}
