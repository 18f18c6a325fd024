package calls

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portico/app/strictjson"
	"portico/app/testkit"
	"portico/store"
)

// fillCDRs stores n CDRs of one client spread over the last 400 days, in
// transactions of 10,000 (no fsync: it is set-up, not what is measured).
func fillCDRs(b *testing.B, s *store.Store, rid, cid uint64, n int, now time.Time) {
	b.Helper()
	const chunk = 10_000
	for done := 0; done < n; done += chunk {
		batch := make([]*store.CDR, 0, chunk)
		for i := done; i < min(done+chunk, n); i++ {
			dir := store.Outbound
			if i%3 == 0 {
				dir = store.Inbound
			}
			started := now.Add(-time.Duration(i%400)*24*time.Hour - time.Duration(i%86000)*time.Second)
			batch = append(batch, &store.CDR{CallID: fmt.Sprintf("fill-%08d", i), Direction: dir, From: "+14155550100", To: "+14155550123",
				StartedAt: started, DurationS: i % 700, BillableS: i % 700, Disposition: store.Answered, Cost: int64(i % 500), RatePrefix: "1", RatePerMinute: 100})
		}
		if err := s.Update(func(tx *store.Tx) error { _, err := tx.RecordCDRs(rid, cid, batch, "bench"); return err }); err != nil {
			b.Fatal(err)
		}
	}
}

// benchClient opens a store in b's temp dir with opts on a test clock
// standing at t0, with the reseller acme and one client of it named
// username.
func benchClient(b *testing.B, opts store.Options, username string) (*store.Store, *store.Reseller, *store.Client) {
	b.Helper()
	opts.Now = testkit.NewClock(t0).Now
	s, err := store.Open(filepath.Join(b.TempDir(), "p.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	res, err := s.ReconcileResellers([]store.ResellerSpec{{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example"}})
	if err != nil {
		b.Fatal(err)
	}
	r := res.NeedOwner[0]
	c := &store.Client{ResellerID: r.ID, Username: username, Email: username + "@example.com", Country: "US"}
	if err := s.Update(func(tx *store.Tx) error {
		return tx.CreateClient(c, &store.User{Email: c.Email, PasswordHash: "x"}, "b")
	}); err != nil {
		b.Fatal(err)
	}
	return s, r, c
}

// BenchmarkDashboard1M: the dashboard figures of a client with 1,000,000
// CDRs come from the daily aggregates, so they cost the same as for a
// client with a hundred. Target: ≤ 20 ms.
//
//	go test ./app/calls -run '^$' -bench Dashboard1M -benchtime 200x
func BenchmarkDashboard1M(b *testing.B) {
	s, r, c := benchClient(b, store.Options{NoSync: true}, "big")
	rid := r.ID
	start := time.Now()
	fillCDRs(b, s, rid, c.ID, 1_000_000, t0)
	b.Logf("filled 1,000,000 CDRs in %s", time.Since(start).Round(time.Millisecond))
	svc := New(s)
	b.ResetTimer()
	for b.Loop() {
		d, err := svc.Dashboard(rid, c.ID, t0)
		if err != nil || d.Month.Calls == 0 {
			b.Fatal(d, err)
		}
	}
}

