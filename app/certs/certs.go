// Package certs owns automatic TLS: a certmagic Cache and Config of its own
// (never certmagic's package defaults), certificates obtained on demand
// during the TLS handshake from an ACME CA, kept in files under the data
// directory, the HTTPS listener's tls.Config, and the plain-HTTP listener
// that answers ACME HTTP-01 challenges and redirects everything else to
// HTTPS.
//
// Which names may have a certificate is not decided here: main passes a
// DecisionFunc (the app's, which reads the store). This package must not
// import store or app.
package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// DecisionFunc says whether name (lower case, punycode) may have a
// certificate; the error says why not.
type DecisionFunc func(ctx context.Context, name string) error

// ErrRefused wraps every refusal by the DecisionFunc, so that a handshake
// refused by policy is told apart from a failure to obtain a certificate.
var ErrRefused = errors.New("certs: certificate refused")

// Options configure a Manager.
type Options struct {
	// DataDir is the data directory; certificates, keys and the ACME
	// account live in DataDir/certs.
	DataDir string
	// CA is the ACME directory URL; Email the ACME account's contact.
	// Using the Manager means agreeing to the CA's terms of service.
	CA    string
	Email string
	// RootCAs are the roots trusted for the ACME directory's HTTPS; nil
	// means the system's (a private CA, or Pebble in tests, needs its own).
	RootCAs *x509.CertPool
	// Decide guards issuance: only names it allows get a certificate.
	// Required: with on-demand issuance and no decision, certmagic would
	// issue for any name a client sends.
	Decide DecisionFunc
	// HTTPAddr and HTTPSAddr are the listen addresses of the plain-HTTP
	// and HTTPS listeners. Their ports are where the ACME CA's HTTP-01 and
	// TLS-ALPN-01 challenges arrive (certmagic then finds them in use and
	// leaves the answering to our listeners), and the HTTPS port is where
	// the HTTP listener redirects.
	HTTPAddr  string
	HTTPSAddr string
	// DisableHTTPChallenge and DisableTLSALPNChallenge turn one challenge
	// type off (tests use them to prove each one works on its own).
	DisableHTTPChallenge    bool
	DisableTLSALPNChallenge bool
	// Log receives refusals at debug and failures at error; certmagic's
	// own messages are forwarded to it too.
	Log *slog.Logger
}

// Manager obtains, caches, serves and forgets certificates.
type Manager struct {
	log       *slog.Logger
	decide    DecisionFunc
	cache     *certmagic.Cache
	magic     *certmagic.Config
	issuer    *certmagic.ACMEIssuer
	storage   *certmagic.FileStorage
	httpsPort string // "" when 443

	// stopping is cancelled by Stop: issuances still running in a
	// handshake (they may take up to 180 s) give up, and Stop waits for
	// them through inflight.
	stopping context.Context
	stop     context.CancelFunc
	mu       sync.RWMutex // guards stopped against inflight.Add
	stopped  bool
	inflight sync.WaitGroup
}

// New builds a Manager. Nothing is obtained until a handshake asks.
func New(o Options) (*Manager, error) {
	if o.Decide == nil {
		return nil, errors.New("certs: a decision func is required")
	}
	if o.DataDir == "" {
		return nil, errors.New("certs: a data directory is required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	httpHost, httpPort, err := splitPort(o.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("certs: http address: %w", err)
	}
	_, httpsPort, err := splitPort(o.HTTPSAddr)
	if err != nil {
		return nil, fmt.Errorf("certs: https address: %w", err)
	}
	m := &Manager{
		log:     o.Log,
		decide:  o.Decide,
		storage: &certmagic.FileStorage{Path: filepath.Join(o.DataDir, "certs")},
	}
	if httpsPort != 443 {
		m.httpsPort = strconv.Itoa(httpsPort)
	}
	m.stopping, m.stop = context.WithCancel(context.Background())
	logger := zap.New(newSlogCore(o.Log.Handler())).Named("certmagic")

	// An explicit cache and config: certmagic's package-level Default and
	// its default cache are never used, so nothing else in the process can
	// change how our certificates are managed.
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           logger,
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage:            m.storage,
		Logger:             logger,
		KeySource:          certmagic.StandardKeyGenerator{KeyType: certmagic.P256},
		RenewalWindowRatio: certmagic.DefaultRenewalWindowRatio,
		// Security: on-demand issuance for exactly the names Decide allows.
		OnDemand: &certmagic.OnDemandConfig{DecisionFunc: m.allow},
	})
	m.issuer = certmagic.NewACMEIssuer(m.magic, certmagic.ACMEIssuer{
		CA:                      o.CA,
		Email:                   o.Email,
		Agreed:                  true,
		TrustedRoots:            o.RootCAs,
		ListenHost:              httpHost,
		AltHTTPPort:             httpPort,
		AltTLSALPNPort:          httpsPort,
		DisableHTTPChallenge:    o.DisableHTTPChallenge,
		DisableTLSALPNChallenge: o.DisableTLSALPNChallenge,
		Logger:                  logger.Named("acme"),
	})
	m.magic.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

func splitPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("%q has no port number", addr)
	}
	return host, n, nil
}

