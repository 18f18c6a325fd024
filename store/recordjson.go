package store

import (
	"strconv"

	bolt "go.etcd.io/bbolt"

	"portico/store/jsonfast"
)

// The ledger transaction and the reservation are written on every
// authorised call and read on every settled one; encoding/json took about
// 3.5 µs to write the two and 15 µs to read them (BenchmarkRecordJSON),
// by hand it is about a fifth of that. They are
// written here by hand, byte for byte as json.Marshal writes them (so the
// stored format is unchanged: old records read, new records read by old
// code), and read by hand in that same form, falling back to
// encoding/json for anything else. FuzzLedgerTxJSONMatchesStd and
// FuzzReservationJSONMatchesStd hold the writers to json.Marshal;
// FuzzDecodeLedgerTxMatchesStd and FuzzDecodeReservationMatchesStd hold
// the readers to json.Unmarshal.

// appendLedgerTx appends t as json.Marshal writes it; ok is false when
// encoding/json would refuse it (a time it cannot write).
func appendLedgerTx(b []byte, t *LedgerTx) (_ []byte, ok bool) {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, t.ID, 10)
	b = append(b, `,"reseller_id":`...)
	b = strconv.AppendUint(b, t.ResellerID, 10)
	b = append(b, `,"kind":`...)
	b = jsonfast.AppendString(b, t.Kind)
	b = append(b, `,"legs":`...)
	if t.Legs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, l := range t.Legs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"account":{"reseller_id":`...)
			b = strconv.AppendUint(b, l.Account.ResellerID, 10)
			b = append(b, `,"client_id":`...)
			b = strconv.AppendUint(b, l.Account.ClientID, 10)
			b = append(b, `,"kind":`...)
			b = jsonfast.AppendString(b, l.Account.Kind)
			b = append(b, `},"amount":`...)
			b = strconv.AppendInt(b, l.Amount, 10)
			b = append(b, `,"balance_after":`...)
			b = strconv.AppendInt(b, l.BalanceAfter, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if t.Reference != "" {
		b = append(b, `,"reference":`...)
		b = jsonfast.AppendString(b, t.Reference)
	}
	if t.IdempotencyKey != "" {
		b = append(b, `,"idempotency_key":`...)
		b = jsonfast.AppendString(b, t.IdempotencyKey)
	}
	if t.RequestHash != "" {
		b = append(b, `,"request_hash":`...)
		b = jsonfast.AppendString(b, t.RequestHash)
	}
	b = append(b, `,"actor":`...)
	b = jsonfast.AppendString(b, t.Actor)
	if t.Note != "" {
		b = append(b, `,"note":`...)
		b = jsonfast.AppendString(b, t.Note)
	}
	b = append(b, `,"at":`...)
	if b, ok = jsonfast.AppendTime(b, t.At); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// readLedgerTx reads a ledger transaction in the form appendLedgerTx
// writes (strings without escapes); ok is false for anything else.
func readLedgerTx(raw []byte, t *LedgerTx) (ok bool) {
	r := jsonfast.NewReader(raw)
	r.Lit(`{"id":`)
	t.ID = r.Uint64()
	r.Lit(`,"reseller_id":`)
	t.ResellerID = r.Uint64()
	r.Lit(`,"kind":`)
	t.Kind = r.String()
	r.Lit(`,"legs":`)
	if !r.Opt("null") {
		r.Lit("[")
		t.Legs = make([]Leg, 0, 2) // a movement has two legs
		if !r.Opt("]") {
			for r.OK() {
				var l Leg
				r.Lit(`{"account":{"reseller_id":`)
				l.Account.ResellerID = r.Uint64()
				r.Lit(`,"client_id":`)
				l.Account.ClientID = r.Uint64()
				r.Lit(`,"kind":`)
				l.Account.Kind = r.String()
				r.Lit(`},"amount":`)
				l.Amount = r.Int64()
				r.Lit(`,"balance_after":`)
				l.BalanceAfter = r.Int64()
				r.Lit("}")
				t.Legs = append(t.Legs, l)
				if !r.Opt(",") {
					break
				}
			}
			r.Lit("]")
		}
	}
	if r.Opt(`,"reference":`) {
		t.Reference = r.String()
	}
	if r.Opt(`,"idempotency_key":`) {
		t.IdempotencyKey = r.String()
	}
	if r.Opt(`,"request_hash":`) {
		t.RequestHash = r.String()
	}
	r.Lit(`,"actor":`)
	t.Actor = r.String()
	if r.Opt(`,"note":`) {
		t.Note = r.String()
	}
	r.Lit(`,"at":`)
	t.At = r.Time()
	r.Lit("}")
	return r.Done()
}

// decodeLedgerTx decodes a stored ledger transaction into t (a zero
// value): by hand when it is in the plain form, else by encoding/json.
func decodeLedgerTx(raw []byte, t *LedgerTx) error {
	if readLedgerTx(raw, t) {
		return nil
	}
	*t = LedgerTx{} // the fast path may have filled some fields
	return unmarshal(raw, t)
}

// getLedgerTx is get for a ledger transaction: decoded into t (a zero
// value), or ErrNotFound.
func getLedgerTx(b *bolt.Bucket, key []byte, t *LedgerTx) error {
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	return decodeLedgerTx(raw, t)
}

// putLedgerTx stores t under key, written by hand (encoding/json only
// for a time it would refuse, to return its error).
func putLedgerTx(b *bolt.Bucket, key []byte, t *LedgerTx) error {
	size := 192 + len(t.Kind) + len(t.Reference) + len(t.IdempotencyKey) + len(t.RequestHash) + len(t.Actor) + len(t.Note)
	for _, l := range t.Legs {
		size += 128 + len(l.Account.Kind)
	}
	data, ok := appendLedgerTx(make([]byte, 0, size), t)
	if !ok {
		return put(b, key, t)
	}
	return b.Put(key, data) // a fresh slice: bbolt keeps it until the commit
}

// appendReservation appends r as json.Marshal writes it; ok is false when
// encoding/json would refuse it (a time it cannot write).
func appendReservation(b []byte, r *Reservation) (_ []byte, ok bool) {
	b = append(b, `{"reseller_id":`...)
	b = strconv.AppendUint(b, r.ResellerID, 10)
	b = append(b, `,"client_id":`...)
	b = strconv.AppendUint(b, r.ClientID, 10)
	b = append(b, `,"call_id":`...)
	b = jsonfast.AppendString(b, r.CallID)
	b = append(b, `,"to":`...)
	b = jsonfast.AppendString(b, r.To)
	b = append(b, `,"prefix":`...)
	b = jsonfast.AppendString(b, r.Prefix)
	b = append(b, `,"rate_per_minute":`...)
	b = strconv.AppendInt(b, r.RatePerMinute, 10)
	b = append(b, `,"max_duration_s":`...)
	b = strconv.AppendInt(b, int64(r.MaxDurationS), 10)
	b = append(b, `,"amount":`...)
	b = strconv.AppendInt(b, r.Amount, 10)
	if r.LedgerID != 0 {
		b = append(b, `,"ledger_id":`...)
		b = strconv.AppendUint(b, r.LedgerID, 10)
	}
	if r.Package != 0 {
		b = append(b, `,"package":`...)
		b = strconv.AppendUint(b, r.Package, 10)
	}
	b = append(b, `,"at":`...)
	if b, ok = jsonfast.AppendTime(b, r.At); !ok {
		return b, false
	}
	b = append(b, `,"expires_at":`...)
	if b, ok = jsonfast.AppendTime(b, r.ExpiresAt); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// readReservation reads a reservation in the form appendReservation
// writes; ok is false for anything else.
func readReservation(raw []byte, res *Reservation) (ok bool) {
	r := jsonfast.NewReader(raw)
	r.Lit(`{"reseller_id":`)
	res.ResellerID = r.Uint64()
	r.Lit(`,"client_id":`)
	res.ClientID = r.Uint64()
	r.Lit(`,"call_id":`)
	res.CallID = r.String()
	r.Lit(`,"to":`)
	res.To = r.String()
	r.Lit(`,"prefix":`)
	res.Prefix = r.String()
	r.Lit(`,"rate_per_minute":`)
	res.RatePerMinute = r.Int64()
	r.Lit(`,"max_duration_s":`)
	res.MaxDurationS = r.Int()
	r.Lit(`,"amount":`)
	res.Amount = r.Int64()
	if r.Opt(`,"ledger_id":`) {
		res.LedgerID = r.Uint64()
	}
	if r.Opt(`,"package":`) {
		res.Package = r.Uint64()
	}
	r.Lit(`,"at":`)
	res.At = r.Time()
	r.Lit(`,"expires_at":`)
	res.ExpiresAt = r.Time()
	r.Lit("}")
	return r.Done()
}

// decodeReservation decodes a stored reservation into r (a zero value):
// by hand when it is in the plain form, else by encoding/json.
func decodeReservation(raw []byte, r *Reservation) error {
	if readReservation(raw, r) {
		return nil
	}
	*r = Reservation{}
	return unmarshal(raw, r)
}

// putReservation stores r under key, written by hand (encoding/json only
// for a time it would refuse, to return its error).
func putReservation(b *bolt.Bucket, key []byte, r *Reservation) error {
	data, ok := appendReservation(make([]byte, 0, 256+len(r.CallID)+len(r.To)+len(r.Prefix)), r)
	if !ok {
		return put(b, key, r)
	}
	return b.Put(key, data)
}
