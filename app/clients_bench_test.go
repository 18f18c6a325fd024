package app

import (
	"fmt"
	"strings"
	"testing"

	"portico/store"
)

// BenchmarkClientsPage renders /reseller/clients over 10,000 clients:
// the first page, a search and a status filter. Run with
//
//	go test ./app -run '^$' -bench ClientsPage -count 5
//
// and read the median ns/op of each.
func BenchmarkClientsPage(b *testing.B) {
	ts := newTestServer(b)
	const n = 10000
	for start := 0; start < n; start += 1000 {
		err := ts.store.Update(func(tx *store.Tx) error {
			for i := start; i < start+1000; i++ {
				c := &store.Client{ResellerID: ts.ids["acme"], Username: fmt.Sprintf("client%05d", i), FirstName: "First",
					LastName: fmt.Sprintf("Last%05d", i), Email: fmt.Sprintf("c%05d@example.com", i), Company: fmt.Sprintf("Company %d", i%97)}
				if err := tx.CreateClient(c, &store.User{Email: c.Email, PasswordHash: "h"}, "bench"); err != nil {
					return err
				}
				if i%10 == 0 {
					if _, err := tx.SetClientStatus(c.ResellerID, c.ID, store.ClientDisabled, false, "bench", ""); err != nil {
						return err
					}
				}
				if _, _, err := tx.GrantCredit(c.ResellerID, c.ID, int64(i+1)*1000, "", "", "bench", ""); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	br := ts.browser()
	br.login(acmeHost, "owner@acme.example", "/reseller")
	for _, bc := range []struct{ name, path, want string }{
		{"first-page", "/reseller/clients", "10001 clients"},
		{"search", "/reseller/clients?q=company+42", "clients"},
		{"filter-disabled", "/reseller/clients?status=disabled&sort=credit", "1000 clients"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			br.t = b
			if r := br.get(acmeHost, bc.path); r.status != 200 || !strings.Contains(r.body, bc.want) {
				b.Fatalf("%s: %d, want %q", bc.path, r.status, bc.want)
			}
			b.ResetTimer()
			for range b.N {
				br.get(acmeHost, bc.path)
			}
		})
	}
}
