// Command portico is the single binary: a branded self-service portal for
// a reseller's clients, its JSON API, and the operator's commands. main is
// the composition root: it reads the config, opens the store, wires the
// services and the web app, and shuts everything down in order.
package main

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"portico/app"
	"portico/app/certs"
	"portico/app/config"
	"portico/app/control"
	"portico/app/domains"
	"portico/app/gctune"
	"portico/app/jobs"
	"portico/app/mail"
	"portico/app/metrics"
	"portico/app/tenancy"
	"portico/store"
)

//go:embed views static
var assets embed.FS

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "portico:", err)
		os.Exit(1)
	}
}

const usage = `Usage: portico [flags] [command]

Commands:
  serve                 run the portal (the default)
  check-config          print the effective config (secrets redacted) or every problem in it
  version               print the version
  backup FILE           write a consistent copy of the store to FILE (works while serving)
  verify                check indexes and ledger sums (works while serving)
  user create --reseller SLUG --email EMAIL --role ROLE --password-stdin
                        add a reseller staff user (owner, admin, billing, support)
  apikey create --reseller SLUG --name NAME
                        issue a reseller API key; it is printed once
  invoices run --period YYYY-MM [--reseller SLUG]
                        issue the period's invoices now (idempotent; the server does it hourly)

Flags (any command; they override the environment and the file):
`

// options are the flags every command accepts.
type options struct {
	configFile string
	set        map[string]string
}

func newFlagSet(name string, stderr io.Writer, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.configFile, "config", o.configFile, "config file (TOML); none means defaults")
	for _, f := range []struct{ name, key, help string }{
		{"http", "server.http", "HTTP listen address (server.http)"},
		{"https", "server.https", "HTTPS listen address (server.https)"},
		{"base-domain", "server.base_domain", "base domain; resellers answer at <slug>.<base> (server.base_domain)"},
		{"store", "store.path", "store file (store.path)"},
		{"log-level", "log.level", "debug, info, warn or error (log.level)"},
		{"log-format", "log.format", "text or json (log.format)"},
	} {
		key := f.key
		fs.Func(f.name, f.help, func(v string) error { o.set[key] = v; return nil })
	}
	return fs
}

// run is the whole program; main only supplies the process's context and
// streams.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := &options{set: map[string]string{}}
	global := newFlagSet("portico", stderr, o)
	if err := global.Parse(args); err != nil {
		return flagError(err)
	}
	rest := global.Args()
	command := "serve"
	if len(rest) > 0 {
		command, rest = rest[0], rest[1:]
	}
	switch command {
	case "version":
		fmt.Fprintln(stdout, "portico", buildVersion())
		return nil
	case "serve":
		fs := newFlagSet("serve", stderr, o)
		if err := fs.Parse(rest); err != nil {
			return flagError(err)
		}
		return serve(ctx, o, stdout, stderr)
	case "check-config":
		fs := newFlagSet("check-config", stderr, o)
		if err := fs.Parse(rest); err != nil {
			return flagError(err)
		}
		cfg, err := loadConfig(o)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := cfg.Redacted().WriteTOML(&buf); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "# effective configuration (defaults < file < environment < flags)\n%s", buf.String())
		return nil
	case "backup":
		fs := newFlagSet("backup", stderr, o)
		if err := fs.Parse(rest); err != nil {
			return flagError(err)
		}
		if fs.NArg() != 1 {
			return errors.New("usage: portico backup FILE")
		}
		return backup(ctx, o, fs.Arg(0), stdout)
	case "verify":
		fs := newFlagSet("verify", stderr, o)
		if err := fs.Parse(rest); err != nil {
			return flagError(err)
		}
		return verify(ctx, o, stdout)
	case "user":
		return userCommand(o, rest, stdin, stdout, stderr)
	case "apikey":
		return apikeyCommand(o, rest, stdout, stderr)
	case "invoices":
		return invoicesCommand(ctx, o, rest, stdout, stderr)
	case "help":
		global.Usage()
		return nil
	}
	return fmt.Errorf("unknown command %q (try `portico help`)", command)
}

