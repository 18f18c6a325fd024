package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// fuzzTime builds a time from fuzz input: UTC (as the store writes), a
// fixed offset, or the local zone.
func fuzzTime(sec, nsec int64, offset int, zone uint8) time.Time {
	at := time.Unix(sec, nsec)
	switch zone % 3 {
	case 0:
		return at.UTC()
	case 1:
		return at.In(time.FixedZone("", offset))
	}
	return at
}

// fuzzLedgerTx builds a ledger transaction from fuzz input: legs taken
// from nums (nil, none or up to four), the strings as given.
func fuzzLedgerTx(id, rid uint64, kind, reference, key, hash, actor, note string, nums []byte, sec, nsec int64, offset int, zone uint8) *LedgerTx {
	t := &LedgerTx{ID: id, ResellerID: rid, Kind: kind, Reference: reference, IdempotencyKey: key, RequestHash: hash,
		Actor: actor, Note: note, At: fuzzTime(sec, nsec, offset, zone)}
	if len(nums) > 0 {
		t.Legs = []Leg{}
		for i := 1; i+8 <= len(nums) && len(t.Legs) < 4; i += 9 {
			v := int64(0)
			for _, c := range nums[i : i+8] {
				v = v<<8 | int64(c)
			}
			t.Legs = append(t.Legs, Leg{Account: AccountKey{ResellerID: rid, ClientID: uint64(nums[i-1]), Kind: note},
				Amount: v, BalanceAfter: -v / 3})
		}
	}
	return t
}

