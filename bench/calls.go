package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	bolt "go.etcd.io/bbolt" // only for the raw-bbolt baseline; Portico itself reaches bbolt through store

	"portico/app/actor"
	"portico/app/calls"
	"portico/app/clients"
	"portico/app/config"
	"portico/app/tenancy"
	"portico/store"
)

// Targets of `bench calls`.
const (
	authorizeTarget = 0.3 // authorise req/s ÷ bare Fiber JSON handler req/s
	ingestTarget    = 0.5 // CDR records/s ÷ raw bbolt Batch inserts of the same records
)

// jsonCeilingCommand turns this binary into the authorise ceiling: a bare
// Fiber app with one JSON handler.
const jsonCeilingCommand = "__jsonceiling"

type callsOptions struct {
	duration, warmup time.Duration
	connections      int
	threads          int
	ingestConns      int
	cdrs             int
	rounds           int
	wrk              string
	keep             bool
}

// mainCalls is `go run ./bench calls`: authorisations against a bare Fiber
// JSON handler (wrk, 64 connections), durable CDR ingest in batches of
// 1,000 against raw bbolt Batch inserts of the same records, and the
// server's RSS and GET /usage latency with 1,000,000 CDRs stored.
func mainCalls(args []string) error {
	var o callsOptions
	fs := flag.NewFlagSet("bench calls", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured run")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured run before each measured one")
	fs.IntVar(&o.connections, "connections", 64, "wrk connections for authorise and its ceiling")
	fs.IntVar(&o.threads, "threads", 2, "wrk threads")
	fs.IntVar(&o.ingestConns, "ingest-connections", 8, "concurrent CDR batches in flight (and raw bbolt goroutines)")
	fs.IntVar(&o.cdrs, "cdrs", 1_000_000, "CDRs stored for the RSS and /usage measurement")
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved rounds of each comparison (server, baseline, server, baseline…); medians are reported")
	fs.StringVar(&o.wrk, "wrk", "/usr/bin/wrk", "path to wrk")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp dir")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.rounds < 1 || o.rounds > 10 {
		return errors.New("-rounds must be between 1 and 10")
	}
	cleanUpOnInterrupt()
	root, tmp, err := workspace(o.wrk, o.keep, "portico-bench-calls-")
	if err != nil {
		return err
	}
	defer removeTemp() // nothing to remove with -keep
	load := loadAvg()
	fmt.Printf("portico bench calls: %d CPUs, %s, load average %s\n", runtime.NumCPU(), runtime.Version(), load)
	// The raw bbolt baseline runs in this process.
	settings := useServingRuntime()
	fmt.Printf("runtime: the server, the JSON ceiling and the raw bbolt baseline (this process) run with %s (app/gctune, as portico serves)\n", settings)
	if busy(load) {
		fmt.Println("WARNING: the machine is busy: absolute figures will be low; compare the ratios")
	}
	bin, err := buildPortico(root, tmp)
	if err != nil {
		return err
	}

	// Seed the store before the server opens it.
	dataDir := filepath.Join(tmp, "srv")
	t0 := time.Now()
	seed, err := seedCalls(filepath.Join(dataDir, "data", "portico.db"), o.cdrs)
	if err != nil {
		return err
	}
	fmt.Printf("seeded: rate deck, a PBX client with credit, and %d CDRs of another client, in %s\n", o.cdrs, time.Since(t0).Round(time.Millisecond))
	// The per-key limit on the call endpoints (default 120,000 a minute)
	// would measure the limiter, not the server: lift it.
	srv, err := startPortico(bin, dataDir, "PORTICO_API__CALLS_PER_MINUTE=1000000000")
	if err != nil {
		return err
	}
	defer srv.stop()
	host := "localhost:" + srv.port()
	api := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.ingestConns * 2}}

	// RSS with the CDRs stored, after reading the big client's usage.
	var usageTimes []time.Duration
	for range 50 {
		start := time.Now()
		status, body, err := apiCall(api, srv.addr, host, seed.bigKey, "GET", "/api/v1/usage", nil)
		if err != nil || status != 200 {
			return fmt.Errorf("usage: %d %v %s", status, err, body)
		}
		usageTimes = append(usageTimes, time.Since(start))
	}
	rssStored := srv.rss()
	fmt.Printf("server VmRSS with %d CDRs stored: %s; GET /usage of that client: median %s\n", o.cdrs, kB(rssStored), fmtDur(median(usageTimes)))

	// Authorise vs a bare Fiber JSON handler, same wrk and script.
	ceil, err := startJSONCeiling()
	if err != nil {
		return err
	}
	defer ceil.stop()
	if err := checkRuntime(ceil, settings); err != nil {
		return err
	}
	script := filepath.Join(tmp, "authorize.lua")
	if err := os.WriteFile(script, []byte(authorizeLua(seed.pbxKey)), 0o600); err != nil {
		return err
	}
	authRun := func(name, addr string, pid int) (measured, error) {
		url := "http://" + addr + "/api/v1/calls/authorize"
		extra := []string{"-s", script, "-H", "Host: " + host}
		if o.warmup > 0 {
			if _, err := runWrkArgs(o.wrk, url, extra, o.warmup, o.threads, o.connections); err != nil {
				return measured{}, err
			}
		}
		cpu0 := cpuTime(pid)
		res, err := runWrkArgs(o.wrk, url, extra, o.duration, o.threads, o.connections)
		m := measured{wrkResult: res, cpu: cpuTime(pid) - cpu0}
		if err == nil && (res.requests == 0 || res.non2xx > 0 || res.socketErrors > 0) {
			err = fmt.Errorf("%s: %d requests, %d non-2xx, %d socket errors", name, res.requests, res.non2xx, res.socketErrors)
		}
		if err == nil {
			fmt.Printf("  %-26s %8.0f req/s  p50 %8s  p99 %8s  %d requests\n", name, res.rps, fmtDur(res.p50), fmtDur(res.p99), res.requests)
		}
		return m, err
	}
	fmt.Printf("\n== authorise, wrk -t%d -c%d -d%s (unique call ids: every request reserves credit, durable), %d interleaved rounds\n",
		o.threads, o.connections, o.duration, o.rounds)
	var authRounds []pair
	for i := range o.rounds {
		ceilRun, err := authRun(fmt.Sprintf("%d: bare Fiber JSON handler", i+1), ceil.addr, ceil.pid())
		if err != nil {
			return err
		}
		authMeasured, err := authRun(fmt.Sprintf("%d: POST /calls/authorize", i+1), srv.addr, srv.pid())
		if err != nil {
			return err
		}
		authRounds = append(authRounds, pair{authMeasured, ceilRun})
	}
	// Every request was allowed and holds a reservation of 2.40.
	status, body, err := apiCall(api, srv.addr, host, seed.pbxKey, "GET", "/api/v1/account", nil)
	if err != nil || status != 200 {
		return fmt.Errorf("account: %d %v", status, err)
	}
	var account struct{ Credit struct{ Reserved string } }
	json.Unmarshal(body, &account)
	fmt.Printf("  reserved after the runs: %s USD (2.40 per allowed call)\n", account.Credit.Reserved)

	// CDR ingest vs raw bbolt Batch.
	fmt.Printf("\n== CDR ingest, batches of 1,000, %d in flight, durable replies, %d interleaved rounds\n", o.ingestConns, o.rounds)
	records := cdrTemplate()
	var ingestRounds [][2]float64 // server, raw
	var batches atomic.Int64      // numbers every batch of the run: call ids stay unique across rounds
	for i := range o.rounds {
		ingestRate, err := runIngest(api, srv.addr, host, seed.pbxKey, records, &batches, o)
		if err != nil {
			return err
		}
		rawRate, err := runRawBatch(filepath.Join(tmp, fmt.Sprintf("raw%d.db", i)), records, o)
		if err != nil {
			return err
		}
		ingestRounds = append(ingestRounds, [2]float64{ingestRate, rawRate})
	}
	rssAfter, hwm := srv.rss(), readStatus(srv.pid(), "VmHWM")

	verdict := func(v, target float64) string {
		if v >= target {
			return "MET"
		}
		return "NOT MET"
	}
	authRatio := medianOf(authRounds, func(r pair) float64 { return r.server.rps / r.base.rps })
	ingestRatio := medianOf(ingestRounds, func(r [2]float64) float64 { return r[0] / r[1] })
	fmt.Printf("\nper round (server / baseline → ratio):\n")
	for i, r := range authRounds {
		fmt.Printf("  %d: authorise %.0f / %.0f req/s → %.2f (p99 %s / %s); CDR ingest %.0f / %.0f records/s → %.2f\n", i+1,
			r.server.rps, r.base.rps, r.server.rps/r.base.rps, fmtDur(r.server.p99), fmtDur(r.base.p99),
			ingestRounds[i][0], ingestRounds[i][1], ingestRounds[i][0]/ingestRounds[i][1])
	}
	auth := func(f func(pair) float64) float64 { return medianOf(authRounds, f) }
	dur := func(f func(pair) float64) string { return fmtDur(time.Duration(auth(f))) }
	fmt.Printf("\n| measure | figure | baseline | ratio | target |\n|---|---|---|---|---|\n")
	fmt.Printf("| authorise req/s (p50 / p99) | %.0f (%s / %s) | %.0f (%s / %s) bare Fiber JSON | %.2f | ≥ %.1f %s |\n",
		auth(func(r pair) float64 { return r.server.rps }),
		dur(func(r pair) float64 { return float64(r.server.p50) }), dur(func(r pair) float64 { return float64(r.server.p99) }),
		auth(func(r pair) float64 { return r.base.rps }),
		dur(func(r pair) float64 { return float64(r.base.p50) }), dur(func(r pair) float64 { return float64(r.base.p99) }),
		authRatio, authorizeTarget, verdict(authRatio, authorizeTarget))
	fmt.Printf("| CDR ingest records/s | %.0f | %.0f raw bbolt Batch | %.2f | ≥ %.1f %s |\n",
		medianOf(ingestRounds, func(r [2]float64) float64 { return r[0] }), medianOf(ingestRounds, func(r [2]float64) float64 { return r[1] }),
		ingestRatio, ingestTarget, verdict(ingestRatio, ingestTarget))
	fmt.Printf("| server VmRSS, %d CDRs stored | %s (after the runs %s, peak %s) | | | |\n", o.cdrs, kB(rssStored), kB(rssAfter), kB(hwm))
	fmt.Printf("| GET /usage, client with %d CDRs | median %s | | | |\n", o.cdrs, fmtDur(median(usageTimes)))
	fmt.Printf("load average after: %s\n", loadAvg())
	return nil
}

