// Package config owns Portico's configuration: defaults, the TOML file,
// PORTICO_SECTION__KEY environment overrides (with _FILE for secrets),
// command-line flags, and validation that reports every problem at once.
// Of Portico's own packages it imports only store/money (amounts in
// config, such as a reseller's maximum recharge).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"
	"golang.org/x/net/idna"
	"golang.org/x/text/currency"

	"portico/store/money"
)

// Config is the whole effective configuration.
type Config struct {
	Server    Server     `toml:"server"`
	Store     Store      `toml:"store"`
	TLS       TLS        `toml:"tls"`
	Mail      Mail       `toml:"mail"`
	Log       Log        `toml:"log"`
	Jobs      Jobs       `toml:"jobs"`
	Session   Session    `toml:"session"`
	API       API        `toml:"api"`
	Resellers []Reseller `toml:"reseller"`
}

// API is [api]: per-key request limits of the JSON API.
type API struct {
	// RequestsPerMinute limits each key on every endpoint but the call
	// endpoints.
	RequestsPerMinute int `toml:"requests_per_minute"`
	// CallsPerMinute limits each key on POST /calls/authorize and POST
	// /cdrs together: a PBX asks for every call.
	CallsPerMinute int `toml:"calls_per_minute"`
}

// Server is [server].
type Server struct {
	HTTP           string   `toml:"http"`
	HTTPS          string   `toml:"https"`
	BaseDomain     string   `toml:"base_domain"`
	TrustedProxies []string `toml:"trusted_proxies"`
	MetricsFrom    []string `toml:"metrics_from"`
	// PublicScheme and PublicPort are how browsers reach this server, for
	// the links that mails carry (see PublicOrigin).
	PublicScheme string `toml:"public_scheme"`
	PublicPort   int    `toml:"public_port"`
}

