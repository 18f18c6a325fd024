package main

// Handler-level benchmarks: the same three pages as `go run ./bench`, but
// called in-process through each Fiber app's handler, with no network and
// no load generator, so that a CPU profile shows only the server's work:
//
//	go test -run '^$' -bench . -benchmem ./bench
//	go test -run '^$' -bench Console -cpuprofile /tmp/cpu.out ./bench && go tool pprof -top /tmp/cpu.out

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/valyala/fasthttp"

	"portico/app"
	"portico/app/auth"
	"portico/app/config"
	"portico/app/gctune"
	"portico/app/mail"
	"portico/app/metrics"
	"portico/app/tenancy"
	"portico/store"
)

// BenchmarkCeilingRender is the ceiling's template execution alone.
func BenchmarkCeilingRender(b *testing.B) {
	benchmarkRender(b, "console/activity.html", ceilingPage())
}

// BenchmarkCeilingBillingRender is the ceiling's Billing tab, template
// execution alone.
func BenchmarkCeilingBillingRender(b *testing.B) {
	benchmarkRender(b, "settings/billing.html", ceilingBillingPage())
}

func benchmarkRender(b *testing.B, view string, page *app.Page) {
	t, err := parseCeiling("../views", view)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := t.ExecuteTemplate(&buf, "page", page); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCeilingHandler is the ceiling app's whole request.
func BenchmarkCeilingHandler(b *testing.B) {
	f, err := newCeiling("../views")
	if err != nil {
		b.Fatal(err)
	}
	serve(b, f.Handler(), ceilingPath, "", "")
}

// BenchmarkCeilingBillingHandler is the ceiling app's whole request for
// the Billing tab.
func BenchmarkCeilingBillingHandler(b *testing.B) {
	f, err := newCeiling("../views")
	if err != nil {
		b.Fatal(err)
	}
	serve(b, f.Handler(), billingPath, "", "")
}

// BenchmarkConsoleHandler is the real app's activity page, signed in, with
// 51 audit events in the store (a full page of 50 rows).
func BenchmarkConsoleHandler(b *testing.B) {
	a, session := realApp(b)
	serve(b, a.Fiber().Handler(), consolePath, "localhost:8080", sessionCookie+"="+session)
}

// BenchmarkLoginHandler is the real app's sign-in page.
func BenchmarkLoginHandler(b *testing.B) {
	a, _ := realApp(b)
	serve(b, a.Fiber().Handler(), loginPath, "localhost:8080", "")
}

// BenchmarkBillingHandler is the real app's client Billing tab, signed in
// as the owner of a client with 24 months of invoices (seedBilling).
func BenchmarkBillingHandler(b *testing.B) {
	a, session := realBillingApp(b)
	serve(b, a.Fiber().Handler(), billingPath, "localhost:8080", sessionCookie+"="+session)
}

// serve calls h for GET path until the benchmark ends; the first response
// must be a 200 (with a 50-row table for the activity page).
func serve(b *testing.B, h fasthttp.RequestHandler, path, host, cookie string) {
	var req fasthttp.Request
	req.SetRequestURI(path)
	if host != "" {
		req.Header.SetHost(host)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, remote, nil)
	h(&ctx)
	body := string(ctx.Response.Body())
	if ctx.Response.StatusCode() != 200 {
		b.Fatalf("GET %s: status %d\n%s", path, ctx.Response.StatusCode(), body)
	}
	if path == consolePath && tableRows(body) != 50 {
		b.Fatalf("GET %s: %d rows, want 50", path, tableRows(body))
	}
	if path == billingPath {
		if err := checkBillingPage(body); err != nil {
			b.Fatalf("GET %s: %v", path, err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		ctx.Init(&req, remote, nil)
		h(&ctx)
	}
}

// realApp is the real application over a bbolt file in a temp dir with
// the default reseller (Host localhost), 51 audit events and one session
// of its owner, whose token it returns.
func realApp(b *testing.B) (*app.App, string) {
	b.Helper()
	a, _, token := buildRealApp(b, false)
	return a, token
}

// realBillingApp is realApp with seedBilling's client, and a session of
// the client's owner, whose token it returns.
func realBillingApp(b *testing.B) (*app.App, string) {
	b.Helper()
	a, token, _ := buildRealApp(b, true)
	return a, token
}

// buildRealApp builds realApp; with billing, it seeds seedBilling's client
// first and returns a session of its owner too.
func buildRealApp(b *testing.B, withBilling bool) (a *app.App, clientToken, ownerToken string) {
	b.Helper()
	dir := b.TempDir()
	cfg, err := config.Load(config.Source{Flags: map[string]string{"store.path": filepath.Join(dir, "portico.db")}})
	if err != nil {
		b.Fatal(err)
	}
	m := metrics.New()
	s, err := store.Open(cfg.Store.Path, store.Options{Observe: m.ObserveStore, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, _, err := tenancy.Reconcile(s, cfg); err != nil {
		b.Fatal(err)
	}
	if withBilling {
		seed, err := seedBilling(cfg, s, "x") // signed in below: no password needed
		if err != nil {
			b.Fatal(err)
		}
		var hash []byte
		clientToken, hash = auth.NewToken()
		err = s.Update(func(tx *store.Tx) error {
			r, err := tx.ResellerBySlug(config.DefaultSlug)
			if err != nil {
				return err
			}
			return tx.CreateSession(&store.Session{Hash: hash, ResellerID: r.ID, UserID: seed.userID,
				ExpiresAt: tx.Now().Add(cfg.Session.MaxAge.Duration), IdleTimeout: cfg.Session.IdleTimeout.Duration,
				IP: "127.0.0.1", UserAgent: "bench"})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	ownerToken, hash := auth.NewToken()
	err = s.Update(func(tx *store.Tx) error {
		r, err := tx.ResellerBySlug(config.DefaultSlug)
		if err != nil {
			return err
		}
		owner, err := tx.ResellerOwner(r.ID)
		if err != nil {
			return err
		}
		for i := range 51 {
			action := "login"
			if i%2 == 1 {
				action = "logout"
			}
			if err := tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: owner.Email, Action: action, IP: "127.0.0.1"}); err != nil {
				return err
			}
		}
		return tx.CreateSession(&store.Session{Hash: hash, ResellerID: r.ID, UserID: owner.ID,
			ExpiresAt: tx.Now().Add(cfg.Session.MaxAge.Duration), IdleTimeout: cfg.Session.IdleTimeout.Duration,
			IP: "127.0.0.1", UserAgent: "bench"})
	})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	queue := mail.NewQueue(s, nil, log)
	a, err = app.New(app.Deps{Config: cfg, Store: s, Mail: queue, Metrics: m, Log: log,
		Views: os.DirFS("../views"), Static: os.DirFS("../static"), Version: "bench",
		Services: app.NewServices(app.ServiceDeps{Config: cfg, Store: s, Mail: queue, Log: log})})
	if err != nil {
		b.Fatal(err)
	}
	return a, clientToken, ownerToken
}

// TestServingRuntime: the benchmark's processes take the server's
// collector settings (unless the environment sets its own).
func TestServingRuntime(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set in the environment: they win, as in the server")
	}
	want := fmt.Sprintf("GOGC=%d GOMEMLIMIT=%d", gctune.GCPercent, gctune.MemoryLimit)
	if got := runtimeSettings(); got != want {
		t.Fatalf("runtime %s, want %s", got, want)
	}
}