func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return version
}

func loadConfig(o *options) (*config.Config, error) {
	return config.Load(config.Source{File: o.configFile, Env: os.Environ(), Flags: o.set})
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.Level]
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStoreForCommand loads the configuration and opens the store as
// openStore does, for a one-off command that logs to stderr.
func openStoreForCommand(o *options, stdout, stderr io.Writer) (*store.Store, error) {
	cfg, err := loadConfig(o)
	if err != nil {
		return nil, err
	}
	return openStore(cfg, nil, newLogger(cfg.Log, stderr), stdout)
}

// openStore opens, migrates and reconciles the store, printing the first
// password of any owner it creates. Every command that writes goes
// through it.
func openStore(cfg *config.Config, m *metrics.Metrics, log *slog.Logger, stdout io.Writer) (*store.Store, error) {
	opts := store.Options{}
	if m != nil {
		opts.Observe = m.ObserveStore
	}
	s, err := store.Open(cfg.Store.Path, opts)
	if err != nil {
		return nil, err
	}
	res, owners, err := tenancy.Reconcile(s, cfg)
	if err != nil {
		s.Close()
		return nil, err
	}
	if len(res.Created)+len(res.Updated)+len(res.Disabled) > 0 {
		log.Info("resellers reconciled with the config", "created", res.Created, "updated", res.Updated, "disabled", res.Disabled)
	}
	for _, owner := range owners {
		fmt.Fprintf(stdout, "\nFirst start of reseller %q.\n  Open:      %s\n  Email:     %s\n  Password:  %s\n  (shown only now: keep it safe, or reset it from the sign-in page)\n\n",
			owner.Slug, portalURL(cfg, owner.Slug), owner.Email, owner.Password)
	}
	return s, nil
}

// portalURL is where a reseller's portal answers on this server.
func portalURL(cfg *config.Config, slug string) string {
	host := slug + "." + cfg.Server.BaseDomain
	for _, r := range cfg.Resellers {
		if r.Slug == slug && len(r.Domains) > 0 {
			host = r.Domains[0]
		}
	}
	scheme, addr, defaultPort := "http", cfg.Server.HTTP, "80"
	if cfg.TLS.Enabled {
		scheme, addr, defaultPort = "https", cfg.Server.HTTPS, "443"
	}
	_, port, _ := net.SplitHostPort(addr)
	if port != "" && port != defaultPort {
		host += ":" + port
	}
	return scheme + "://" + host + "/"
}

