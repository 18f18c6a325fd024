package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/app/testkit"
	"portico/store"
)

var servingPattern = regexp.MustCompile(`msg="portico is serving" http=(\S+)`)

// startServe runs `portico serve` until the test ends and returns its
// address and output.
func startServe(t *testing.T, args ...string) (addr string, stdout *testkit.Buffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &testkit.Buffer{}, &testkit.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append(args, "--http", "127.0.0.1:0"), strings.NewReader(""), stdout, stderr) }()
	deadline := time.After(20 * time.Second)
	for {
		if m := servingPattern.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
		case <-deadline:
			t.Fatalf("serve did not start:\n%s", stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { stop() })
	return addr, stdout, stop
}

func runCommand(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestServeLifecycle: first start prints the owner's password once, the
// portal answers, store-writing commands refuse while it runs, backup and
// verify go through the running server, and a second start creates nothing.
func TestServeLifecycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	storePath := filepath.Join(dir, "data", "portico.db")
	addr, stdout, stop := startServe(t, "--store", storePath)
	first := stdout.String()
	for _, want := range []string{"owner@example.com", "Password:", "http://localhost:"} {
		if !strings.Contains(first, want) {
			t.Fatalf("first start output lacks %q:\n%s", want, first)
		}
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/login", nil)
	req.Host = "demo.localhost"
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("demo.localhost/login: %v %v", resp, err)
	}
	resp.Body.Close()

	start := time.Now()
	out, err := runCommand(t, "Str0ng-Pass!x\n", "--store", storePath, "user", "create", "--reseller", "demo", "--email", "a@example.com", "--role", "admin", "--password-stdin")
	if err == nil || !strings.Contains(err.Error(), "portico serve") {
		t.Fatalf("user create while serving: %v\n%s", err, out)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("refusal took %s", time.Since(start))
	}
	out, err = runCommand(t, "", "--store", storePath, "invoices", "run", "--period", "2026-01")
	if err == nil || !strings.Contains(err.Error(), "running server") || !strings.Contains(err.Error(), "stop it") {
		t.Fatalf("invoices run while serving: %v\n%s", err, out)
	}
	backupPath := filepath.Join(dir, "live-backup.db")
	if out, err := runCommand(t, "", "--store", storePath, "backup", backupPath); err != nil {
		t.Fatalf("backup while serving: %v\n%s", err, out)
	}
	if out, err := runCommand(t, "", "--store", storePath, "verify"); err != nil || !strings.Contains(out, "store verified") {
		t.Fatalf("verify while serving: %v\n%s", err, out)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "portico.sock")); !os.IsNotExist(err) {
		t.Errorf("control socket left behind: %v", err)
	}
	copyStore, err := store.Open(backupPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := copyStore.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("backup does not verify: %v %v", problems, err)
	}
	copyStore.Close()

	_, stdout, stop = startServe(t, "--store", storePath)
	if strings.Contains(stdout.String(), "Password:") {
		t.Fatalf("second start printed a password:\n%s", stdout.String())
	}
	stop()
}

// TestCommandsOnFreshStore: apikey and user create work before the first
// serve (they migrate and reconcile first).
func TestCommandsOnFreshStore(t *testing.T) {
	t.Parallel()
	storePath := filepath.Join(t.TempDir(), "data", "portico.db")
	out, err := runCommand(t, "", "--store", storePath, "apikey", "create", "--reseller", "demo", "--name", "PBX")
	if err != nil {
		t.Fatalf("apikey create: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`\npk_[a-z0-9]{8}_[A-Za-z0-9_-]{32,}\n`).MatchString(out) {
		t.Fatalf("no key printed:\n%s", out)
	}
	out, err = runCommand(t, "weak\n", "--store", storePath, "user", "create", "--reseller", "demo", "--email", "a@example.com", "--role", "admin", "--password-stdin")
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("weak password accepted: %v\n%s", err, out)
	}
	out, err = runCommand(t, "Str0ng-Pass!x\n", "--store", storePath, "user", "create", "--reseller", "demo", "--email", "a@example.com", "--role", "wizard", "--password-stdin")
	if err == nil || !strings.Contains(err.Error(), "role") {
		t.Fatalf("bad role accepted: %v\n%s", err, out)
	}
	out, err = runCommand(t, "Str0ng-Pass!x\n", "--store", storePath, "user", "create", "--reseller", "demo", "--email", "a@example.com", "--role", "admin", "--password-stdin")
	if err != nil || !strings.Contains(out, "created admin user a@example.com") {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	out, err = runCommand(t, "Str0ng-Pass!x\n", "--store", storePath, "user", "create", "--reseller", "nope", "--email", "b@example.com", "--role", "admin", "--password-stdin")
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown reseller: %v\n%s", err, out)
	}
	out, err = runCommand(t, "", "--store", storePath, "verify")
	if err != nil || !strings.Contains(out, "store verified") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}

func TestCheckConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("[mail]\nhost = \"smtp.example\"\npassword = \"hunter2\"\n"), 0o600)
	out, err := runCommand(t, "", "--config", good, "check-config")
	if err != nil || strings.Contains(out, "hunter2") || !strings.Contains(out, "[redacted]") || !strings.Contains(out, `slug = "demo"`) {
		t.Fatalf("check-config: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[server]\nhttp = \"nonsense\"\n[[reseller]]\nslug = \"Bad Slug\"\nname = \"x\"\ncurrency = \"ZZZ\"\nowner_email = \"o@x.example\"\n"), 0o600)
	_, err = runCommand(t, "", "--config", bad, "check-config")
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"server.http", "reseller[1] (Bad Slug).slug", "reseller[1] (Bad Slug).currency", "3 problem(s)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
	// serve refuses the same file before touching anything
	_, err = runCommand(t, "", "--config", bad, "--store", filepath.Join(dir, "x.db"))
	if err == nil {
		t.Fatal("serve started with a bad config")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); !os.IsNotExist(err) {
		t.Fatal("a bad config still created the store")
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	t.Parallel()
	out, err := runCommand(t, "", "version")
	if err != nil || !strings.HasPrefix(out, "portico ") {
		t.Fatalf("version: %v %q", err, out)
	}
	if _, err := runCommand(t, "", "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
}

// TestConfigResellersAndRemoval: resellers from config.toml answer at
// their hosts; one removed from the file is disabled, not deleted.
func TestConfigResellersAndRemoval(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	storePath := filepath.Join(dir, "data", "portico.db")
	two := `[server]
base_domain = "portal.test"
[[reseller]]
slug = "acme"
name = "Acme Voice"
currency = "USD"
domains = ["voice.acme.example"]
owner_email = "owner@acme.example"
primary_color = "#aa0000"
[[reseller]]
slug = "globex"
name = "Globex Lines"
currency = "EUR"
owner_email = "owner@globex.example"
`
	os.WriteFile(cfgPath, []byte(two), 0o600)
	addr, stdout, stop := startServe(t, "--config", cfgPath, "--store", storePath)
	if strings.Count(stdout.String(), "Password:") != 2 {
		t.Fatalf("want two first owners:\n%s", stdout.String())
	}
	get := func(host string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/login", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	for host, want := range map[string]string{"acme.portal.test": "Acme Voice", "voice.acme.example": "Acme Voice", "globex.portal.test": "Globex Lines"} {
		if status, body := get(host); status != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want %q", host, status, want)
		}
	}
	if status, body := get("localhost"); status != 404 || strings.Contains(body, "Acme") {
		t.Errorf("localhost with declared resellers: %d", status)
	}
	stop()

	os.WriteFile(cfgPath, []byte(strings.Split(two, "[[reseller]]\nslug = \"globex\"")[0]), 0o600)
	addr, _, stop = startServe(t, "--config", cfgPath, "--store", storePath)
	if status, _ := get("globex.portal.test"); status != 404 {
		t.Errorf("removed reseller still served: %d", status)
	}
	stop()
	s, err := store.Open(storePath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.View(func(tx *store.Tx) error {
		r, err := tx.ResellerBySlug("globex")
		if err != nil || r.Status != store.ResellerDisabled {
			t.Errorf("globex after removal: %+v %v", r, err)
		}
		return nil
	})
}

// TestServeOnBusyPortPrintsNoPassword: a first start whose port is taken
// fails before it creates the first owner, so the one-time password is
// neither printed nor spent: the next start on a free port prints it.
func TestServeOnBusyPortPrintsNoPassword(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	storePath := filepath.Join(t.TempDir(), "data", "portico.db")
	var stdout, stderr testkit.Buffer
	err = run(context.Background(), []string{"--store", storePath, "--http", busy.Addr().String()}, strings.NewReader(""), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "listen "+busy.Addr().String()) {
		t.Fatalf("serve on a busy port: %v, want a listen error", err)
	}
	if strings.Contains(stdout.String(), "Password:") {
		t.Fatalf("a failed start printed the one-time password:\n%s", stdout.String())
	}
	if _, err := os.Stat(storePath); !os.IsNotExist(err) {
		t.Errorf("a failed start created the store: %v", err)
	}
	_, out, stop := startServe(t, "--store", storePath)
	if !strings.Contains(out.String(), "Password:") {
		t.Errorf("the first start that serves does not print the password:\n%s", out.String())
	}
	stop()
}

// TestInvoicesRunCommand: `portico invoices run` issues the period's
// invoices once per client (a second run finds them existing), for every
// active reseller or the one named; their mail waits in the outbox for
// the server to send; a malformed or future period, an unknown reseller
// and a missing --period are refused with a non-zero exit. The server
// runs the invoice job at start.
func TestInvoicesRunCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	storePath := filepath.Join(dir, "data", "portico.db")
	os.WriteFile(cfgPath, []byte(`[mail]
host = "127.0.0.1"
port = 1
from = "Portico <noreply@portal.test>"
security = "none"
[[reseller]]
slug = "acme"
name = "Acme Voice"
currency = "USD"
owner_email = "owner@acme.example"
timezone = "America/New_York"
[[reseller]]
slug = "globex"
name = "Globex Lines"
currency = "EUR"
owner_email = "owner@globex.example"
timezone = "Asia/Tokyo"
`), 0o600)
	ny, _ := time.LoadLocation("America/New_York")
	period := time.Now().In(ny).Format("2006-01") // begun in New York, so in Tokyo too
	invoices := func(args ...string) (string, error) {
		return runCommand(t, "", append([]string{"--config", cfgPath, "--store", storePath, "invoices", "run"}, args...)...)
	}
	// a fresh store: created, nothing to invoice
	out, err := invoices("--period", period)
	if err != nil || !strings.Contains(out, "acme "+period+": created 0, existing 0\n") || !strings.Contains(out, "globex "+period+": created 0, existing 0\n") {
		t.Fatalf("fresh store: %v\n%s", err, out)
	}

	s, err := store.Open(storePath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var acme *store.Reseller
	err = s.Update(func(tx *store.Tx) error {
		var err error
		if acme, err = tx.ResellerBySlug("acme"); err != nil {
			return err
		}
		plan := &store.Plan{ResellerID: acme.ID, Name: "Basic", Kind: store.PlanSubscription, MonthlyFee: 100_000, IncludedSeats: 1, Status: store.CatalogActive}
		if err := store.PutCatalog(tx, plan); err != nil {
			return err
		}
		for _, name := range []string{"ann", "bob"} {
			c := &store.Client{ResellerID: acme.ID, Username: name, Email: name + "@example.com", Country: "US"}
			if err := tx.CreateClient(c, &store.User{Email: name + "@example.com", PasswordHash: "x"}, "test"); err != nil {
				return err
			}
			if err := tx.PutSubscription(&store.Subscription{ResellerID: acme.ID, ClientID: c.ID, PlanID: plan.ID, Seats: 1,
				Status: store.SubscriptionActive, StartedAt: tx.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}

	out, err = invoices("--period", period)
	if err != nil || !strings.Contains(out, "acme "+period+": created 2, existing 0\n") || !strings.Contains(out, "globex "+period+": created 0, existing 0\n") {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	out, err = invoices("--period", period, "--reseller", "acme")
	if err != nil || out != "acme "+period+": created 0, existing 2\n" {
		t.Fatalf("second run, one reseller: %v\n%q", err, out)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--period", "2026-13"}, "YYYY-MM"},
		{[]string{"--period", "April"}, "YYYY-MM"},
		{[]string{"--period", "2999-01"}, "has not begun"},
		{[]string{"--period", period, "--reseller", "nope"}, `no reseller "nope"`},
		{[]string{"--reseller", "acme"}, "usage: portico invoices run"},
		{nil, "usage: portico invoices run"},
	} {
		if out, err := invoices(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("invoices run %v: %v, want an error with %q\n%s", c.args, err, c.want, out)
		}
	}

	// the command queued one mail per invoice, for the server to send
	s, err = store.Open(storePath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *store.Tx) error {
		mails, err := tx.Outbox()
		if err != nil {
			t.Fatal(err)
		}
		var invoiceMails int
		for _, m := range mails {
			if strings.HasPrefix(m.Subject, "Invoice ACME-") {
				invoiceMails++
				if m.Status != store.MailPending || len(m.Attachments) != 1 {
					t.Errorf("invoice mail to %s: status %s, %d attachments", m.To, m.Status, len(m.Attachments))
				}
			}
		}
		if invoiceMails != 2 {
			t.Errorf("%d invoice mails in the outbox, want 2", invoiceMails)
		}
		return nil
	})
	s.Close()

	// A client subscribed while the server was down is invoiced by the
	// job the server runs at start.
	s, err = store.Open(storePath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *store.Tx) error {
		c := &store.Client{ResellerID: acme.ID, Username: "cy", Email: "cy@example.com", Country: "US"}
		if err := tx.CreateClient(c, &store.User{Email: "cy@example.com", PasswordHash: "x"}, "test"); err != nil {
			return err
		}
		var plan uint64
		if err := tx.Subscriptions(acme.ID, func(sub *store.Subscription) bool { plan = sub.PlanID; return false }); err != nil {
			return err
		}
		return tx.PutSubscription(&store.Subscription{ResellerID: acme.ID, ClientID: c.ID, PlanID: plan, Seats: 1,
			Status: store.SubscriptionActive, StartedAt: tx.Now()})
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	addr, _, stop := startServe(t, "--config", cfgPath, "--store", storePath)
	jobDone := regexp.MustCompile(`portico_job_runs_total\{job="invoices",result="ok"\} 1`)
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if jobDone.Match(b.Bytes()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no invoice run at start:\n%s", b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	s, err = store.Open(storePath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.View(func(tx *store.Tx) error {
		if seq := tx.LastInvoiceSeq(acme.ID); seq != 3 {
			t.Errorf("acme issued %d invoices, want 3", seq)
		}
		return nil
	})
	if problems, err := s.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}
