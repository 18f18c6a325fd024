package app

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"portico/store"
)

// dashboardBenchCDRs is how many CDRs the dashboard benchmark stores.
const dashboardBenchCDRs = 1_000_000

// dashboardBenchBatch CDRs go into one write transaction: each puts the
// CDR and its call-id index (plus a few day records), under ~10k puts.
const dashboardBenchBatch = 4000

// BenchmarkDashboardPage renders /dashboard over HTTP (session cookie,
// full page with both charts) for a client with 1,000,000 CDRs spread
// over the last 12 months. The page reads the daily usage aggregates
// only, so its cost must not grow with the CDRs. Run with
//
//	go test ./app -run '^$' -bench DashboardPage -benchtime 2000x
//
// and read ns/op and median-ms (target: median ≤ 20 ms); setup-s is how
// long storing the CDRs took. Skipped with -short.
func BenchmarkDashboardPage(b *testing.B) {
	if testing.Short() {
		b.Skip("stores 1,000,000 CDRs")
	}
	ts := newTestServer(b)
	cleo := ts.cleo()
	rid := ts.ids["acme"]
	now := ts.clock.Now()
	first := now.AddDate(-1, 0, 0)
	step := now.Sub(first) / dashboardBenchCDRs
	setup := time.Now()
	cdrs := make([]*store.CDR, 0, dashboardBenchBatch)
	for start := 0; start < dashboardBenchCDRs; start += dashboardBenchBatch {
		cdrs = cdrs[:0]
		for i := start; i < min(start+dashboardBenchBatch, dashboardBenchCDRs); i++ {
			c := &store.CDR{CallID: fmt.Sprintf("bench-%07d", i), From: "+14155550100", To: fmt.Sprintf("+1212555%04d", i%10000),
				StartedAt: first.Add(time.Duration(i) * step).Truncate(time.Second), DurationS: i % 600, Disposition: store.Answered}
			switch {
			case i%4 == 0:
				c.Direction, c.From, c.To, c.BillableS = store.Inbound, fmt.Sprintf("+1415555%04d", i%10000), "+14155550100", c.DurationS
			case i%10 == 1:
				c.Direction, c.DurationS, c.Disposition = store.Outbound, 0, store.NoAnswer
			default:
				c.Direction, c.RatePrefix, c.RatePerMinute = store.Outbound, "1", 100
				c.BillableS = (c.DurationS + 59) / 60 * 60
				c.Cost = int64(c.BillableS) * 100 / 60
			}
			cdrs = append(cdrs, c)
		}
		err := ts.store.Update(func(tx *store.Tx) error {
			_, err := tx.RecordCDRs(rid, cleo.ID, cdrs, "bench")
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	setupTime := time.Since(setup)
	var dbSize int64
	if fi, err := os.Stat(ts.cfg.Store.Path); err == nil {
		dbSize = fi.Size()
	}

	br := ts.browser()
	br.t = b
	br.login(acmeHost, "client@acme.example", "/dashboard")
	r := br.get(acmeHost, "/dashboard")
	// 1,000,000 over 365 days: this month (2 Nov) holds about 4,400 calls
	if r.status != 200 || stat(b, r.body, "month-calls") == "0" || strings.Count(r.body, `<rect class="chart-bar`) < 40 {
		b.Fatalf("dashboard: %d", r.status)
	}
	times := make([]time.Duration, 0, 1024)
	for b.Loop() {
		t0 := time.Now()
		br.get(acmeHost, "/dashboard")
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	// reported after the loop: b.Loop's first call resets the metrics
	b.ReportMetric(setupTime.Seconds(), "setup-s")
	b.ReportMetric(float64(dbSize)/(1<<20), "db-MiB")
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
}