// BenchmarkAuthorize: one outbound authorisation through the service,
// with reservation and durable commit, from 64 goroutines; it reports
// calls per shared commit and the commit time. NOSYNC=1 skips fsync, to
// see the CPU cost alone.
//
//	go test ./app/calls -run '^$' -bench Authorize -benchtime 3s
func BenchmarkAuthorize(b *testing.B) {
	var commits, commitNanos atomic.Int64
	s, r, c := benchClient(b, store.Options{NoSync: os.Getenv("NOSYNC") != "", Observe: func(kind string, d time.Duration) {
		if kind == "update" {
			commits.Add(1)
			commitNanos.Add(int64(d))
		}
	}}, "pbx")
	if err := s.Update(func(tx *store.Tx) error {
		_, _, err := tx.GrantCredit(r.ID, c.ID, 1e15, "", "", "b", "")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	svc := New(s)
	if _, err := svc.ImportRates(r, []byte(deckCSV), staff); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			id := fmt.Sprint("call-", n)
			mu.Unlock()
			a, err := svc.Authorize(r, c, AuthorizeRequest{CallID: id, Direction: store.Outbound, From: "+14155550100", To: "+14155550123"}, "api")
			if err != nil || !a.Allow {
				b.Error(a, err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "authorisations/s")
	if n := commits.Load(); n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "calls/commit")
		b.ReportMetric(float64(commitNanos.Load())/float64(n)/1e6, "ms/commit")
	}
}

// BenchmarkDecodeCDRs decodes a batch of 1,000 CDRs in the plain form a
// PBX sends: the fast path (cdrjson.go), and the strict standard decoder
// (app/strictjson, the path of any other form) on the same body for
// comparison.
//
//	go test ./app/calls -run '^$' -bench DecodeCDRs -benchmem
func BenchmarkDecodeCDRs(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`{"records":[`)
	for i := range MaxBatch {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"call_id":"c%d","direction":"outbound","from":"+14155550100","to":"+14155550123","started_at":"2026-11-22T10:00:00Z","duration_s":%d,"disposition":"answered"}`, i, i%300)
	}
	body.WriteString(`]}`)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if records, errs, err := DecodeCDRs(body.Bytes()); err != nil || len(errs) > 0 || len(records) != MaxBatch {
				b.Fatal(err, errs)
			}
		}
	})
	b.Run("strict", func(b *testing.B) {
		for b.Loop() {
			var whole struct {
				Records *[]CDRInput `json:"records"`
			}
			if err := strictjson.Unmarshal(body.Bytes(), &whole); err != nil || len(*whole.Records) != MaxBatch {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIngest rates, charges and stores batches of 1,000 outbound
// CDRs of one client (no fsync: the work per record is what is
// measured, not the disk), each batch new calls.
//
//	go test ./app/calls -run '^$' -bench Ingest -benchmem
func BenchmarkIngest(b *testing.B) {
	s, r, c := benchClient(b, store.Options{NoSync: true}, "pbx")
	svc := New(s)
	if _, err := svc.ImportRates(r, []byte(deckCSV), staff); err != nil {
		b.Fatal(err)
	}
	duration := int64(125)
	batch := func(n int) []CDRInput {
		records := make([]CDRInput, MaxBatch)
		for i := range records {
			records[i] = CDRInput{Index: i, CallID: fmt.Sprintf("b%d-%d", n, i), Direction: store.Outbound, From: "+14155550100",
				To: "+14155550123", StartedAt: "2026-11-02T09:00:00Z", DurationS: &duration, Disposition: store.Answered}
		}
		return records
	}
	n := 0
	for b.Loop() {
		b.StopTimer()
		records := batch(n)
		n++
		b.StartTimer()
		out, err := svc.Ingest(r, c, records, nil, "bench")
		if err != nil || out.Accepted != MaxBatch {
			b.Fatal(out, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBatch), "ns/record")
}

// subscribeBench puts c on a plan with an unlimited package covering the
// USA, so that its calls to US numbers are covered.
func subscribeBench(b *testing.B, s *store.Store, r *store.Reseller, c *store.Client) {
	b.Helper()
	err := s.Update(func(tx *store.Tx) error {
		p := &store.CallingPackage{ResellerID: r.ID, Name: "US", Countries: []string{"US"}}
		if err := store.PutCatalog(tx, p); err != nil {
			return err
		}
		plan := &store.Plan{ResellerID: r.ID, Name: "Pro", Kind: store.PlanSubscription, Packages: []uint64{p.ID}, Status: store.CatalogActive}
		if err := store.PutCatalog(tx, plan); err != nil {
			return err
		}
		return tx.PutSubscription(&store.Subscription{ResellerID: r.ID, ClientID: c.ID, PlanID: plan.ID, Seats: 1, Status: store.SubscriptionActive})
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkIngestCovered is BenchmarkIngest for a client whose package
// covers the calls (+1 numbers, whose country takes the phone-number
// library's patterns to tell the USA from Canada): "same" calls one
// number (its country remembered), "distinct" a new number each record
// (worked out every time).
//
//	go test ./app/calls -run '^$' -bench IngestCovered -benchmem
func BenchmarkIngestCovered(b *testing.B) {
	for _, distinct := range []bool{false, true} {
		name := "same"
		if distinct {
			name = "distinct"
		}
		b.Run(name, func(b *testing.B) {
			s, r, c := benchClient(b, store.Options{NoSync: true}, "pbx")
			svc := New(s)
			if _, err := svc.ImportRates(r, []byte(deckCSV), staff); err != nil {
				b.Fatal(err)
			}
			subscribeBench(b, s, r, c)
			duration := int64(125)
			n := 0
			for b.Loop() {
				b.StopTimer()
				records := make([]CDRInput, MaxBatch)
				for i := range records {
					to := "+16502530000"
					if distinct {
						k := n*MaxBatch + i
						to = fmt.Sprintf("+1650%03d%04d", 200+k/10000%800, k%10000)
					}
					records[i] = CDRInput{Index: i, CallID: fmt.Sprintf("b%d-%d", n, i), Direction: store.Outbound, From: "+14155550100",
						To: to, StartedAt: "2026-11-02T09:00:00Z", DurationS: &duration, Disposition: store.Answered}
				}
				n++
				b.StartTimer()
				out, err := svc.Ingest(r, c, records, nil, "bench")
				if err != nil || out.Accepted != MaxBatch || (!distinct && out.Charged != 0) { // distinct: some numbers are not valid US ones, and are charged
					b.Fatal(out, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBatch), "ns/record")
		})
	}
}

// BenchmarkAuthorizeCovered is BenchmarkAuthorize for calls a package
// covers (no credit: nothing is reserved), from 64 goroutines.
//
//	go test ./app/calls -run '^$' -bench AuthorizeCovered -benchtime 3s
func BenchmarkAuthorizeCovered(b *testing.B) {
	s, r, c := benchClient(b, store.Options{NoSync: os.Getenv("NOSYNC") != ""}, "pbx")
	svc := New(s)
	if _, err := svc.ImportRates(r, []byte(deckCSV), staff); err != nil {
		b.Fatal(err)
	}
	subscribeBench(b, s, r, c)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint("call-", n.Add(1))
			a, err := svc.Authorize(r, c, AuthorizeRequest{CallID: id, Direction: store.Outbound, From: "+14155550100", To: "+16502530000"}, "api")
			if err != nil || !a.Allow || a.Package == 0 {
				b.Error(a, err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "authorisations/s")
}