// FuzzLedgerTxJSONMatchesStd holds appendLedgerTx to json.Marshal: the
// same bytes for any transaction (or ok false exactly where encoding/json
// refuses it), and decodeLedgerTx reads those bytes as json.Unmarshal does.
//
//	go test ./store -run '^$' -fuzz FuzzLedgerTxJSONMatchesStd -fuzztime 30s
func FuzzLedgerTxJSONMatchesStd(f *testing.F) {
	f.Add(uint64(7), uint64(1), KindReservation, "call:abc-1", "", "", "PBX key", "", []byte{2, 0, 0, 0, 0, 0, 0, 0x9c, 0x40, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x63, 0xc0},
		int64(1793613600), int64(0), 0, uint8(0))
	f.Add(uint64(1<<63), uint64(0), "top-up", "<b>&</b>", "key\u2028", `"quoted"\`, "Zoë", "ünïcode\n\t", []byte{0xff, 0x80, 0, 0, 0, 0, 0, 0, 0},
		int64(1793613600), int64(123456789), 3600+30, uint8(1))
	f.Add(uint64(0), uint64(0), "", "", "", "", "", "\xff", []byte(nil), int64(253402300800), int64(0), 0, uint8(0)) // year 10000: refused
	f.Add(uint64(1), uint64(1), "grant", "", "", "", "a", "", []byte{1}, int64(0), int64(0), 24*3600, uint8(1))      // offset 24:00: refused
	f.Fuzz(func(t *testing.T, id, rid uint64, kind, reference, key, hash, actor, note string, nums []byte, sec, nsec int64, offset int, zone uint8) {
		tx := fuzzLedgerTx(id, rid, kind, reference, key, hash, actor, note, nums, sec, nsec, offset, zone)
		want, werr := json.Marshal(tx)
		got, ok := appendLedgerTx(nil, tx)
		switch {
		case ok != (werr == nil):
			t.Fatalf("appendLedgerTx ok %v, encoding/json %v: %+v", ok, werr, tx)
		case !ok:
			return
		case !bytes.Equal(got, want):
			t.Fatalf("appendLedgerTx:\n%s\nencoding/json:\n%s", got, want)
		}
		var fast, std LedgerTx
		if err := decodeLedgerTx(got, &fast); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &std); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("decoded %+v, encoding/json %+v", fast, std)
		}
		// and written again as encoding/json writes what it read (not
		// always the first bytes: invalid UTF-8 came back as U+FFFD)
		if again, _ := appendLedgerTx(nil, &fast); !bytes.Equal(again, mustMarshal(t, &std)) {
			t.Fatalf("written again:\n%s\nencoding/json:\n%s", again, mustMarshal(t, &std))
		}
	})
}

// FuzzDecodeLedgerTxMatchesStd holds readLedgerTx to json.Unmarshal:
// whatever it accepts, encoding/json reads to the same transaction. What
// it refuses goes to encoding/json, so refusing more is always safe.
//
//	go test ./store -run '^$' -fuzz FuzzDecodeLedgerTxMatchesStd -fuzztime 30s
func FuzzDecodeLedgerTxMatchesStd(f *testing.F) {
	for _, tx := range []*LedgerTx{
		fuzzLedgerTx(7, 1, KindReservation, "call:abc", "", "", "PBX", "", []byte{2, 0, 0, 0, 0, 0, 0, 0x9c, 0x40, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x63, 0xc0}, 1793613600, 5, 0, 0),
		fuzzLedgerTx(8, 2, "grant", "r", "k", "h", "a", "n", []byte{0}, 1793613600, 0, -3600, 1),
		fuzzLedgerTx(9, 3, "grant", "", "", "", "", "", nil, 1793613600, 0, 0, 2),
	} {
		b, _ := json.Marshal(tx)
		f.Add(b)
	}
	for _, s := range []string{
		`{"id":1,"reseller_id":1,"kind":"grant","legs":[],"actor":"a","at":"2026-11-02T10:00:00Z"}`,
		`{"id":1,"reseller_id":1,"kind":"grant","legs":[{"account":{"reseller_id":1,"client_id":0,"kind":"x"},"amount":-1,"balance_after":-1}],"actor":"a","note":"","at":"2026-11-02T10:00:00Z"}`,
		`{"id":1,"reseller_id":1,"kind":"grant","legs":null,"actor":"a","at":"2026-11-02T10:00:00Z","extra":1}`,
		`{"ID":1,"reseller_id":1,"kind":"grant","legs":null,"actor":"a","at":"2026-11-02T10:00:00Z"}`,
		`{"id":1, "reseller_id":1,"kind":"grant","legs":null,"actor":"a","at":"2026-11-02T10:00:00Z"}`,
		`{"id":1,"reseller_id":1,"kind":"gr\u0061nt","legs":null,"actor":"a","at":"2026-11-02T10:00:00Z"}`,
		`{"id":-1,"reseller_id":1,"kind":"grant","legs":null,"actor":"a","at":"2026-11-02T10:00:00Z"}`,
		`{"id":1,"reseller_id":1,"kind":"grant","legs":[{"account":{"reseller_id":1,"client_id":0,"kind":"x"},"amount":1.5,"balance_after":1}],"actor":"a","at":"2026-11-02T10:00:00Z"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast LedgerTx
		if !readLedgerTx(raw, &fast) {
			return
		}
		var std LedgerTx
		if err := json.Unmarshal(raw, &std); err != nil {
			t.Fatalf("readLedgerTx accepted what encoding/json refuses (%v): %q", err, raw)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("readLedgerTx %+v, encoding/json %+v (%q)", fast, std, raw)
		}
	})
}

