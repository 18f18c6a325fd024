package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"portico/app/config"
	"portico/app/tenancy"
	"portico/store"
)

// `go run ./bench invoices`: the monthly invoice run over 10,000 clients,
// the way an operator meets it: `portico invoices run` (a process of its
// own, Go's default collector settings) and the invoice job the server
// runs at start (its serving settings). It reports wall time, invoices/s,
// CPU and peak RSS; it asserts nothing but that every invoice was issued.

type invoicesOptions struct {
	clients int
	rounds  int
	bin     string
	keep    bool
}

// invoicesConfig: one reseller in New York, quiet logs (the per-mail
// "kept in outbox" lines would be measured otherwise), no SMTP, so the
// mail queue sends nothing while the job runs.
const invoicesConfig = `[log]
level = "warn"
[[reseller]]
slug = "acme"
name = "Acme Voice"
currency = "USD"
owner_email = "owner@acme.example"
timezone = "America/New_York"
`

func mainInvoices(args []string) error {
	var o invoicesOptions
	fs := flag.NewFlagSet("bench invoices", flag.ContinueOnError)
	fs.IntVar(&o.clients, "clients", 10_000, "subscribed clients to invoice")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds (each: the command on a fresh copy, its re-run, the server's job on another copy); medians are reported")
	fs.StringVar(&o.bin, "bin", "", "measure this portico binary instead of building the working tree")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp dir")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.clients < 1 || o.rounds < 1 || o.rounds > 10 {
		return errors.New("-clients must be ≥ 1 and -rounds between 1 and 10")
	}
	cleanUpOnInterrupt()
	root, tmp, err := workspace("", o.keep, "portico-bench-invoices-")
	if err != nil {
		return err
	}
	defer removeTemp()
	load := loadAvg()
	fmt.Printf("portico bench invoices: %d clients, %d round(s); %d CPUs, %s, load average %s\n", o.clients, o.rounds, runtime.NumCPU(), runtime.Version(), load)
	if busy(load) {
		fmt.Println("WARNING: the machine is busy: absolute figures will be low and noisy")
	}
	bin := o.bin
	if bin == "" {
		if bin, err = buildPortico(root, tmp); err != nil {
			return err
		}
	}
	cfgPath := filepath.Join(tmp, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(invoicesConfig), 0o600); err != nil {
		return err
	}
	seedPath := filepath.Join(tmp, "seed.db")
	t0 := time.Now()
	period, err := seedInvoices(cfgPath, seedPath, o.clients)
	if err != nil {
		return err
	}
	info, _ := os.Stat(seedPath)
	fmt.Printf("seeded %d clients with subscriptions (a quarter with extra seats and an add-on), seller details, a 24 KB logo: %s, %.1f MiB, in %s\n",
		o.clients, seedPath, float64(info.Size())/(1<<20), time.Since(t0).Round(time.Millisecond))
	fmt.Printf("period invoiced: %s (New York); fsync on; mail queued in the outbox, not sent\n\n", period)

	type cliRun = commandRun
	var cli, rerun []cliRun
	var job []time.Duration
	var jobHWM []int64
	for i := range o.rounds {
		dir := filepath.Join(tmp, fmt.Sprintf("round%d", i))
		// the command, then its re-run on the same store
		path := filepath.Join(dir, "cli", "portico.db")
		if err := copyFile(seedPath, path); err != nil {
			return err
		}
		for pass, want := range []string{fmt.Sprintf("created %d, existing 0", o.clients), fmt.Sprintf("created 0, existing %d", o.clients)} {
			out, r, err := runInvoicesCommand(bin, cfgPath, path, period)
			if err != nil {
				return err
			}
			if line := "acme " + period + ": " + want + "\n"; out != line {
				return fmt.Errorf("invoices run printed %q, want %q", out, line)
			}
			run := r
			label := "invoices run"
			if pass == 0 {
				cli = append(cli, run)
			} else {
				rerun = append(rerun, run)
				label = "its re-run  "
			}
			fmt.Printf("round %d: %s  wall %8s  CPU %8s  peak RSS %s\n", i+1, label, fmtDur(run.wall), fmtDur(run.cpu), kB(run.maxRSS))
		}
		// the server's job at start
		srvData := filepath.Join(dir, "srv")
		if err := copyFile(seedPath, filepath.Join(srvData, "portico.db")); err != nil {
			return err
		}
		d, hwm, err := serverInvoiceJob(bin, cfgPath, srvData)
		if err != nil {
			return err
		}
		if n, err := invoicesIssued(filepath.Join(srvData, "portico.db")); err != nil || n != uint64(o.clients) {
			return fmt.Errorf("the server's job issued %d invoices, want %d (%v)", n, o.clients, err)
		}
		job, jobHWM = append(job, d), append(jobHWM, hwm)
		fmt.Printf("round %d: server job    exec → job done %8s  server peak RSS (VmHWM) %s\n", i+1, fmtDur(d), kB(hwm))
	}

	med := func(runs []cliRun, f func(cliRun) time.Duration) time.Duration {
		var v []time.Duration
		for _, r := range runs {
			v = append(v, f(r))
		}
		return median(v)
	}
	rss := func(runs []cliRun) int64 {
		var v []int64
		for _, r := range runs {
			v = append(v, r.maxRSS)
		}
		return medianInt(v)
	}
	wall := med(cli, func(r cliRun) time.Duration { return r.wall })
	fmt.Printf("\n| %-44s | %9s | %10s | %9s | %12s |\n", fmt.Sprintf("%d clients, medians of %d", o.clients, o.rounds), "wall", "invoices/s", "CPU", "peak RSS")
	fmt.Printf("|%s|%s|%s|%s|%s|\n", dashes(46), dashes(11), dashes(12), dashes(11), dashes(14))
	fmt.Printf("| %-44s | %9s | %10.0f | %9s | %12s |\n", "portico invoices run (fresh period)", fmtDur(wall),
		float64(o.clients)/wall.Seconds(), fmtDur(med(cli, func(r cliRun) time.Duration { return r.cpu })), kB(rss(cli)))
	fmt.Printf("| %-44s | %9s | %10s | %9s | %12s |\n", "its re-run (all existing: nothing written)", fmtDur(med(rerun, func(r cliRun) time.Duration { return r.wall })),
		"", fmtDur(med(rerun, func(r cliRun) time.Duration { return r.cpu })), kB(rss(rerun)))
	jw := median(job)
	fmt.Printf("| %-44s | %9s | %10.0f | %9s | %12s |\n", "server: exec → invoice job at start done", fmtDur(jw), float64(o.clients)/jw.Seconds(), "", kB(medianInt(jobHWM)))
	fmt.Println("\nwall and peak RSS of the command include opening the store; the server's time includes its start-up, its RSS everything it holds serving.")
	return nil
}

