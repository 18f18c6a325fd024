// Command bench measures Portico's server-rendered pages against a ceiling,
// in one run on one machine, with one load generator (wrk on loopback):
//
//	go run ./bench [-duration 10s] [-connections 32] [-threads 2]
//
// It builds the real binary, measures cold start and RSS, signs in over
// HTTP, seeds 51 audit events so the console's activity page shows a full
// 50-row table, and a client with 24 months of invoices (billing.go), and
// then loads four pages with wrk: the sign-in page, the activity page
// (signed in), the client's Billing tab (signed in as the client's owner),
// and a minimal Fiber app that renders the same activity page and Billing
// tab from pre-parsed html/templates with no store and no middleware (the
// ceiling), in interleaved rounds (-rounds, 3), every process with the
// server's collector settings (runtime.go). It reports req/s, p99
// latency, each page's ratio to its ceiling, and the store's write
// transactions during the GET runs (read from the server's Prometheus
// metrics). See bench/README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"portico/app/auth"
)

// consoleTarget is the ratio to the ceiling the console pages (the
// reseller's activity page, the client's Billing tab) should reach.
const consoleTarget = 0.7

// startRuns is how many times cold start is measured (median reported).
const startRuns = 5

type options struct {
	duration    time.Duration
	warmup      time.Duration
	connections int
	threads     int
	rounds      int
	wrk         string
	keep        bool
}

