package certs_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portico/app/certs"
)

// TestOnDemandDecision: a handshake for an allowed name obtains a
// certificate from the CA; a refused name, or no SNI at all, gets none at
// once, with the refusal logged at debug and no error logged.
func TestOnDemandDecision(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	decisions := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
	decide := allowOnly("allowed.example")
	e := newEnv(t, func(ctx context.Context, name string) error {
		mu.Lock()
		asked = append(asked, name)
		mu.Unlock()
		return decide(ctx, name)
	}, nil)
	e.serveHTTPS(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello over TLS") }))

	start := time.Now()
	leaf, err := e.handshake("allowed.example")
	if err != nil {
		t.Fatalf("handshake for an allowed name: %v\nlogs:\n%s", err, e.logs)
	}
	t.Logf("first handshake with issuance took %v", time.Since(start))
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "allowed.example" {
		t.Errorf("certificate names = %v", leaf.DNSNames)
	}
	issued, issuer, notAfter := e.mgr.Info("Allowed.Example.")
	if !issued || !strings.Contains(issuer, "Pebble") || !notAfter.Equal(leaf.NotAfter) {
		t.Errorf("Info = %v, %q, %v; want issued by Pebble until %v", issued, issuer, notAfter, leaf.NotAfter)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "certs", "certificates")); err != nil {
		t.Errorf("certificates are not stored under the data dir: %v", err)
	}

	// A second handshake is served from the cache (the same certificate),
	// and the decision is asked again: a host can lose its right.
	before := len(decisions())
	again, err := e.handshake("allowed.example")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Equal(leaf) {
		t.Errorf("second handshake got another certificate: not from the cache")
	}
	if after := decisions(); len(after) != before+1 {
		t.Errorf("decision asked %d times for a cached certificate, want once", len(after)-before)
	}

	e.mustRefuse("refused.example")
	e.mustRefuse("") // no SNI: certmagic asks about the listener's IP, which is refused
	if got := strings.Join(decisions(), ","); !strings.Contains(got, "refused.example") || !strings.Contains(got, "127.0.0.1") {
		t.Errorf("decision asked about %q; want refused.example and 127.0.0.1", got)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `level=DEBUG msg="certs: certificate refused" server_name=refused.example reason="refused.example is not on the list"`) {
		t.Errorf("refusal not logged at debug:\n%s", logs)
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Errorf("refusals or a good issuance logged an error:\n%s", logs)
	}

	resp, err := e.https().Get("https://allowed.example/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello over TLS" {
		t.Errorf("HTTPS body = %q", body)
	}
}

// TestChallengeTypes: each challenge type works on its own, through our
// listeners: HTTP-01 on the HTTP listener, TLS-ALPN-01 on the HTTPS one.
func TestChallengeTypes(t *testing.T) {
	for _, tc := range []struct {
		name          string
		tune          func(*certs.Options)
		wantHTTPCalls bool
	}{
		{"http-01", func(o *certs.Options) { o.DisableTLSALPNChallenge = true }, true},
		{"tls-alpn-01", func(o *certs.Options) { o.DisableHTTPChallenge = true }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.name + ".example"
			e := newEnv(t, allowOnly(host), tc.tune)
			e.serveHTTPS(http.NotFoundHandler())
			if _, err := e.handshake(host); err != nil {
				t.Fatalf("handshake: %v\nlogs:\n%s", err, e.logs)
			}
			answers := e.challenges.all()
			if !tc.wantHTTPCalls {
				if len(answers) > 0 {
					t.Errorf("HTTP challenge path used with HTTP-01 off: %+v", answers)
				}
				return
			}
			answered := false
			for _, a := range answers {
				token := strings.TrimPrefix(a.path, "/.well-known/acme-challenge/")
				if a.status == http.StatusOK && strings.HasPrefix(a.body, token+".") && strings.HasPrefix(a.host, host) {
					answered = true
				}
			}
			if !answered {
				t.Errorf("no challenge answered with the key authorisation: %+v", answers)
			}
		})
	}
}

