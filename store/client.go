package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"portico/store/money"
)

// Client statuses.
const (
	ClientActive   = "active"
	ClientDisabled = "disabled"
	ClientPaused   = "paused"
	ClientClosed   = "closed"
	// ClientDeleted marks the anonymised record kept after the clean-up
	// job deleted a client, so that the ledger entries still name it.
	ClientDeleted = "deleted"
)

// Field-level conflicts, so forms and the API can say which field.
var (
	ErrUsernameTaken = fmt.Errorf("username is taken: %w", ErrConflict)
	ErrEmailTaken    = fmt.Errorf("email is taken: %w", ErrConflict)
	ErrCreditLimit   = errors.New("the reseller's credit limit would be exceeded")
)

// StatusChange is one entry of a client's status history.
type StatusChange struct {
	Status      string    `json:"status"`
	RestrictAPI bool      `json:"restrict_api,omitempty"`
	By          string    `json:"by"`
	Note        string    `json:"note,omitempty"`
	At          time.Time `json:"at"`
}

// Client is one business that buys from a reseller.
type Client struct {
	ID         uint64 `json:"id"`
	ResellerID uint64 `json:"reseller_id"`
	Username   string `json:"username"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Email      string `json:"email"`
	Phone      string `json:"phone"` // E.164
	Country    string `json:"country"`
	State      string `json:"state"`
	City       string `json:"city"`
	Zip        string `json:"zip"`
	Address1   string `json:"address1"`
	Address2   string `json:"address2"`
	Company    string `json:"company"`
	Role       string `json:"role"` // the person's role in their company
	Status     string `json:"status"`
	// RestrictAPI stops the client's API keys while it is disabled.
	RestrictAPI   bool           `json:"restrict_api,omitempty"`
	DisabledAt    time.Time      `json:"disabled_at,omitzero"`
	DeletedAt     time.Time      `json:"deleted_at,omitzero"`
	StatusHistory []StatusChange `json:"status_history"`
	// CreditAssigned and CreditUsed are caches of the ledger (credit ever
	// granted to, and consumed from, the wallet), written in the same
	// transaction as the entries and checked by Verify.
	CreditAssigned int64 `json:"credit_assigned"`
	CreditUsed     int64 `json:"credit_used"`
	// AllowPremium lets the client call destinations the rate deck marks
	// premium (set by the reseller).
	AllowPremium bool `json:"allow_premium,omitempty"`
	// QualifiedThresholdS is the call duration (seconds) from which a call
	// counts as qualified; 0 means DefaultQualifiedThreshold.
	QualifiedThresholdS int `json:"qualified_threshold_s,omitempty"`
	// AutoTopUp is the client's auto top-up setting, acted on by billing
	// through the credit.low event.
	AutoTopUp AutoTopUp `json:"auto_top_up,omitzero"`
	// Billing is who the client's invoices are addressed to.
	Billing   BillingDetails `json:"billing,omitzero"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// AutoTopUp: when the client's spendable credit falls below Threshold
// (minor units), charge Amount.
type AutoTopUp struct {
	Enabled   bool  `json:"enabled"`
	Threshold int64 `json:"threshold"`
	Amount    int64 `json:"amount"`
}

// DefaultQualifiedThreshold is the qualified-call threshold of a client
// that set none: 90 seconds.
const DefaultQualifiedThreshold = 90

// QualifiedThreshold is the client's threshold in seconds.
func (c *Client) QualifiedThreshold() int {
	if c.QualifiedThresholdS <= 0 {
		return DefaultQualifiedThreshold
	}
	return c.QualifiedThresholdS
}

// Name is the contact's full name.
func (c *Client) Name() string { return strings.TrimSpace(c.FirstName + " " + c.LastName) }

// Credit is a client's meter in minor units.
type Credit struct {
	Available int64 `json:"available"`
	Used      int64 `json:"used"`
	Assigned  int64 `json:"assigned"`
	Reserved  int64 `json:"reserved"`
}

// Credit reads the client's meter: available = assigned − used − reserved.
func (tx *Tx) Credit(c *Client) Credit {
	return Credit{
		Available: tx.Balance(WalletOf(c.ResellerID, c.ID)),
		Reserved:  tx.Balance(ReservedOf(c.ResellerID, c.ID)),
		Assigned:  c.CreditAssigned,
		Used:      c.CreditUsed,
	}
}

// Client returns one of the reseller's clients (deleted ones are not found).
func (tx *Tx) Client(rid, cid uint64) (*Client, error) {
	key := tenantKey(rid, cid)
	raw := tx.bucket(bucketClients).Get(key)
	if raw == nil {
		return nil, fmt.Errorf("store: client %d/%d: %w", rid, cid, ErrNotFound)
	}
	c, err := tx.cachedClient(key, raw) // every API request reads its client: decoded once per version of the record
	if err != nil {
		return nil, fmt.Errorf("store: client %d/%d: %w", rid, cid, err)
	}
	if c.Status == ClientDeleted {
		return nil, fmt.Errorf("store: client %d/%d: %w", rid, cid, ErrNotFound)
	}
	return c, nil
}

// ClientByUsername finds a client by username within one reseller.
func (tx *Tx) ClientByUsername(rid uint64, username string) (*Client, error) {
	id := tx.bucket(bucketClientUsernames).Get(tenantStringKey(rid, strings.ToLower(username)))
	if id == nil {
		return nil, fmt.Errorf("store: client %q: %w", username, ErrNotFound)
	}
	return tx.Client(rid, readU64(id))
}

// Clients lists the reseller's clients (not deleted ones) in id order and
// calls fn for each; fn returning false stops the walk.
func (tx *Tx) Clients(rid uint64, fn func(*Client) bool) error {
	prefix := u64(rid)
	c := tx.bucket(bucketClients).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var cl Client
		if err := unmarshal(v, &cl); err != nil {
			return err
		}
		if cl.Status == ClientDeleted {
			continue
		}
		if !fn(&cl) {
			return nil
		}
	}
	return nil
}

