package app

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"portico/app/auth"
	"portico/app/config"
	"portico/app/domains"
	"portico/app/mail"
	"portico/app/metrics"
	"portico/app/tenancy"
	"portico/app/testkit"
	"portico/store"
)

// testViews and testStatic are the view and static files read once into
// memory, as the binary embeds them: each test server loads its
// templates from them without going back to the disk.
var (
	viewFiles   = sync.OnceValues(func() (fstest.MapFS, error) { return readTree("../views") })
	staticFiles = sync.OnceValues(func() (fstest.MapFS, error) { return readTree("../static") })
)

func testViews(t testing.TB) fs.FS  { return mustTree(t, viewFiles) }
func testStatic(t testing.TB) fs.FS { return mustTree(t, staticFiles) }

func mustTree(t testing.TB, files func() (fstest.MapFS, error)) fs.FS {
	t.Helper()
	m, err := files()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readTree(dir string) (fstest.MapFS, error) {
	m := fstest.MapFS{}
	root := os.DirFS(dir)
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(root, p)
		m[p] = &fstest.MapFile{Data: data, Mode: 0o444}
		return err
	})
	return m, err
}

// testPassword satisfies the default policy.
const testPassword = "Sup3r-Secret!x"

// testServer is the real application on a loopback listener over a real
// bbolt file in a temp dir, seeded with two resellers: acme (hosts
// acme.test.portico and portal.acme.example) and globex
// (globex.test.portico), each with an owner, and acme with a support
// staff user and a client user.
type testServer struct {
	t        testing.TB
	app      *App
	services *Services // the app's, for jobs built as main builds them
	store    *store.Store
	cfg      *config.Config
	addr     string // 127.0.0.1:port
	clock    *testkit.Clock
	ids      map[string]uint64 // reseller slug → id
	logs     *testkit.Buffer   // everything the app logged
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	return newServerWith(t, false, "test.portico", twoResellers())
}

// newDurableTestServer is newTestServer with fsync on every commit, as in
// production (benchmarks of writes).
func newDurableTestServer(t testing.TB) *testServer {
	t.Helper()
	return newServerWith(t, true, "test.portico", twoResellers())
}

func twoResellers() []config.Reseller {
	return []config.Reseller{
		{Slug: "acme", Name: "Acme Voice", Currency: "USD", Timezone: "UTC", Domains: []string{"portal.acme.example"},
			OwnerEmail: "owner@acme.example", PrimaryColor: "#aa0000", AccentColor: "#00aa00"},
		{Slug: "globex", Name: "Globex Lines", Currency: "EUR", Timezone: "UTC",
			OwnerEmail: "owner@globex.example", PrimaryColor: "#0000aa", AccentColor: "#aaaa00"},
	}
}

// newDemoServer is the default `go run .` set-up: reseller demo at
// localhost and demo.localhost, owner owner@example.com with testPassword.
func newDemoServer(t testing.TB) *testServer {
	t.Helper()
	return newServerWith(t, false, "localhost", []config.Reseller{config.DefaultReseller()})
}

// newServerWith builds the server; durable keeps bbolt's fsync, which tests
// skip for speed (what they check does not depend on it).
// Options may change the app's dependencies before it is built (a real
// SMTP sender, see withSMTP).
func newServerWith(t testing.TB, durable bool, baseDomain string, resellers []config.Reseller, options ...func(*Deps)) *testServer {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Load(config.Source{Flags: map[string]string{
		"store.path": filepath.Join(dir, "portico.db"), "server.base_domain": baseDomain,
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resellers = resellers
	if p := cfg.Validate(); len(p) > 0 {
		t.Fatal(p)
	}
	clock := testkit.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	m := metrics.New()
	s, err := store.Open(cfg.Store.Path, store.Options{Now: clock.Now, NoSync: !durable, Observe: m.ObserveStore})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, _, err := tenancy.Reconcile(s, cfg); err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, store: s, cfg: cfg, clock: clock, ids: map[string]uint64{}}
	hash, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *store.Tx) error {
		for _, rc := range cfg.Resellers {
			r, err := tx.ResellerBySlug(rc.Slug)
			if err != nil {
				return err
			}
			ts.ids[rc.Slug] = r.ID
			owner, err := tx.ResellerOwner(r.ID)
			if err != nil {
				return err
			}
			if err := tx.SetPassword(r.ID, owner.ID, hash); err != nil {
				return err
			}
		}
		if ts.ids["acme"] == 0 {
			return nil
		}
		if err := tx.CreateUser(&store.User{ResellerID: ts.ids["acme"], Email: "support@acme.example", Role: store.RoleSupport, PasswordHash: hash}); err != nil {
			return err
		}
		cl := &store.Client{ResellerID: ts.ids["acme"], Username: "cleo", FirstName: "Cleo", LastName: "Client",
			Email: "client@acme.example", Country: "US", Company: "Cleo Calls"}
		return tx.CreateClient(cl, &store.User{Email: "client@acme.example", Name: "Cleo Client", PasswordHash: hash}, "seed")
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.logs = &testkit.Buffer{}
	var logOut io.Writer = ts.logs
	if testing.Verbose() {
		logOut = io.MultiWriter(ts.logs, os.Stderr)
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deps := Deps{Config: cfg, Store: s, Mail: mail.NewQueue(s, nil, log), Metrics: m, Log: log,
		Views: testViews(t), Static: testStatic(t), Version: "test", Now: clock.Now}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.HTTP = ln.Addr().String() // what it listens on, as in production: mailed links name this port
	for _, option := range options {
		option(&deps)
	}
	if deps.Services == nil {
		deps.Services = testServices(deps, nil, nil)
	}
	a, err := New(deps)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	go a.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	ts.app, ts.services, ts.addr = a, deps.Services, ln.Addr().String()
	return ts
}

// testServices builds the services as main does, from the app's own
// dependencies, with custom domains' DNS and certificates (nil: the
// system's name servers, no automatic HTTPS).
func testServices(d Deps, dns domains.Resolver, certs domains.Certificates) *Services {
	return NewServices(ServiceDeps{Config: d.Config, Store: d.Store, Mail: d.Mail, Log: d.Log, DNS: dns, Certificates: certs})
}

// withDomains gives the server's custom domains a DNS server and a
// certificate manager. It builds the services, so it comes after the
// options that change other dependencies.
func withDomains(dns domains.Resolver, certs domains.Certificates) func(*Deps) {
	return func(d *Deps) { d.Services = testServices(*d, dns, certs) }
}

// port is the listener's port.
func (ts *testServer) port() string {
	_, p, _ := net.SplitHostPort(ts.addr)
	return p
}

// browser is an HTTP client with a cookie jar that sends every request to
// the test server whatever the host in the URL, like a browser whose DNS
// points all test hosts here. It does not follow redirects.
type browser struct {
	t      testing.TB
	ts     *testServer
	client *http.Client
	ip     string
}

func (ts *testServer) browser() *browser {
	jar, _ := cookiejar.New(nil)
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, ts.addr)
	}
	return &browser{t: ts.t, ts: ts, client: &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{DialContext: dial},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}}
}