// pair is one round of a comparison: the server's run and its baseline's.
type pair struct{ server, base measured }

// medianOf is the median of f over the rounds.
func medianOf[T any](rounds []T, f func(T) float64) float64 {
	v := make([]float64, len(rounds))
	for i, r := range rounds {
		v[i] = f(r)
	}
	return medianFloat(v)
}

// callsSeed is what the server under test holds before it starts.
type callsSeed struct {
	pbxKey, bigKey string
}

// seedCalls writes, without fsync (it is set-up), the default reseller,
// its rate deck, a PBX client with ample credit, and a client with n CDRs
// spread over 400 days.
func seedCalls(path string, n int) (*callsSeed, error) {
	cfg, err := config.Load(config.Source{Flags: map[string]string{"store.path": path}})
	if err != nil {
		return nil, err
	}
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if _, _, err := tenancy.Reconcile(s, cfg); err != nil {
		return nil, err
	}
	var r *store.Reseller
	if err := s.View(func(tx *store.Tx) (err error) { r, err = tx.ResellerBySlug(config.DefaultSlug); return err }); err != nil {
		return nil, err
	}
	seedActor := actor.Actor{Name: "bench"}
	if _, err := calls.New(s).ImportRates(r, []byte("prefix,description,rate_per_minute,increment\n1,USA,0.0100,60/60\n44,UK,0.02,1/1\n"), seedActor); err != nil {
		return nil, err
	}
	seed := &callsSeed{}
	for _, name := range []string{"pbx", "big"} {
		c := &store.Client{ResellerID: r.ID, Username: name, Email: name + "@example.com", Country: "US"}
		err := s.Update(func(tx *store.Tx) error {
			if err := tx.CreateClient(c, &store.User{Email: name + "@example.com", PasswordHash: "x"}, "bench"); err != nil {
				return err
			}
			_, _, err := tx.GrantCredit(r.ID, c.ID, 100_000_000*10_000, "", "", "bench", "")
			return err
		})
		if err != nil {
			return nil, err
		}
		key, err := clients.New(s).CreateKey(r.ID, c.ID, "bench", seedActor)
		if err != nil {
			return nil, err
		}
		if name == "pbx" {
			seed.pbxKey = key.Secret
			continue
		}
		seed.bigKey = key.Secret
		now := time.Now().UTC()
		for done := 0; done < n; done += 10_000 {
			batch := make([]*store.CDR, 0, 10_000)
			for i := done; i < min(done+10_000, n); i++ {
				dir := store.Outbound
				if i%3 == 0 {
					dir = store.Inbound
				}
				batch = append(batch, &store.CDR{CallID: fmt.Sprintf("seed-%08d", i), Direction: dir, From: "+14155550100", To: "+14155550123",
					StartedAt: now.Add(-time.Duration(i%400)*24*time.Hour - time.Duration(i%80000)*time.Second), DurationS: i % 700,
					BillableS: i % 700, Disposition: store.Answered, Cost: int64(i % 500), RatePrefix: "1", RatePerMinute: 100})
			}
			if err := s.Update(func(tx *store.Tx) error { _, err := tx.RecordCDRs(r.ID, c.ID, batch, "bench"); return err }); err != nil {
				return nil, err
			}
		}
	}
	return seed, nil
}

