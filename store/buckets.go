package store

import (
	"bytes"
	"encoding/binary"
	"strings"
	"time"
)

// Every bucket of the store, with the layout of its keys. Keys that belong
// to a tenant start with the 8-byte big-endian reseller id, so a prefix scan
// lists one tenant and an unscoped lookup cannot be written by accident.
var (
	// bucketMeta holds schema_version and the install secret.
	bucketMeta = []byte("meta")

	// bucketResellers: rid → Reseller.
	bucketResellers = []byte("resellers")
	// bucketResellerSlugs: slug → rid.
	bucketResellerSlugs = []byte("idx_reseller_slug")

	// bucketDomains: host → Domain. The host is the natural key and doubles as
	// the Host → reseller index used on every request.
	bucketDomains = []byte("domains")
	// bucketResellerDomains: rid|host → nil (added by migration 2).
	bucketResellerDomains = []byte("idx_reseller_domain")

	// bucketUsers: rid|uid → User.
	bucketUsers = []byte("users")
	// bucketUserEmails: rid|lower(email) → uid.
	bucketUserEmails = []byte("idx_user_email")

	// bucketSessions: sha256(token) → Session.
	bucketSessions = []byte("sessions")
	// bucketSessionExpiry: deadline(unix nanos)|sha256 → nil.
	bucketSessionExpiry = []byte("idx_session_expiry")
	// bucketUserSessions: rid|uid|sha256 → nil.
	bucketUserSessions = []byte("idx_user_session")

	// bucketPasswordResets: sha256(token) → PasswordReset.
	bucketPasswordResets = []byte("password_resets")

	// bucketAPIKeys: rid|kid → APIKey.
	bucketAPIKeys = []byte("api_keys")
	// bucketAPIKeyHashes: sha256(key) → rid|kid.
	bucketAPIKeyHashes = []byte("idx_api_key_hash")

	// bucketOutbox: seq → MailMessage.
	bucketOutbox = []byte("outbox")

	// bucketLedger: rid|seq → LedgerTx.
	bucketLedger = []byte("ledger")
	// bucketAccounts: account key → cached balance (8-byte big-endian int64).
	bucketAccounts = []byte("accounts")
	// bucketLedgerKeys: rid|idempotency key → rid|seq.
	bucketLedgerKeys = []byte("idx_ledger_idempotency")

	// bucketAudit: rid|seq → AuditEvent.
	bucketAudit = []byte("audit")

	// Added by migration 3:
	// bucketClients: rid|cid → Client.
	bucketClients = []byte("clients")
	// bucketClientUsernames: rid|lower(username) → cid.
	bucketClientUsernames = []byte("idx_client_username")
	// bucketClientEmails: rid|lower(email) → cid.
	bucketClientEmails = []byte("idx_client_email")
	// bucketClientsDisabled: disabledAt(unix nanos)|rid|cid → nil.
	bucketClientsDisabled = []byte("idx_client_disabled")
	// bucketClientUsers: rid|cid|uid → nil.
	bucketClientUsers = []byte("idx_client_user")
	// bucketClientLedger: rid|cid|ledger seq → nil, every ledger
	// transaction with a leg on one of the client's accounts.
	bucketClientLedger = []byte("idx_client_ledger")

	// Added by migration 4:
	// bucketBrandAssets: rid|name ("logo", "favicon") → BrandAsset.
	bucketBrandAssets = []byte("brand_assets")

	// Added by migration 5 (client teams):
	// bucketProfiles: rid|cid|pid → PermissionProfile.
	bucketProfiles = []byte("permission_profiles")
	// bucketInvitations: sha256(token) → Invitation.
	bucketInvitations = []byte("invitations")
	// bucketUserInvitations: rid|uid → sha256(token) of the user's latest
	// invitation (the only one that may still be accepted).
	bucketUserInvitations = []byte("idx_user_invitation")

	// Added by migration 6 (profile and two-factor sign-in):
	// bucketAvatars: rid|uid → PNG bytes (the user's AvatarSHA256 is their digest).
	bucketAvatars = []byte("avatars")
	// bucketEmailChanges: sha256(token) → EmailChange.
	bucketEmailChanges = []byte("email_changes")
	// bucketLoginChallenges: sha256(token) → LoginChallenge, a sign-in
	// waiting for its second step.
	bucketLoginChallenges = []byte("login_challenges")
	// bucketFormUses: rid|sha256(form token) → FormUse, one-time forms
	// already submitted.
	bucketFormUses = []byte("form_uses")

	// Added by migration 7 (calls):
	// bucketRateDecks: rid|'h' → version (8 bytes) | JSON RateDeckInfo;
	// rid|'d' → the whole deck, binary (see encodeRates). One value per
	// reseller, so an import replaces the deck atomically with two puts.
	bucketRateDecks = []byte("rate_decks")
	// bucketReservations: rid|cid|call id → Reservation (held credit of an
	// authorised call; deleted when its CDR settles it or the job releases it).
	bucketReservations = []byte("reservations")
	// bucketReservationExpiry: expiry(unix nanos)|rid|cid|call id → nil.
	bucketReservationExpiry = []byte("idx_reservation_expiry")
	// bucketCDRs holds one nested bucket per reseller (8-byte rid), which
	// holds one nested bucket per month of the call's start ("2026-11"),
	// which maps cid|started(unix seconds)|seq → CDR (binary, see
	// encodeCDR). Retention drops a reseller's month bucket.
	bucketCDRs = []byte("cdrs")
	// bucketCDRCalls: rid|cid|call id → month(7)|started(8)|seq(8), the
	// idempotency index of CDRs (removed with the month's CDRs).
	bucketCDRCalls = []byte("idx_cdr_call")
	// bucketUsageDays: rid|cid|day(yyyymmdd, 4 bytes) → DayUsage (binary,
	// with the duration histogram), written with the CDRs it counts.
	bucketUsageDays = []byte("usage_days")
	// bucketBlockedCallers: rid|cid|E.164 → BlockedCaller.
	bucketBlockedCallers = []byte("blocked_callers")
	// bucketBlockedCounts: rid|cid|E.164|0x00|day(yyyymmdd, 4 bytes) →
	// calls stopped that day (8 bytes).
	bucketBlockedCounts = []byte("blocked_counts")
	// bucketEvents: seq → Event, for consumers such as billing's auto
	// top-up.
	bucketEvents = []byte("events")

	// Added by migration 8:
	// bucketDomainClaims: rid|host → Domain, a reseller's pending claim on a
	// custom domain. Several resellers may claim one host; the first to
	// prove it in DNS moves its claim into bucketDomains (verified), which
	// only holds hosts that serve.
	bucketDomainClaims = []byte("domain_claims")

	// Added by migration 9 (billing):
	// bucketPlans, bucketPackages, bucketAddOns: rid|id → the catalogue
	// record (Plan, CallingPackage, AddOn).
	bucketPlans    = []byte("plans")
	bucketPackages = []byte("calling_packages")
	bucketAddOns   = []byte("add_ons")
	// bucketSubscriptions: rid|cid → Subscription.
	bucketSubscriptions = []byte("subscriptions")
	// bucketNumbers: rid|E.164 → PhoneNumber.
	bucketNumbers = []byte("numbers")
	// bucketClientNumbers: rid|cid|E.164 → nil, the numbers a client holds.
	bucketClientNumbers = []byte("idx_client_number")
	// bucketInvoices: rid|id → Invoice (ids increase in issue order).
	bucketInvoices = []byte("invoices")
	// bucketInvoicePeriods: rid|cid|"YYYY-MM" → id: one period invoice per
	// client and period, written with the invoice.
	bucketInvoicePeriods = []byte("idx_invoice_period")
	// bucketClientInvoices: rid|cid|id → nil.
	bucketClientInvoices = []byte("idx_client_invoice")
	// bucketInvoiceNumbers: rid|number → id.
	bucketInvoiceNumbers = []byte("idx_invoice_number")
	// bucketInvoiceCounters: rid → the sequence of the latest invoice
	// (gap-free: taken in the invoice's transaction).
	bucketInvoiceCounters = []byte("invoice_counters")
	// bucketInvoiceLogos: rid|sha256 hex → the logo PNG an invoice froze.
	bucketInvoiceLogos = []byte("invoice_logos")
	// bucketReceivableLedger: rid|cid|ledger seq → nil, the ledger
	// transactions with a leg on the client's receivable (its invoice
	// money), so its transactions list does not walk every call.
	bucketReceivableLedger = []byte("idx_receivable_ledger")
	// bucketFairUse: rid|cid|package id|period ("2026-11", the calendar
	// month in the reseller's time zone) → minutes of the client's calls
	// that the package covered in the period (8 bytes), written with the
	// CDRs it counts.
	bucketFairUse = []byte("fair_use")
)

