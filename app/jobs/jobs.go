// Package jobs owns scheduled work: a robfig/cron scheduler in UTC built
// from [jobs], with one method per job. Every job is idempotent, so a
// repeated or overlapping run does no harm. It never imports Fiber.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"portico/app/billing"
	"portico/app/calls"
	"portico/app/clients"
	"portico/app/config"
	"portico/app/domains"
	"portico/store"
)

// Scheduler runs the jobs on their schedules.
type Scheduler struct {
	store     *store.Store
	log       *slog.Logger
	cron      *cron.Cron
	backupDir string
	keep      int
	svc       Services
	// OnRun, when set, is told every run's outcome (metrics).
	OnRun func(job string, err error)

	// ctx ends when Stop is called, so that a long run (the invoice run)
	// stops between two transactions; the next run resumes it.
	ctx    context.Context
	cancel context.CancelFunc
	// running holds one lock per job: a run is skipped while the same
	// job is still running, whether started by the schedule or at start.
	running map[string]*sync.Mutex
	atStart []job // jobs that also run once when the scheduler starts
	started sync.WaitGroup
}

type job struct {
	name string
	run  func(context.Context) error
}

// Services are the services the jobs call: the web app's own instances
// (app.NewServices), so that caches stay one.
type Services struct {
	Clients *clients.Service
	Calls   *calls.Service
	Domains *domains.Service
	Billing *billing.Service
}

// New builds the scheduler; a spec of "" or "off" disables that job.
func New(cfg config.Jobs, s *store.Store, svc Services, backupDir string, log *slog.Logger) (*Scheduler, error) {
	sch := &Scheduler{store: s, svc: svc, log: log, backupDir: backupDir, keep: cfg.BackupKeep,
		// Money and clean-up jobs run in UTC: local time zones skip or
		// repeat hours at daylight-saving changes.
		cron:    cron.New(cron.WithLocation(time.UTC), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger))),
		running: map[string]*sync.Mutex{}}
	sch.ctx, sch.cancel = context.WithCancel(context.Background())
	jobs := []struct {
		name, spec string
		run        func(context.Context) error
		atStart    bool
	}{
		{"session_cleanup", cfg.SessionCleanup, sch.CleanupSessions, false},
		{"backup", cfg.Backup, sch.Backup, false},
		{"client_cleanup", cfg.ClientCleanup, sch.CleanupClients, false},
		{"domain_check", cfg.DomainCheck, sch.CheckDomains, false},
		{"release_reservations", cfg.ReleaseReservations, sch.ReleaseReservations, false},
		{"cdr_retention", cfg.CDRRetention, sch.ApplyCDRRetention, false},
		// at start too: periods that began while the server was down are
		// invoiced now, not up to an hour later
		{"invoices", cfg.Invoices, sch.RunInvoices, true},
	}
	for _, j := range jobs {
		if j.spec == "" || j.spec == "off" {
			continue
		}
		sch.running[j.name] = &sync.Mutex{}
		if _, err := sch.cron.AddFunc(j.spec, func() { sch.run(j.name, j.run) }); err != nil {
			return nil, fmt.Errorf("jobs: %s: %w", j.name, err)
		}
		if j.atStart {
			sch.atStart = append(sch.atStart, job{j.name, j.run})
		}
	}
	return sch, nil
}

// Start begins running jobs in the background; the jobs that catch up
// (the invoice run) also run once at once, in the background, so that
// serving does not wait for them.
func (s *Scheduler) Start() {
	s.cron.Start()
	for _, j := range s.atStart {
		s.started.Go(func() { s.run(j.name, j.run) })
	}
}

// Stop stops scheduling, tells running jobs to stop (a long run stops
// between two transactions; what it did is kept and the next run goes on
// from there) and waits for them, up to ctx's deadline.
func (s *Scheduler) Stop(ctx context.Context) {
	done := s.cron.Stop()
	s.cancel()
	all := make(chan struct{})
	go func() {
		<-done.Done()
		s.started.Wait()
		close(all)
	}()
	select {
	case <-all:
	case <-ctx.Done():
	}
}

func (s *Scheduler) run(name string, fn func(context.Context) error) {
	if mu := s.running[name]; mu != nil {
		if !mu.TryLock() {
			s.log.Info("job skipped: still running", "job", name)
			return
		}
		defer mu.Unlock()
	}
	if s.ctx.Err() != nil { // stopping
		return
	}
	start := time.Now()
	err := fn(s.ctx)
	if s.OnRun != nil {
		s.OnRun(name, err)
	}
	if err != nil {
		s.log.Error("job failed", "job", name, "err", err, "duration_ms", time.Since(start).Milliseconds())
		return
	}
	s.log.Info("job done", "job", name, "duration_ms", time.Since(start).Milliseconds())
}