// authorizeLua makes every wrk request an outbound authorisation with a
// call id of its own (thread number and counter).
func authorizeLua(key string) string {
	return `local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer ` + key + `"
function request()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format('{"call_id":"w%d-%d-%d","direction":"outbound","from":"+14155550100","to":"+14155550123"}', tid, os.time(), n))
end
`
}

// startJSONCeiling re-executes this harness as the bare JSON handler.
func startJSONCeiling() (*process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	return start(exec.Command(exe, jsonCeilingCommand, addr), addr, "/healthz")
}

// serveJSONCeiling is the authorise ceiling: Fiber with defaults, no
// middleware, no store; it decodes the same JSON body and answers a reply
// of the same shape.
func serveJSONCeiling(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: bench %s ADDR", jsonCeilingCommand)
	}
	announceRuntime()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	f := fiber.New(fiber.Config{DisableStartupMessage: true})
	f.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	f.Post("/api/v1/calls/authorize", func(c *fiber.Ctx) error {
		var req calls.AuthorizeRequest
		if err := json.Unmarshal(c.Body(), &req); err != nil {
			return fiber.ErrBadRequest
		}
		return c.JSON(struct {
			Allow         bool   `json:"allow"`
			CallID        string `json:"call_id"`
			MaxDurationS  int    `json:"max_duration_s"`
			RatePerMinute string `json:"rate_per_minute"`
			Reserved      string `json:"reserved"`
			Currency      string `json:"currency"`
		}{true, req.CallID, 14400, "0.01", "2.40", "USD"})
	})
	ln, err := net.Listen("tcp", args[0])
	if err != nil {
		return err
	}
	return f.Listener(ln)
}