// PublicOrigin is scheme://host[:port] of host as browsers reach it:
// server.public_scheme, else https with [tls] enabled and http without;
// server.public_port, else 443 with [tls] (its listener is reached on
// 443) and the port of server.http without. A scheme's default port is
// left out. Mailed links are built from it, never from a request.
func (c *Config) PublicOrigin(host string) string {
	scheme, port := c.Server.PublicScheme, c.Server.PublicPort
	if scheme == "" {
		scheme = "http"
		if c.TLS.Enabled {
			scheme = "https"
		}
	}
	if port == 0 {
		if c.TLS.Enabled {
			port = 443
		} else if _, p, err := net.SplitHostPort(c.Server.HTTP); err == nil {
			port, _ = strconv.Atoi(p)
		}
	}
	if port == 0 || (scheme == "http" && port == 80) || (scheme == "https" && port == 443) {
		return scheme + "://" + host
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// Store is [store].
type Store struct {
	Path string `toml:"path"`
}

// TLS is [tls].
type TLS struct {
	Enabled bool   `toml:"enabled"`
	Email   string `toml:"email"`
	CA      string `toml:"ca"`
}

// Mail is [mail]. With no host, mail stays in the store's outbox and is
// logged.
type Mail struct {
	Host     string `toml:"host"`
	Port     int    `toml:"port"`
	Username string `toml:"username"`
	Password string `toml:"password" secret:"true"`
	From     string `toml:"from"`
	Security string `toml:"security"`
}

// Log is [log].
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// Jobs is [jobs]: cron specs (UTC) and backup retention.
type Jobs struct {
	SessionCleanup string `toml:"session_cleanup"`
	Backup         string `toml:"backup"`
	BackupKeep     int    `toml:"backup_keep"`
	ClientCleanup  string `toml:"client_cleanup"`
	DomainCheck    string `toml:"domain_check"`
	// ReleaseReservations returns the credit of calls whose CDR never came.
	ReleaseReservations string `toml:"release_reservations"`
	// CDRRetention deletes CDRs older than each reseller keeps them.
	CDRRetention string `toml:"cdr_retention"`
	// Invoices issues every begun, uninvoiced billing period's invoices
	// (and catches up missed ones); hourly in UTC, since periods begin at
	// midnight in each reseller's own zone.
	Invoices string `toml:"invoices"`
}

// Session is [session].
type Session struct {
	IdleTimeout Duration `toml:"idle_timeout"`
	MaxAge      Duration `toml:"max_age"`
}

// Reseller is one [[reseller]] entry.
type Reseller struct {
	Slug         string   `toml:"slug"`
	Name         string   `toml:"name"`
	Currency     string   `toml:"currency"`
	Timezone     string   `toml:"timezone"`
	Domains      []string `toml:"domains"`
	OwnerEmail   string   `toml:"owner_email"`
	PrimaryColor string   `toml:"primary_color"`
	AccentColor  string   `toml:"accent_color"`
	// CreditLimit caps the credit the reseller may grant, in currency
	// units as a decimal string ("5000.00"); empty is unlimited.
	CreditLimit string `toml:"credit_limit"`
	// MaxRecharge caps one recharge, in currency units ("10000.00");
	// empty is 100000.
	MaxRecharge string `toml:"max_recharge"`
	// MaxCallLength caps the duration authorised for one call (and the
	// credit it reserves); zero is 4h.
	MaxCallLength Duration `toml:"max_call_length"`
	// CDRRetentionMonths is how many months of CDRs are kept, the current
	// one included; zero is 13. Usage figures are kept for ever.
	CDRRetentionMonths int `toml:"cdr_retention_months"`
}

// Duration is a time.Duration written as "12h" in TOML and env.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 30m or 12h", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default resellers: with none declared, `go run .` serves this one.
const (
	DefaultSlug       = "demo"
	DefaultOwnerEmail = "owner@example.com"
)

// Defaults returns the configuration used when nothing is set.
func Defaults() *Config {
	return &Config{
		Server: Server{HTTP: ":8080", HTTPS: ":8443", BaseDomain: "localhost",
			MetricsFrom: []string{"127.0.0.0/8", "::1/128"}},
		Store: Store{Path: "data/portico.db"},
		TLS:   TLS{CA: "https://acme-v02.api.letsencrypt.org/directory"},
		Mail:  Mail{Port: 587, From: "Portico <noreply@localhost>", Security: "starttls"},
		Log:   Log{Level: "info", Format: "text"},
		Jobs: Jobs{SessionCleanup: "@every 1h", Backup: "30 3 * * *", BackupKeep: 7, ClientCleanup: "15 4 * * *", DomainCheck: "@every 5m",
			ReleaseReservations: "@every 5m", CDRRetention: "45 4 * * *",
			Invoices: "@every 1h"},
		Session: Session{IdleTimeout: Duration{12 * time.Hour},
			MaxAge: Duration{7 * 24 * time.Hour}},
		API: API{RequestsPerMinute: 600, CallsPerMinute: 120_000},
	}
}

// DefaultReseller is the reseller served when the config declares none.
func DefaultReseller() Reseller {
	return Reseller{Slug: DefaultSlug, Name: "Demo Telecom", Currency: "USD", Timezone: "UTC",
		Domains: []string{"localhost"}, OwnerEmail: DefaultOwnerEmail,
		PrimaryColor: "#2457d6", AccentColor: "#f59e0b"}
}

// Problems is every validation problem, each naming its key.
type Problems []string

func (p Problems) Error() string {
	return fmt.Sprintf("config: %d problem(s):\n  %s", len(p), strings.Join(p, "\n  "))
}

// Source says where settings come from, in increasing precedence.
type Source struct {
	File  string            // "" for none
	Env   []string          // os.Environ() form
	Flags map[string]string // "section.key" → value, only flags set
}

// Load builds the effective config: defaults < file < env < flags, then
// validates it. The error is Problems when the content is wrong.
func Load(src Source) (*Config, error) {
	cfg := Defaults()
	var problems Problems
	if src.File != "" {
		data, err := os.ReadFile(src.File)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(cfg)
		if err != nil {
			var perr toml.ParseError
			if errors.As(err, &perr) {
				return nil, Problems{fmt.Sprintf("%s: line %d: %s", src.File, perr.Position.Line, perr.Message)}
			}
			return nil, Problems{fmt.Sprintf("%s: %v", src.File, err)}
		}
		for _, key := range md.Undecoded() {
			problems = append(problems, fmt.Sprintf("%s: unknown key", key))
		}
	}
	if len(cfg.Resellers) == 0 {
		cfg.Resellers = []Reseller{DefaultReseller()}
	}
	problems = append(problems, applyEnv(cfg, src.Env)...)
	for key, value := range src.Flags {
		if err := setKey(cfg, key, value); err != nil {
			problems = append(problems, fmt.Sprintf("--%s: %v", key, err))
		}
	}
	problems = append(problems, cfg.Validate()...)
	if len(problems) > 0 {
		sort.Strings(problems)
		return cfg, problems
	}
	return cfg, nil
}

// applyEnv applies PORTICO_SECTION__KEY and, for secrets and anything else,
// PORTICO_SECTION__KEY_FILE (the value is read from that file).
func applyEnv(cfg *Config, env []string) Problems {
	var problems Problems
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "PORTICO_") {
			continue
		}
		rest := strings.ToLower(strings.TrimPrefix(name, "PORTICO_"))
		section, key, ok := strings.Cut(rest, "__")
		if !ok {
			continue
		}
		if base, isFile := strings.CutSuffix(key, "_file"); isFile && hasKey(cfg, section+"."+base) {
			data, err := os.ReadFile(value)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", name, err))
				continue
			}
			key, value = base, strings.TrimRight(string(data), "\r\n")
		}
		if err := setKey(cfg, section+"."+key, value); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
		}
	}
	return problems
}

