package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"portico/store/money"
)

// Verify checks what must always hold and returns every problem found
// (none when the store is sound): each index entry points at a record that
// says the same, each record is indexed, every ledger transaction balances,
// all accounts together sum to zero, and each cached balance equals the sum
// of its legs.
func (s *Store) Verify() ([]string, error) {
	var problems []string
	err := s.View(func(tx *Tx) error {
		problems = nil
		add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
		if err := tx.verifyResellers(add); err != nil {
			return err
		}
		if err := tx.verifyDomainClaims(add); err != nil { // store/domain.go
			return err
		}
		if err := tx.verifyUsers(add); err != nil {
			return err
		}
		if err := tx.verifySessions(add); err != nil {
			return err
		}
		if err := tx.verifyAPIKeys(add); err != nil {
			return err
		}
		if err := tx.verifyClients(add); err != nil {
			return err
		}
		if err := tx.verifyTeams(add); err != nil {
			return err
		}
		if err := tx.verifyAvatars(add); err != nil {
			return err
		}
		if err := tx.verifyNumbers(add); err != nil { // store/number.go
			return err
		}
		if err := tx.verifyCalls(add); err != nil {
			return err
		}
		if err := tx.verifyInvoices(add); err != nil { // store/invoice_verify.go
			return err
		}
		return tx.verifyLedger(add)
	})
	sort.Strings(problems)
	return problems, err
}

type addFunc func(format string, args ...any)