// cdrTemplate is one batch of 1,000 CDR records whose call ids contain
// the placeholder BATCHXXXXXX, replaced per request.
func cdrTemplate() [][]byte {
	out := make([][]byte, 1000)
	started := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"call_id":"BATCHXXXXXX-%04d","direction":"outbound","from":"+14155550100","to":"+14155550123","started_at":%q,"duration_s":%d,"disposition":"answered"}`,
			i, started, 1+i%600)
	}
	return out
}

func batchBody(records [][]byte, batch int) []byte {
	body := append([]byte(`{"records":[`), bytes.Join(records, []byte(","))...)
	body = append(body, "]}"...)
	return bytes.ReplaceAll(body, []byte("BATCHXXXXXX"), fmt.Appendf(nil, "b%010d", batch))
}

// runIngest posts batches from o.ingestConns goroutines for the duration,
// numbering them from next (their call ids contain the number)
// and returns accepted records per second.
func runIngest(api *http.Client, addr, host, key string, records [][]byte, next *atomic.Int64, o callsOptions) (float64, error) {
	run := func(d time.Duration) (int64, error) {
		var accepted atomic.Int64
		var firstErr error
		var mu sync.Mutex
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for range o.ingestConns {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					body := batchBody(records, int(next.Add(1)))
					status, reply, err := apiCall(api, addr, host, key, "POST", "/api/v1/cdrs", body)
					var res struct{ Accepted int }
					if err == nil && status == 200 {
						err = json.Unmarshal(reply, &res)
					}
					if err != nil || status != 200 || res.Accepted != len(records) {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("cdr batch: %d %v %.200s", status, err, reply)
						}
						mu.Unlock()
						return
					}
					accepted.Add(int64(res.Accepted))
				}
			})
		}
		wg.Wait()
		return accepted.Load(), firstErr
	}
	return recordRate(o, "POST /cdrs", run)
}

// recordRate runs an unmeasured warm-up of run, then a measured run, and
// prints and returns the records per second it wrote.
func recordRate(o callsOptions, name string, run func(time.Duration) (int64, error)) (float64, error) {
	if o.warmup > 0 {
		if _, err := run(o.warmup); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	n, err := run(o.duration)
	rate := float64(n) / time.Since(start).Seconds()
	fmt.Printf("  %-26s %8.0f records/s (%d records)\n", name, rate, n)
	return rate, err
}

// runRawBatch inserts the same records, 1,000 per db.Batch call from
// o.ingestConns goroutines, into a bare bbolt file (fsync on, MaxBatchSize
// sized to the concurrency as measured best), keyed by call id.
func runRawBatch(path string, records [][]byte, o callsOptions) (float64, error) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.MaxBatchSize = o.ingestConns
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("cdrs")); return err }); err != nil {
		return 0, err
	}
	var next atomic.Int64
	run := func(d time.Duration) (int64, error) {
		var n atomic.Int64
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		var firstErr atomic.Value
		for range o.ingestConns {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					batch := fmt.Sprintf("b%010d", next.Add(1))
					recs := make([][]byte, len(records))
					keys := make([][]byte, len(records))
					for i, r := range records {
						recs[i] = bytes.Replace(r, []byte("BATCHXXXXXX"), []byte(batch), 1)
						keys[i] = fmt.Appendf(nil, "%s-%04d", batch, i)
					}
					err := db.Batch(func(tx *bolt.Tx) error {
						b := tx.Bucket([]byte("cdrs"))
						for i := range recs {
							if err := b.Put(keys[i], recs[i]); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					n.Add(int64(len(recs)))
				}
			})
		}
		wg.Wait()
		if err, _ := firstErr.Load().(error); err != nil {
			return 0, err
		}
		return n.Load(), nil
	}
	return recordRate(o, "raw bbolt Batch", run)
}

// apiCall makes one API request with a key and the reseller's Host.
func apiCall(c *http.Client, addr, host, key, method, path string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Host = host
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}
