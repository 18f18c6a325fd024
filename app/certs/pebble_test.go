package certs_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"portico/app/certs"
	"portico/app/testkit"
)

// TestMain sets Pebble's test switches, which its packages read from the
// environment when they are built: no random sleeps before validation and
// no nonces rejected for practice, so an issuance takes well under a
// second and always goes the same way.
func TestMain(m *testing.M) {
	os.Setenv("PEBBLE_VA_NOSLEEP", "1")
	os.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	os.Exit(m.Run())
}

// handshakeTimeout bounds every test handshake: a failed issuance would
// otherwise hold the client for up to 180 s.
const handshakeTimeout = 20 * time.Second

// pebble is Let's Encrypt's test ACME server, run in-process from its
// packages: memory store, CA, VA (validating against our listeners through
// a loopback DNS server that sends every name to 127.0.0.1) and the web
// front end on httptest TLS servers.
type pebble struct {
	directory string         // the ACME directory URL
	acmeTrust *x509.CertPool // trusts the directory's HTTPS (httptest's certificate)
	roots     *x509.CertPool // Pebble's issuing root, as clients must trust it
}

// startPebble runs Pebble; its VA sends HTTP-01 challenges to httpPort and
// TLS-ALPN-01 challenges to tlsPort on 127.0.0.1.
func startPebble(t testing.TB, httpPort, tlsPort int) *pebble {
	t.Helper()
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	logger := log.New(out, "pebble ", log.Lmicroseconds)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default": {Description: "the default profile"},
	})
	validator := va.New(logger, httpPort, tlsPort, false, startDNS(t), store)
	// Zero Retry-After for authorisations and orders: the client polls at
	// once.
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	acme := httptest.NewTLSServer(front.Handler())
	t.Cleanup(acme.Close)
	management := httptest.NewTLSServer(front.ManagementHandler())
	t.Cleanup(management.Close)

	p := &pebble{directory: acme.URL + wfe.DirectoryPath, acmeTrust: x509.NewCertPool(), roots: x509.NewCertPool()}
	p.acmeTrust.AddCert(acme.Certificate())
	// The root is made anew on every start: fetch it each time.
	resp, err := management.Client().Get(management.URL + wfe.RootCertPath + "0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pemRoot, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("pebble root: %d %v", resp.StatusCode, err)
	}
	if !p.roots.AppendCertsFromPEM(pemRoot) {
		t.Fatalf("pebble root is not PEM: %q", pemRoot)
	}
	return p
}

// startDNS serves, on one loopback port over UDP and TCP (Pebble's VA asks
// over TCP), an A record of 127.0.0.1 for every name and no AAAA record, so
// that the VA reaches our listeners and nothing else.
func startDNS(t testing.TB) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		for _, q := range r.Question {
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		_ = w.WriteMsg(m)
	})
	var tcp net.Listener
	var udp net.PacketConn
	for attempt := 0; udp == nil; attempt++ {
		var err error
		if tcp, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if udp, err = net.ListenPacket("udp", tcp.Addr().String()); err != nil {
			tcp.Close()
			if attempt == 10 {
				t.Fatalf("dns: no port free for both UDP and TCP: %v", err)
			}
		}
	}
	for _, s := range []*dns.Server{{Listener: tcp, Handler: handler}, {PacketConn: udp, Handler: handler}} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go s.ActivateAndServe()
		<-started
		t.Cleanup(func() { _ = s.Shutdown() })
	}
	return tcp.Addr().String()
}

// env is a Manager with its two listeners on loopback and a Pebble that
// validates against them.
type env struct {
	t          testing.TB
	pebble     *pebble
	mgr        *certs.Manager
	dataDir    string
	httpsLn    net.Listener // plain TCP: the caller serves mgr.Listener(httpsLn)
	httpAddr   string
	httpsAddr  string
	logs       *testkit.Buffer
	challenges *challengeLog
}

// newEnv starts Pebble, the Manager with decide, and the HTTP listener;
// the caller starts the HTTPS server on e.httpsLn. tune may change the
// options.
func newEnv(t testing.TB, decide certs.DecisionFunc, tune func(*certs.Options)) *env {
	t.Helper()
	return startEnv(t, decide, tune, false)
}

// newEnvUnreachable is newEnv with a CA whose validations cannot reach us:
// its VA knocks on closed ports, so every issuance fails.
func newEnvUnreachable(t testing.TB, decide certs.DecisionFunc) *env {
	t.Helper()
	return startEnv(t, decide, nil, true)
}