func serve(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	if gc := gctune.Apply(os.Getenv); gc != "" {
		log.Info("garbage collector tuned for serving", "settings", gc)
	}
	// Bind the ports before anything else: a busy port must stop a first
	// start before it creates the owner and prints the one-time password,
	// which nobody could then use. (Closing a listener twice is harmless:
	// shutdown closes them too.)
	ln, err := net.Listen("tcp", cfg.Server.HTTP)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Server.HTTP, err)
	}
	defer ln.Close()
	var httpsLn net.Listener
	if cfg.TLS.Enabled {
		if httpsLn, err = net.Listen("tcp", cfg.Server.HTTPS); err != nil {
			return fmt.Errorf("listen %s: %w", cfg.Server.HTTPS, err)
		}
		defer httpsLn.Close()
	}
	m := metrics.New()
	s, err := openStore(cfg, m, log, stdout)
	if err != nil {
		return err
	}
	defer s.Close()
	dataDir := filepath.Dir(cfg.Store.Path)

	var sender mail.Sender
	if cfg.Mail.Host != "" {
		smtp, err := mail.NewSMTP(cfg.Mail)
		if err != nil {
			return err
		}
		sender = smtp
	}
	queue := mail.NewQueue(s, sender, log)
	queue.OnAttempt = m.ObserveMail

	// With automatic TLS the app answers on the HTTPS listener, and the
	// HTTP listener only answers ACME HTTP-01 challenges and redirects.
	// Certificates are issued only for hosts that serve a reseller.
	var tlsOn *httpsListeners
	if cfg.TLS.Enabled {
		decide := tenancy.CertificateDecision(s, cfg.Server.BaseDomain)
		if tlsOn, err = listenHTTPS(cfg, dataDir, httpsLn, decide, log); err != nil {
			return err
		}
	}
	stopCerts := func() {
		if tlsOn != nil {
			tlsOn.certs.Stop()
		}
	}
	// Every service is built once, here, and shared by the web app and
	// the jobs. Custom domains resolve DNS with the system's servers;
	// with TLS, a removed domain's certificate goes too.
	sd := app.ServiceDeps{Config: cfg, Store: s, Mail: queue, Log: log, DNS: domains.SystemResolver()}
	if tlsOn != nil {
		sd.Certificates = tlsOn.certs
	}
	services := app.NewServices(sd)

	views, _ := fs.Sub(assets, "views")
	static, _ := fs.Sub(assets, "static")
	web, err := app.New(app.Deps{Config: cfg, Store: s, Mail: queue, Metrics: m, Log: log,
		Views: views, Static: static, Version: buildVersion(), Services: services})
	if err != nil {
		stopCerts()
		return err
	}
	scheduler, err := jobs.New(cfg.Jobs, s, jobs.Services{Clients: services.Clients, Calls: services.Calls, Domains: services.Domains,
		Billing: services.Billing}, filepath.Join(dataDir, "backups"), log)
	if err != nil {
		stopCerts()
		return err
	}
	scheduler.OnRun = m.ObserveJob
	ctl, err := control.Listen(control.SocketPath(dataDir), s, log)
	if err != nil {
		stopCerts()
		return err
	}
	mailCtx, stopMail := context.WithCancel(context.Background())
	go queue.Run(mailCtx)
	// Starts the schedule, and the invoice run once in the background: it
	// catches up periods that began while the server was down. Stop below
	// ends it between two of its transactions.
	scheduler.Start()

	served := make(chan error, 2)
	if tlsOn == nil {
		go func() { served <- web.Serve(ln) }()
		log.Info("portico is serving", "http", ln.Addr().String(), "store", cfg.Store.Path, "version", buildVersion())
	} else {
		go func() { served <- web.Serve(tlsOn.certs.Listener(tlsOn.https)) }()
		go func() {
			if err := tlsOn.redirect.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				served <- err
			}
		}()
		log.Info("portico is serving", "https", tlsOn.https.Addr().String(), "http", ln.Addr().String()+" (ACME challenges, redirect to https)",
			"ca", cfg.TLS.CA, "store", cfg.Store.Path, "version", buildVersion())
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down: draining requests")
	case err = <-served:
		log.Error("server stopped", "err", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if tlsOn != nil {
		if serr := tlsOn.redirect.Shutdown(shutdownCtx); serr != nil {
			log.Error("shutdown http listener", "err", serr)
		}
	}
	if serr := web.Shutdown(shutdownCtx); serr != nil {
		log.Error("shutdown", "err", serr)
	}
	if tlsOn != nil {
		tlsOn.certs.Stop()
	}
	scheduler.Stop(shutdownCtx)
	stopMail()
	queue.Wait()
	_ = ctl.Close(shutdownCtx)
	log.Info("stopped")
	return err
}

// httpsListeners are what automatic TLS adds to serving: the certificate
// manager, the HTTPS listener (TCP; TLS comes from the manager) and the
// server for the plain-HTTP listener.
type httpsListeners struct {
	certs    *certs.Manager
	https    net.Listener
	redirect *http.Server
}