func (tx *Tx) verifyResellers(add addFunc) error {
	resellers, err := tx.Resellers()
	if err != nil {
		return err
	}
	for _, r := range resellers {
		id := tx.bucket(bucketResellerSlugs).Get([]byte(r.Slug))
		if id == nil || readU64(id) != r.ID {
			add("reseller %d: slug %q is not indexed to it", r.ID, r.Slug)
		}
	}
	err = tx.bucket(bucketResellerSlugs).ForEach(func(k, v []byte) error {
		if r, err := tx.Reseller(readU64(v)); err != nil || r.Slug != string(k) {
			add("slug index %q points at reseller %d, which does not carry it", k, readU64(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.bucket(bucketDomains).ForEach(func(k, v []byte) error {
		var d Domain
		if err := unmarshal(v, &d); err != nil {
			return err
		}
		if _, err := tx.Reseller(d.ResellerID); err != nil {
			add("domain %q: reseller %d missing", k, d.ResellerID)
		}
		if tx.bucket(bucketResellerDomains).Get(tenantStringKey(d.ResellerID, d.Host)) == nil {
			add("domain %q: not in its reseller's domain index", k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.bucket(bucketResellerDomains).ForEach(func(k, _ []byte) error {
		d, err := tx.Domain(string(k[8:]))
		if err != nil || d.ResellerID != readU64(k[:8]) {
			add("reseller domain index %d/%q has no matching domain", readU64(k[:8]), k[8:])
		}
		return nil
	})
}

func (tx *Tx) verifyUsers(add addFunc) error {
	err := tx.bucket(bucketUsers).ForEach(func(k, v []byte) error {
		var u User
		if err := unmarshal(v, &u); err != nil {
			return err
		}
		id := tx.bucket(bucketUserEmails).Get(emailKey(u.ResellerID, u.Email))
		if id == nil || readU64(id) != u.ID {
			add("user %d/%d: email %q is not indexed to it", u.ResellerID, u.ID, u.Email)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.bucket(bucketUserEmails).ForEach(func(k, v []byte) error {
		u, err := tx.User(readU64(k[:8]), readU64(v))
		if err != nil || NormalizeEmail(u.Email) != string(k[8:]) {
			add("email index %d/%q points at user %d, which does not carry it", readU64(k[:8]), k[8:], readU64(v))
		}
		return nil
	})
}

func (tx *Tx) verifySessions(add addFunc) error {
	err := tx.bucket(bucketSessions).ForEach(func(k, v []byte) error {
		var s Session
		if err := unmarshal(v, &s); err != nil {
			return err
		}
		if tx.bucket(bucketSessionExpiry).Get(expiryKey(s.Deadline(), s.Hash)) == nil {
			add("session %x: not in the expiry index", k[:4])
		}
		if tx.bucket(bucketUserSessions).Get(userSessionKey(s.ResellerID, s.UserID, s.Hash)) == nil {
			add("session %x: not in the user's session index", k[:4])
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.bucket(bucketSessionExpiry).ForEach(func(k, _ []byte) error {
		if tx.bucket(bucketSessions).Get(k[8:]) == nil {
			add("session expiry index entry %x has no session", k[8:12])
		}
		return nil
	})
}

func (tx *Tx) verifyAPIKeys(add addFunc) error {
	err := tx.bucket(bucketAPIKeys).ForEach(func(k, v []byte) error {
		var key APIKey
		if err := unmarshal(v, &key); err != nil {
			return err
		}
		if ref := tx.bucket(bucketAPIKeyHashes).Get(key.Hash); !bytes.Equal(ref, k) {
			add("api key %d/%d: hash is not indexed to it", key.ResellerID, key.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.bucket(bucketAPIKeyHashes).ForEach(func(k, v []byte) error {
		if tx.bucket(bucketAPIKeys).Get(v) == nil {
			add("api key hash index entry points at a missing key %d/%d", readU64(v[:8]), readU64(v[8:]))
		}
		return nil
	})
}

// verifyLedger recomputes every account from its legs, in order, with
// checked arithmetic (a wrapped sum could pass for the right one): each
// leg's balance_after must be the running balance, the cached balance the
// final one, every transaction must balance, a reserved or usage account
// can never be below zero, and all accounts together sum to zero.
func (tx *Tx) verifyLedger(add addFunc) error {
	sums := map[string]int64{}
	broken := map[string]bool{} // accounts whose legs overflow: no sum to compare
	err := tx.bucket(bucketLedger).ForEach(func(k, v []byte) error {
		var t LedgerTx
		if err := unmarshal(v, &t); err != nil { // encoding/json, not the hand reader (recordjson.go): verify reads apart from the paths it checks
			return err
		}
		var total int64
		overflow := false
		for _, l := range t.Legs {
			var err error
			if total, err = money.Add(total, l.Amount); err != nil {
				overflow = true
			}
			ak := string(l.Account.bytes())
			if broken[ak] {
				continue
			}
			running, err := money.Add(sums[ak], l.Amount)
			if err != nil {
				broken[ak] = true
				add("account %d/%d/%s: its legs overflow at ledger transaction %d", l.Account.ResellerID, l.Account.ClientID, l.Account.Kind, t.ID)
				continue
			}
			sums[ak] = running
			if l.BalanceAfter != running {
				add("ledger transaction %d/%d: account %d/%d/%s balance after %d, but its legs so far sum to %d",
					t.ResellerID, t.ID, l.Account.ResellerID, l.Account.ClientID, l.Account.Kind, l.BalanceAfter, running)
			}
		}
		switch {
		case overflow:
			add("ledger transaction %d/%d: legs overflow when summed", t.ResellerID, t.ID)
		case total != 0:
			add("ledger transaction %d/%d: legs sum to %d, not 0", t.ResellerID, t.ID, total)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var all int64
	allOverflow := false
	err = tx.bucket(bucketAccounts).ForEach(func(k, v []byte) error {
		cached := readBalance(v)
		a := accountKeyFrom(k)
		var err error
		if all, err = money.Add(all, cached); err != nil {
			allOverflow = true
		}
		if (a.Kind == AccountReserved || a.Kind == AccountUsage) && cached < 0 {
			add("account %d/%d/%s: balance %d below zero", a.ResellerID, a.ClientID, a.Kind, cached)
		}
		if !broken[string(k)] && cached != sums[string(k)] {
			add("account %d/%d/%s: cached balance %d but its legs sum to %d", a.ResellerID, a.ClientID, a.Kind, cached, sums[string(k)])
		}
		delete(sums, string(k))
		delete(broken, string(k))
		return nil
	})
	if err != nil {
		return err
	}
	for k, sum := range sums {
		a := accountKeyFrom([]byte(k))
		add("account %d/%d/%s: has legs summing to %d but no cached balance", a.ResellerID, a.ClientID, a.Kind, sum)
	}
	switch {
	case allOverflow:
		add("ledger: the accounts' balances overflow when summed")
	case all != 0:
		add("ledger: all accounts sum to %d, not 0", all)
	}
	return nil
}

func (tx *Tx) verifyClients(add addFunc) error {
	err := tx.bucket(bucketClients).ForEach(func(k, v []byte) error {
		var c Client
		if err := unmarshal(v, &c); err != nil {
			return err
		}
		tx.verifyClientCredit(&c, add)
		if c.Status == ClientDeleted {
			return nil
		}
		if id := tx.bucket(bucketClientUsernames).Get(tenantStringKey(c.ResellerID, strings.ToLower(c.Username))); id == nil || readU64(id) != c.ID {
			add("client %d/%d: username %q is not indexed to it", c.ResellerID, c.ID, c.Username)
		}
		if id := tx.bucket(bucketClientEmails).Get(emailKey(c.ResellerID, c.Email)); id == nil || readU64(id) != c.ID {
			add("client %d/%d: email %q is not indexed to it", c.ResellerID, c.ID, c.Email)
		}
		if c.Status == ClientDisabled && tx.bucket(bucketClientsDisabled).Get(disabledKey(c.DisabledAt, c.ResellerID, c.ID)) == nil {
			add("client %d/%d: disabled but not in the clean-up index", c.ResellerID, c.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, idx := range [][]byte{bucketClientUsernames, bucketClientEmails} {
		err := tx.bucket(idx).ForEach(func(k, v []byte) error {
			if _, err := tx.Client(readU64(k[:8]), readU64(v)); err != nil {
				add("%s entry %d/%q points at a missing client %d", idx, readU64(k[:8]), k[8:], readU64(v))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return tx.bucket(bucketClientUsers).ForEach(func(k, _ []byte) error {
		u, err := tx.User(readU64(k[:8]), readU64(k[16:]))
		if err != nil || u.ClientID != readU64(k[8:16]) {
			add("client user index %d/%d/%d has no matching user", readU64(k[:8]), readU64(k[8:16]), readU64(k[16:]))
		}
		return nil
	})
}

// verifyClientCredit checks a client's meter with checked arithmetic: used
// and assigned are never below zero, used is what its usage account
// earned, and the wallet is assigned − used − reserved exactly (in wrapping
// int64 arithmetic an overflowed wallet would still pass).
func (tx *Tx) verifyClientCredit(c *Client, add addFunc) {
	credit := tx.Credit(c)
	if c.CreditUsed < 0 {
		add("client %d/%d: used credit %d below zero", c.ResellerID, c.ID, c.CreditUsed)
	}
	if c.CreditAssigned < 0 {
		add("client %d/%d: assigned credit %d below zero", c.ResellerID, c.ID, c.CreditAssigned)
	}
	if usage := tx.Balance(UsageOf(c.ResellerID, c.ID)); usage != c.CreditUsed {
		add("client %d/%d: used credit %d but its usage account holds %d", c.ResellerID, c.ID, c.CreditUsed, usage)
	}
	want, err := money.Sub(c.CreditAssigned, c.CreditUsed)
	if err == nil {
		want, err = money.Sub(want, credit.Reserved)
	}
	switch {
	case err != nil:
		add("client %d/%d: assigned %d − used %d − reserved %d overflows", c.ResellerID, c.ID, c.CreditAssigned, c.CreditUsed, credit.Reserved)
	case credit.Available != want:
		add("client %d/%d: wallet %d but assigned %d − used %d − reserved %d = %d", c.ResellerID, c.ID,
			credit.Available, c.CreditAssigned, c.CreditUsed, credit.Reserved, want)
	}
}

// verifyAvatars checks that each user's AvatarSHA256 names the stored
// avatar and that each avatar belongs to a user that names it.
func (tx *Tx) verifyAvatars(add addFunc) error {
	err := tx.bucket(bucketUsers).ForEach(func(k, v []byte) error {
		var u User
		if err := unmarshal(v, &u); err != nil {
			return err
		}
		if u.AvatarSHA256 == "" {
			return nil
		}
		data := tx.bucket(bucketAvatars).Get(k)
		if sum := sha256.Sum256(data); data == nil || hex.EncodeToString(sum[:]) != u.AvatarSHA256 {
			add("user %d/%d: avatar %.16s… is missing or differs", u.ResellerID, u.ID, u.AvatarSHA256)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.bucket(bucketAvatars).ForEach(func(k, _ []byte) error {
		if u, err := tx.User(readU64(k[:8]), readU64(k[8:])); err != nil || u.AvatarSHA256 == "" {
			add("avatar %d/%d belongs to no user that shows it", readU64(k[:8]), readU64(k[8:]))
		}
		return nil
	})
}

// verifyCalls checks the calls data: every held reservation is in the
// expiry index and the other way round, a client's reservations add up to
// its reserved balance, every CDR is in the call-id index and every index
// entry points at a CDR of that call, and each rate deck decodes sorted.
func (tx *Tx) verifyCalls(add addFunc) error {
	held := map[string]int64{}
	err := tx.bucket(bucketReservations).ForEach(func(k, v []byte) error {
		var r Reservation
		if err := unmarshal(v, &r); err != nil { // encoding/json, as for the ledger
			return err
		}
		if !bytes.Equal(k, clientKeyString(r.ResellerID, r.ClientID, r.CallID)) {
			add("reservation %x: key does not match its record", k)
		}
		if tx.bucket(bucketReservationExpiry).Get(reservationExpiryKey(r.ExpiresAt, r.ResellerID, r.ClientID, r.CallID)) == nil {
			add("reservation %d/%d/%q: not in the expiry index", r.ResellerID, r.ClientID, r.CallID)
		}
		if r.Amount < 0 {
			add("reservation %d/%d/%q: negative amount %d", r.ResellerID, r.ClientID, r.CallID, r.Amount)
		}
		held[string(ReservedOf(r.ResellerID, r.ClientID).bytes())] += r.Amount
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.bucket(bucketReservationExpiry).ForEach(func(k, _ []byte) error {
		if len(k) < 24 || tx.bucket(bucketReservations).Get(k[8:]) == nil {
			add("reservation expiry index entry %x has no reservation", k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.bucket(bucketAccounts).ForEach(func(k, v []byte) error {
		a := accountKeyFrom(k)
		if a.Kind == AccountReserved && readBalance(v) != held[string(k)] {
			add("client %d/%d: reserved balance %d but its reservations hold %d", a.ResellerID, a.ClientID, readBalance(v), held[string(k)])
		}
		delete(held, string(k))
		return nil
	})
	if err != nil {
		return err
	}
	for k, amount := range held {
		if a := accountKeyFrom([]byte(k)); amount != 0 {
			add("client %d/%d: reservations hold %d but there is no reserved balance", a.ResellerID, a.ClientID, amount)
		}
	}
	cdrs := 0
	byDay := map[usageDayRef]*DayUsage{}   // what the CDRs still kept add up to, by day
	covered := map[fairUseTotalRef]int64{} // minutes of the covered CDRs still kept, by client and package
	err = tx.bucket(bucketCDRs).ForEach(func(rk, v []byte) error {
		rb := tx.bucket(bucketCDRs).Bucket(rk)
		if v != nil || rb == nil || len(rk) != 8 {
			add("cdrs: %x is not a reseller bucket", rk)
			return nil
		}
		rid := readU64(rk)
		return rb.ForEach(func(month, v []byte) error {
			mb := rb.Bucket(month)
			if mb == nil {
				return nil // the sequence-only keys of a reseller bucket
			}
			return mb.ForEach(func(k, v []byte) error {
				cdrs++
				cdr, err := decodeCDR(rid, k, v)
				if err != nil {
					add("cdr %d/%s/%x: %v", rid, month, k, err)
					return nil
				}
				if m := monthName(cdr.StartedAt); !bytes.Equal(m, month) {
					add("cdr %d/%q: started %s but stored under %s", rid, cdr.CallID, cdr.StartedAt.Format(time.RFC3339), month)
				}
				ref := tx.bucket(bucketCDRCalls).Get(clientKeyString(rid, cdr.ClientID, cdr.CallID))
				if len(ref) != 23 || !bytes.Equal(ref[:7], month) || !bytes.Equal(ref[7:], k[8:]) {
					add("cdr %d/%d/%q: not in the call-id index", rid, cdr.ClientID, cdr.CallID)
				}
				if cdr.Cost < 0 || cdr.DurationS < 0 || cdr.BillableS < 0 || cdr.Reserved < 0 || cdr.RatePerMinute < 0 {
					add("cdr %d/%d/%q: a negative duration or amount", rid, cdr.ClientID, cdr.CallID)
					return nil
				}
				if cdr.PackageID != 0 {
					if cdr.Cost != 0 {
						add("cdr %d/%d/%q: covered by package %d but costs %d", rid, cdr.ClientID, cdr.CallID, cdr.PackageID, cdr.Cost)
					}
					covered[fairUseTotalRef{rid, cdr.ClientID, cdr.PackageID}] += CoveredMinutes(cdr.DurationS)
				}
				dk := usageDayRef{rid, cdr.ClientID, dayNumber(cdr.StartedAt)}
				day := byDay[dk]
				if day == nil {
					day = &DayUsage{}
					byDay[dk] = day
				}
				if err := day.add(cdr); err != nil {
					add("cdr %d/%d/%q: its day's totals overflow", rid, cdr.ClientID, cdr.CallID)
				}
				return nil
			})
		})
	})
	if err != nil {
		return err
	}
	indexed := 0
	err = tx.bucket(bucketCDRCalls).ForEach(func(k, v []byte) error {
		indexed++
		if len(k) < 16 || len(v) != 23 {
			add("call-id index entry %x is malformed", k)
			return nil
		}
		cdr, err := tx.CDRByCallID(readU64(k[:8]), readU64(k[8:16]), string(k[16:]))
		if err != nil || cdr.CallID != string(k[16:]) {
			add("call-id index entry %d/%d/%q has no matching cdr", readU64(k[:8]), readU64(k[8:16]), k[16:])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if indexed != cdrs {
		add("cdrs: %d stored but %d in the call-id index", cdrs, indexed)
	}
	if err := tx.verifyUsage(add, byDay); err != nil {
		return err
	}
	if err := tx.verifyFairUse(add, covered); err != nil {
		return err
	}
	return tx.bucket(bucketRateDecks).ForEach(func(k, v []byte) error {
		if len(k) == 9 && k[8] == 'd' {
			rates, err := decodeRates(v)
			if err != nil {
				add("rate deck %d: %v", readU64(k[:8]), err)
				return nil
			}
			for i := 1; i < len(rates); i++ {
				if rates[i-1].Prefix >= rates[i].Prefix {
					add("rate deck %d: prefix %q out of order", readU64(k[:8]), rates[i].Prefix)
				}
			}
		}
		return nil
	})
}

// fairUseTotalRef names one client's package, all periods together.
type fairUseTotalRef struct{ rid, cid, pkg uint64 }

// verifyFairUse checks the fair-use counters: well-formed, none below
// zero, and each client's counters of a package together hold at least
// the minutes of the covered CDRs still kept (retention drops CDRs, never
// counters; the periods are not compared, as they follow the reseller's
// time zone, which may have changed since). fromCDRs is the CDRs' sums.
func (tx *Tx) verifyFairUse(add addFunc, fromCDRs map[fairUseTotalRef]int64) error {
	totals := map[fairUseTotalRef]int64{}
	err := tx.bucket(bucketFairUse).ForEach(func(k, v []byte) error {
		if len(k) != 31 || len(v) != 8 {
			add("fair use entry %x is malformed", k)
			return nil
		}
		ref := fairUseTotalRef{readU64(k[:8]), readU64(k[8:16]), readU64(k[16:24])}
		if _, err := time.Parse("2006-01", string(k[24:])); err != nil {
			add("fair use %d/%d/%d: period %q is not a month", ref.rid, ref.cid, ref.pkg, k[24:])
		}
		n := int64(readU64(v))
		if n < 0 {
			add("fair use %d/%d/%d/%s: %d minutes, below zero", ref.rid, ref.cid, ref.pkg, k[24:], n)
			return nil
		}
		total, err := money.Add(totals[ref], n)
		if err != nil {
			add("fair use %d/%d/%d: its periods overflow when summed", ref.rid, ref.cid, ref.pkg)
		}
		totals[ref] = total
		return nil
	})
	if err != nil {
		return err
	}
	for ref, minutes := range fromCDRs {
		if totals[ref] < minutes {
			add("fair use %d/%d/%d: counters hold %d minutes, but the covered CDRs add up to %d", ref.rid, ref.cid, ref.pkg, totals[ref], minutes)
		}
	}
	return nil
}

// usageDayRef names one client's usage day.
type usageDayRef struct {
	rid, cid uint64
	day      uint32 // yyyymmdd
}

// verifyUsage checks the daily usage aggregates: each adds up within
// itself (no figure below zero, its histogram counts its calls, no more
// answered calls than calls), holds at least what the day's CDRs still
// kept add up to (the retention job drops CDRs, never aggregates, so a
// day may hold more but never less), and each client's days together cost
// exactly what its usage account earned. fromCDRs is the CDRs' sums by
// day.
func (tx *Tx) verifyUsage(add addFunc, fromCDRs map[usageDayRef]*DayUsage) error {
	costs := map[string]int64{} // rid|cid → the client's days' cost
	broken := map[string]bool{} // clients whose days' cost overflows
	err := tx.bucket(bucketUsageDays).ForEach(func(k, v []byte) error {
		if len(k) != 20 {
			add("usage day key %x is malformed", k)
			return nil
		}
		rid, cid, day := readU64(k[:8]), readU64(k[8:16]), binary.BigEndian.Uint32(k[16:])
		var u DayUsage
		if err := decodeDayUsage(v, &u, true); err != nil {
			add("usage %d/%d/%d: %v", rid, cid, day, err)
			return nil
		}
		figures := [...]struct {
			name        string
			day, ofCDRs int64
		}{
			{"inbound calls", u.CallsIn, 0}, {"outbound calls", u.CallsOut, 0}, {"inbound seconds", u.SecondsIn, 0},
			{"outbound seconds", u.SecondsOut, 0}, {"answered calls", u.Answered, 0}, {"cost", u.Cost, 0},
		}
		if c := fromCDRs[usageDayRef{rid, cid, day}]; c != nil {
			for i, v := range [...]int64{c.CallsIn, c.CallsOut, c.SecondsIn, c.SecondsOut, c.Answered, c.Cost} {
				figures[i].ofCDRs = v
			}
			delete(fromCDRs, usageDayRef{rid, cid, day})
		}
		for _, f := range figures {
			switch {
			case f.day < 0:
				add("usage %d/%d/%d: %s %d below zero", rid, cid, day, f.name, f.day)
			case f.ofCDRs > f.day:
				add("usage %d/%d/%d: %s %d, but the day's CDRs add up to %d", rid, cid, day, f.name, f.day, f.ofCDRs)
			}
		}
		calls, err := money.Add(u.CallsIn, u.CallsOut)
		if err != nil {
			add("usage %d/%d/%d: its calls overflow when summed", rid, cid, day)
			return nil
		}
		var counted int64
		for _, slot := range u.Hist {
			if slot.Calls < 0 {
				counted = -1
				break
			}
			if counted, err = money.Add(counted, slot.Calls); err != nil {
				counted = -1
				break
			}
		}
		if counted != calls {
			add("usage %d/%d/%d: %d calls, but its duration histogram counts %d", rid, cid, day, calls, counted)
		}
		if u.Answered > calls {
			add("usage %d/%d/%d: %d answered of %d calls", rid, cid, day, u.Answered, calls)
		}
		ck := string(k[:16])
		if broken[ck] {
			return nil
		}
		if costs[ck], err = money.Add(costs[ck], u.Cost); err != nil {
			broken[ck] = true
			add("client %d/%d: the cost of its usage days overflows when summed", rid, cid)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for d := range fromCDRs {
		add("usage %d/%d/%d: the day has CDRs but no usage record", d.rid, d.cid, d.day)
	}
	err = tx.bucket(bucketAccounts).ForEach(func(k, v []byte) error {
		a := accountKeyFrom(k)
		if a.Kind != AccountUsage {
			return nil
		}
		ck := string(k[:16])
		if !broken[ck] && costs[ck] != readBalance(v) {
			add("client %d/%d: its usage days cost %d but its usage account holds %d", a.ResellerID, a.ClientID, costs[ck], readBalance(v))
		}
		delete(costs, ck)
		delete(broken, ck)
		return nil
	})
	if err != nil {
		return err
	}
	for k, cost := range costs {
		if cost != 0 && !broken[k] {
			add("client %d/%d: its usage days cost %d but it has no usage account", readU64([]byte(k[:8])), readU64([]byte(k[8:16])), cost)
		}
	}
	return nil
}
