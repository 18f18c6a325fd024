package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultsServeDemo(t *testing.T) {
	t.Parallel()
	cfg, err := Load(Source{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.HTTP != ":8080" || cfg.Store.Path != "data/portico.db" || cfg.Server.BaseDomain != "localhost" {
		t.Fatalf("defaults: %+v %+v", cfg.Server, cfg.Store)
	}
	if len(cfg.Resellers) != 1 || cfg.Resellers[0].Slug != "demo" || cfg.Resellers[0].Domains[0] != "localhost" {
		t.Fatalf("default reseller: %+v", cfg.Resellers)
	}
}

// TestPrecedence: flags > env > file > defaults, and _FILE for secrets.
func TestPrecedence(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `
[server]
http = ":7000"
base_domain = "portal.example"
[log]
level = "warn"
format = "json"
[mail]
host = "smtp.example"
password = "from-file"
[[reseller]]
slug = "acme"
name = "Acme"
currency = "usd"
owner_email = "owner@acme.example"
domains = ["Portal.ACME.example."]
`)
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("from-secret-file\n"), 0o600)
	cfg, err := Load(Source{
		File:  file,
		Env:   []string{"PORTICO_SERVER__HTTP=:7001", "PORTICO_LOG__LEVEL=debug", "PORTICO_MAIL__PASSWORD_FILE=" + secret, "PORTICO_SESSION__IDLE_TIMEOUT=2h", "OTHER=x"},
		Flags: map[string]string{"server.http": ":7002"},
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"flag beats env and file", cfg.Server.HTTP, ":7002"},
		{"env beats file", cfg.Log.Level, "debug"},
		{"file beats default", cfg.Log.Format, "json"},
		{"default stays", cfg.Store.Path, "data/portico.db"},
		{"_FILE env", cfg.Mail.Password, "from-secret-file"},
		{"currency upper-cased", cfg.Resellers[0].Currency, "USD"},
		{"domain normalised", cfg.Resellers[0].Domains[0], "portal.acme.example"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if cfg.Session.IdleTimeout.Duration != 2*time.Hour {
		t.Errorf("duration from env: %v", cfg.Session.IdleTimeout)
	}
	if len(cfg.Resellers) != 1 {
		t.Errorf("declared resellers replace the demo: %+v", cfg.Resellers)
	}
	var buf bytes.Buffer
	if err := cfg.Redacted().WriteTOML(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "from-secret-file") || !strings.Contains(buf.String(), "[redacted]") {
		t.Errorf("secret not redacted:\n%s", buf.String())
	}
	if cfg.Mail.Password != "from-secret-file" {
		t.Errorf("Redacted changed the original")
	}
}

// TestEveryProblemListed: one load reports all problems, each with its key.
func TestEveryProblemListed(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `
[server]
htp = ":80"
trusted_proxies = ["not-an-ip"]
[log]
level = "loud"
[jobs]
backup = "every day"
[[reseller]]
slug = "acme"
name = "Acme"
currency = "USX"
owner_email = "owner@acme.example"
domains = ["shared.example", "10.0.0.1"]
primary_color = "red"
[[reseller]]
slug = "acme"
name = ""
currency = "EUR"
owner_email = "nope"
domains = ["SHARED.example", "x.localhost"]
`)
	_, err := Load(Source{File: file, Env: []string{"PORTICO_SERVER__NOPE=1"}})
	var problems Problems
	if !errors.As(err, &problems) {
		t.Fatalf("want Problems, got %v", err)
	}
	text := err.Error()
	for _, want := range []string{
		"server.htp: unknown key",
		`server.trusted_proxies: "not-an-ip"`,
		`log.level: "loud"`,
		`jobs.backup: "every day"`,
		`reseller[1] (acme).currency: "USX" is not an ISO 4217`,
		`reseller[1] (acme).domains: "10.0.0.1" is an IP address`,
		`reseller[1] (acme).primary_color: "red"`,
		`reseller[2] (acme).slug: "acme" is already used by reseller[1]`,
		`reseller[2] (acme).name: must not be empty`,
		`reseller[2] (acme).owner_email: "nope"`,
		`reseller[2] (acme).domains: "shared.example" is already declared`,
		`reseller[2] (acme).domains: "x.localhost" is the base domain or under it`,
		"PORTICO_SERVER__NOPE: unknown key server.nope",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing problem %q in:\n%s", want, text)
		}
	}
}

func TestBadTypeNamesLine(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "[server]\nhttp = 8080\n")
	_, err := Load(Source{File: file})
	if err == nil || !strings.Contains(err.Error(), "http") {
		t.Fatalf("want a type error naming the key, got %v", err)
	}
	file = writeFile(t, "[server\n")
	_, err = Load(Source{File: file})
	if err == nil || !strings.Contains(err.Error(), ": line ") {
		t.Fatalf("want a parse error with its line, got %v", err)
	}
}

func TestNormalizeHost(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Portal.Example.COM.": "portal.example.com",
		"bücher.example":      "xn--bcher-kva.example",
	} {
		got, err := NormalizeHost(in)
		if err != nil || got != want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "192.168.1.1", "[::1]", "a b.example"} {
		if _, err := NormalizeHost(bad); err == nil {
			t.Errorf("NormalizeHost(%q) accepted", bad)
		}
	}
}

// TestPublicOrigin: mailed links name the scheme and port browsers use,
// from config alone.
func TestPublicOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		set    func(*Config)
		origin string
	}{
		{"defaults: http on server.http's port", func(*Config) {}, "http://demo.example:8080"},
		{"port 80 is left out", func(c *Config) { c.Server.HTTP = "0.0.0.0:80" }, "http://demo.example"},
		{"tls: https on 443", func(c *Config) { c.TLS.Enabled = true }, "https://demo.example"},
		{"behind a TLS proxy", func(c *Config) { c.Server.PublicScheme, c.Server.PublicPort = "https", 443 }, "https://demo.example"},
		{"explicit port", func(c *Config) { c.Server.PublicScheme, c.Server.PublicPort = "https", 8443 }, "https://demo.example:8443"},
	} {
		cfg := Defaults()
		tc.set(cfg)
		if got := cfg.PublicOrigin("demo.example"); got != tc.origin {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.origin)
		}
	}
	_, err := Load(Source{Flags: map[string]string{"server.public_scheme": "ftp", "server.public_port": "70000"}})
	var p Problems
	if !errors.As(err, &p) || !strings.Contains(err.Error(), "server.public_scheme") || !strings.Contains(err.Error(), "server.public_port") {
		t.Fatalf("bad public scheme and port: %v", err)
	}
}