// FuzzReservationJSONMatchesStd is FuzzLedgerTxJSONMatchesStd for
// reservations.
//
//	go test ./store -run '^$' -fuzz FuzzReservationJSONMatchesStd -fuzztime 30s
func FuzzReservationJSONMatchesStd(f *testing.F) {
	f.Add(uint64(1), uint64(2), "call-1", "+14155550123", "1415", int64(100), 7200, int64(12_0000), uint64(9), uint64(0), int64(1793613600), int64(0), 0, uint8(0))
	f.Add(uint64(1), uint64(2), "call-2", "+442079460958", "44", int64(600), 7200, int64(0), uint64(0), uint64(3), int64(1793613600), int64(0), 0, uint8(0)) // covered by package 3
	f.Add(uint64(1<<64-1), uint64(0), `<a&b>"\`, "\u2029", "\xff", int64(-1<<63), -1<<63, int64(1<<63-1), uint64(0), uint64(1<<64-1), int64(1793613600), int64(999999999), -(23*3600 + 59*60), uint8(1))
	f.Add(uint64(1), uint64(2), "c", "", "", int64(0), 0, int64(0), uint64(0), uint64(0), int64(-62167219201), int64(0), 0, uint8(0)) // year -1: refused
	f.Fuzz(func(t *testing.T, rid, cid uint64, callID, to, prefix string, rate int64, maxDuration int, amount int64, ledgerID, pkg uint64, sec, nsec int64, offset int, zone uint8) {
		at := fuzzTime(sec, nsec, offset, zone)
		r := &Reservation{ResellerID: rid, ClientID: cid, CallID: callID, To: to, Prefix: prefix, RatePerMinute: rate,
			MaxDurationS: maxDuration, Amount: amount, LedgerID: ledgerID, Package: pkg, At: at, ExpiresAt: at.Add(time.Duration(nsec))}
		want, werr := json.Marshal(r)
		got, ok := appendReservation(nil, r)
		switch {
		case ok != (werr == nil):
			t.Fatalf("appendReservation ok %v, encoding/json %v: %+v", ok, werr, r)
		case !ok:
			return
		case !bytes.Equal(got, want):
			t.Fatalf("appendReservation:\n%s\nencoding/json:\n%s", got, want)
		}
		var fast, std Reservation
		if err := decodeReservation(got, &fast); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &std); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("decoded %+v, encoding/json %+v", fast, std)
		}
		// and written again as encoding/json writes what it read (not
		// always the first bytes: invalid UTF-8 came back as U+FFFD)
		if again, _ := appendReservation(nil, &fast); !bytes.Equal(again, mustMarshal(t, &std)) {
			t.Fatalf("written again:\n%s\nencoding/json:\n%s", again, mustMarshal(t, &std))
		}
	})
}

// FuzzDecodeReservationMatchesStd is FuzzDecodeLedgerTxMatchesStd for
// reservations.
//
//	go test ./store -run '^$' -fuzz FuzzDecodeReservationMatchesStd -fuzztime 30s
func FuzzDecodeReservationMatchesStd(f *testing.F) {
	for _, s := range []string{
		`{"reseller_id":1,"client_id":2,"call_id":"c","to":"+1","prefix":"1","rate_per_minute":100,"max_duration_s":60,"amount":100,"ledger_id":3,"at":"2026-11-02T10:00:00Z","expires_at":"2026-11-02T14:00:00Z"}`,
		`{"reseller_id":1,"client_id":2,"call_id":"c","to":"+1","prefix":"1","rate_per_minute":100,"max_duration_s":60,"amount":0,"at":"2026-11-02T10:00:00.5+05:30","expires_at":"2026-11-02T14:00:00Z"}`,
		`{"reseller_id":1,"client_id":2,"call_id":"c","to":"+1","prefix":"1","rate_per_minute":100,"max_duration_s":60,"amount":0,"ledger_id":0,"at":"2026-11-02T10:00:00Z","expires_at":"0001-01-01T00:00:00Z"}`,
		`{"reseller_id":1,"client_id":2,"call_id":"c","to":"+1","prefix":"1","rate_per_minute":100,"max_duration_s":60,"amount":0,"at":"2026-11-02T10:00:00Z","expires_at":null}`,
		`{"reseller_id":1,"client_id":2,"call_id":"c","to":"+1","prefix":"1","rate_per_minute":100,"max_duration_s":60,"amount":0,"at":"2026-11-02T10:00:00Z","expires_at":"2026-11-02T25:00:00Z"}`,
		`{"reseller_id":1,"client_id":2,"call_id":"c","to":"+1","prefix":"1","rate_per_minute":100,"max_duration_s":9223372036854775808,"amount":0,"at":"2026-11-02T10:00:00Z","expires_at":"2026-11-02T14:00:00Z"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast Reservation
		if !readReservation(raw, &fast) {
			return
		}
		var std Reservation
		if err := json.Unmarshal(raw, &std); err != nil {
			t.Fatalf("readReservation accepted what encoding/json refuses (%v): %q", err, raw)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("readReservation %+v, encoding/json %+v (%q)", fast, std, raw)
		}
	})
}

