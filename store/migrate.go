package store

import (
	"fmt"
	"path/filepath"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// migrations is append-only: never edit or reorder an entry that has been
// released; add a new one. Entry i brings the schema to version i+1.
var migrations = []func(*bolt.Tx) error{
	// 1: the initial schema.
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{
			bucketResellers, bucketResellerSlugs, bucketDomains,
			bucketUsers, bucketUserEmails,
			bucketSessions, bucketSessionExpiry, bucketUserSessions,
			bucketPasswordResets, bucketAPIKeys, bucketAPIKeyHashes,
			bucketOutbox, bucketLedger, bucketAccounts, bucketLedgerKeys,
			bucketAudit,
		} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 2: index each reseller's domains (rid|host) so a reseller's domain
	// list is a prefix scan instead of a walk over every domain.
	func(tx *bolt.Tx) error {
		idx, err := tx.CreateBucketIfNotExists(bucketResellerDomains)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketDomains).ForEach(func(k, v []byte) error {
			var d Domain
			if err := unmarshal(v, &d); err != nil {
				return fmt.Errorf("domain %q: %w", k, err)
			}
			return idx.Put(tenantStringKey(d.ResellerID, d.Host), nil)
		})
	},
	// 3: clients, their indexes, and the index of users by client
	// (backfilled from existing client users).
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketClients, bucketClientUsernames, bucketClientEmails,
			bucketClientsDisabled, bucketClientUsers, bucketClientLedger} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		idx := tx.Bucket(bucketClientUsers)
		return tx.Bucket(bucketUsers).ForEach(func(k, v []byte) error {
			var u User
			if err := unmarshal(v, &u); err != nil {
				return fmt.Errorf("user %x: %w", k, err)
			}
			if u.ClientID == 0 {
				return nil
			}
			return idx.Put(clientUserKey(u.ResellerID, u.ClientID, u.ID), nil)
		})
	},
	// 4: brand assets (logos, favicons) stored per reseller.
	func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketBrandAssets)
		return err
	},
	// 5: client teams: permission profiles and invitations.
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketProfiles, bucketInvitations, bucketUserInvitations} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 6: users' avatars, email change links, sign-ins waiting for their
	// second factor, and one-time form tokens.
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketAvatars, bucketEmailChanges, bucketLoginChallenges, bucketFormUses} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 7: calls: rate decks, reservations, CDRs (nested per reseller and
	// month), their call-id index, daily usage, blocked callers and their
	// counters, and the event queue.
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketRateDecks, bucketReservations, bucketReservationExpiry, bucketCDRs,
			bucketCDRCalls, bucketUsageDays, bucketBlockedCallers, bucketBlockedCounts, bucketEvents} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 8: pending custom-domain claims move out of the domains bucket into
	// their own, keyed by reseller, so that several resellers may claim a
	// host and a claim can lapse; domains keeps only hosts that serve. A
	// claim's lifetime starts when it was added.
	func(tx *bolt.Tx) error {
		claims, err := tx.CreateBucketIfNotExists(bucketDomainClaims)
		if err != nil {
			return err
		}
		domains, index := tx.Bucket(bucketDomains), tx.Bucket(bucketResellerDomains)
		var pending []Domain
		err = domains.ForEach(func(k, v []byte) error {
			var d Domain
			if err := unmarshal(v, &d); err != nil {
				return fmt.Errorf("domain %q: %w", k, err)
			}
			if d.Status == DomainPending {
				pending = append(pending, d)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, d := range pending { // not deleted inside ForEach: bbolt forbids it
			if d.ClaimedAt.IsZero() {
				d.ClaimedAt = d.CreatedAt
			}
			d.Source = DomainFromUser
			if err := put(claims, tenantStringKey(d.ResellerID, d.Host), &d); err != nil {
				return err
			}
			if err := domains.Delete([]byte(d.Host)); err != nil {
				return err
			}
			if err := index.Delete(tenantStringKey(d.ResellerID, d.Host)); err != nil {
				return err
			}
		}
		return nil
	},
	// 9: billing: the catalogue, subscriptions, the number inventory,
	// invoices and the fair-use counters of calling packages.
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketPlans, bucketPackages, bucketAddOns, bucketSubscriptions,
			bucketNumbers, bucketClientNumbers, bucketInvoices, bucketInvoicePeriods, bucketClientInvoices,
			bucketInvoiceNumbers, bucketInvoiceCounters, bucketInvoiceLogos, bucketReceivableLedger, bucketFairUse} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
}

func (s *Store) migrate(backupDir string) error {
	var version int
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		version, err = readVersion(meta)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("store: %s has schema version %d but this binary knows only up to %d: %w; run a newer portico or restore a backup", s.path, version, len(migrations), ErrNewerSchema)
	}
	if version == len(migrations) {
		return nil
	}
	if version > 0 {
		name := fmt.Sprintf("pre-migrate-v%d-to-v%d-%s.db", version, len(migrations), s.now().UTC().Format("20060102T150405Z"))
		if err := s.BackupTo(filepath.Join(backupDir, name)); err != nil {
			return fmt.Errorf("store: backup before migrating: %w", err)
		}
	}
	for v := version; v < len(migrations); v++ {
		err := s.db.Update(func(tx *bolt.Tx) error {
			if err := migrations[v](tx); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte(strconv.Itoa(v+1)))
		})
		if err != nil {
			return fmt.Errorf("store: migration %d: %w", v+1, err)
		}
	}
	return nil
}

func readVersion(meta *bolt.Bucket) (int, error) {
	raw := meta.Get(keySchemaVersion)
	if raw == nil {
		return 0, nil
	}
	return strconv.Atoi(string(raw))
}

// Version reports the schema version recorded in the file.
func (s *Store) Version() (int, error) {
	var v int
	err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return nil
		}
		var err error
		v, err = readVersion(meta)
		return err
	})
	return v, err
}
