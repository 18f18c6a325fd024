package app

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"portico/app/tenancy"
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
	br := ts.acmeOwner()
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

// BenchmarkAPIRecharge posts recharges through the JSON API with fsync on
// every commit (durable, as in production), from parallel clients, each
// with its own Idempotency-Key. Run with
//
//	go test ./app -run '^$' -bench APIRecharge -cpu 2 -count 3
//
// and read recharges/s.
func BenchmarkAPIRecharge(b *testing.B) {
	ts := newDurableTestServer(b)
	ts.app.api.perKey = newLimiter(math.MaxInt32, time.Minute, ts.clock.Now) // measure the server, not the limit
	key, err := tenancy.CreateResellerAPIKey(ts.store, "acme", "bench", "bench")
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, ts.addr)
	}}}
	url := ts.url(acmeHost, "/api/v1/clients/cleo/credits")
	b.SetParallelism(16) // 32 concurrent requesters on 2 CPUs, like a busy billing script
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"amount":"1.00","note":"bench"}`))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "bench-"+strconv.FormatInt(seq.Add(1), 10))
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "recharges/s")
	if problems, _ := ts.store.Verify(); len(problems) > 0 {
		b.Fatal(problems)
	}
}
