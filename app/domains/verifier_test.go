package domains_test

import (
	"context"
	"net"
	"testing"
	"time"

	"portico/app/domains"
	"portico/app/domains/dnstest"
)

const (
	base  = "portico.example"
	token = "0123456789abcdef0123456789abcdef"
)

// TestVerifierAgainstRealDNS runs every check through real DNS messages
// to a server on loopback.
func TestVerifierAgainstRealDNS(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	srv.SetTXT("_portico.txt-ok.example", token)
	srv.SetTXT("_portico.txt-many.example", "google-site-verification=x", " "+token+" ")
	srv.SetTXT("_portico.txt-wrong.example", "ffffffffffffffffffffffffffffffff")
	srv.SetCNAME("cname-ok.example", "ACME.Portico.Example.")
	srv.SetA("acme.portico.example", "192.0.2.1")
	srv.SetCNAME("chain.example", "edge.cdn.example")
	srv.SetCNAME("edge.cdn.example", "acme.portico.example")
	srv.SetCNAME("cname-elsewhere.example", "x.example")
	srv.SetCNAME("cname-other-reseller.example", "globex.portico.example")
	srv.SetA("a-only.example", "192.0.2.2")
	srv.SetCNAME("both-wrong.example", "x.example")
	srv.SetTXT("_portico.both-wrong.example", "stale")
	srv.Drop("_portico.slow.example")
	srv.Drop("slow.example")
	srv.Fail("_portico.broken.example")
	srv.Fail("broken.example")
	srv.SetTXT("_portico.big.example", token)
	srv.Truncate("_portico.big.example")

	v := domains.NewVerifier(domains.NewDNS(2*time.Second, srv.Addr), base, 0)
	cases := []struct {
		host     string
		verified bool
		message  string
	}{
		{"txt-ok.example", true, "verified by TXT record"},
		{"txt-many.example", true, "verified by TXT record"},
		{"txt-wrong.example", false, "TXT record holds a different value; no CNAME record"},
		{"cname-ok.example", true, "verified by CNAME to acme.portico.example"},
		{"chain.example", true, "verified by CNAME to acme.portico.example"},
		{"cname-elsewhere.example", false, "TXT record not found; CNAME points to x.example"},
		{"cname-other-reseller.example", false, "TXT record not found; CNAME points to globex.portico.example"},
		{"nxdomain.example", false, "TXT record not found; no CNAME record"},
		{"a-only.example", false, "TXT record not found; no CNAME record"},
		{"both-wrong.example", false, "TXT record holds a different value; CNAME points to x.example"},
		{"broken.example", false, "TXT lookup failed (DNS server error); CNAME lookup failed (DNS server error)"},
		{"big.example", true, "verified by TXT record"},
	}
	for _, tc := range cases {
		t.Run(tc.host, func(t *testing.T) {
			t.Parallel()
			got := v.Check(context.Background(), tc.host, token, "acme")
			if got.Verified != tc.verified || got.Message != tc.message {
				t.Fatalf("Check(%s) = %+v, want verified=%v %q", tc.host, got, tc.verified, tc.message)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		// the server never answers: the check ends at its own deadline
		slow := domains.NewVerifier(domains.NewDNS(time.Minute, srv.Addr), base, 300*time.Millisecond)
		start := time.Now()
		got := slow.Check(context.Background(), "slow.example", token, "acme")
		if got.Verified || got.Message != "DNS did not answer in time" {
			t.Fatalf("got %+v", got)
		}
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Fatalf("the check took %s", elapsed)
		}
	})
	t.Run("token of another domain", func(t *testing.T) {
		t.Parallel()
		got := v.Check(context.Background(), "txt-ok.example", "another-token", "acme")
		if got.Verified {
			t.Fatalf("verified with another token: %+v", got)
		}
	})
}

// TestVerifierWithGoResolver shows that a *net.Resolver, whose
// LookupCNAME returns the end of the chain, works as the Resolver too.
func TestVerifierWithGoResolver(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	srv.SetTXT("_portico.txt-ok.example", token)
	srv.SetCNAME("cname-ok.example", "acme.portico.example")
	srv.SetA("acme.portico.example", "192.0.2.1")
	srv.SetCNAME("cname-elsewhere.example", "x.example")
	srv.SetA("x.example", "192.0.2.9")
	srv.SetA("a-only.example", "192.0.2.2")
	goResolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Addr)
	}}
	v := domains.NewVerifier(goResolver, base, 5*time.Second)
	for host, want := range map[string]string{
		"txt-ok.example":          "verified by TXT record",
		"cname-ok.example":        "verified by CNAME to acme.portico.example",
		"cname-elsewhere.example": "TXT record not found; CNAME points to x.example",
		"a-only.example":          "TXT record not found; no CNAME record",
	} {
		if got := v.Check(context.Background(), host, token, "acme"); got.Message != want {
			t.Errorf("Check(%s) = %+v, want %q", host, got, want)
		}
	}
}