func main() {
	// Hidden mode: the harness re-executes itself as the ceiling server, so
	// the ceiling runs in its own process like the real server does.
	if len(os.Args) > 1 && os.Args[1] == jsonCeilingCommand {
		if err := serveJSONCeiling(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench json ceiling:", err)
			os.Exit(1)
		}
		return
	}
	// `bench calls`: the call endpoints (see calls.go).
	if len(os.Args) > 1 && os.Args[1] == "calls" {
		if err := mainCalls(os.Args[2:]); err != nil {
			fatalf("%v", err)
		}
		return
	}
	// `bench invoices`: the invoice run over 10,000 clients (invoices.go).
	if len(os.Args) > 1 && os.Args[1] == "invoices" {
		if err := mainInvoices(os.Args[2:]); err != nil {
			fatalf("%v", err)
		}
		return
	}
	// `bench memory`: RSS under parallel uploads, bodies and hashes (memory.go).
	if len(os.Args) > 1 && os.Args[1] == "memory" {
		if err := mainMemory(os.Args[2:]); err != nil {
			fatalf("%v", err)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == ceilingCommand {
		if err := serveCeiling(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench ceiling:", err)
			os.Exit(1)
		}
		return
	}

	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured wrk run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured wrk run before each measured one (0 to skip)")
	flag.IntVar(&o.connections, "connections", 32, "wrk connections (-c)")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads (-t)")
	flag.IntVar(&o.rounds, "rounds", 3, "passes over the pages, interleaved (1–4); medians are reported")
	flag.StringVar(&o.wrk, "wrk", "/usr/bin/wrk", "path to wrk")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (binary and data dirs) for inspection")
	flag.Parse()
	if o.duration < time.Second || o.duration > 10*time.Minute {
		fatalf("-duration must be between 1s and 10m")
	}
	if o.rounds < 1 || o.rounds > 4 {
		fatalf("-rounds must be between 1 and 4 (each round signs in once; the limit is 30 sign-ins per address per 10 minutes)")
	}
	if o.warmup != 0 && (o.warmup < time.Second || o.warmup > time.Minute) {
		fatalf("-warmup must be 0 or between 1s and 1m (wrk counts whole seconds)")
	}
	if o.connections < 1 || o.threads < 1 || o.threads > o.connections {
		fatalf("-connections and -threads must be ≥ 1, with threads ≤ connections")
	}

	// Every child is killed on the way out, however we leave.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "\nbench: %v: stopping child processes\n", s)
		killChildren()
		removeTemp()
		os.Exit(130)
	}()

	err := run(o)
	killChildren()
	if err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	killChildren()
	removeTemp()
	fmt.Fprintf(os.Stderr, "bench: FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// measured is one wrk run with the CPU time the server used meanwhile.
type measured struct {
	wrkResult
	cpu time.Duration
}

func (m measured) cpuPerRequest() time.Duration { return m.cpu / time.Duration(m.requests) }

// round is one pass over the pages, run back to back: each page right
// after its ceiling.
type round struct {
	ceiling, console, login measured
	billingCeiling, billing measured
	writes                  float64       // store write transactions during this round's GET runs
	sinceSignIn             time.Duration // sign-in to the end of the console or Billing run, the longer
}

// results gathers everything the final report prints.
type results struct {
	freshStart, restart      []time.Duration
	freshRSS, restartRSS     []int64 // kB
	rounds                   []round
	ceilingBody, consoleBody int
	loginBody                int
	billingCeilingBody       int
	billingBody              int
	billing                  *billingSeed
	serverRSSAfter           int64
	serverHWM                int64
	ceilingRSSAfter          int64
	loadBefore, loadAfter    string
}

func run(o options) error {
	root, tmp, err := workspace(o.wrk, o.keep, "portico-bench-")
	if err != nil {
		return err
	}
	defer removeTemp() // nothing to remove with -keep
	var r results
	r.loadBefore = loadAvg()
	estimate := time.Duration(o.rounds)*5*(o.duration+o.warmup) + 20*time.Second
	fmt.Printf("portico bench: %d CPUs, %s, wrk -t%d -c%d -d%s (warm-up %s), %d round(s); about %s in all\n",
		runtime.NumCPU(), runtime.Version(), o.threads, o.connections, o.duration, o.warmup, o.rounds, estimate.Round(time.Second))
	fmt.Printf("repo: %s; load average before: %s\n", root, r.loadBefore)
	settings := useServingRuntime()
	fmt.Printf("runtime: the server and the ceiling both run with %s (app/gctune, as portico serves)\n", settings)
	if busy(r.loadBefore) {
		fmt.Println("WARNING: the machine is busy (1-min load average ≥ CPUs/2): absolute figures will be low and noisy; ratios within a round hold better; consider -rounds 4 or a longer -duration")
	}

	// 1. Build the real binary once.
	t0 := time.Now()
	bin, err := buildPortico(root, tmp)
	if err != nil {
		return err
	}
	fmt.Printf("built %s in %s\n", bin, time.Since(t0).Round(time.Millisecond))

	// 2. Cold start and RSS: a first start on a fresh data dir (creates the
	// store, hashes the owner's first password), then a restart on it.
	fmt.Printf("\n== cold start: %d × (first start on a fresh data dir, then a restart on it)\n", startRuns)
	for i := range startRuns {
		dir := filepath.Join(tmp, fmt.Sprintf("start%d", i))
		for _, fresh := range []bool{true, false} {
			s, err := startPortico(bin, dir)
			if err != nil {
				return err
			}
			rss := s.rss()
			s.stop()
			label := "restart"
			if fresh {
				label = "first start"
				r.freshStart, r.freshRSS = append(r.freshStart, s.startup), append(r.freshRSS, rss)
			} else {
				r.restart, r.restartRSS = append(r.restart, s.startup), append(r.restartRSS, rss)
			}
			fmt.Printf("  run %d %-11s %9s to first 200 on /healthz, VmRSS %s\n", i+1, label, fmtDur(s.startup), kB(rss))
		}
	}

	// 3. The server under test: fresh data dir, owner password from stdout.
	fmt.Println("\n== server under test")
	srv, err := startPortico(bin, filepath.Join(tmp, "bench"))
	if err != nil {
		return err
	}
	defer srv.stop()
	email, password, err := srv.ownerCredentials()
	if err != nil {
		return err
	}
	fmt.Printf("  %s on %s, owner %s (password from the first-start output)\n", bin, srv.addr, email)

	// The Billing tab's client: seeded in the store (no server may have it
	// open), then the server restarts on it.
	srv.stop()
	t0 = time.Now()
	clientPassword := auth.GeneratePassword()
	if r.billing, err = seedBillingStore(filepath.Join(tmp, "bench", "data", "portico.db"), clientPassword); err != nil {
		return fmt.Errorf("billing seed: %w", err)
	}
	fmt.Printf("  seeded client northwind (%s) with %d monthly invoices through the invoice run, all paid but the newest %d, in %s\n",
		billingEmail, r.billing.invoices, billingUnpaid, time.Since(t0).Round(time.Millisecond))
	if srv, err = startPortico(bin, filepath.Join(tmp, "bench")); err != nil {
		return err
	}
	defer srv.stop()
	fmt.Printf("  restarted on the seeded store in %s\n", fmtDur(srv.startup))
	c := newClient(srv.addr, "localhost:"+srv.port())

	// 4. Seed the audit log: 25 sign-ins and sign-outs (50 events); each
	// round's sign-in adds one more, so the newest page is a full 50 rows
	// with an "Older events" link. 25 + rounds (≤ 4) POST /login stay under
	// the limit of 30 auth POSTs per address per 10 minutes.
	t0 = time.Now()
	for i := range 25 {
		tok, err := c.signIn(email, password)
		if err != nil {
			return fmt.Errorf("seed sign-in %d: %w", i+1, err)
		}
		if err := c.signOut(tok); err != nil {
			return fmt.Errorf("seed sign-out %d: %w", i+1, err)
		}
	}
	fmt.Printf("  seeded 50 audit events (25 sign-ins + 25 sign-outs over HTTP) in %s\n", time.Since(t0).Round(time.Millisecond))

	// 5. The ceiling: this harness re-executed as a minimal Fiber server.
	ceil, err := startCeiling(root)
	if err != nil {
		return err
	}
	defer ceil.stop()
	if err := checkRuntime(ceil, settings); err != nil {
		return err
	}
	ceilBody, err := get(ceil.addr, "", ceilingPath, "")
	if err != nil {
		return fmt.Errorf("ceiling page: %w", err)
	}
	if n := tableRows(ceilBody); n != 50 {
		return fmt.Errorf("ceiling page has %d table rows, want 50", n)
	}
	r.ceilingBody = len(ceilBody)
	fmt.Printf("  ceiling on %s: %s with 50 rows, %d bytes\n", ceil.addr, ceilingPath, r.ceilingBody)
	ceilBody, err = get(ceil.addr, "", billingPath, "")
	if err != nil {
		return fmt.Errorf("ceiling Billing tab: %w", err)
	}
	if err := checkBillingPage(ceilBody); err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	r.billingCeilingBody = len(ceilBody)
	fmt.Printf("  ceiling on %s: %s, %d bytes\n", ceil.addr, billingPath, r.billingCeilingBody)

	for i := range o.rounds {
		rd, err := runRound(o, i, c, srv, ceil, email, password, clientPassword, &r)
		if err != nil {
			return err
		}
		r.rounds = append(r.rounds, rd)
	}
	r.serverRSSAfter = readStatus(srv.pid(), "VmRSS")
	r.serverHWM = readStatus(srv.pid(), "VmHWM")
	r.ceilingRSSAfter = readStatus(ceil.pid(), "VmRSS")
	r.loadAfter = loadAvg()
	report(o, r)
	return nil
}

// runRound loads the ceiling, then signs in and loads the console page,
// then the sign-in page; then the ceiling's Billing tab, and signed in as
// the client's owner, the real one. The store's write count is read
// around each GET run, and every response of those runs is checked to be
// a 200.
func runRound(o options, i int, c *client, srv, ceil *process, email, password, clientPassword string, r *results) (round, error) {
	var rd round
	var err error
	fmt.Printf("\n== round %d/%d\n", i+1, o.rounds)
	rd.ceiling, err = measure(o, "ceiling", ceil.pid(), "http://"+ceil.addr+ceilingPath, "", "")
	if err != nil {
		return rd, fmt.Errorf("ceiling: %w", err)
	}

	// Sign in just before the console run, so the session's last-seen
	// (rewritten at most once a minute) stays fresh throughout it.
	session, err := c.signIn(email, password)
	if err != nil {
		return rd, fmt.Errorf("sign-in: %w", err)
	}
	signedIn := time.Now()
	consoleBody, status, err := c.get(consolePath, session)
	if err != nil {
		return rd, err
	}
	if status != 200 {
		return rd, fmt.Errorf("GET %s signed in: status %d, want 200", consolePath, status)
	}
	if n := tableRows(consoleBody); n != 50 {
		return rd, fmt.Errorf("GET %s has %d rows in its table's tbody, want 50 (the audit log was not seeded as expected)", consolePath, n)
	}
	r.consoleBody = len(consoleBody)
	loginBody, status, err := c.get(loginPath, "")
	if err != nil {
		return rd, err
	}
	if status != 200 || !strings.Contains(loginBody, `name="_csrf"`) {
		return rd, fmt.Errorf("GET %s: status %d, want 200 with a sign-in form", loginPath, status)
	}
	r.loginBody = len(loginBody)
	fmt.Printf("  signed in; %s shows 50 rows (%d bytes); %s is %d bytes\n", consolePath, r.consoleBody, loginPath, r.loginBody)

	for _, p := range []struct {
		name, path, cookie string
		into               *measured
	}{
		{"console", consolePath, sessionCookie + "=" + session, &rd.console},
		{"sign-in", loginPath, "", &rd.login},
	} {
		if err := measureServer(o, c, srv, p.name, p.path, p.path, p.cookie, p.into, &rd.writes); err != nil {
			return rd, err
		}
		if p.path == consolePath {
			rd.sinceSignIn = time.Since(signedIn)
		}
	}

	// the client's Billing tab, after its ceiling
	rd.billingCeiling, err = measure(o, "ceiling", ceil.pid(), "http://"+ceil.addr+billingPath, "", "")
	if err != nil {
		return rd, fmt.Errorf("ceiling Billing tab: %w", err)
	}
	clientSession, err := c.signIn(billingEmail, clientPassword)
	if err != nil {
		return rd, fmt.Errorf("client sign-in: %w", err)
	}
	signedIn = time.Now()
	billingBody, status, err := c.get(billingPath, clientSession)
	if err != nil {
		return rd, err
	}
	if status != 200 {
		return rd, fmt.Errorf("GET %s signed in as the client's owner: status %d, want 200", billingPath, status)
	}
	if err := checkBillingPage(billingBody); err != nil {
		return rd, fmt.Errorf("GET %s: %w", billingPath, err)
	}
	r.billingBody = len(billingBody)
	fmt.Printf("  signed in as %s; %s is %d bytes\n", billingEmail, billingPath, r.billingBody)
	if err := measureServer(o, c, srv, "billing", billingPath, billingRoute, sessionCookie+"="+clientSession, &rd.billing, &rd.writes); err != nil {
		return rd, err
	}
	rd.sinceSignIn = max(rd.sinceSignIn, time.Since(signedIn))
	return rd, nil
}

// measureServer loads path on the server (measure), adds the store's
// write transactions meanwhile to writes, and checks that every response
// was a 200 of route.
func measureServer(o options, c *client, srv *process, name, path, route, cookie string, into *measured, writes *float64) error {
	before, err := srv.metrics()
	if err != nil {
		return err
	}
	*into, err = measure(o, name, srv.pid(), srv.url(path), c.host, cookie)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	after, err := srv.metrics()
	if err != nil {
		return err
	}
	update := map[string]string{"kind": "update"}
	*writes += after.value("portico_store_transaction_seconds_count", update) - before.value("portico_store_transaction_seconds_count", update)
	// wrk does not count 3xx as errors, and a lost session redirects:
	// the server's own counters must show only 200s for the route.
	return checkStatuses(before, after, route, into.wrkResult)
}

// checkStatuses compares the server's request counters for route with
// what wrk counted: every request must have answered 200.
func checkStatuses(before, after metricSet, route string, res wrkResult) error {
	count := func(m metricSet, status string) float64 {
		labels := map[string]string{"route": route, "method": "GET"}
		if status != "" {
			labels["status"] = status
		}
		return m.sum("portico_http_requests_total", labels)
	}
	ok := count(after, "200") - count(before, "200")
	all := count(after, "") - count(before, "")
	if all != ok {
		return fmt.Errorf("GET %s: %.0f of %.0f responses during the run were not 200 (see portico_http_requests_total)", route, all-ok, all)
	}
	if ok < float64(res.requests) {
		return fmt.Errorf("GET %s: the server counted %.0f 200s, wrk %d requests", route, ok, res.requests)
	}
	if res.non2xx > 0 || res.socketErrors > 0 {
		return fmt.Errorf("GET %s: wrk saw %d non-2xx/3xx responses and %d socket errors", route, res.non2xx, res.socketErrors)
	}
	return nil
}

// measure runs an unmeasured warm-up, then the measured wrk run, and
// returns its result with the CPU time the server process used meanwhile.
func measure(o options, name string, pid int, url, host, cookie string) (measured, error) {
	if o.warmup > 0 {
		if _, err := runWrk(o.wrk, url, host, cookie, o.warmup, o.threads, o.connections); err != nil {
			return measured{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	cpu0 := cpuTime(pid)
	res, err := runWrk(o.wrk, url, host, cookie, o.duration, o.threads, o.connections)
	m := measured{wrkResult: res, cpu: cpuTime(pid) - cpu0}
	if err != nil {
		return m, err
	}
	if res.requests == 0 {
		return m, errors.New("wrk completed no request")
	}
	fmt.Printf("  %-8s %s: %.0f req/s, p99 %s, %d requests, server CPU %s (%s/request)\n", name, url, res.rps, fmtDur(res.p99), res.requests,
		m.cpu.Round(10*time.Millisecond), fmtDur(m.cpuPerRequest()))
	return m, nil
}

func report(o options, r results) {
	fmt.Printf("\n== results: wrk -t%d -c%d -d%s on 127.0.0.1, %d CPUs, %d round(s)", o.threads, o.connections, o.duration, runtime.NumCPU(), o.rounds)
	if o.rounds > 1 {
		fmt.Print("; medians over the rounds, ratio = median of per-round ratios")
	}
	fmt.Printf("\n   load average before %s, after %s (figures on a busy machine are low and noisy: compare within one run)\n\n", r.loadBefore, r.loadAfter)

	pick := func(f func(round) float64) float64 {
		var v []float64
		for _, rd := range r.rounds {
			v = append(v, f(rd))
		}
		return medianFloat(v)
	}
	type line struct {
		name string
		get  func(round) measured
		ceil func(round) measured // the page's ceiling
		body int
		page bool // a console page, with the target
	}
	ceiling := func(rd round) measured { return rd.ceiling }
	billingCeiling := func(rd round) measured { return rd.billingCeiling }
	lines := []line{
		{"ceiling: minimal Fiber, 1 parsed template", ceiling, ceiling, r.ceilingBody, false},
		{"sign-in page GET /login", func(rd round) measured { return rd.login }, ceiling, r.loginBody, false},
		{"console GET /reseller/activity (50 rows)", func(rd round) measured { return rd.console }, ceiling, r.consoleBody, true},
		{"ceiling: the Billing tab, same figures", billingCeiling, billingCeiling, r.billingCeilingBody, false},
		{fmt.Sprintf("client Billing tab (%d invoices)", r.billing.invoices), func(rd round) measured { return rd.billing }, billingCeiling, r.billingBody, true},
	}
	fmt.Printf("| %-42s | %7s | %9s | %16s | %14s | %9s | %8s |\n", "page", "req/s", "p99", "ratio to ceiling", "server CPU/req", "CPU ratio", "body")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|%s|\n", dashes(44), dashes(9), dashes(11), dashes(18), dashes(16), dashes(11), dashes(10))
	type verdict struct {
		name            string
		ratio, cpuRatio float64
		perRound        []string
	}
	var verdicts []verdict
	for _, l := range lines {
		rps := pick(func(rd round) float64 { return l.get(rd).rps })
		p99 := time.Duration(pick(func(rd round) float64 { return float64(l.get(rd).p99) }))
		ratio := pick(func(rd round) float64 { return l.get(rd).rps / l.ceil(rd).rps })
		cpu := time.Duration(pick(func(rd round) float64 { return float64(l.get(rd).cpuPerRequest()) }))
		cpuRatio := pick(func(rd round) float64 {
			return float64(l.ceil(rd).cpuPerRequest()) / float64(l.get(rd).cpuPerRequest())
		})
		note := ""
		if l.page {
			v := verdict{name: l.name, ratio: ratio, cpuRatio: cpuRatio}
			for _, rd := range r.rounds {
				v.perRound = append(v.perRound, fmt.Sprintf("%.0f / %.0f → %.2f (by CPU per request %.2f)", l.ceil(rd).rps, l.get(rd).rps,
					l.get(rd).rps/l.ceil(rd).rps, float64(l.ceil(rd).cpuPerRequest())/float64(l.get(rd).cpuPerRequest())))
			}
			verdicts = append(verdicts, v)
			note = map[bool]string{true: " ok", false: " LOW"}[ratio >= consoleTarget]
		}
		fmt.Printf("| %-42s | %7.0f | %9s | %16s | %14s | %9.2f | %6d B |\n", l.name, rps, fmtDur(p99), fmt.Sprintf("%.2f%s", ratio, note), fmtDur(cpu), cpuRatio, l.body)
	}
	if o.rounds > 1 {
		fmt.Println("\nper round (req/s ceiling / page → ratio):")
		for _, v := range verdicts {
			fmt.Printf("  %s:\n", v.name)
			for i, line := range v.perRound {
				fmt.Printf("    %d: %s\n", i+1, line)
			}
		}
	}
	fmt.Println()
	for _, v := range verdicts {
		fmt.Printf("%s: ratio to its ceiling ≥ %.1f → %s (%.2f; by server CPU per request %.2f)\n", v.name, consoleTarget,
			map[bool]string{true: "MET", false: "NOT MET"}[v.ratio >= consoleTarget], v.ratio, v.cpuRatio)
	}

	fmt.Printf("\ncold start, exec → first 200 on GET /healthz (median of %d):\n", startRuns)
	fmt.Printf("  first start (fresh data dir) %9s   VmRSS just after: %s\n", fmtDur(median(r.freshStart)), kB(medianInt(r.freshRSS)))
	fmt.Printf("  restart (existing store)     %9s   VmRSS just after: %s\n", fmtDur(median(r.restart)), kB(medianInt(r.restartRSS)))
	fmt.Printf("after the load runs: server VmRSS %s (peak VmHWM %s); ceiling VmRSS %s\n", kB(r.serverRSSAfter), kB(r.serverHWM), kB(r.ceilingRSSAfter))

	writes, longest := 0.0, time.Duration(0)
	for _, rd := range r.rounds {
		writes += rd.writes
		longest = max(longest, rd.sinceSignIn)
	}
	fmt.Printf("\nstore write transactions during the GET runs (portico_store_transaction_seconds_count{kind=\"update\"}): %.0f", writes)
	switch {
	case writes == 0:
		fmt.Printf(" — no GET wrote to the store\n")
	case longest >= time.Minute:
		fmt.Printf("\n  the signed-in runs lasted up to %s after sign-in: a session's last-seen is rewritten at most once a minute, by a background flush every 30 s, so 1–2 per round are expected; more is a finding\n", longest.Round(time.Second))
	default:
		fmt.Printf("\n  UNEXPECTED: every signed-in run ended within %s of its sign-in, before any last-seen rewrite was due: some GET path writes to the store\n", longest.Round(time.Second))
	}
	fmt.Println("every response during the GET runs was a 200 of its route (checked against the server's portico_http_requests_total)")
}

// tempDir is removed on every way out unless -keep.
var (
	tempMu  sync.Mutex
	tempDir string
)

// workspace checks that wrk is there, finds the repository root and makes
// the run's temp directory under prefix; unless keep is set, removeTemp
// removes it (at the end of the run or on an interrupt).
func workspace(wrk string, keep bool, prefix string) (root, tmp string, err error) {
	if wrk != "" { // "" for a mode that needs no load generator
		if _, err := os.Stat(wrk); err != nil {
			return "", "", fmt.Errorf("wrk not found at %s (Debian package `wrk`): %w", wrk, err)
		}
	}
	if root, err = findRoot(); err != nil {
		return "", "", err
	}
	if tmp, err = os.MkdirTemp("", prefix); err != nil {
		return "", "", err
	}
	if keep {
		fmt.Println("temp dir kept:", tmp)
	} else {
		setTemp(tmp)
	}
	return root, tmp, nil
}

// buildPortico builds the real binary from root into tmp.
func buildPortico(root, tmp string) (bin string, err error) {
	bin = filepath.Join(tmp, "portico")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// cleanUpOnInterrupt stops the child processes and removes the temp dir
// when the bench is interrupted.
func cleanUpOnInterrupt() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		killChildren()
		removeTemp()
		os.Exit(130)
	}()
}

func setTemp(dir string) { tempMu.Lock(); tempDir = dir; tempMu.Unlock() }

func removeTemp() {
	tempMu.Lock()
	defer tempMu.Unlock()
	if tempDir != "" {
		_ = os.RemoveAll(tempDir)
		tempDir = ""
	}
}

func dashes(n int) string { return strings.Repeat("-", n) }

// loadAvg is the 1, 5 and 15-minute load averages.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func busy(load string) bool {
	var one float64
	if _, err := fmt.Sscan(load, &one); err != nil {
		return false
	}
	return one >= float64(runtime.NumCPU())/2
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// medianFloat is the middle value, or the mean of the two middle ones.
func medianFloat(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func medianInt(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func kB(v int64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(v)/1024)
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}

// findRoot walks up from the working directory to the portico module.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePortico(string(data)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the portico module (no go.mod with `module portico` above the working directory)")
		}
		dir = parent
	}
}

func modulePortico(gomod string) bool {
	for line := range strings.SplitSeq(gomod, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return f[1] == "portico"
		}
	}
	return false
}