// field finds the settable field for "section.key".
func field(cfg *Config, key string) (reflect.Value, bool) {
	section, name, ok := strings.Cut(key, ".")
	if !ok {
		return reflect.Value{}, false
	}
	v := reflect.ValueOf(cfg).Elem()
	for i := range v.NumField() {
		if v.Type().Field(i).Tag.Get("toml") != section || v.Field(i).Kind() != reflect.Struct {
			continue
		}
		sv := v.Field(i)
		for j := range sv.NumField() {
			if sv.Type().Field(j).Tag.Get("toml") == name {
				return sv.Field(j), true
			}
		}
	}
	return reflect.Value{}, false
}

func hasKey(cfg *Config, key string) bool { _, ok := field(cfg, key); return ok }

// setKey sets "section.key" from its string form.
func setKey(cfg *Config, key, value string) error {
	f, ok := field(cfg, key)
	if !ok {
		return fmt.Errorf("unknown key %s", key)
	}
	if u, ok := f.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		return u.UnmarshalText([]byte(value))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(value)
	case reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("%q is not true or false", value)
		}
		f.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", value)
		}
		f.SetInt(int64(n))
	case reflect.Slice:
		var items []string
		for _, s := range strings.Split(value, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("cannot be set from text")
	}
	return nil
}

