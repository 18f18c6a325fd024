package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

// TestBrandAssetsAreScoped: each reseller reads, lists and deletes only its
// own images; the store computes the digest; a bad name is refused.
func TestBrandAssetsAreScoped(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	acme, globex := rs["acme"].ID, rs["globex"].ID
	logo := []byte("\x89PNG acme logo")
	err := s.Update(func(tx *Tx) error {
		if err := tx.PutBrandAsset(acme, &BrandAsset{Name: AssetLogo, ContentType: "image/png", Data: logo}); err != nil {
			return err
		}
		if err := tx.PutBrandAsset(acme, &BrandAsset{Name: AssetFavicon, ContentType: "image/png", Data: []byte("fav")}); err != nil {
			return err
		}
		return tx.PutBrandAsset(globex, &BrandAsset{Name: AssetLogo, ContentType: "image/png", Data: []byte("globex logo")})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error {
		return tx.PutBrandAsset(acme, &BrandAsset{Name: "../logo", ContentType: "image/png", Data: logo})
	})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown asset name: %v, want ErrInvalid", err)
	}
	sum := sha256.Sum256(logo)
	err = s.View(func(tx *Tx) error {
		a, err := tx.BrandAsset(acme, AssetLogo)
		if err != nil {
			return err
		}
		if !bytes.Equal(a.Data, logo) || a.SHA256 != hex.EncodeToString(sum[:]) || !a.UpdatedAt.Equal(fixedNow) || a.ContentType != "image/png" {
			t.Errorf("acme logo = %+v", a)
		}
		headers, err := tx.BrandAssetHeaders(acme)
		if err != nil {
			return err
		}
		if len(headers) != 2 || headers[0].Name != AssetFavicon || headers[1].Name != AssetLogo || headers[1].Data != nil || headers[1].SHA256 != a.SHA256 {
			t.Errorf("acme headers = %+v", headers)
		}
		headers, err = tx.BrandAssetHeaders(globex)
		if err != nil {
			return err
		}
		if len(headers) != 1 || headers[0].SHA256 == a.SHA256 {
			t.Errorf("globex headers = %+v", headers)
		}
		if _, err := tx.BrandAsset(globex, AssetFavicon); !errors.Is(err, ErrNotFound) {
			t.Errorf("globex favicon: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error {
		if err := tx.DeleteBrandAsset(globex, AssetFavicon); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleting a missing asset: %v, want ErrNotFound", err)
		}
		return tx.DeleteBrandAsset(acme, AssetLogo)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(func(tx *Tx) error {
		if _, err := tx.BrandAsset(acme, AssetLogo); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted acme logo: %v", err)
		}
		if a, err := tx.BrandAsset(globex, AssetLogo); err != nil || string(a.Data) != "globex logo" {
			t.Errorf("globex logo after acme's delete: %v %v", a, err)
		}
		return nil
	})
}

// TestBrandAssetDecodeRefusesDamage: a truncated record is an error, not
// a panic.
func TestBrandAssetDecodeRefusesDamage(t *testing.T) {
	t.Parallel()
	v, err := encodeBrandAsset(&BrandAsset{Name: AssetLogo, ContentType: "image/png", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, v[:3], v[:10]} {
		if _, err := decodeBrandAsset(bad, true); err == nil {
			t.Errorf("decode %q: no error", bad)
		}
	}
	if a, err := decodeBrandAsset(v, true); err != nil || string(a.Data) != "x" {
		t.Errorf("decode = %+v, %v", a, err)
	}
}
