package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"portico/app/actor"
	"portico/app/calls"
	"portico/app/config"
	"portico/app/mail"
	"portico/app/metrics"
	"portico/app/tenancy"
	"portico/store"
)

// crashEnv names the data dir of the child process of
// TestCDRIngestSurvivesSIGKILL; set, TestCrashChild serves the real app
// over it until it is killed.
const crashEnv = "PORTICO_CRASH_CHILD_DIR"

func crashConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Source{Flags: map[string]string{
		"store.path": filepath.Join(dir, "portico.db"), "server.base_domain": "test.portico"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resellers = twoResellers()
	if p := cfg.Validate(); len(p) > 0 {
		t.Fatal(p)
	}
	return cfg
}

// TestCrashChild is not a test on its own: the crash test runs the test
// binary again with crashEnv set, and this serves the app, with fsync as
// in production, writing its address to <dir>/addr.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("only run as the child of TestCDRIngestSurvivesSIGKILL")
	}
	cfg := crashConfig(t, dir)
	s, err := store.Open(cfg.Store.Path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	deps := Deps{Config: cfg, Store: s, Mail: mail.NewQueue(s, nil, log), Metrics: metrics.New(), Log: log,
		Views: os.DirFS("../views"), Static: os.DirFS("../static"), Version: "crash"}
	deps.Services = testServices(deps, nil, nil)
	a, err := New(deps)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WriteFileAtomic(filepath.Join(dir, "addr"), func(w io.Writer) error {
		_, err := io.WriteString(w, ln.Addr().String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	a.Serve(ln) // until SIGKILL
}

// TestCDRIngestSurvivesSIGKILL: a child process serves the real app over
// a temp data dir; the test posts CDR batches from several connections,
// notes which were acknowledged, SIGKILLs the child mid-run, reopens the
// store and checks that every acknowledged CDR is there and charged once,
// that every batch is all there or not at all, and that verify passes.
func TestCDRIngestSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	t.Parallel()
	dir := t.TempDir()
	cfg := crashConfig(t, dir)
	// Seed: acme's deck, a client with credit, a reseller key.
	s, err := store.Open(cfg.Store.Path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tenancy.Reconcile(s, cfg); err != nil {
		t.Fatal(err)
	}
	key, err := tenancy.CreateResellerAPIKey(s, "acme", "crash", "test")
	if err != nil {
		t.Fatal(err)
	}
	var r *store.Reseller
	cl := &store.Client{Username: "pbx", Email: "pbx@example.com", Country: "US"}
	err = s.Update(func(tx *store.Tx) (err error) {
		if r, err = tx.ResellerBySlug("acme"); err != nil {
			return err
		}
		cl.ResellerID = r.ID
		if err := tx.CreateClient(cl, &store.User{Email: "pbx@example.com", PasswordHash: "x"}, "seed"); err != nil {
			return err
		}
		_, _, err = tx.GrantCredit(r.ID, cl.ID, 1_000_000*10_000, "", "", "seed", "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := calls.New(s).ImportRates(r, []byte("prefix,description,rate_per_minute,increment\n1,USA,0.0100,60/60\n"), actor.Actor{Name: "seed"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	child := exec.Command(os.Args[0], "-test.run", "^TestCrashChild$", "-test.count=1")
	child.Env = append(os.Environ(), crashEnv+"="+dir)
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	child.Stdout, child.Stderr = io.Discard, io.Discard
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	var addr string
	for range 1000 { // up to ~20 s for the child to start
		if data, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			addr = string(data)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if addr == "" {
		t.Fatal("the child never served")
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	started := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	const workers, perBatch = 8, 200
	type batch struct {
		ids   []string
		cost  int64
		acked bool
	}
	var mu sync.Mutex
	var batches []*batch
	var acked atomic.Int64
	killed := make(chan struct{})
	var killOnce sync.Once
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for n := 0; ; n++ {
				b := &batch{}
				var body bytes.Buffer
				body.WriteString(`{"records":[`)
				for i := range perBatch {
					id := fmt.Sprintf("w%d-b%d-r%d", w, n, i)
					duration := 1 + (w*7919+n*104729+i*31)%600
					b.ids = append(b.ids, id)
					b.cost += int64((duration+59)/60) * 100
					if i > 0 {
						body.WriteByte(',')
					}
					body.WriteString(cdrJSON(id, "outbound", "+14155550100", "+14155550123", started, duration, "answered"))
				}
				body.WriteString("]}")
				mu.Lock()
				batches = append(batches, b)
				mu.Unlock()
				req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/clients/pbx/cdrs", &body)
				req.Host = acmeHost
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the child is gone
				}
				var res apiIngest
				err = json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || res.Accepted != perBatch {
					t.Errorf("batch %d/%d: status %d, %+v, %v", w, n, resp.StatusCode, res, err)
					return
				}
				mu.Lock()
				b.acked = true
				mu.Unlock()
				if acked.Add(1) == 40 {
					killOnce.Do(func() {
						child.Process.Signal(syscall.SIGKILL)
						close(killed)
					})
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatal("the child died before it was killed")
	}
	child.Wait()

	s, err = store.Open(cfg.Store.Path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var present, ackedBatches, partial int
	var wantUsed int64
	s.View(func(tx *store.Tx) error {
		for _, b := range batches {
			found := 0
			for _, id := range b.ids {
				if _, err := tx.CDRByCallID(r.ID, cl.ID, id); err == nil {
					found++
				}
			}
			switch {
			case found == len(b.ids):
				present++
				wantUsed += b.cost
			case found != 0:
				partial++
			case b.acked:
				t.Errorf("an acknowledged batch (%s…) is missing", b.ids[0])
			}
			if b.acked {
				ackedBatches++
			}
		}
		c, err := tx.Client(r.ID, cl.ID)
		if err != nil {
			return err
		}
		credit := tx.Credit(c)
		if credit.Used != wantUsed || tx.Balance(store.UsageOf(r.ID, cl.ID)) != wantUsed || credit.Available != credit.Assigned-wantUsed {
			t.Errorf("charged %d (usage account %d, credit %+v), want exactly the %d of the stored batches", credit.Used,
				tx.Balance(store.UsageOf(r.ID, cl.ID)), credit, wantUsed)
		}
		return nil
	})
	if partial > 0 {
		t.Errorf("%d batches half applied", partial)
	}
	if ackedBatches < 40 || present < ackedBatches {
		t.Errorf("%d acknowledged, %d present", ackedBatches, present)
	}
	t.Logf("%d batches sent, %d acknowledged, %d on disk after SIGKILL", len(batches), ackedBatches, present)
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify after the crash: %v %v", err, strings.Join(problems, "\n"))
	}
}