var (
	keySchemaVersion = []byte("schema_version")
	keySecret        = []byte("secret")
)

// u64 encodes v big-endian so that keys sort numerically.
func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func readU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// tenantKey builds rid|id.
func tenantKey(rid, id uint64) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, rid)
	binary.BigEndian.PutUint64(b[8:], id)
	return b
}

// tenantStringKey builds rid|s.
func tenantStringKey(rid uint64, s string) []byte {
	return append(u64(rid), s...)
}

func emailKey(rid uint64, email string) []byte {
	return tenantStringKey(rid, NormalizeEmail(email))
}

func userSessionKey(rid, uid uint64, hash []byte) []byte {
	return append(tenantKey(rid, uid), hash...)
}

func expiryKey(deadline time.Time, hash []byte) []byte {
	return append(u64(uint64(deadline.UnixNano())), hash...)
}

// NormalizeEmail is the form under which emails are indexed.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

func clientKeyString(rid, cid uint64, s string) []byte {
	return append(tenantKey(rid, cid), s...)
}

// dayNumber is a UTC date as yyyymmdd, the key of daily records.
func dayNumber(t time.Time) uint32 {
	y, m, d := t.UTC().Date()
	return uint32(y*10000 + int(m)*100 + d)
}

func dayKey(rid, cid uint64, day uint32) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint64(b, rid)
	binary.BigEndian.PutUint64(b[8:], cid)
	binary.BigEndian.PutUint32(b[16:], day)
	return b
}