// seedInvoices writes, without fsync, reseller acme as the config declares
// it (its first owner created here, so that no run measures that hash),
// with seller details, a 24 KB logo, a plan, an add-on and n clients
// subscribed since the start of the current New York month, which it
// returns.
func seedInvoices(cfgPath, path string, n int) (string, error) {
	cfg, err := config.Load(config.Source{File: cfgPath, Flags: map[string]string{"store.path": path}})
	if err != nil {
		return "", err
	}
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		return "", err
	}
	defer s.Close()
	if _, _, err := tenancy.Reconcile(s, cfg); err != nil {
		return "", err
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		return "", err
	}
	y, m, _ := time.Now().In(ny).Date()
	start := time.Date(y, m, 1, 0, 0, 0, 0, ny)
	logo := make([]byte, 24<<10)
	for i := range logo {
		logo[i] = byte(i * 7)
	}
	var r *store.Reseller
	addon := &store.AddOn{Name: "Recording", MonthlyFee: 2 * 10_000, PerSeat: true}
	plan := &store.Plan{Name: "Basic", Kind: store.PlanSubscription, MonthlyFee: 10 * 10_000, IncludedSeats: 2, SeatFee: 5 * 10_000, Status: store.CatalogActive}
	err = s.Update(func(tx *store.Tx) error {
		if r, err = tx.ResellerBySlug("acme"); err != nil {
			return err
		}
		r.Seller = store.SellerDetails{LegalName: "Acme Voice LLC", VATNumber: "US123", Address1: "1 Acme Way", City: "New York",
			Zip: "10001", State: "NY", Country: "US", Footer: "Thank you for your business.", TaxRates: map[string]int{"US": 800, "*": 0}}
		if err := tx.UpdateReseller(r); err != nil {
			return err
		}
		if err := tx.PutBrandAsset(r.ID, &store.BrandAsset{Name: store.AssetLogo, ContentType: "image/png", Data: logo}); err != nil {
			return err
		}
		addon.ResellerID, plan.ResellerID = r.ID, r.ID
		if err := store.PutCatalog(tx, addon); err != nil {
			return err
		}
		plan.AddOns = []uint64{addon.ID}
		return store.PutCatalog(tx, plan)
	})
	if err != nil {
		return "", err
	}
	for done := 0; done < n; done += 1000 {
		err := s.Update(func(tx *store.Tx) error {
			for i := done; i < min(done+1000, n); i++ {
				name := fmt.Sprintf("c%06d", i)
				c := &store.Client{ResellerID: r.ID, Username: name, FirstName: "A", LastName: "B", Company: "Company " + name,
					Email: name + "@example.com", Country: "US", City: "Springfield", Address1: "1 Main St", Zip: "12345"}
				if err := tx.CreateClient(c, &store.User{Email: name + "@example.com", PasswordHash: "x"}, "bench"); err != nil {
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
			return "", err
		}
	}
	return start.Format("2006-01"), nil
}

type commandRun struct {
	wall, cpu time.Duration
	maxRSS    int64 // kB, the kernel's peak resident set of the process
}

// runInvoicesCommand runs `portico invoices run` over path and returns
// its standard output and what it cost.
func runInvoicesCommand(bin, cfgPath, path, period string) (string, commandRun, error) {
	cmd := exec.Command(bin, "--config", cfgPath, "--store", path, "invoices", "run", "--period", period)
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = childAttr()
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, errOut
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return "", commandRun{}, err
	}
	track(cmd)
	err := cmd.Wait()
	wall := time.Since(t0)
	untrack(cmd)
	if err != nil {
		return "", commandRun{}, fmt.Errorf("invoices run: %v\n%s%s", err, out, errOut)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r := commandRun{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), maxRSS: -1}
	if ru != nil {
		r.maxRSS = ru.Maxrss
	}
	return out.String(), r, nil
}

// serverInvoiceJob starts the server over dataDir/portico.db, whose
// invoice job runs once at start, and waits for the job's run to show in
// the server's metrics; it returns exec → job done and the server's
// VmHWM then.
func serverInvoiceJob(bin, cfgPath, dataDir string) (time.Duration, int64, error) {
	addr, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	cmd := exec.Command(bin, "--config", cfgPath, "--store", filepath.Join(dataDir, "portico.db"), "--http", addr)
	cmd.Dir = dataDir
	cmd.Env = cleanEnv()
	p, err := start(cmd, addr, "/healthz")
	if err != nil {
		return 0, 0, err
	}
	defer p.stop()
	t0 := time.Now().Add(-p.startup)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		m, err := p.metrics()
		if err != nil {
			return 0, 0, err
		}
		if m.sum("portico_job_runs_total", map[string]string{"job": "invoices"}) > 0 {
			d := time.Since(t0)
			if m.value("portico_job_runs_total", map[string]string{"job": "invoices", "result": "ok"}) != 1 {
				return 0, 0, fmt.Errorf("the invoice job failed:\n%s", p.stderr)
			}
			return d, readStatus(p.pid(), "VmHWM"), nil
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("the invoice job did not finish within 10 minutes:\n%s", p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// invoicesIssued is how many invoices reseller acme has in the store.
func invoicesIssued(path string) (uint64, error) {
	s, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	var n uint64
	err = s.View(func(tx *store.Tx) error {
		r, err := tx.ResellerBySlug("acme")
		if err == nil {
			n = tx.LastInvoiceSeq(r.ID)
		}
		return err
	})
	return n, err
}

// cleanEnv is the harness's environment without PORTICO_* settings, so
// that only the config file counts.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTICO_") {
			env = append(env, kv)
		}
	}
	return env
}

// copyFile copies src to dst, creating dst's directory.
func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
