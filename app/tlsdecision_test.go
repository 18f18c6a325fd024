package app

import (
	"context"
	"strings"
	"testing"

	"portico/app/tenancy"
	"portico/store"
)

// TestAllowCertificate is the TLS decision table: only the base domain,
// active resellers' <slug>.<base_domain> and their verified custom domains
// get certificates, whatever case or trailing dot the name comes in.
func TestAllowCertificate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	err := ts.store.Update(func(tx *store.Tx) error {
		if err := tx.PutDomain(&store.Domain{Host: "pending.acme.example", ResellerID: ts.ids["acme"],
			Source: store.DomainFromUser, Status: store.DomainPending, Token: "t0ken"}); err != nil {
			return err
		}
		if err := tx.PutDomain(&store.Domain{Host: "portal.globex.example", ResellerID: ts.ids["globex"],
			Source: store.DomainFromUser, Status: store.DomainVerified}); err != nil {
			return err
		}
		globex, err := tx.Reseller(ts.ids["globex"])
		if err != nil {
			return err
		}
		globex.Status = store.ResellerDisabled
		return tx.UpdateReseller(globex)
	})
	if err != nil {
		t.Fatal(err)
	}

	allow := tenancy.CertificateDecision(ts.store, ts.cfg.Server.BaseDomain)
	for _, tc := range []struct {
		name, host string
		allowed    bool
		reason     string // part of the refusal's message
	}{
		{"verified custom domain", "portal.acme.example", true, ""},
		{"pending custom domain", "pending.acme.example", false, "pending, not verified"},
		{"unknown name", "nobody.example", false, "not a domain of any reseller"},
		{"upper case", "PORTAL.Acme.Example", true, ""},
		{"trailing dot", "portal.acme.example.", true, ""},
		{"IPv4 address", "127.0.0.1", false, "IP address"},
		{"IPv6 address", "::1", false, "IP address"},
		{"slug subdomain", "acme.test.portico", true, ""},
		{"slug subdomain upper case with dot", "ACME.test.portico.", true, ""},
		{"unknown slug", "nobody.test.portico", false, `no reseller "nobody"`},
		{"two labels under the base domain", "x.acme.test.portico", false, "not a domain of any reseller"},
		{"disabled reseller's slug subdomain", "globex.test.portico", false, "globex, which is disabled"},
		{"disabled reseller's verified domain", "portal.globex.example", false, "globex, which is disabled"},
		{"base domain", "test.portico", true, ""},
		{"base domain upper case", "Test.Portico.", true, ""},
		{"empty", "", false, "not a host name"},
		{"wildcard", "*.test.portico", false, "not a valid host name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := allow(context.Background(), tc.host)
			if tc.allowed {
				if err != nil {
					t.Fatalf("AllowCertificate(%q) refused: %v", tc.host, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("AllowCertificate(%q) allowed", tc.host)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("AllowCertificate(%q) = %q; want the reason to say %q", tc.host, err, tc.reason)
			}
		})
	}
}

// TestAllowCertificateIDN: an internationalised name is decided in its
// punycode form, which is how domains are stored.
func TestAllowCertificateIDN(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	err := ts.store.Update(func(tx *store.Tx) error {
		return tx.PutDomain(&store.Domain{Host: "xn--bcher-kva.example", ResellerID: ts.ids["acme"],
			Source: store.DomainFromUser, Status: store.DomainVerified})
	})
	if err != nil {
		t.Fatal(err)
	}
	allow := tenancy.CertificateDecision(ts.store, ts.cfg.Server.BaseDomain)
	for _, host := range []string{"bücher.example", "xn--bcher-kva.example", "BÜCHER.example."} {
		if err := allow(context.Background(), host); err != nil {
			t.Errorf("AllowCertificate(%q) refused: %v", host, err)
		}
	}
}
