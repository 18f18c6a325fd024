package store

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestCachedResellerCopiesEveryReference: every map, slice or pointer in
// a Reseller is one that Reseller.clone copies, so a reader changing its
// copy never changes the cached one. A field added with such a type fails
// here until clone copies it and it is listed.
func TestCachedResellerCopiesEveryReference(t *testing.T) {
	t.Parallel()
	cloned := []string{"Seller.TaxRates"}
	var found []string
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		if typ == reflect.TypeFor[time.Time]() { // its *Location is never changed
			return
		}
		switch typ.Kind() {
		case reflect.Struct:
			for f := range typ.Fields() {
				p := f.Name
				if path != "" {
					p = path + "." + f.Name
				}
				walk(f.Type, p)
			}
		case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
			found = append(found, path)
		}
	}
	walk(reflect.TypeFor[Reseller](), "")
	if !slices.Equal(found, cloned) {
		t.Fatalf("Reseller holds references at %v; Reseller.clone copies %v", found, cloned)
	}
}

// TestCachedResellerIsExactAndPrivate: a caller changing the reseller it
// read changes nothing the next reader sees; a write is read at once.
func TestCachedResellerIsExactAndPrivate(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rid := seed(t, s)["acme"].ID
	read := func() *Reseller {
		t.Helper()
		var r *Reseller
		if err := s.View(func(tx *Tx) (err error) { r, err = tx.Reseller(rid); return err }); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := s.Update(func(tx *Tx) error {
		r, err := tx.Reseller(rid)
		if err != nil {
			return err
		}
		r.Seller.TaxRates = map[string]int{"US": 800}
		return tx.UpdateReseller(r)
	}); err != nil {
		t.Fatal(err)
	}
	first := read()
	first.Seller.TaxRates["US"] = 1
	first.Name = "changed by a caller"
	if again := read(); again.Seller.TaxRates["US"] != 800 || again.Name != "Acme" {
		t.Fatalf("a caller's change leaked into the cache: %+v", again)
	}
	if err := s.Update(func(tx *Tx) error {
		r, err := tx.ResellerBySlug("acme")
		if err != nil {
			return err
		}
		r.Seller.TaxRates["US"] = 2000
		return tx.UpdateReseller(r)
	}); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.Seller.TaxRates["US"] != 2000 {
		t.Fatalf("after a write: %v", got.Seller.TaxRates)
	}
}