// CreateClient stores a new client and its owner user together; the
// username and email must be free within the reseller (ErrUsernameTaken,
// ErrEmailTaken, joined when both are taken so a form can say so at once).
func (tx *Tx) CreateClient(c *Client, owner *User, by string) error {
	tx.markClientsChanged()
	if c.ResellerID == 0 || c.Username == "" || c.Email == "" {
		return fmt.Errorf("store: client: reseller, username and email required: %w", ErrInvalid)
	}
	usernames, emails := tx.bucket(bucketClientUsernames), tx.bucket(bucketClientEmails)
	uk := tenantStringKey(c.ResellerID, strings.ToLower(c.Username))
	ek := emailKey(c.ResellerID, c.Email)
	var taken []error
	if usernames.Get(uk) != nil {
		taken = append(taken, fmt.Errorf("store: client %q: %w", c.Username, ErrUsernameTaken))
	}
	if emails.Get(ek) != nil || tx.bucket(bucketUserEmails).Get(emailKey(c.ResellerID, owner.Email)) != nil {
		taken = append(taken, fmt.Errorf("store: client %q: %w", c.Email, ErrEmailTaken))
	}
	if len(taken) > 0 {
		return errors.Join(taken...)
	}
	b := tx.bucket(bucketClients)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	c.ID = id
	c.Email = NormalizeEmail(c.Email)
	c.Status = ClientActive
	c.StatusHistory = []StatusChange{{Status: ClientActive, By: by, At: tx.now, Note: "created"}}
	c.CreatedAt, c.UpdatedAt = tx.now, tx.now
	if err := usernames.Put(uk, u64(id)); err != nil {
		return err
	}
	if err := emails.Put(ek, u64(id)); err != nil {
		return err
	}
	if err := put(b, tenantKey(c.ResellerID, id), c); err != nil {
		return err
	}
	owner.ResellerID, owner.ClientID, owner.Role = c.ResellerID, id, RoleOwner
	return tx.CreateUser(owner)
}