// listenHTTPS builds the certificate manager, whose on-demand issuance is
// guarded by decide, for the HTTPS listener ln (bound already).
func listenHTTPS(cfg *config.Config, dataDir string, ln net.Listener, decide certs.DecisionFunc, log *slog.Logger) (*httpsListeners, error) {
	m, err := certs.New(certs.Options{DataDir: dataDir, CA: cfg.TLS.CA, Email: cfg.TLS.Email, Decide: decide,
		HTTPAddr: cfg.Server.HTTP, HTTPSAddr: cfg.Server.HTTPS, Log: log})
	if err != nil {
		return nil, err
	}
	return &httpsListeners{certs: m, https: ln, redirect: m.HTTPServer()}, nil
}

// backup copies the store to path: directly when no server runs, through
// the running server's control socket when it holds the lock. The copy is
// of the file as it is (not migrated).
func backup(ctx context.Context, o *options, path string, stdout io.Writer) error {
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	s, err := store.Open(cfg.Store.Path, store.Options{ReadOnly: true})
	switch {
	case err == nil:
		defer s.Close()
		if err := s.BackupTo(path); err != nil {
			return err
		}
	case errors.Is(err, store.ErrLocked):
		sock := control.SocketPath(filepath.Dir(cfg.Store.Path))
		err := store.WriteFileAtomic(path, func(w io.Writer) error { return control.Backup(ctx, sock, w) })
		if err != nil {
			return fmt.Errorf("the store is locked and the running server did not answer on %s: %w", sock, err)
		}
	default:
		return err
	}
	fmt.Fprintln(stdout, "backup written to", path)
	return nil
}

// verify checks the store's invariants, through the running server when
// it holds the lock.
func verify(ctx context.Context, o *options, stdout io.Writer) error {
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	var problems []string
	log := newLogger(cfg.Log, io.Discard)
	s, err := openStore(cfg, nil, log, stdout)
	switch {
	case err == nil:
		problems, err = s.Verify()
		s.Close()
	case errors.Is(err, store.ErrLocked):
		problems, err = control.Verify(ctx, control.SocketPath(filepath.Dir(cfg.Store.Path)))
	}
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("verify found %d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	fmt.Fprintln(stdout, "store verified: indexes consistent, ledger balanced")
	return nil
}

func userCommand(o *options, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: portico user create --reseller SLUG --email EMAIL --role ROLE --password-stdin")
	}
	fs := newFlagSet("user create", stderr, o)
	slug := fs.String("reseller", "", "reseller slug")
	email := fs.String("email", "", "the user's email")
	role := fs.String("role", "", "owner, admin, billing or support")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	if err := fs.Parse(args[1:]); err != nil {
		return flagError(err)
	}
	if *slug == "" || *email == "" || *role == "" || !*fromStdin {
		return errors.New("user create needs --reseller, --email, --role and --password-stdin")
	}
	password, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password = strings.TrimRight(password, "\r\n")
	s, err := openStoreForCommand(o, stdout, stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	u, err := tenancy.CreateStaffUser(s, *slug, *email, *role, password)
	if err != nil {
		return fmt.Errorf("user create: %w", err)
	}
	fmt.Fprintf(stdout, "created %s user %s for reseller %s\n", u.Role, u.Email, *slug)
	return nil
}

func apikeyCommand(o *options, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: portico apikey create --reseller SLUG --name NAME")
	}
	fs := newFlagSet("apikey create", stderr, o)
	slug := fs.String("reseller", "", "reseller slug")
	name := fs.String("name", "", "a name that says what uses the key")
	if err := fs.Parse(args[1:]); err != nil {
		return flagError(err)
	}
	if *slug == "" || *name == "" {
		return errors.New("apikey create needs --reseller and --name")
	}
	s, err := openStoreForCommand(o, stdout, stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	key, err := tenancy.CreateResellerAPIKey(s, *slug, *name, "operator")
	if err != nil {
		return fmt.Errorf("apikey create: %w", err)
	}
	fmt.Fprintf(stdout, "API key %q for reseller %s (shown only now; store it safely):\n%s\n", *name, *slug, key)
	return nil
}