// TestLedgerAndReservationRecordsKeepTheirFormat: the records the store
// writes are the bytes encoding/json writes for them (so old and new
// code read each other's), and records in another form (as another
// encoder might have written them: spaced, keys reordered or cased
// otherwise, escaped strings, an unknown key) are still read, through
// encoding/json.
func TestLedgerAndReservationRecordsKeepTheirFormat(t *testing.T) {
	t.Parallel()
	s, rid, c := openWithAnn(t)
	fund(t, s, rid, c.ID, 10_0000)
	err := s.Commit(1, func(tx *Tx) error {
		return tx.Reserve(&Reservation{ResellerID: rid, ClientID: c.ID, CallID: "a<&>\"b", To: "+14155550123", Prefix: "1415",
			RatePerMinute: 100, MaxDurationS: 3600, Amount: 1_0000, ExpiresAt: fixedNow.Add(time.Hour)}, "Zoë's PBX")
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		n := 0
		tx.bucket(bucketLedger).ForEach(func(k, v []byte) error {
			var std LedgerTx
			if err := json.Unmarshal(v, &std); err != nil {
				t.Fatal(err)
			}
			if want, _ := json.Marshal(&std); !bytes.Equal(v, want) {
				t.Errorf("ledger record\n%s\nis not what encoding/json writes:\n%s", v, want)
			}
			var fast, hand LedgerTx
			if err := decodeLedgerTx(v, &fast); err != nil || !reflect.DeepEqual(fast, std) {
				t.Errorf("ledger record %s: decoded %+v, %v; want %+v", v, fast, err, std)
			}
			// only a record with escaped strings goes to encoding/json
			if plain, byHand := !bytes.Contains(v, []byte(`\`)), readLedgerTx(v, &hand); byHand != plain {
				t.Errorf("ledger record %s: read by hand %v, want %v", v, byHand, plain)
			}
			n++
			return nil
		})
		if n != 2 { // the grant and the reservation
			t.Errorf("%d ledger records", n)
		}
		v := tx.bucket(bucketReservations).Get(clientKeyString(rid, c.ID, "a<&>\"b"))
		var std Reservation
		if err := json.Unmarshal(v, &std); err != nil {
			t.Fatal(err)
		}
		if want, _ := json.Marshal(&std); !bytes.Equal(v, want) {
			t.Errorf("reservation record\n%s\nis not what encoding/json writes:\n%s", v, want)
		}
		if std.CallID != "a<&>\"b" || std.LedgerID == 0 || !std.At.Equal(fixedNow) {
			t.Errorf("reservation %+v", std)
		}
		return nil
	})

	// Records in other forms, written directly.
	at := fixedNow.Add(time.Minute)
	otherLedger := `{ "ID": 900, "reseller_id": ` + u64s(rid) + `, "kind": "gr\u0061nt", "legs": [
		{"account": {"reseller_id": ` + u64s(rid) + `, "client_id": 0, "kind": "granted"}, "amount": -5, "balance_after": -5},
		{"amount": 5, "account": {"reseller_id": ` + u64s(rid) + `, "client_id": ` + u64s(c.ID) + `, "kind": "wallet"}, "balance_after": 5}],
		"actor": "old \u00e9", "future_field": [1, 2], "at": "2026-11-02T10:01:00Z" }`
	otherReservation := `{"call_id":"old","reseller_id":` + u64s(rid) + `,"client_id":` + u64s(c.ID) + `,"to":"+1","prefix":"1",
		"rate_per_minute":100,"max_duration_s":60,"amount":0,"at":"2026-11-02T10:01:00Z","expires_at":"2026-11-02T11:01:00Z"}`
	err = s.Update(func(tx *Tx) error {
		if err := tx.bucket(bucketLedger).Put(tenantKey(rid, 900), []byte(otherLedger)); err != nil {
			return err
		}
		return tx.bucket(bucketReservations).Put(clientKeyString(rid, c.ID, "old"), []byte(otherReservation))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		txs, err := tx.LedgerTxs(rid)
		if err != nil || len(txs) != 3 {
			t.Fatalf("ledger: %d, %v", len(txs), err)
		}
		got := txs[2]
		want := &LedgerTx{ID: 900, ResellerID: rid, Kind: KindGrant, Actor: "old é", At: at, Legs: []Leg{
			{Account: AccountKey{ResellerID: rid, Kind: "granted"}, Amount: -5, BalanceAfter: -5},
			{Account: AccountKey{ResellerID: rid, ClientID: c.ID, Kind: "wallet"}, Amount: 5, BalanceAfter: 5}}}
		if !got.At.Equal(at) || got.At.Location() != time.UTC {
			t.Errorf("at %v", got.At)
		}
		got.At = at
		if !reflect.DeepEqual(got, want) {
			t.Errorf("other-form ledger record read as %+v", got)
		}
		r, err := tx.Reservation(rid, c.ID, "old")
		if err != nil || r.CallID != "old" || r.MaxDurationS != 60 || !r.ExpiresAt.Equal(at.Add(time.Hour)) {
			t.Errorf("other-form reservation read as %+v, %v", r, err)
		}
		return nil
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func u64s(v uint64) string { b, _ := json.Marshal(v); return string(b) }

// TestRecordWritersAllocateOnlyTheirBuffer: the writers append into the
// caller's buffer and allocate nothing else (encoding/json allocated its
// encode state and the copy it returns).
func TestRecordWritersAllocateOnlyTheirBuffer(t *testing.T) {
	tx := fuzzLedgerTx(7, 1, KindReservation, "call:abc-1", "", "", "PBX key", "", []byte{2, 0, 0, 0, 0, 0, 0, 0x9c, 0x40, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x63, 0xc0}, 1793613600, 0, 0, 0)
	r := &Reservation{ResellerID: 1, ClientID: 2, CallID: "call-1", To: "+14155550123", Prefix: "1415", RatePerMinute: 100,
		MaxDurationS: 7200, Amount: 12_0000, LedgerID: 9, At: fixedNow, ExpiresAt: fixedNow.Add(4 * time.Hour)}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { appendLedgerTx(buf, tx) }); n != 0 {
		t.Errorf("appendLedgerTx: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { appendReservation(buf, r) }); n != 0 {
		t.Errorf("appendReservation: %v allocations", n)
	}
}

// BenchmarkRecordJSON writes and reads an authorisation's two records
// (its ledger movement and its reservation) by hand and with
// encoding/json, in the same run:
//
//	go test ./store -run '^$' -bench RecordJSON -benchmem
func BenchmarkRecordJSON(b *testing.B) {
	tx := &LedgerTx{ID: 123456, ResellerID: 1, Kind: KindReservation, Reference: "call:b-123456", Actor: "bench",
		Legs: []Leg{{Account: WalletOf(1, 2), Amount: -6_0000, BalanceAfter: 999_999_994_0000},
			{Account: ReservedOf(1, 2), Amount: 6_0000, BalanceAfter: 5_123_0000}}, At: fixedNow}
	r := &Reservation{ResellerID: 1, ClientID: 2, CallID: "b-123456", To: "+12125550100", Prefix: "1", RatePerMinute: 100,
		MaxDurationS: 3600, Amount: 6_0000, LedgerID: 123456, At: fixedNow, ExpiresAt: fixedNow.Add(4 * time.Hour)}
	ledgerRaw, _ := json.Marshal(tx)
	reservationRaw, _ := json.Marshal(r)
	b.Run("write/std", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(tx)
			json.Marshal(r)
		}
	})
	b.Run("write/hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			appendLedgerTx(make([]byte, 0, 512), tx)
			appendReservation(make([]byte, 0, 256), r)
		}
	})
	b.Run("read/std", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var t LedgerTx
			var res Reservation
			json.Unmarshal(ledgerRaw, &t)
			json.Unmarshal(reservationRaw, &res)
		}
	})
	b.Run("read/hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var t LedgerTx
			var res Reservation
			decodeLedgerTx(ledgerRaw, &t)
			decodeReservation(reservationRaw, &res)
		}
	})
}