// UpdateClient saves edited fields of a client, keeping the username and
// email indexes in step. Status and credit are not changed here.
func (tx *Tx) UpdateClient(c *Client) error {
	tx.markClientsChanged()
	old, err := tx.Client(c.ResellerID, c.ID)
	if err != nil {
		return err
	}
	c.Email = NormalizeEmail(c.Email)
	// both indexes are checked before either changes, so that a username
	// and an email taken together are reported together
	usernameChanged, emailChanged := !strings.EqualFold(old.Username, c.Username), old.Email != c.Email
	var taken []error
	if usernameChanged && tx.bucket(bucketClientUsernames).Get(tenantStringKey(c.ResellerID, strings.ToLower(c.Username))) != nil {
		taken = append(taken, fmt.Errorf("store: client %q: %w", c.Username, ErrUsernameTaken))
	}
	if emailChanged && (tx.bucket(bucketClientEmails).Get(emailKey(c.ResellerID, c.Email)) != nil || tx.emailOfAnotherBusiness(c, c.Email)) {
		taken = append(taken, fmt.Errorf("store: client %q: %w", c.Email, ErrEmailTaken))
	}
	if len(taken) > 0 {
		return errors.Join(taken...)
	}
	if usernameChanged {
		b := tx.bucket(bucketClientUsernames)
		if err := b.Delete(tenantStringKey(c.ResellerID, strings.ToLower(old.Username))); err != nil {
			return err
		}
		if err := b.Put(tenantStringKey(c.ResellerID, strings.ToLower(c.Username)), u64(c.ID)); err != nil {
			return err
		}
	}
	if emailChanged {
		b := tx.bucket(bucketClientEmails)
		if err := b.Delete(emailKey(c.ResellerID, old.Email)); err != nil {
			return err
		}
		if err := b.Put(emailKey(c.ResellerID, c.Email), u64(c.ID)); err != nil {
			return err
		}
	}
	// status, history, credit caches and call settings are owned by
	// their own methods
	c.Status, c.RestrictAPI, c.DisabledAt, c.StatusHistory = old.Status, old.RestrictAPI, old.DisabledAt, old.StatusHistory
	c.CreditAssigned, c.CreditUsed = old.CreditAssigned, old.CreditUsed
	c.AllowPremium, c.QualifiedThresholdS, c.AutoTopUp = old.AllowPremium, old.QualifiedThresholdS, old.AutoTopUp
	c.Billing = old.Billing // SetClientBilling
	c.CreatedAt, c.UpdatedAt = old.CreatedAt, tx.now
	return put(tx.bucket(bucketClients), tenantKey(c.ResellerID, c.ID), c)
}

// emailOfAnotherBusiness reports whether email signs in a user who is not
// one of c's own: reseller staff or another client's user. CreateClient
// refuses such an email (the owner would share it); an edit must too, or
// the rule could be got round by creating with one address and editing
// to the other. c's own users may share it (the owner usually does).
func (tx *Tx) emailOfAnotherBusiness(c *Client, email string) bool {
	id := tx.bucket(bucketUserEmails).Get(emailKey(c.ResellerID, email))
	if id == nil {
		return false
	}
	u, err := tx.User(c.ResellerID, readU64(id))
	return err != nil || u.ClientID != c.ID
}