func blockedCountKey(rid, cid uint64, number string, day uint32) []byte {
	b := append(clientKeyString(rid, cid, number), 0)
	return binary.BigEndian.AppendUint32(b, day)
}

func reservationExpiryKey(expires time.Time, rid, cid uint64, callID string) []byte {
	return append(u64(uint64(expires.UnixNano())), clientKeyString(rid, cid, callID)...)
}

// fairUseKey is rid|cid|package|period.
func fairUseKey(rid, cid, pkg uint64, period string) []byte {
	b := make([]byte, 24, 24+len(period))
	binary.BigEndian.PutUint64(b, rid)
	binary.BigEndian.PutUint64(b[8:], cid)
	binary.BigEndian.PutUint64(b[16:], pkg)
	return append(b, period...)
}

// monthName names a month bucket of CDRs: "2026-11".
func monthName(t time.Time) []byte {
	y, m, _ := t.UTC().Date()
	return appendMonth(make([]byte, 0, 7), y, m)
}

// appendMonth appends "yyyy-mm" (years 0–9999) without time.Format: CDR
// ingest names a month for every record.
func appendMonth(b []byte, y int, m time.Month) []byte {
	return append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-', byte('0'+int(m)/10), byte('0'+int(m)%10))
}

// cdrKey is cid|started(unix seconds)|seq inside a month bucket.
func cdrKey(cid uint64, started int64, seq uint64) []byte {
	b := make([]byte, 24)
	binary.BigEndian.PutUint64(b, cid)
	binary.BigEndian.PutUint64(b[8:], uint64(started))
	binary.BigEndian.PutUint64(b[16:], seq)
	return b
}

// AccountKey names one ledger account. Accounts are identified by tenant,
// client (0 for the reseller's own accounts) and a kind such as "pool",
// "wallet" or "usage".
type AccountKey struct {
	ResellerID uint64 `json:"reseller_id"`
	ClientID   uint64 `json:"client_id"`
	Kind       string `json:"kind"`
}

func (a AccountKey) bytes() []byte {
	return append(tenantKey(a.ResellerID, a.ClientID), a.Kind...)
}

func accountKeyFrom(b []byte) AccountKey {
	return AccountKey{ResellerID: readU64(b[:8]), ClientID: readU64(b[8:16]), Kind: string(b[16:])}
}

func clientUserKey(rid, cid, uid uint64) []byte {
	return append(tenantKey(rid, cid), u64(uid)...)
}

func profileKey(rid, cid, pid uint64) []byte {
	return append(tenantKey(rid, cid), u64(pid)...)
}

func clientLedgerKey(rid, cid, seq uint64) []byte {
	return append(tenantKey(rid, cid), u64(seq)...)
}

func disabledKey(at time.Time, rid, cid uint64) []byte {
	return append(u64(uint64(at.UnixNano())), tenantKey(rid, cid)...)
}

// Account kinds of a client and of a reseller.
const (
	AccountPool     = "pool"     // the reseller's source of granted credit
	AccountWallet   = "wallet"   // a client's spendable credit
	AccountReserved = "reserved" // a client's credit held for calls in progress
	AccountUsage    = "usage"    // the reseller's revenue from a client's usage
)

// WalletOf is a client's wallet account.
func WalletOf(rid, cid uint64) AccountKey {
	return AccountKey{ResellerID: rid, ClientID: cid, Kind: AccountWallet}
}

// ReservedOf is a client's account of credit held for calls in progress.
func ReservedOf(rid, cid uint64) AccountKey {
	return AccountKey{ResellerID: rid, ClientID: cid, Kind: AccountReserved}
}

// UsageOf is the reseller's revenue account for one client's calls.
func UsageOf(rid, cid uint64) AccountKey {
	return AccountKey{ResellerID: rid, ClientID: cid, Kind: AccountUsage}
}

// PoolOf is a reseller's pool account.
func PoolOf(rid uint64) AccountKey { return AccountKey{ResellerID: rid, Kind: AccountPool} }

// listByPrefix decodes, in key order, every record of bucket whose key
// starts with prefix: the one scan behind the per-tenant list methods.
func listByPrefix[T any](tx *Tx, bucket, prefix []byte, decode func([]byte, *T) error) ([]*T, error) {
	var out []*T
	c := tx.bucket(bucket).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		r := new(T)
		if err := decode(v, r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// decodeJSON decodes a record kept as JSON; listByPrefix takes it as decode.
func decodeJSON[T any](v []byte, r *T) error { return unmarshal(v, r) }