// CleanupSessions deletes expired sessions, password-reset and email
// change links, pending two-factor sign-ins and spent form tokens.
func (s *Scheduler) CleanupSessions(context.Context) error {
	n, err := s.store.DeleteExpiredSessions()
	if err != nil {
		return fmt.Errorf("jobs: session clean-up: %w", err)
	}
	var resets, emailChanges, challenges, forms int
	err = s.store.Update(func(tx *store.Tx) (err error) {
		if resets, err = tx.DeleteExpiredPasswordResets(); err != nil {
			return err
		}
		if emailChanges, err = tx.DeleteExpiredEmailChanges(); err != nil {
			return err
		}
		if challenges, err = tx.DeleteExpiredLoginChallenges(); err != nil {
			return err
		}
		forms, err = tx.DeleteExpiredFormUses()
		return err
	})
	if err != nil {
		return fmt.Errorf("jobs: reset clean-up: %w", err)
	}
	// invitations are kept 30 days past expiry, so a late click still
	// hears "expired, ask for a new one" rather than "not valid"
	var invitations int
	err = s.store.Update(func(tx *store.Tx) (err error) {
		invitations, err = tx.DeleteExpiredInvitations(30 * 24 * time.Hour)
		return err
	})
	if err != nil {
		return fmt.Errorf("jobs: invitation clean-up: %w", err)
	}
	s.log.Info("expired sessions removed", "job", "session_cleanup", "sessions", n, "password_resets", resets, "invitations", invitations,
		"email_changes", emailChanges, "login_challenges", challenges, "form_tokens", forms)
	return nil
}

// CleanupClients deletes clients disabled for 90 days or more.
func (s *Scheduler) CleanupClients(context.Context) error {
	n, err := s.svc.Clients.Cleanup(s.store.Now())
	if err != nil {
		return fmt.Errorf("jobs: client clean-up: %w", err)
	}
	s.log.Info("disabled clients deleted", "job", "client_cleanup", "clients", n)
	return nil
}

// ReleaseReservations returns the credit held for calls whose CDR did not
// come within the reseller's maximum call length and grace.
func (s *Scheduler) ReleaseReservations(context.Context) error {
	n, err := s.svc.Calls.ReleaseExpired(s.store.Now())
	if err != nil {
		return fmt.Errorf("jobs: release reservations: %w", err)
	}
	if n > 0 {
		s.log.Info("stale reservations released", "job", "release_reservations", "reservations", n)
	}
	return nil
}

// ApplyCDRRetention deletes months of CDRs older than each reseller
// keeps, and old blocked-caller counters.
func (s *Scheduler) ApplyCDRRetention(context.Context) error {
	res, err := s.svc.Calls.ApplyRetention(s.store.Now())
	if err != nil {
		return fmt.Errorf("jobs: cdr retention: %w", err)
	}
	s.log.Info("cdr retention applied", "job", "cdr_retention", "months", res.Months, "cdrs", res.CDRs, "blocked_counters", res.BlockedCounts)
	return nil
}

// RunInvoices issues, for every active reseller, the invoices of every
// period that has begun in its time zone and is not invoiced yet, from
// the oldest one missed (at most billing.MaxCatchUp periods back). It is
// idempotent: each (client, period) is invoiced once, however often and
// however many runs there are. Stopped mid-way (ctx ends), it keeps what
// it committed and the next run issues the rest.
func (s *Scheduler) RunInvoices(ctx context.Context) error {
	res, err := s.svc.Billing.RunDue(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("jobs: invoices: %w", err)
	}
	if res.Created > 0 || len(res.Failed) > 0 || err != nil {
		s.log.Info("invoices issued", "job", "invoices", "created", res.Created, "existing", res.Existing,
			"failed", len(res.Failed), "stopped", err != nil)
	}
	if len(res.Failed) > 0 {
		return fmt.Errorf("jobs: invoices: %d client(s) not invoiced (logged above); the next run tries them again", len(res.Failed))
	}
	return nil
}

// CheckDomains checks every due pending domain and verifies those whose
// DNS proves them.
func (s *Scheduler) CheckDomains(ctx context.Context) error {
	return s.svc.Domains.CheckPending(ctx)
}

// backupPrefix names the daily backups; only these are pruned.
const backupPrefix = "portico-"

// Backup writes a consistent copy of the store into the backup directory
// and keeps the newest `backup_keep` daily copies.
func (s *Scheduler) Backup(context.Context) error {
	name := backupPrefix + s.store.Now().UTC().Format("20060102T150405Z") + ".db"
	path := filepath.Join(s.backupDir, name)
	if err := s.store.BackupTo(path); err != nil {
		return fmt.Errorf("jobs: backup: %w", err)
	}
	removed, err := Prune(s.backupDir, s.keep)
	if err != nil {
		return fmt.Errorf("jobs: backup retention: %w", err)
	}
	s.log.Info("backup written", "job", "backup", "path", path, "pruned", len(removed))
	return nil
}

// Prune deletes all but the newest keep daily backups in dir and returns
// what it removed. Backups taken before migrations are left alone.
func Prune(dir string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), backupPrefix) && strings.HasSuffix(e.Name(), ".db") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // the timestamp in the name sorts by age
	var removed []string
	for len(names) > keep {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			return removed, err
		}
		removed = append(removed, names[0])
		names = names[1:]
	}
	return removed, nil
}