// sendRaw writes head (the request line and headers, up to the blank
// line) and body over a raw connection, the whole body before the answer
// is read, and returns the answer. Beyond a limit the server may answer
// and close before it has read all of body: a cut-short write fails the
// test only when there is no answer.
func (ts *testServer) sendRaw(head string, body []byte) response {
	ts.t.Helper()
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		ts.t.Fatal(err)
	}
	// The body is offered beside the read: a server that refuses it from
	// its declared length answers and closes without reading it, so a
	// failed write is no failure; a missing answer is.
	go func() { _, _ = conn.Write(body) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		ts.t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// url builds http://host:port/path for the test server.
func (ts *testServer) url(host, path string) string {
	return "http://" + host + ":" + ts.port() + path
}

type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, host, path string, form url.Values, header map[string]string) response {
	b.t.Helper()
	return b.doAs(method, host, "", path, form, header)
}

// doAs sends a request for host (whose cookies it carries) with the Host
// header hostHeader, whatever that is (a port, a trailing dot); "" keeps
// host's own.
func (b *browser) doAs(method, host, hostHeader, path string, form url.Values, header map[string]string) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.ts.url(host, path), body)
	if err != nil {
		b.t.Fatal(err)
	}
	if hostHeader != "" {
		req.Host = hostHeader
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return b.send(req)
}

// send sends req and reads the whole reply; the test fails if it cannot
// be sent.
func (b *browser) send(req *http.Request) response {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (b *browser) get(host, path string) response { return b.do(http.MethodGet, host, path, nil, nil) }

var csrfPattern = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrf loads a page on host and returns its form token.
func (b *browser) csrf(host, path string) string {
	b.t.Helper()
	r := b.get(host, path)
	m := csrfPattern.FindStringSubmatch(r.body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s%s (status %d)", host, path, r.status)
	}
	return m[1]
}

// post submits a form with the page's CSRF token.
func (b *browser) post(host, formPath, action string, form url.Values) response {
	b.t.Helper()
	form.Set("_csrf", b.csrf(host, formPath))
	return b.do(http.MethodPost, host, action, form, nil)
}

// signedIn returns a new browser signed in as email on host; the test fails
// unless the sign-in lands on want.
func (ts *testServer) signedIn(host, email, want string) *browser {
	ts.t.Helper()
	b := ts.browser()
	b.login(host, email, want)
	return b
}

// acmeOwner returns a browser signed in as Acme's owner, on the reseller console.
func (ts *testServer) acmeOwner() *browser {
	ts.t.Helper()
	return ts.signedIn(acmeHost, "owner@acme.example", "/reseller")
}

// acmeClient returns a browser signed in as Acme's client, on its dashboard.
func (ts *testServer) acmeClient() *browser {
	ts.t.Helper()
	return ts.signedIn(acmeHost, "client@acme.example", "/dashboard")
}

// login signs in and fails the test unless it lands on want.
func (b *browser) login(host, email, want string) {
	b.t.Helper()
	r := b.post(host, "/login", "/login", url.Values{"email": {email}, "password": {testPassword}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
		b.t.Fatalf("login %s on %s: status %d location %q, want 303 %q\n%s", email, host, r.status, r.header.Get("Location"), want, r.body)
	}
}