func startEnv(t testing.TB, decide certs.DecisionFunc, tune func(*certs.Options), unreachable bool) *env {
	t.Helper()
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dataDir: t.TempDir(), httpsLn: httpsLn, httpAddr: httpLn.Addr().String(),
		httpsAddr: httpsLn.Addr().String(), logs: &testkit.Buffer{}, challenges: &challengeLog{}}
	vaHTTP, vaTLS := port(e.httpAddr), port(e.httpsAddr)
	if unreachable {
		vaHTTP, vaTLS = closedPort(t), closedPort(t)
	}
	e.pebble = startPebble(t, vaHTTP, vaTLS)

	var out io.Writer = e.logs
	if testing.Verbose() {
		out = io.MultiWriter(e.logs, os.Stderr)
	}
	o := certs.Options{
		DataDir:   e.dataDir,
		CA:        e.pebble.directory,
		Email:     "ops@portico.example",
		RootCAs:   e.pebble.acmeTrust,
		Decide:    decide,
		HTTPAddr:  e.httpAddr,
		HTTPSAddr: e.httpsAddr,
		Log:       slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tune != nil {
		tune(&o)
	}
	if e.mgr, err = certs.New(o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.mgr.Stop)

	srv := e.mgr.HTTPServer()
	srv.Handler = e.challenges.wrap(srv.Handler)
	go srv.Serve(httpLn)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return e
}

// closedPort is a loopback port that nothing listens on.
func closedPort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return port(ln.Addr().String())
}

func port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// serveHTTPS answers on the HTTPS listener with h (tests without the app).
func (e *env) serveHTTPS(h http.Handler) {
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(e.mgr.Listener(e.httpsLn))
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
}

// handshake dials the HTTPS listener with SNI name, trusting only
// Pebble's root, and returns the verified leaf certificate.
func (e *env) handshake(name string) (*x509.Certificate, error) {
	dialer := &net.Dialer{Timeout: handshakeTimeout}
	conn, err := tls.DialWithDialer(dialer, "tcp", e.httpsAddr, &tls.Config{
		ServerName: name,
		RootCAs:    e.pebble.roots,
		NextProtos: []string{"h2", "http/1.1"}, // as a browser offers them
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		return nil, fmt.Errorf("negotiated protocol %q, want http/1.1", p)
	}
	return conn.ConnectionState().PeerCertificates[0], nil
}

// mustRefuse checks that a handshake for name fails at once, without a
// certificate and without an issuance attempt.
func (e *env) mustRefuse(name string) {
	e.t.Helper()
	start := time.Now()
	leaf, err := e.handshake(name)
	if err == nil {
		e.t.Fatalf("handshake for %q got a certificate for %v", name, leaf.DNSNames)
	}
	if took := time.Since(start); took > 5*time.Second {
		e.t.Errorf("refused handshake for %q took %v", name, took)
	}
	if issued, _, _ := e.mgr.Info(name); issued {
		e.t.Errorf("Info(%q) says issued", name)
	}
}

// https is an HTTP client that sends every request to the HTTPS listener
// and trusts Pebble's root.
func (e *env) https() *http.Client {
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, e.httpsAddr)
	}
	return &http.Client{
		Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: e.pebble.roots},
			TLSHandshakeTimeout: handshakeTimeout},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       handshakeTimeout,
	}
}

// challengeLog records what the HTTP listener answered on the ACME
// challenge path.
type challengeLog struct {
	mu      sync.Mutex
	answers []challengeAnswer
}

type challengeAnswer struct {
	host, path string
	status     int
	body       string
}

func (l *challengeLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
			h.ServeHTTP(w, r)
			return
		}
		rec := &recordingWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		l.mu.Lock()
		l.answers = append(l.answers, challengeAnswer{host: r.Host, path: r.URL.Path, status: rec.status, body: rec.body.String()})
		l.mu.Unlock()
	})
}

func (l *challengeLog) all() []challengeAnswer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]challengeAnswer(nil), l.answers...)
}

type recordingWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *recordingWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

// allowOnly is a decision that allows the listed names.
func allowOnly(names ...string) certs.DecisionFunc {
	return func(_ context.Context, name string) error {
		for _, n := range names {
			if n == name {
				return nil
			}
		}
		return errors.New(name + " is not on the list")
	}
}

// TestDNSServer: the loopback DNS server answers A with 127.0.0.1 over
// both transports, and gives no AAAA.
func TestDNSServer(t *testing.T) {
	t.Parallel()
	addr := startDNS(t)
	for _, network := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: network, Timeout: 5 * time.Second}
		for qtype, want := range map[uint16]int{dns.TypeA: 1, dns.TypeAAAA: 0} {
			q := new(dns.Msg)
			q.SetQuestion("portal.acme.example.", qtype)
			in, _, err := c.Exchange(q, addr)
			if err != nil {
				t.Fatalf("%s: %v", network, err)
			}
			if in.Rcode != dns.RcodeSuccess || len(in.Answer) != want {
				t.Fatalf("%s %s: rcode %d, %d answers; want %d", network, dns.TypeToString[qtype], in.Rcode, len(in.Answer), want)
			}
			if a, ok := firstA(in); want == 1 && (!ok || !a.Equal(net.IPv4(127, 0, 0, 1))) {
				t.Fatalf("%s: A = %v", network, a)
			}
		}
	}
}

func firstA(m *dns.Msg) (net.IP, bool) {
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A, true
		}
	}
	return nil, false
}
