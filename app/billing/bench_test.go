package billing

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"portico/app/actor"
	"portico/app/testkit"
	"portico/store"
)

// benchMail queues each invoice's mail as the server's queue does with
// SMTP configured; benchLetter signs it.
type benchMail struct{}

func (benchMail) Enqueue(tx *store.Tx, m *store.MailMessage) error { return tx.EnqueueMail(m) }

type benchLetter struct{}

func (benchLetter) BrandName(r *store.Reseller) string  { return r.Name }
func (benchLetter) SenderName(r *store.Reseller) string { return r.Name }
func (benchLetter) Link(_ *store.Tx, r *store.Reseller, p string) (string, error) {
	return "https://" + r.Slug + ".portal.test" + p, nil
}

// BenchmarkRunPeriod: the invoice run of one period over 10,000 clients
// with a plan (a few with extra seats and an add-on), each invoice with
// its ledger movement, audit event and queued mail, at batch sizes of
// 50 to 1,000 clients per transaction; every iteration invoices a new
// period. It reports invoices/s, CPU time per invoice, and how long each batch's write
// transaction held the store (mean and longest: other writers, such as
// call authorisations, wait that long behind it). fsync is on as in
// production; NOSYNC=1 shows the CPU cost alone.
//
//	go test ./app/billing -run '^$' -bench RunPeriod -benchtime 3x
func BenchmarkRunPeriod(b *testing.B) {
	for _, batch := range []int{50, 100, 200, 500, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			const clients = 10_000
			clock := testkit.NewClock(time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC))
			var measuring atomic.Bool
			var txs, txNanos, longest atomic.Int64
			s, err := store.Open(filepath.Join(b.TempDir(), "p.db"), store.Options{Now: clock.Now, NoSync: os.Getenv("NOSYNC") != "",
				Observe: func(kind string, d time.Duration) {
					if kind == "update" && measuring.Load() {
						txs.Add(1)
						txNanos.Add(int64(d))
						if int64(d) > longest.Load() {
							longest.Store(int64(d))
						}
					}
				}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			r := seedBench(b, s, clients)
			svc := New(s, benchMail{}, benchLetter{}, nil)
			svc.batch = batch
			period := PeriodOf(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC)
			measuring.Store(true)
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				res, err := svc.RunPeriod(context.Background(), r, period.Name, actor.Actor{Name: JobName})
				if err != nil || res.Created != clients {
					b.Fatalf("%s: %+v %v", period.Name, res, err)
				}
				period = period.Next()
			}
			b.StopTimer()
			b.ReportMetric(float64(clients)*float64(b.N)/b.Elapsed().Seconds(), "invoices/s")
			// CPU time is steadier than wall time on a shared machine
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(clients*b.N), "µs-CPU/invoice")
			if n := txs.Load(); n > 0 { // how long other writers wait behind one batch
				b.ReportMetric(float64(txNanos.Load())/float64(n)/1e6, "ms/tx")
				b.ReportMetric(float64(longest.Load())/1e6, "max-ms/tx")
			}
		})
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// seedBench: reseller acme (New York) with seller details, a 24 KB logo,
// a plan, an add-on and n clients subscribed since January 2026, written
// without fsync in large transactions (set-up, not measured).
func seedBench(b *testing.B, s *store.Store, n int) *store.Reseller {
	b.Helper()
	res, err := s.ReconcileResellers([]store.ResellerSpec{{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example",
		Timezone: "America/New_York"}})
	if err != nil {
		b.Fatal(err)
	}
	r := res.NeedOwner[0]
	r.Seller = store.SellerDetails{LegalName: "Acme Voice LLC", VATNumber: "US123", Address1: "1 Acme Way", City: "New York",
		Zip: "10001", State: "NY", Country: "US", Footer: "Thank you", TaxRates: map[string]int{"US": 800, "*": 0}}
	logo := make([]byte, 24<<10)
	for i := range logo {
		logo[i] = byte(i * 7)
	}
	addon := &store.AddOn{ResellerID: r.ID, Name: "Recording", MonthlyFee: 2 * u, PerSeat: true}
	plan := &store.Plan{ResellerID: r.ID, Name: "Basic", Kind: store.PlanSubscription, MonthlyFee: 10 * u, IncludedSeats: 2, SeatFee: 5 * u, Status: store.CatalogActive}
	err = s.Update(func(tx *store.Tx) error {
		if err := tx.UpdateReseller(r); err != nil {
			return err
		}
		if err := tx.PutBrandAsset(r.ID, &store.BrandAsset{Name: store.AssetLogo, ContentType: "image/png", Data: logo}); err != nil {
			return err
		}
		if err := store.PutCatalog(tx, addon); err != nil {
			return err
		}
		plan.AddOns = []uint64{addon.ID}
		return store.PutCatalog(tx, plan)
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 5, 0, 0, 0, time.UTC) // midnight in New York
	for done := 0; done < n; done += 1000 {
		err := s.Update(func(tx *store.Tx) error {
			for i := done; i < min(done+1000, n); i++ {
				name := fmt.Sprintf("c%05d", i)
				c := &store.Client{ResellerID: r.ID, Username: name, FirstName: "A", LastName: "B", Company: "Company " + name,
					Email: name + "@example.com", Country: "US", City: "Springfield", Address1: "1 Main St", Zip: "12345"}
				if err := tx.CreateClient(c, &store.User{Email: name + "@example.com", PasswordHash: "x"}, "seed"); err != nil {
					return err
				}
				sub := &store.Subscription{ResellerID: r.ID, ClientID: c.ID, PlanID: plan.ID, Seats: 2, Status: store.SubscriptionActive, StartedAt: start}
				if i%4 == 0 {
					sub.Seats, sub.AddOns = 5, []uint64{addon.ID}
				}
				if err := tx.PutSubscription(sub); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return r
}