// SetClientStatus moves a client to active or disabled, recording who did
// it. Disabling revokes every session of the client's users at once;
// restrictAPI also stops its API keys until it is enabled again.
func (tx *Tx) SetClientStatus(rid, cid uint64, status string, restrictAPI bool, by, note string) (*Client, error) {
	tx.markClientsChanged()
	c, err := tx.Client(rid, cid)
	if err != nil {
		return nil, err
	}
	if status != ClientActive && status != ClientDisabled {
		return nil, fmt.Errorf("store: client status %q: %w", status, ErrInvalid)
	}
	if status == ClientActive {
		restrictAPI = false
	}
	if c.Status == status && c.RestrictAPI == restrictAPI {
		return c, nil
	}
	disabled := tx.bucket(bucketClientsDisabled)
	if !c.DisabledAt.IsZero() {
		if err := disabled.Delete(disabledKey(c.DisabledAt, rid, cid)); err != nil {
			return nil, err
		}
	}
	switch status {
	case ClientDisabled:
		if c.Status != ClientDisabled {
			c.DisabledAt = tx.now
		}
		if err := disabled.Put(disabledKey(c.DisabledAt, rid, cid), nil); err != nil {
			return nil, err
		}
		users, err := tx.ClientUsers(rid, cid)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if _, err := tx.DeleteUserSessions(rid, u.ID); err != nil {
				return nil, err
			}
		}
	default:
		c.DisabledAt = time.Time{}
	}
	c.Status, c.RestrictAPI = status, restrictAPI
	c.StatusHistory = append(c.StatusHistory, StatusChange{Status: status, RestrictAPI: restrictAPI, By: by, Note: note, At: tx.now})
	c.UpdatedAt = tx.now
	return c, put(tx.bucket(bucketClients), tenantKey(rid, cid), c)
}

// ClientUsers lists the members of a client's team.
func (tx *Tx) ClientUsers(rid, cid uint64) ([]*User, error) {
	var out []*User
	prefix := tenantKey(rid, cid)
	c := tx.bucket(bucketClientUsers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		u, err := tx.User(rid, readU64(k[16:]))
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// ClientsDisabledBefore lists clients disabled at or before t, oldest first.
func (tx *Tx) ClientsDisabledBefore(t time.Time) ([]*Client, error) {
	var out []*Client
	limit := u64(uint64(t.UnixNano()))
	c := tx.bucket(bucketClientsDisabled).Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) <= 0; k, _ = c.Next() {
		cl, err := tx.Client(readU64(k[8:16]), readU64(k[16:24]))
		if err != nil {
			return nil, err
		}
		out = append(out, cl)
	}
	return out, nil
}

// DeleteClient erases a client for good: its users, their sessions, its
// API keys and indexes go; the record is kept anonymised (no name, contact
// or address) because ledger entries, and the invoices behind them, must
// still name it.
func (tx *Tx) DeleteClient(rid, cid uint64) error {
	tx.markClientsChanged()
	c, err := tx.Client(rid, cid)
	if err != nil {
		return err
	}
	users, err := tx.ClientUsers(rid, cid)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := tx.deleteUser(u); err != nil {
			return err
		}
	}
	keys, err := tx.APIKeys(rid)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ClientID != cid {
			continue
		}
		if err := tx.bucket(bucketAPIKeyHashes).Delete(k.Hash); err != nil {
			return err
		}
		if err := tx.bucket(bucketAPIKeys).Delete(tenantKey(rid, k.ID)); err != nil {
			return err
		}
	}
	if err := tx.bucket(bucketClientUsernames).Delete(tenantStringKey(rid, strings.ToLower(c.Username))); err != nil {
		return err
	}
	if err := tx.bucket(bucketClientEmails).Delete(emailKey(rid, c.Email)); err != nil {
		return err
	}
	if !c.DisabledAt.IsZero() {
		if err := tx.bucket(bucketClientsDisabled).Delete(disabledKey(c.DisabledAt, rid, cid)); err != nil {
			return err
		}
	}
	if err := tx.releaseClientNumbers(rid, cid); err != nil { // a deleted client holds no numbers (number.go)
		return err
	}
	tomb := &Client{ID: cid, ResellerID: rid, Username: fmt.Sprintf("deleted-%d", cid), Status: ClientDeleted,
		CreditAssigned: c.CreditAssigned, CreditUsed: c.CreditUsed,
		CreatedAt: c.CreatedAt, UpdatedAt: tx.now, DeletedAt: tx.now, DisabledAt: c.DisabledAt}
	return put(tx.bucket(bucketClients), tenantKey(rid, cid), tomb)
}

