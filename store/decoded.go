package store

import (
	"bytes"
	"maps"
	"slices"
	"sync"
)

// decodedCache remembers the decoded form of records that the API's hot
// paths read on every request (API keys, clients, resellers), so that a request pays
// a map lookup and a byte comparison instead of a JSON decode. An entry is
// used only while the stored bytes are exactly the bytes it was decoded
// from: any write to the record, by any path, makes it miss. Nothing has
// to remember to invalidate it.
type decodedCache struct {
	mu sync.Mutex
	m  map[decodedKey]decodedEntry
	// max bounds the entries (0: decodedCacheMax); past it the cache
	// starts afresh.
	max int
}

type decodedKey struct {
	bucket string // a bucket name (a constant, so no allocation)
	key    string
}

type decodedEntry struct {
	raw []byte // a copy of the stored bytes the value was decoded from
	val any
}

// decodedCacheMax bounds the entries of a cache with no max of its own.
const decodedCacheMax = 4096

// invoiceCacheMax bounds the decoded invoices kept (a few KB each): the
// invoices clients and staff are looking at, not the whole store.
const invoiceCacheMax = 1024

// lookup returns the value decoded from raw, if cached.
func (c *decodedCache) lookup(k decodedKey, raw []byte) (any, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	return e.val, true
}

func (c *decodedCache) store(k decodedKey, raw []byte, val any) {
	e := decodedEntry{raw: bytes.Clone(raw), val: val} // raw points into bbolt's mmap, valid only during the transaction
	c.mu.Lock()
	limit := c.max
	if limit == 0 {
		limit = decodedCacheMax
	}
	if c.m == nil || len(c.m) >= limit {
		c.m = make(map[decodedKey]decodedEntry)
	}
	c.m[k] = e
	c.mu.Unlock()
}

// cachedClient decodes a stored client record through the cache and
// returns a copy the caller may change: the shared value is never handed
// out, nor its slices.
func (tx *Tx) cachedClient(key, raw []byte) (*Client, error) {
	k := decodedKey{bucket: "clients", key: string(key)}
	if tx.s != nil {
		if v, ok := tx.s.decoded.lookup(k, raw); ok {
			c := *v.(*Client)
			c.StatusHistory = slices.Clone(c.StatusHistory)
			return &c, nil
		}
	}
	var shared Client
	if err := unmarshal(raw, &shared); err != nil {
		return nil, err
	}
	if tx.s != nil {
		tx.s.decoded.store(k, raw, &shared)
	}
	c := shared
	c.StatusHistory = slices.Clone(c.StatusHistory)
	return &c, nil
}

// cachedAPIKey is cachedClient for API key records.
func (tx *Tx) cachedAPIKey(key, raw []byte) (*APIKey, error) {
	k := decodedKey{bucket: "api_keys", key: string(key)}
	if tx.s != nil {
		if v, ok := tx.s.decoded.lookup(k, raw); ok {
			a := *v.(*APIKey)
			a.Hash = bytes.Clone(a.Hash)
			return &a, nil
		}
	}
	var shared APIKey
	if err := unmarshal(raw, &shared); err != nil {
		return nil, err
	}
	if tx.s != nil {
		tx.s.decoded.store(k, raw, &shared)
	}
	a := shared
	a.Hash = bytes.Clone(a.Hash)
	return &a, nil
}

// cachedReseller is cachedClient for reseller records. The copy clones
// every map and slice of a Reseller (TestCachedResellerCopiesEveryReference
// fails when a new one is not).
func (tx *Tx) cachedReseller(key, raw []byte) (*Reseller, error) {
	k := decodedKey{bucket: "resellers", key: string(key)}
	if tx.s != nil {
		if v, ok := tx.s.decoded.lookup(k, raw); ok {
			return v.(*Reseller).clone(), nil
		}
	}
	var shared Reseller
	if err := unmarshal(raw, &shared); err != nil {
		return nil, err
	}
	if tx.s != nil {
		tx.s.decoded.store(k, raw, &shared)
	}
	return shared.clone(), nil
}

func (r *Reseller) clone() *Reseller {
	c := *r
	c.Seller.TaxRates = maps.Clone(r.Seller.TaxRates)
	return &c
}

// cachedInvoice is cachedClient for invoice records, in a cache of their
// own (Store.invoices) so that invoice lists never push out the API's hot
// records. An invoice is frozen at issue but for its status, so a page
// that lists a client's latest invoices decodes each once per version.
// The copy clones every slice of an Invoice
// (TestCachedInvoiceCopiesEveryReference fails when a new one is not).
func (tx *Tx) cachedInvoice(key, raw []byte) (*Invoice, error) {
	k := decodedKey{bucket: "invoices", key: string(key)}
	if tx.s != nil {
		if v, ok := tx.s.invoices.lookup(k, raw); ok {
			return v.(*Invoice).clone(), nil
		}
	}
	var shared Invoice
	if err := unmarshal(raw, &shared); err != nil {
		return nil, err
	}
	if tx.s != nil {
		tx.s.invoices.store(k, raw, &shared)
	}
	return shared.clone(), nil
}

func (inv *Invoice) clone() *Invoice {
	c := *inv
	c.Lines = slices.Clone(inv.Lines)
	c.Buyer.Emails = slices.Clone(inv.Buyer.Emails)
	c.Seller.Emails = slices.Clone(inv.Seller.Emails)
	c.History = slices.Clone(inv.History)
	return &c
}
