package certs_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portico/app"
	"portico/app/config"
	"portico/app/mail"
	"portico/app/metrics"
	"portico/app/tenancy"
	"portico/store"
)

// newPortal is the real application over a bbolt file in a temp dir, with
// two resellers: acme (acme.test.portico and the verified custom domain
// portal.acme.example, plus pending.acme.example added by the reseller and
// not verified) and globex (globex.test.portico).
func newPortal(t testing.TB) (*app.App, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Load(config.Source{Flags: map[string]string{
		"store.path": filepath.Join(dir, "portico.db"), "server.base_domain": "test.portico",
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resellers = []config.Reseller{
		{Slug: "acme", Name: "Acme Voice", Currency: "USD", Timezone: "UTC", Domains: []string{"portal.acme.example"},
			OwnerEmail: "owner@acme.example", PrimaryColor: "#aa0000", AccentColor: "#00aa00"},
		{Slug: "globex", Name: "Globex Lines", Currency: "EUR", Timezone: "UTC",
			OwnerEmail: "owner@globex.example", PrimaryColor: "#0000aa", AccentColor: "#aaaa00"},
	}
	if p := cfg.Validate(); len(p) > 0 {
		t.Fatal(p)
	}
	s, err := store.Open(cfg.Store.Path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, _, err := tenancy.Reconcile(s, cfg); err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *store.Tx) error {
		acme, err := tx.ResellerBySlug("acme")
		if err != nil {
			return err
		}
		return tx.PutDomain(&store.Domain{Host: "pending.acme.example", ResellerID: acme.ID,
			Source: store.DomainFromUser, Status: store.DomainPending, Token: "t0ken"})
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	queue := mail.NewQueue(s, nil, log)
	a, err := app.New(app.Deps{Config: cfg, Store: s, Mail: queue, Metrics: metrics.New(), Log: log,
		Views: os.DirFS("../../views"), Static: os.DirFS("../../static"), Version: "test",
		Services: app.NewServices(app.ServiceDeps{Config: cfg, Store: s, Mail: queue, Log: log})})
	if err != nil {
		t.Fatal(err)
	}
	return a, s
}

// TestEndToEnd: with the app's own decision, the first handshake for a
// verified custom domain obtains a certificate from a real ACME server and
// the HTTPS page is the reseller's branded sign-in page, with HSTS; a
// pending domain and an unknown name get no certificate.
func TestEndToEnd(t *testing.T) {
	portal, s := newPortal(t)
	e := newEnv(t, tenancy.CertificateDecision(s, "test.portico"), nil)
	go portal.Serve(e.mgr.Listener(e.httpsLn))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		portal.Shutdown(ctx)
	})

	leaf, err := e.handshake("portal.acme.example")
	if err != nil {
		t.Fatalf("handshake for the verified domain: %v\nlogs:\n%s", err, e.logs)
	}
	if err := leaf.VerifyHostname("portal.acme.example"); err != nil {
		t.Fatal(err)
	}

	client := e.https()
	resp, err := client.Get("https://portal.acme.example/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Acme Voice") || strings.Contains(page, "Globex") {
		t.Errorf("GET https://portal.acme.example/login = %d; want Acme's sign-in page:\n%s", resp.StatusCode, page)
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
		t.Errorf("no HSTS over HTTPS: %q", hsts)
	}
	if issued, issuer, notAfter := e.mgr.Info("portal.acme.example"); !issued || !strings.Contains(issuer, "Pebble") || notAfter.Before(time.Now()) {
		t.Errorf("Info = %v %q %v", issued, issuer, notAfter)
	}

	// The reseller's slug host is allowed too.
	resp, err = client.Get("https://acme.test.portico/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("slug host over HTTPS: %d", resp.StatusCode)
	}

	e.mustRefuse("pending.acme.example")
	e.mustRefuse("nobody.example")
	e.mustRefuse("PENDING.acme.example")
	if strings.Contains(e.logs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", e.logs)
	}

	// The HTTP listener sends visitors to HTTPS.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 5 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, "http://"+e.httpAddr+"/login?next=%2Freseller", nil)
	req.Host = "portal.acme.example"
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "https://portal.acme.example:" + strings.Split(e.httpsAddr, ":")[1] + "/login?next=%2Freseller"
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("HTTP listener: %d %q; want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}