// deleteUser removes a user with its sessions and index entries.
func (tx *Tx) deleteUser(u *User) error {
	if _, err := tx.DeleteUserSessions(u.ResellerID, u.ID); err != nil {
		return err
	}
	if err := tx.bucket(bucketUserEmails).Delete(emailKey(u.ResellerID, u.Email)); err != nil {
		return err
	}
	if u.ClientID != 0 {
		if err := tx.bucket(bucketClientUsers).Delete(clientUserKey(u.ResellerID, u.ClientID, u.ID)); err != nil {
			return err
		}
	}
	if err := tx.bucket(bucketAvatars).Delete(tenantKey(u.ResellerID, u.ID)); err != nil { // a picture never outlives its user
		return err
	}
	return tx.bucket(bucketUsers).Delete(tenantKey(u.ResellerID, u.ID))
}

// GrantCredit moves amount (minor units, positive) from the reseller's pool
// into the client's wallet as one ledger transaction. The same idempotency
// key with the same requestHash returns the first transaction (replayed);
// with another requestHash it is ErrConflict. Beyond the reseller's
// credit limit (when set) it is ErrCreditLimit; a grant that would take
// the pool, the wallet or the assigned credit past what an amount holds
// is money.ErrOverflow, and nothing moves.
func (tx *Tx) GrantCredit(rid, cid uint64, amount int64, key, requestHash, actor, note string) (t *LedgerTx, replayed bool, err error) {
	if amount <= 0 {
		return nil, false, fmt.Errorf("store: grant: amount must be positive: %w", ErrInvalid)
	}
	c, err := tx.Client(rid, cid)
	if err != nil {
		return nil, false, err
	}
	r, err := tx.Reseller(rid)
	if err != nil {
		return nil, false, err
	}
	if key != "" {
		if first, err := tx.ledgerByKey(rid, key); err == nil {
			if first.RequestHash != requestHash || first.Kind != KindGrant {
				return nil, false, fmt.Errorf("store: idempotency key %q was used for another request: %w", key, ErrConflict)
			}
			return first, true, nil
		}
	}
	// Every total the grant raises must still fit: what the reseller has
	// granted (its pool, negated), and the client's assigned credit (and
	// with it wallet + reserved, which never exceed it).
	granted, err := money.Sub(0, tx.Balance(PoolOf(rid)))
	if err == nil {
		granted, err = money.Add(granted, amount)
	}
	if err == nil {
		_, err = money.Add(c.CreditAssigned, amount)
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: grant %d to client %d/%d: %w", amount, rid, cid, err)
	}
	if r.CreditLimit > 0 && granted > r.CreditLimit {
		return nil, false, fmt.Errorf("store: grant: %w", ErrCreditLimit)
	}
	t = &LedgerTx{ResellerID: rid, Kind: KindGrant, IdempotencyKey: key, RequestHash: requestHash,
		Reference: fmt.Sprintf("client:%d", cid), Actor: actor, Note: note,
		Legs: []Leg{{Account: PoolOf(rid), Amount: -amount}, {Account: WalletOf(rid, cid), Amount: amount}}}
	if _, err := tx.PostLedger(t); err != nil {
		return nil, false, err
	}
	c.CreditAssigned += amount // checked above
	c.UpdatedAt = tx.now
	return t, false, put(tx.bucket(bucketClients), tenantKey(rid, cid), c)
}