// allow is the DecisionFunc certmagic calls before loading a certificate
// from storage or obtaining one. It is not called for certificates already
// in the memory cache: Remove takes those out.
func (m *Manager) allow(ctx context.Context, name string) error {
	if err := m.decide(ctx, name); err != nil {
		// A refusal is policy working, not a fault: debug only, so junk SNI
		// from scanners cannot flood the log.
		m.log.Debug("certs: certificate refused", "server_name", name, "reason", err.Error())
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return nil
}

// getCertificate is the HTTPS listener's GetCertificate: certmagic's, with
// real failures logged at error, cancelled when the Manager stops.
func (m *Manager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	m.mu.RLock()
	if m.stopped {
		m.mu.RUnlock()
		return nil, errors.New("certs: stopped")
	}
	m.inflight.Add(1)
	m.mu.RUnlock()
	defer m.inflight.Done()

	ctx := hello.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(m.stopping, cancel)()

	// Security: the decision is asked on every handshake, not only before
	// issuance, so a cached certificate of a host that lost its right (its
	// reseller disabled, its domain dropped from config.toml) is not served.
	// It is one store read; the handshake benchmark shows the cost.
	// Without SNI certmagic decides for the listener's address itself.
	var cert *tls.Certificate
	var err error
	if hello.ServerName != "" {
		err = m.allow(ctx, hello.ServerName)
	}
	if err == nil {
		cert, err = m.magic.GetCertificateWithContext(ctx, hello)
	}
	switch {
	case err == nil:
		return cert, nil
	case errors.Is(err, ErrRefused):
		// logged at debug by allow
	case m.stopping.Err() != nil:
		m.log.Debug("certs: issuance abandoned: shutting down", "server_name", hello.ServerName)
	default:
		m.log.Error("certs: no certificate for handshake", "server_name", hello.ServerName, "err", err)
	}
	return nil, err
}

// TLSConfig is the HTTPS listener's configuration: certificates on demand,
// and the ALPN protocols http/1.1 (Fiber speaks no h2; without it browsers
// fail with "no application protocol") then acme-tls/1 (the TLS-ALPN-01
// challenge, which certmagic answers in GetCertificate).
func (m *Manager) TLSConfig() *tls.Config {
	tc := m.magic.TLSConfig()
	tc.GetCertificate = m.getCertificate
	tc.NextProtos = append([]string{"http/1.1"}, tc.NextProtos...)
	tc.MinVersion = tls.VersionTLS12
	return tc
}

// Listener wraps a TCP listener into the HTTPS listener.
func (m *Manager) Listener(ln net.Listener) net.Listener {
	return tls.NewListener(ln, m.TLSConfig())
}

// HTTPHandler answers ACME HTTP-01 challenges and redirects every other
// request, with 308 so that the method and body are kept, to the same host
// and path over HTTPS.
func (m *Manager) HTTPHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.issuer.HandleHTTPChallenge(w, r) {
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if host == "" {
			http.Error(w, "a Host header is required", http.StatusBadRequest)
			return
		}
		if m.httpsPort != "" || strings.Contains(host, ":") {
			host = net.JoinHostPort(host, cmpOr(m.httpsPort, "443"))
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// HTTPServer is the plain-HTTP server around HTTPHandler, with timeouts;
// stop it with Shutdown.
func (m *Manager) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           m.HTTPHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
	}
}

// Info tells whether host has a certificate, who issued it and when it
// expires, from the memory cache or else from storage.
func (m *Manager) Info(host string) (issued bool, issuer string, notAfter time.Time) {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	var best *x509.Certificate
	for _, c := range m.cache.AllMatchingCertificates(host) {
		if c.Leaf != nil && (best == nil || c.Leaf.NotAfter.After(best.NotAfter)) {
			best = c.Leaf
		}
	}
	if best == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		data, err := m.storage.Load(ctx, certmagic.StorageKeys.SiteCert(m.issuer.IssuerKey(), host))
		if err != nil {
			return false, "", time.Time{}
		}
		block, _ := pem.Decode(data)
		if block == nil {
			return false, "", time.Time{}
		}
		if best, err = x509.ParseCertificate(block.Bytes); err != nil {
			return false, "", time.Time{}
		}
	}
	return true, issuerName(best), best.NotAfter
}

// issuerName is "Let's Encrypt R11" style: organisation and common name.
func issuerName(c *x509.Certificate) string {
	name := c.Issuer.CommonName
	if len(c.Issuer.Organization) > 0 && !strings.HasPrefix(name, c.Issuer.Organization[0]) {
		name = strings.TrimSpace(c.Issuer.Organization[0] + " " + name)
	}
	return name
}

// Remove forgets host's certificate: out of the memory cache (where the
// DecisionFunc would never be asked again) and out of storage (where a
// later handshake could load it). Call it when a domain is removed or
// stops being allowed.
func (m *Manager) Remove(host string) error {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	if host == "" {
		return errors.New("certs: remove: empty host")
	}
	m.cache.RemoveManaged([]certmagic.SubjectIssuer{{Subject: host}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := certmagic.StorageKeys.CertsSitePrefix(m.issuer.IssuerKey(), host)
	if err := m.storage.Delete(ctx, key); err != nil {
		return fmt.Errorf("certs: remove %s: %w", host, err)
	}
	m.log.Info("certs: certificate removed", "host", host)
	return nil
}

// Stop cancels issuances still running in handshakes, waits for them, and
// ends certificate maintenance (renewals). Call it after the listeners are
// shut down; calling it again does nothing.
func (m *Manager) Stop() {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	m.stopped = true
	m.mu.Unlock()
	m.stop()
	m.inflight.Wait()
	m.cache.Stop()
}
