package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Rate is one line of a reseller's rate deck: calls to numbers starting
// with Prefix (E.164 digits without the +) cost RatePerMinute (minor
// units), billed First seconds at least and then in steps of Next
// seconds ("60/60", "1/1", "30/6").
type Rate struct {
	Prefix        string `json:"prefix"`
	Description   string `json:"description"`
	RatePerMinute int64  `json:"rate_per_minute"`
	First         int    `json:"first"`
	Next          int    `json:"next"`
	Premium       bool   `json:"premium"`
}

// RateDeckInfo describes a reseller's current deck.
type RateDeckInfo struct {
	// Version grows by one with every import; 0 means no deck yet.
	Version    uint64    `json:"version"`
	Count      int       `json:"count"`
	ImportedAt time.Time `json:"imported_at,omitzero"`
	ImportedBy string    `json:"imported_by,omitempty"`
}

// RateDeck is a reseller's whole deck, sorted by prefix.
type RateDeck struct {
	Info  RateDeckInfo
	Rates []Rate
}

// ErrCorrupt means a stored value cannot be decoded.
var ErrCorrupt = errors.New("stored value is damaged")

func rateDeckKey(rid uint64, part byte) []byte { return append(u64(rid), part) }

// RateDeckVersion is the version of the reseller's deck (0: none), read
// without decoding the deck, so callers can check a compiled copy is
// current on every call.
func (tx *Tx) RateDeckVersion(rid uint64) uint64 {
	v := tx.bucket(bucketRateDecks).Get(rateDeckKey(rid, 'h'))
	if len(v) < 8 {
		return 0
	}
	return readU64(v[:8])
}

// RateDeckInfo describes the reseller's deck (the zero info when none).
func (tx *Tx) RateDeckInfo(rid uint64) (RateDeckInfo, error) {
	var info RateDeckInfo
	v := tx.bucket(bucketRateDecks).Get(rateDeckKey(rid, 'h'))
	if v == nil {
		return info, nil
	}
	if len(v) < 8 {
		return info, fmt.Errorf("store: rate deck %d: %w", rid, ErrCorrupt)
	}
	if err := json.Unmarshal(v[8:], &info); err != nil {
		return info, fmt.Errorf("store: rate deck %d: %w", rid, err)
	}
	return info, nil
}

// RateDeck reads the reseller's whole deck; with none imported it is an
// empty deck of version 0.
func (tx *Tx) RateDeck(rid uint64) (*RateDeck, error) {
	info, err := tx.RateDeckInfo(rid)
	if err != nil {
		return nil, err
	}
	d := &RateDeck{Info: info}
	if info.Version == 0 {
		return d, nil
	}
	if d.Rates, err = decodeRates(tx.bucket(bucketRateDecks).Get(rateDeckKey(rid, 'd'))); err != nil {
		return nil, fmt.Errorf("store: rate deck %d: %w", rid, err)
	}
	return d, nil
}

// ReplaceRateDeck swaps the reseller's deck for rates (sorted by prefix,
// each prefix once) in two puts, and returns the new version.
func (tx *Tx) ReplaceRateDeck(rid uint64, rates []Rate, by string) (uint64, error) {
	for i := range rates {
		r := &rates[i]
		if r.Prefix == "" || r.First < 1 || r.Next < 1 || r.RatePerMinute < 0 {
			return 0, fmt.Errorf("store: rate %q: %w", r.Prefix, ErrInvalid)
		}
		if i > 0 && rates[i-1].Prefix >= r.Prefix {
			return 0, fmt.Errorf("store: rates not sorted or prefix %q twice: %w", r.Prefix, ErrInvalid)
		}
	}
	info := RateDeckInfo{Version: tx.RateDeckVersion(rid) + 1, Count: len(rates), ImportedAt: tx.now, ImportedBy: by}
	meta, err := json.Marshal(info)
	if err != nil {
		return 0, err
	}
	b := tx.bucket(bucketRateDecks)
	if err := b.Put(rateDeckKey(rid, 'd'), encodeRates(rates)); err != nil {
		return 0, err
	}
	return info.Version, b.Put(rateDeckKey(rid, 'h'), append(u64(info.Version), meta...))
}

// encodeRates writes a deck compactly: count, then per rate its prefix,
// description, rate, first, next (varints) and a flags byte.
func encodeRates(rates []Rate) []byte {
	size := 8
	for i := range rates {
		size += len(rates[i].Prefix) + len(rates[i].Description) + 16
	}
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(len(rates)))
	for i := range rates {
		r := &rates[i]
		b = appendString(b, r.Prefix)
		b = appendString(b, r.Description)
		b = binary.AppendVarint(b, r.RatePerMinute)
		b = binary.AppendUvarint(b, uint64(r.First))
		b = binary.AppendUvarint(b, uint64(r.Next))
		var flags byte
		if r.Premium {
			flags |= 1
		}
		b = append(b, flags)
	}
	return b
}

func decodeRates(b []byte) ([]Rate, error) {
	d := decoder{b: b}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(b)) {
		return nil, ErrCorrupt
	}
	rates := make([]Rate, n)
	for i := range rates {
		r := &rates[i]
		r.Prefix = d.string()
		r.Description = d.string()
		r.RatePerMinute = d.varint()
		r.First = int(d.uvarint())
		r.Next = int(d.uvarint())
		r.Premium = d.byte()&1 != 0
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, ErrCorrupt
	}
	return rates, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads the binary records of this package; the first problem
// sticks in err and later reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 { return readVarint(d, binary.Uvarint) }

func (d *decoder) varint() int64 { return readVarint(d, binary.Varint) }

// readVarint reads one varint with read (binary.Uvarint or binary.Varint).
func readVarint[T uint64 | int64](d *decoder, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = ErrCorrupt
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// string copies: the bytes belong to bbolt's mmap.
func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = ErrCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