var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$`)

// Validate lists every problem, each prefixed with its key.
func (c *Config) Validate() Problems {
	var p Problems
	add := func(key, format string, args ...any) {
		p = append(p, key+": "+fmt.Sprintf(format, args...))
	}
	checkAddr := func(key, addr string) {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			add(key, "%q is not a listen address such as :8080 or 127.0.0.1:8080", addr)
		}
	}
	checkAddr("server.http", c.Server.HTTP)
	if c.TLS.Enabled {
		checkAddr("server.https", c.Server.HTTPS)
	}
	base, err := NormalizeHost(c.Server.BaseDomain)
	if err != nil {
		add("server.base_domain", "%v", err)
	} else {
		c.Server.BaseDomain = base
	}
	for _, cidr := range c.Server.TrustedProxies {
		if !validIPOrPrefix(cidr) {
			add("server.trusted_proxies", "%q is not an IP address or CIDR range", cidr)
		}
	}
	if c.Server.PublicScheme != "" && c.Server.PublicScheme != "http" && c.Server.PublicScheme != "https" {
		add("server.public_scheme", "%q must be http or https (empty: https with [tls] enabled, else http)", c.Server.PublicScheme)
	}
	if c.Server.PublicPort < 0 || c.Server.PublicPort > 65535 {
		add("server.public_port", "%d is not a port (1–65535; 0: 443 with [tls] enabled, else the port of server.http)", c.Server.PublicPort)
	}
	for _, cidr := range c.Server.MetricsFrom {
		if !validIPOrPrefix(cidr) {
			add("server.metrics_from", "%q is not an IP address or CIDR range", cidr)
		}
	}
	if strings.TrimSpace(c.Store.Path) == "" {
		add("store.path", "must not be empty")
	}
	if c.TLS.Enabled {
		if u, err := url.Parse(c.TLS.CA); err != nil || u.Scheme != "https" || u.Host == "" {
			add("tls.ca", "%q is not an https ACME directory URL", c.TLS.CA)
		}
		if c.TLS.Email != "" {
			if _, err := mail.ParseAddress(c.TLS.Email); err != nil {
				add("tls.email", "%q is not an email address", c.TLS.Email)
			}
		}
	}
	if c.Mail.Host != "" {
		if c.Mail.Port < 1 || c.Mail.Port > 65535 {
			add("mail.port", "%d is not a port (1–65535)", c.Mail.Port)
		}
		switch c.Mail.Security {
		case "starttls", "tls", "none":
		default:
			add("mail.security", "%q must be starttls, tls or none", c.Mail.Security)
		}
	}
	if _, err := mail.ParseAddress(c.Mail.From); err != nil {
		add("mail.from", "%q is not an address such as \"Portico <noreply@example.com>\"", c.Mail.From)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "%q must be debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", "%q must be text or json", c.Log.Format)
	}
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	for key, spec := range map[string]string{"jobs.session_cleanup": c.Jobs.SessionCleanup, "jobs.backup": c.Jobs.Backup,
		"jobs.client_cleanup": c.Jobs.ClientCleanup, "jobs.domain_check": c.Jobs.DomainCheck,
		"jobs.release_reservations": c.Jobs.ReleaseReservations, "jobs.cdr_retention": c.Jobs.CDRRetention,
		"jobs.invoices": c.Jobs.Invoices} {
		if spec == "" || spec == "off" {
			continue
		}
		if _, err := parser.Parse(spec); err != nil {
			add(key, "%q is not a cron spec (five fields, @daily or @every 1h; \"off\" disables): %v", spec, err)
		}
	}
	if c.Jobs.BackupKeep < 1 {
		add("jobs.backup_keep", "must be at least 1")
	}
	if c.Session.IdleTimeout.Duration < time.Minute {
		add("session.idle_timeout", "must be at least 1m")
	}
	if c.Session.MaxAge.Duration < c.Session.IdleTimeout.Duration {
		add("session.max_age", "must be at least session.idle_timeout")
	}
	if c.API.RequestsPerMinute < 1 {
		add("api.requests_per_minute", "must be at least 1")
	}
	if c.API.CallsPerMinute < 1 {
		add("api.calls_per_minute", "must be at least 1")
	}
	p = append(p, c.validateResellers(base)...)
	return p
}

func (c *Config) validateResellers(base string) Problems {
	var p Problems
	slugs := map[string]int{}
	domains := map[string]string{}
	for i := range c.Resellers {
		r := &c.Resellers[i]
		key := fmt.Sprintf("reseller[%d]", i+1)
		if r.Slug != "" {
			key = fmt.Sprintf("reseller[%d] (%s)", i+1, r.Slug)
		}
		add := func(field, format string, args ...any) {
			p = append(p, key+"."+field+": "+fmt.Sprintf(format, args...))
		}
		switch {
		case !slugPattern.MatchString(r.Slug):
			add("slug", "%q must be 1–32 lower-case letters, digits or hyphens, not starting or ending with a hyphen", r.Slug)
		case slugs[r.Slug] > 0:
			add("slug", "%q is already used by reseller[%d]", r.Slug, slugs[r.Slug])
		default:
			slugs[r.Slug] = i + 1
		}
		if strings.TrimSpace(r.Name) == "" {
			add("name", "must not be empty")
		}
		r.Currency = strings.ToUpper(strings.TrimSpace(r.Currency))
		if _, err := currency.ParseISO(r.Currency); err != nil || len(r.Currency) != 3 {
			add("currency", "%q is not an ISO 4217 currency code such as USD or EUR", r.Currency)
		}
		if r.Timezone == "" {
			r.Timezone = "UTC"
		}
		if _, err := time.LoadLocation(r.Timezone); err != nil {
			add("timezone", "%q is not a time zone such as Europe/Paris", r.Timezone)
		}
		if r.OwnerEmail != "" {
			if a, err := mail.ParseAddress(r.OwnerEmail); err != nil || a.Name != "" {
				add("owner_email", "%q is not an email address", r.OwnerEmail)
			}
		} else {
			add("owner_email", "must be set: the reseller's first owner signs in with it")
		}
		for _, color := range []struct{ field, value string }{{"primary_color", r.PrimaryColor}, {"accent_color", r.AccentColor}} {
			if color.value != "" && !ValidColor(color.value) {
				add(color.field, "%q is not a colour such as #2457d6", color.value)
			}
		}
		if r.PrimaryColor == "" {
			r.PrimaryColor = "#2457d6"
		}
		if r.AccentColor == "" {
			r.AccentColor = "#f59e0b"
		}
		for _, amount := range []struct{ field, value string }{{"credit_limit", r.CreditLimit}, {"max_recharge", r.MaxRecharge}} {
			if amount.value == "" {
				continue
			}
			if v, err := money.Parse(amount.value); err != nil {
				add(amount.field, "%v", err)
			} else if v == 0 {
				add(amount.field, "must be above zero (leave it out for the default)")
			}
		}
		if d := r.MaxCallLength.Duration; d != 0 && (d < time.Minute || d > 24*time.Hour || d%time.Second != 0) {
			add("max_call_length", "%s must be whole seconds from 1m to 24h (leave it out for 4h)", d)
		}
		if r.CDRRetentionMonths < 0 || r.CDRRetentionMonths > 120 {
			add("cdr_retention_months", "%d must be from 1 to 120 (leave it out for 13)", r.CDRRetentionMonths)
		}
		for j, d := range r.Domains {
			host, err := NormalizeHost(d)
			switch {
			case err != nil:
				add("domains", "%v", err)
			case base != "" && (host == base || strings.HasSuffix(host, "."+base)) && !(host == "localhost" && base == "localhost"):
				add("domains", "%q is the base domain or under it; <slug>.%s is served already", d, base)
			case domains[host] != "":
				add("domains", "%q is already declared by %s", host, domains[host])
			default:
				domains[host] = key
				r.Domains[j] = host
			}
		}
	}
	return p
}

// NormalizeHost lower-cases a host name, drops a trailing dot and turns an
// internationalised name into punycode; IP addresses and malformed names
// are refused.
func NormalizeHost(host string) (string, error) {
	h := strings.TrimSuffix(strings.TrimSpace(host), ".")
	if h == "" {
		return "", fmt.Errorf("%q is not a host name", host)
	}
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return "", fmt.Errorf("%q is an IP address; a domain name is needed", host)
	}
	ascii, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid host name", host)
	}
	return strings.ToLower(ascii), nil
}

func validIPOrPrefix(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(s)
	return err == nil
}

// Redacted returns a copy whose secrets read "[redacted]".
func (c *Config) Redacted() *Config {
	cp := *c
	cp.Resellers = append([]Reseller(nil), c.Resellers...)
	if cp.Mail.Password != "" {
		cp.Mail.Password = "[redacted]"
	}
	return &cp
}

// WriteTOML writes the config as TOML.
func (c *Config) WriteTOML(w *bytes.Buffer) error {
	return toml.NewEncoder(w).Encode(c)
}
