package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Brand asset names: the images a reseller may upload.
const (
	AssetLogo    = "logo"
	AssetFavicon = "favicon"
)

// BrandAsset is one of a reseller's images, stored as the app re-encoded
// it (the store does not look inside Data). SHA256 is the hex digest of
// Data, computed by the store; the asset's public URL carries it, so the
// URL changes whenever the image does.
type BrandAsset struct {
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Data        []byte    `json:"-"`
	SHA256      string    `json:"sha256"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// A stored asset is a 4-byte big-endian header length, the JSON header
// (everything but Data) and then the raw bytes: every page reads the
// headers to build asset URLs without decoding or copying the images.

func encodeBrandAsset(a *BrandAsset) ([]byte, error) {
	header, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 4, 4+len(header)+len(a.Data))
	binary.BigEndian.PutUint32(out, uint32(len(header)))
	out = append(out, header...)
	return append(out, a.Data...), nil
}

// decodeBrandAsset reads a stored asset; with data it copies the bytes out
// of bbolt's memory, which is only valid inside the transaction.
func decodeBrandAsset(v []byte, data bool) (*BrandAsset, error) {
	if len(v) < 4 || uint64(len(v)-4) < uint64(binary.BigEndian.Uint32(v)) {
		return nil, fmt.Errorf("store: brand asset: truncated record")
	}
	n := 4 + int(binary.BigEndian.Uint32(v))
	var a BrandAsset
	if err := json.Unmarshal(v[4:n], &a); err != nil {
		return nil, fmt.Errorf("store: brand asset: %w", err)
	}
	if data {
		a.Data = bytes.Clone(v[n:])
	}
	return &a, nil
}

func validAssetName(name string) bool { return name == AssetLogo || name == AssetFavicon }

// BrandAsset returns one of a reseller's images with its bytes.
func (tx *Tx) BrandAsset(rid uint64, name string) (*BrandAsset, error) {
	v := tx.bucket(bucketBrandAssets).Get(tenantStringKey(rid, name)) // tenant scope: the key starts with the reseller id
	if v == nil {
		return nil, fmt.Errorf("store: reseller %d: brand asset %q: %w", rid, name, ErrNotFound)
	}
	return decodeBrandAsset(v, true)
}

// BrandAssetHeaders lists a reseller's images in name order without their
// bytes (Data is nil): enough to build their URLs on every page.
func (tx *Tx) BrandAssetHeaders(rid uint64) ([]*BrandAsset, error) {
	var out []*BrandAsset
	prefix := u64(rid) // tenant scope: only this reseller's keys
	c := tx.bucket(bucketBrandAssets).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		a, err := decodeBrandAsset(v, false)
		if err != nil {
			return nil, fmt.Errorf("store: reseller %d: %w", rid, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// PutBrandAsset stores or replaces a reseller's image under a.Name, and
// sets a.SHA256 and a.UpdatedAt.
func (tx *Tx) PutBrandAsset(rid uint64, a *BrandAsset) error {
	if !validAssetName(a.Name) || a.ContentType == "" || len(a.Data) == 0 {
		return fmt.Errorf("store: reseller %d: brand asset %q: %w", rid, a.Name, ErrInvalid)
	}
	sum := sha256.Sum256(a.Data)
	a.SHA256 = hex.EncodeToString(sum[:])
	a.UpdatedAt = tx.now
	v, err := encodeBrandAsset(a)
	if err != nil {
		return err
	}
	return tx.bucket(bucketBrandAssets).Put(tenantStringKey(rid, a.Name), v)
}

// DeleteBrandAsset removes one of a reseller's images; ErrNotFound when it
// has none by that name.
func (tx *Tx) DeleteBrandAsset(rid uint64, name string) error {
	b := tx.bucket(bucketBrandAssets)
	key := tenantStringKey(rid, name) // tenant scope: the key starts with the reseller id
	if b.Get(key) == nil {
		return fmt.Errorf("store: reseller %d: brand asset %q: %w", rid, name, ErrNotFound)
	}
	return b.Delete(key)
}