// ClientLedger lists the ledger transactions that touch a client's
// accounts, newest first.
func (tx *Tx) ClientLedger(rid, cid uint64) ([]*LedgerTx, error) {
	var out []*LedgerTx
	prefix := tenantKey(rid, cid)
	c := tx.bucket(bucketClientLedger).Cursor()
	k, _ := c.Seek(append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		var t LedgerTx
		if err := getLedgerTx(tx.bucket(bucketLedger), tenantKey(rid, readU64(k[16:])), &t); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	return out, nil
}

func (tx *Tx) ledgerByKey(rid uint64, key string) (*LedgerTx, error) {
	ref := tx.bucket(bucketLedgerKeys).Get(tenantStringKey(rid, key))
	if ref == nil {
		return nil, ErrNotFound
	}
	var t LedgerTx
	if err := getLedgerTx(tx.bucket(bucketLedger), ref, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// ClientCallSettings are the settings of a client that rating and the
// dashboard use; nil fields are left as they are.
type ClientCallSettings struct {
	AllowPremium        *bool
	QualifiedThresholdS *int
	AutoTopUp           *AutoTopUp
}

// SetClientCallSettings changes the fields set in cs and returns the
// client as saved.
func (tx *Tx) SetClientCallSettings(rid, cid uint64, cs ClientCallSettings) (*Client, error) {
	tx.markClientsChanged()
	c, err := tx.Client(rid, cid)
	if err != nil {
		return nil, err
	}
	if cs.QualifiedThresholdS != nil {
		if v := *cs.QualifiedThresholdS; v < 1 || v > MaxQualifiedThreshold {
			return nil, fmt.Errorf("store: qualified threshold %d: %w", v, ErrInvalid)
		}
		c.QualifiedThresholdS = *cs.QualifiedThresholdS
	}
	if cs.AllowPremium != nil {
		c.AllowPremium = *cs.AllowPremium
	}
	if cs.AutoTopUp != nil {
		if cs.AutoTopUp.Threshold < 0 || cs.AutoTopUp.Amount < 0 {
			return nil, fmt.Errorf("store: auto top-up: %w", ErrInvalid)
		}
		c.AutoTopUp = *cs.AutoTopUp
	}
	c.UpdatedAt = tx.now
	return c, put(tx.bucket(bucketClients), tenantKey(rid, cid), c)
}

// SetClientBilling replaces the client's billing details and returns the
// client as saved. Issued invoices keep the details they were issued with.
func (tx *Tx) SetClientBilling(rid, cid uint64, d BillingDetails) (*Client, error) {
	tx.markClientsChanged()
	c, err := tx.Client(rid, cid)
	if err != nil {
		return nil, err
	}
	c.Billing, c.UpdatedAt = d, tx.now
	return c, put(tx.bucket(bucketClients), tenantKey(rid, cid), c)
}

// SetClientBillingStatus moves a client between active, paused (unpaid:
// outbound calls are refused) and closed, as billing decides; the
// reseller's own active/disabled switch is SetClientStatus.
func (tx *Tx) SetClientBillingStatus(rid, cid uint64, status, by, note string) (*Client, error) {
	tx.markClientsChanged()
	if status != ClientActive && status != ClientPaused && status != ClientClosed {
		return nil, fmt.Errorf("store: billing status %q: %w", status, ErrInvalid)
	}
	c, err := tx.Client(rid, cid)
	if err != nil {
		return nil, err
	}
	if c.Status == status {
		return c, nil
	}
	if c.Status == ClientDisabled {
		return nil, fmt.Errorf("store: client %d/%d is disabled: %w", rid, cid, ErrConflict)
	}
	c.Status = status
	c.StatusHistory = append(c.StatusHistory, StatusChange{Status: status, By: by, Note: note, At: tx.now})
	c.UpdatedAt = tx.now
	return c, put(tx.bucket(bucketClients), tenantKey(rid, cid), c)
}

// ClientCallState is what deciding a call needs of a client.
type ClientCallState struct {
	Status       string `json:"status"`
	RestrictAPI  bool   `json:"restrict_api"`
	AllowPremium bool   `json:"allow_premium"`
}

// ClientCallState reads only the fields a call decision needs: the
// authorise hot path runs it inside the shared commit, where decoding the
// whole record (with its status history) would cost every caller.
func (tx *Tx) ClientCallState(rid, cid uint64) (ClientCallState, error) {
	c, err := tx.Client(rid, cid) // decoded once per version of the record (decoded.go)
	if err != nil {
		return ClientCallState{}, err
	}
	return ClientCallState{Status: c.Status, RestrictAPI: c.RestrictAPI, AllowPremium: c.AllowPremium}, nil
}
