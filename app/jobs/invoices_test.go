package jobs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"portico/app/billing"
	"portico/app/config"
	"portico/app/testkit"
	"portico/store"
)

// outbox queues invoice mail as the server's queue does with SMTP
// configured: pending, for the worker to send later.
type outbox struct{}

func (outbox) Enqueue(tx *store.Tx, m *store.MailMessage) error { return tx.EnqueueMail(m) }

type letter struct{}

func (letter) BrandName(r *store.Reseller) string  { return r.Name }
func (letter) SenderName(r *store.Reseller) string { return r.Name }
func (letter) Link(_ *store.Tx, r *store.Reseller, p string) (string, error) {
	return "https://" + r.Slug + ".portal.test" + p, nil
}

// seedSubscribers creates reseller acme (UTC) with a plan and n clients
// subscribed to it since start, in a few large transactions.
func seedSubscribers(t *testing.T, s *store.Store, n int, start time.Time) *store.Reseller {
	t.Helper()
	res, err := s.ReconcileResellers([]store.ResellerSpec{{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example"}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.NeedOwner[0]
	plan := &store.Plan{ResellerID: r.ID, Name: "Basic", Kind: store.PlanSubscription, MonthlyFee: 10 * 10_000,
		IncludedSeats: 1, SeatFee: 5 * 10_000, Status: store.CatalogActive}
	if err := s.Update(func(tx *store.Tx) error { return store.PutCatalog(tx, plan) }); err != nil {
		t.Fatal(err)
	}
	for done := 0; done < n; done += 500 {
		err := s.Update(func(tx *store.Tx) error {
			for i := done; i < min(done+500, n); i++ {
				name := fmt.Sprintf("c%05d", i)
				c := &store.Client{ResellerID: r.ID, Username: name, Email: name + "@example.com", Country: "US"}
				if err := tx.CreateClient(c, &store.User{Email: name + "@example.com", PasswordHash: "x"}, "seed"); err != nil {
					return err
				}
				err := tx.PutSubscription(&store.Subscription{ResellerID: r.ID, ClientID: c.ID, PlanID: plan.ID, Seats: 1 + i%3,
					Status: store.SubscriptionActive, StartedAt: start})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func invoiceScheduler(t testing.TB, cfg config.Jobs, s *store.Store, log *slog.Logger) *Scheduler {
	t.Helper()
	sch, err := New(cfg, s, Services{Billing: billing.New(s, outbox{}, letter{}, log)}, t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestInvoiceJobAtStart: with [jobs] invoices on, starting the scheduler
// runs the invoice run at once (catching up the three periods that began
// while nothing ran); with it off, nothing runs at start. A run stopped
// before it began (Stop cancels its context) issues nothing and is no
// failure; the next run issues everything.
func TestInvoiceJobAtStart(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(time.Date(2026, 4, 10, 12, 0, 0, 0, time.UTC))
	s := testkit.OpenStore(t, clock)
	r := seedSubscribers(t, s, 5, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	count := func() (n uint64) {
		s.View(func(tx *store.Tx) error { n = tx.LastInvoiceSeq(r.ID); return nil })
		return n
	}

	off := invoiceScheduler(t, config.Jobs{Invoices: "off"}, s, quiet)
	off.OnRun = func(job string, err error) { t.Errorf("job %s ran with invoices off", job) }
	off.Start()
	off.Stop(context.Background()) // waits for any run at start
	if n := count(); n != 0 {
		t.Fatalf("invoices off: %d invoices issued", n)
	}

	sch := invoiceScheduler(t, config.Jobs{Invoices: "@every 1h"}, s, quiet)
	ran := make(chan error, 1)
	sch.OnRun = func(job string, err error) {
		if job == "invoices" {
			ran <- err
		}
	}
	sch.Start()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no invoice run at start")
	}
	sch.Stop(context.Background())
	if n := count(); n != 5*3 { // February, March, April
		t.Fatalf("catch-up at start: %d invoices, want 15", n)
	}

	clock.Advance(30 * 24 * time.Hour) // May has begun
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sch.RunInvoices(stopped); err != nil {
		t.Fatalf("a stopped run: %v", err)
	}
	if n := count(); n != 15 {
		t.Fatalf("a stopped run issued %d invoices", n-15)
	}
	if err := sch.RunInvoices(context.Background()); err != nil || count() != 20 {
		t.Fatalf("May: %v, %d invoices", err, count())
	}
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

// The invoice run killed mid-way: the clock both processes use, the
// number of clients, and the environment variable that makes the test
// binary the child.
var killedAt = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

const (
	killedClients = 3000
	killedEnv     = "PORTICO_TEST_INVOICE_RUN_STORE"
)

// TestInvoiceRunKilled: the invoice job runs in a child process (this
// test binary re-executed) over 3,000 subscribed clients and is killed
// with SIGKILL once it has committed a few batches; the run started again
// over the same file issues the rest. Every client then has exactly one
// invoice of the period and one invoice mail, the numbers run 1..3000
// without a gap in the order the invoices were issued, and verify finds
// nothing wrong.
func TestInvoiceRunKilled(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a child process over 3,000 clients")
	}
	path := filepath.Join(t.TempDir(), "portico.db")
	now := func() time.Time { return killedAt }
	s, err := store.Open(path, store.Options{Now: now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	r := seedSubscribers(t, s, killedClients, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) // April and May to invoice
	s.Close()

	child := exec.Command(os.Args[0], "-test.run=^TestInvoiceRunKilledChild$", "-test.count=1")
	child.Env = append(os.Environ(), killedEnv+"="+path)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	batches := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.Contains(sc.Text(), "batch committed") {
			if batches++; batches == 3 {
				if err := child.Process.Kill(); err != nil { // SIGKILL: no clean-up of any kind
					t.Fatal(err)
				}
				break
			}
		}
	}
	io.Copy(io.Discard, out)
	state, _ := child.Process.Wait()
	if batches < 3 {
		t.Fatalf("the child ended before it was killed (%v):\n%s", state, strings.Join(lines, "\n"))
	}
	if status, ok := state.Sys().(interface{ Signaled() bool }); !ok || !status.Signaled() {
		t.Fatalf("the child was not killed: %v", state)
	}

	s, err = store.Open(path, store.Options{Now: now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var before uint64
	s.View(func(tx *store.Tx) error { before = tx.LastInvoiceSeq(r.ID); return nil })
	if before == 0 || before >= 2*killedClients {
		t.Fatalf("the kill was not mid-run: %d of %d invoices issued", before, 2*killedClients)
	}
	t.Logf("killed after %d committed batches with %d of %d invoices issued", batches, before, 2*killedClients)

	sch := invoiceScheduler(t, config.Jobs{}, s, quiet)
	if err := sch.RunInvoices(context.Background()); err != nil {
		t.Fatal(err)
	}

	type key struct {
		client uint64
		period string
	}
	seen := map[key]int{}
	var issued []*store.Invoice
	refs := map[string]bool{}
	err = s.View(func(tx *store.Tx) error {
		if err := tx.Invoices(r.ID, 0, func(inv *store.Invoice) bool {
			issued = append(issued, inv)
			seen[key{inv.ClientID, inv.Period}]++
			return true
		}); err != nil {
			return err
		}
		mails, err := tx.Outbox()
		for _, m := range mails {
			for _, a := range m.Attachments {
				if refs[a.Ref] {
					t.Errorf("invoice %s mailed twice", a.Ref)
				}
				refs[a.Ref] = true
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(issued) != 2*killedClients || len(seen) != 2*killedClients {
		t.Fatalf("%d invoices for %d (client, period) pairs, want %d of each", len(issued), len(seen), 2*killedClients)
	}
	for k, n := range seen {
		if n != 1 || (k.period != "2026-04" && k.period != "2026-05") {
			t.Fatalf("client %d period %s: %d invoices", k.client, k.period, n)
		}
	}
	slices.SortFunc(issued, func(a, b *store.Invoice) int { return int(a.ID) - int(b.ID) })
	for i, inv := range issued {
		want := uint64(i + 1)
		if inv.Seq != want || inv.Number != fmt.Sprintf("ACME-2026-%06d", want) {
			t.Fatalf("invoice %d in issue order has seq %d, number %s", i+1, inv.Seq, inv.Number)
		}
		if !refs[billing.InvoiceRef(r.ID, inv.ID)] {
			t.Fatalf("invoice %s has no mail", inv.Number)
		}
	}
	if len(refs) != len(issued) {
		t.Fatalf("%d invoice mails for %d invoices", len(refs), len(issued))
	}
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

// TestInvoiceRunKilledChild is the child of TestInvoiceRunKilled: the
// invoice job over the store the parent names, with fsync as in
// production, printing a line per committed batch until it is killed.
func TestInvoiceRunKilledChild(t *testing.T) {
	path := os.Getenv(killedEnv)
	if path == "" {
		t.Skip("the child process of TestInvoiceRunKilled")
	}
	s, err := store.Open(path, store.Options{Now: func() time.Time { return killedAt }})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sch := invoiceScheduler(t, config.Jobs{}, s, log)
	if err := sch.RunInvoices(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("run finished")
	s.Close()
}

// TestJobNeverOverlapsItself: a run of a job that is still running (from
// the schedule or from start) is skipped, not run beside it.
func TestJobNeverOverlapsItself(t *testing.T) {
	t.Parallel()
	s := testkit.OpenStore(t, testkit.NewClock(killedAt))
	sch := invoiceScheduler(t, config.Jobs{Invoices: "@every 1h"}, s, quiet)
	ran := 0
	sch.OnRun = func(string, error) { ran++ }
	fn := func(context.Context) error { return nil }
	sch.running["invoices"].Lock() // a run in progress
	sch.run("invoices", fn)
	sch.running["invoices"].Unlock()
	if ran != 0 {
		t.Fatal("a second run went beside the first")
	}
	sch.run("invoices", fn)
	if ran != 1 {
		t.Fatal("the run after it did not happen")
	}
}