// TestRemove: certmagic does not ask the decision again for a certificate
// in its cache, so a domain that stops being allowed keeps its certificate
// until Remove takes it out of the cache and storage.
func TestRemove(t *testing.T) {
	var allowed atomic.Bool
	allowed.Store(true)
	e := newEnv(t, func(_ context.Context, name string) error {
		if allowed.Load() && name == "gone.example" {
			return nil
		}
		return errors.New("no longer allowed")
	}, nil)
	e.serveHTTPS(http.NotFoundHandler())
	if _, err := e.handshake("gone.example"); err != nil {
		t.Fatalf("handshake: %v\nlogs:\n%s", err, e.logs)
	}
	allowed.Store(false)
	// certmagic would serve its cached certificate without asking again;
	// the Manager asks on every handshake, so a host that lost its right
	// is refused at once, before Remove (which then clears cache and disk).
	if _, err := e.handshake("gone.example"); err == nil {
		t.Fatal("a cached certificate was served to a host that lost its right")
	}
	if err := e.mgr.Remove("Gone.Example"); err != nil {
		t.Fatal(err)
	}
	if issued, _, _ := e.mgr.Info("gone.example"); issued {
		t.Error("Info says issued after Remove")
	}
	matches, _ := filepath.Glob(filepath.Join(e.dataDir, "certs", "certificates", "*", "gone.example"))
	if len(matches) > 0 {
		t.Errorf("stored files left after Remove: %v", matches)
	}
	e.mustRefuse("gone.example")
	if err := e.mgr.Remove("never-issued.example"); err != nil {
		t.Errorf("Remove of a name without a certificate: %v", err)
	}
}

// TestIssuanceFailure: when the CA cannot validate an allowed name, the
// failure is logged at error (unlike a refusal), the client's handshake
// fails, and Stop cancels the issuance that certmagic would otherwise keep
// retrying in the handshake for up to 180 s.
func TestIssuanceFailure(t *testing.T) {
	e := newEnvUnreachable(t, allowOnly("unreachable.example"))
	e.serveHTTPS(http.NotFoundHandler())
	dialer := &net.Dialer{Timeout: 3 * time.Second}
	if conn, err := tls.DialWithDialer(dialer, "tcp", e.httpsAddr, &tls.Config{ServerName: "unreachable.example", RootCAs: e.pebble.roots}); err == nil {
		conn.Close()
		t.Fatal("handshake succeeded though the CA cannot validate")
	}
	deadline := time.Now().Add(handshakeTimeout)
	for !strings.Contains(e.logs.String(), "level=ERROR") {
		if time.Now().After(deadline) {
			t.Fatalf("the failed issuance was not logged at error:\n%s", e.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { e.mgr.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not cancel the issuance running in the handshake")
	}
	if strings.Contains(e.logs.String(), "certs: certificate refused") {
		t.Errorf("an allowed name was logged as refused:\n%s", e.logs)
	}
}

// TestHTTPListener: the plain-HTTP listener redirects with 308 to the
// same host and path over HTTPS (with the HTTPS port unless 443), and
// leaves ACME challenge paths to the challenge solver.
func TestHTTPListener(t *testing.T) {
	t.Parallel()
	mgr := func(httpsAddr string) *certs.Manager {
		m, err := certs.New(certs.Options{DataDir: t.TempDir(), CA: "https://ca.invalid/directory",
			Decide: allowOnly(), HTTPAddr: "127.0.0.1:8080", HTTPSAddr: httpsAddr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Stop)
		return m
	}
	standard, alternate := mgr(":443"), mgr("127.0.0.1:8443")
	for _, tc := range []struct {
		name     string
		m        *certs.Manager
		method   string
		host     string
		target   string
		location string
	}{
		{"page on 443", standard, "GET", "portal.acme.example", "/login?next=%2Freseller", "https://portal.acme.example/login?next=%2Freseller"},
		{"host with port", standard, "GET", "portal.acme.example:80", "/", "https://portal.acme.example/"},
		{"post keeps its method", standard, "POST", "portal.acme.example", "/login", "https://portal.acme.example/login"},
		{"https port other than 443", alternate, "GET", "acme.test.portico:8080", "/a/b", "https://acme.test.portico:8443/a/b"},
		{"IPv6 host", standard, "GET", "[::1]:80", "/", "https://[::1]:443/"},
		{"unknown challenge token", standard, "GET", "portal.acme.example", "/.well-known/acme-challenge/abc", "https://portal.acme.example/.well-known/acme-challenge/abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://"+tc.host+tc.target, strings.NewReader("x=1"))
			w := httptest.NewRecorder()
			tc.m.HTTPHandler().ServeHTTP(w, r)
			if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != tc.location {
				t.Errorf("%s %s%s = %d %q; want 308 %q", tc.method, tc.host, tc.target, w.Code, w.Header().Get("Location"), tc.location)
			}
		})
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = ""
	w := httptest.NewRecorder()
	standard.HTTPHandler().ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Errorf("no Host: %d; want 400", w.Code)
	}
}

// TestNewRefusesNoDecision: without a decision certmagic would issue for
// any name; New refuses to build such a manager.
func TestNewRefusesNoDecision(t *testing.T) {
	t.Parallel()
	_, err := certs.New(certs.Options{DataDir: t.TempDir(), CA: "https://ca.invalid/directory",
		HTTPAddr: ":80", HTTPSAddr: ":443"})
	if err == nil {
		t.Fatal("New accepted options without a decision func")
	}
}
