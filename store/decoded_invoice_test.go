package store

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestCachedInvoiceCopiesEveryReference: every map, slice or pointer in
// an Invoice is one that Invoice.clone copies, so a reader changing its
// copy never changes the cached one. A field added with such a type fails
// here until clone copies it and it is listed.
func TestCachedInvoiceCopiesEveryReference(t *testing.T) {
	t.Parallel()
	cloned := []string{"Lines", "Buyer.Emails", "Seller.Emails", "History"}
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
		case reflect.Slice:
			found = append(found, path)
			elem := typ.Elem() // the elements are copied by value: they must hold no references
			if elem.Kind() == reflect.Struct {
				var inner []string
				for f := range elem.Fields() {
					if k := f.Type.Kind(); k == reflect.Map || k == reflect.Slice || k == reflect.Pointer || k == reflect.Interface {
						inner = append(inner, f.Name)
					}
				}
				if len(inner) > 0 {
					t.Errorf("%s's elements hold references %v: clone copies them by value", path, inner)
				}
			}
		case reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
			found = append(found, path)
		}
	}
	walk(reflect.TypeFor[Invoice](), "")
	if !slices.Equal(found, cloned) {
		t.Fatalf("Invoice holds references at %v; Invoice.clone copies %v", found, cloned)
	}
}

// TestCachedInvoiceIsExactAndPrivate: a caller changing the invoice it
// read changes nothing the next reader sees; a status change, or a raw
// write, is read at once; the reseller scope holds through the cache.
func TestCachedInvoiceIsExactAndPrivate(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	acme := rs["acme"].ID
	ann := newClient(t, s, acme, "ann")
	inv := testInvoice(acme, ann.ID, "2026-03", 100, 250)
	inv.Buyer.Emails = []string{"ann@example.com"}
	if err := s.Update(func(tx *Tx) error { return tx.IssueInvoice(inv, nil, "test") }); err != nil {
		t.Fatal(err)
	}
	read := func() *Invoice {
		t.Helper()
		var got *Invoice
		if err := s.View(func(tx *Tx) (err error) { got, err = tx.Invoice(acme, inv.ID); return err }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := read()
	first.Number = "changed by a caller"
	first.Lines[0].Description = "changed by a caller"
	first.Lines = append(first.Lines, InvoiceLine{Description: "added by a caller"})
	first.Buyer.Emails[0] = "changed@example.com"
	first.History[0].Note = "changed by a caller"
	again := read()
	if again.Number == "changed by a caller" || len(again.Lines) != 2 || again.Lines[0].Description != "x" ||
		again.Buyer.Emails[0] != "ann@example.com" || again.History[0].Note == "changed by a caller" {
		t.Fatalf("a caller's change leaked into the cache: %+v", again)
	}

	// paid through the store's own path: read at once, from every reader
	if err := s.Update(func(tx *Tx) error {
		_, _, err := tx.SetInvoiceStatus(acme, inv.ID, InvoiceStatusChange{Status: InvoicePaid, Note: "wire", Actor: "staff"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.Status != InvoicePaid || got.Reference != "wire" || len(got.History) != 2 {
		t.Fatalf("after paying: status %s, reference %q, history %v", got.Status, got.Reference, got.History)
	}
	err := s.View(func(tx *Tx) error {
		return tx.ClientInvoices(acme, ann.ID, func(got *Invoice) bool {
			if got.Status != InvoicePaid {
				t.Errorf("the client's list shows %s", got.Status)
			}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// a raw write that bypasses every helper
	if err := s.Update(func(tx *Tx) error {
		got, err := tx.Invoice(acme, inv.ID)
		if err != nil {
			return err
		}
		got.Reference = "raw"
		return put(tx.bucket(bucketInvoices), tenantKey(acme, inv.ID), got)
	}); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.Reference != "raw" {
		t.Fatalf("after a raw write: %q", got.Reference)
	}
	if err := s.View(func(tx *Tx) error {
		if _, err := tx.Invoice(rs["globex"].ID, inv.ID); err == nil {
			t.Error("another reseller reads the invoice")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
