// Package app is the Fiber application: routes, middleware, the page
// envelope that carries a reseller's brand, the error handler, and one file
// of handlers per area. Only main imports it. Handlers take the tenant and
// user from typed accessors and call the store or a service.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/account"
	"portico/app/billing"
	"portico/app/branding"
	"portico/app/calls"
	"portico/app/clients"
	"portico/app/config"
	"portico/app/domains"
	"portico/app/gate"
	"portico/app/mail"
	"portico/app/metrics"
	"portico/app/team"
	"portico/app/tenancy"
	"portico/store"
)

// Deps are what the application needs, built by main.
type Deps struct {
	Config  *config.Config
	Store   *store.Store
	Mail    *mail.Queue
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Views   fs.FS
	Static  fs.FS
	Version string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Services are built once by NewServices and shared with the jobs.
	Services *Services
}

// App is the running web application.
type App struct {
	cfg         *config.Config
	store       *store.Store
	mail        *mail.Queue
	clients     *clients.Service
	account     *account.Service
	calls       *calls.Service
	team        *team.Service
	domains     *domains.Service
	branding    *branding.Service
	billing     *billing.Service
	metrics     *metrics.Metrics
	log         *slog.Logger
	now         func() time.Time
	version     string
	views       *views
	static      fs.FS
	fiber       *fiber.App
	tenants     *tenancy.Hosts
	touches     *sessionTouches
	limits      *authLimits
	api         *apiState  // API keys' rate limits and last-used times
	decodes     *gate.Gate // image decodes at once (images.go)
	metricsFrom []netip.Prefix
	// trustedProxies may set X-Forwarded-For (clientip.go).
	trustedProxies []netip.Prefix
	// brandVersions memoises brandVersion: colours → stylesheet version.
	brandVersions sync.Map
	stopOnce      sync.Once
	stop          chan struct{}
	done          chan struct{}
}

// BodyLimit is the largest request body accepted (413 beyond), except on
// the routes that take image uploads, which allow UploadLimit, and the
// rate deck uploads, which allow RateUploadLimit (page) and RatesLimit
// (API), each to a sender who may use the route (bigBodies in limits.go).
const (
	BodyLimit   = 1 << 20
	UploadLimit = 5 << 20
	// RatesLimit is the largest rate deck CSV (PUT /api/v1/rates).
	RatesLimit = calls.MaxRateFile
	// RateUploadLimit is a rate deck CSV of calls.MaxRateFile with room
	// for the multipart envelope around it.
	RateUploadLimit = calls.MaxRateFile + 64<<10
	// NumberUploadLimit is a number inventory CSV of
	// billing.MaxNumberFile with room for the multipart envelope.
	NumberUploadLimit = billing.MaxNumberFile + 64<<10
)

// New builds the application; templates are parsed here so a broken one
// stops the start.
func New(d Deps) (*App, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Services == nil {
		return nil, errors.New("app: no services (build them with NewServices)")
	}
	v, err := parseViews(d.Views, d.Static)
	if err != nil {
		return nil, err
	}
	a := &App{
		cfg: d.Config, store: d.Store, mail: d.Mail, metrics: d.Metrics, log: d.Log, now: d.Now,
		account: d.Services.Account, clients: d.Services.Clients, calls: d.Services.Calls, team: d.Services.Team, domains: d.Services.Domains,
		branding: d.Services.Branding, billing: d.Services.Billing, tenants: d.Services.Hosts,
		version: d.Version, views: v, static: d.Static,
		touches: newSessionTouches(),
		limits:  newAuthLimits(d.Now),
		api:     newAPIState(d.Config.API, d.Now),
		decodes: gate.New(decodeSlots, decodeWait),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, s := range d.Config.Server.MetricsFrom {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("app: server.metrics_from: %w", err)
		}
		a.metricsFrom = append(a.metricsFrom, p)
	}
	if a.trustedProxies, err = parseTrustedProxies(d.Config.Server.TrustedProxies); err != nil {
		return nil, fmt.Errorf("app: server.trusted_proxies: %w", err)
	}
	a.fiber = fiber.New(fiber.Config{
		AppName:               "portico",
		DisableStartupMessage: true,
		// Bodies are streamed and read by readBody and readBigBody, each
		// held to its route's limit while reading (limits.go).
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true, // else fasthttp reads a whole multipart body before any limit applies
		BodyLimit:                    BodyLimit,
		Concurrency:                  MaxConnections,
		ReadTimeout:                  readTimeout,
		WriteTimeout:                 60 * time.Second,
		IdleTimeout:                  120 * time.Second,
		ReadBufferSize:               headerLimit,
		ErrorHandler:                 a.handleError,
		// Security: only the listed proxies may set X-Forwarded-*; without
		// this Fiber trusts every client's forwarded headers.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          d.Config.Server.TrustedProxies,
		ProxyHeader:             proxyHeader(d.Config.Server.TrustedProxies),
	})
	a.fiber.Server().HeaderReceived = a.requestConfig // per-route body limits before the body is read
	a.routes()
	go a.flushTouches()
	return a, nil
}

func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}

func parsePrefix(s string) (netip.Prefix, error) {
	if addr, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	return netip.ParsePrefix(s)
}

// Fiber is the Fiber app. Nothing in the binary uses it: the handler
// benchmarks in ./bench call its handler in-process (no sockets), which
// they could not do from outside this package otherwise.
func (a *App) Fiber() *fiber.App { return a.fiber }

// Serve answers requests on ln until Shutdown.
func (a *App) Serve(ln net.Listener) error { return a.fiber.Listener(ln) }

// InvalidateTenants drops cached host → reseller answers after a change to
// resellers or domains.
func (a *App) InvalidateTenants() { a.tenants.Reset() }

// Shutdown stops accepting connections, waits for requests in flight (up
// to ctx's deadline) and writes pending session touches.
func (a *App) Shutdown(ctx context.Context) error {
	err := a.fiber.ShutdownWithContext(ctx)
	a.stopOnce.Do(func() { close(a.stop) })
	select {
	case <-a.done:
	case <-ctx.Done():
	}
	return err
}

// flushTouches writes gathered last-seen times every 30 s, and once more
// when the app stops.
func (a *App) flushTouches() {
	defer close(a.done)
	ticker := time.NewTicker(30 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
		case <-a.stop:
			a.writeTouches()
			return
		}
		a.writeTouches()
	}
}

func (a *App) writeTouches() {
	seen := a.touches.drain()
	if err := a.store.TouchSessions(seen); err != nil {
		a.log.Error("sessions: write last-seen times", "err", err)
	}
	if err := a.store.TouchAPIKeys(a.api.used.drain()); err != nil {
		a.log.Error("api keys: write last-used times", "err", err)
	}
}
