package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/app/auth"
	"portico/app/config"
	"portico/app/domains"
	"portico/app/domains/dnstest"
	"portico/app/jobs"
	"portico/store"
)

// domainsServer is the test server whose "Verify now" asks a real DNS
// server on loopback, with a fake certificate manager when certs are
// given.
type domainsServer struct {
	*testServer
	dns   *dnstest.Server
	certs *fakeCerts
}

// fakeCerts stands for the certificate manager: it knows the issued
// certificates' expiry and records the hosts it is told to forget.
type fakeCerts struct {
	notAfter map[string]time.Time
	mu       sync.Mutex
	removed  []string
}

func (f *fakeCerts) Info(host string) (bool, string, time.Time) {
	notAfter, ok := f.notAfter[host]
	return ok, "Test CA", notAfter
}

func (f *fakeCerts) Remove(host string) error {
	f.mu.Lock()
	f.removed = append(f.removed, host)
	f.mu.Unlock()
	return nil
}

func newDomainsServer(t *testing.T, certs map[string]time.Time) *domainsServer {
	t.Helper()
	ds := &domainsServer{dns: dnstest.Start(t)}
	var manager domains.Certificates
	if certs != nil {
		ds.certs = &fakeCerts{notAfter: certs}
		manager = ds.certs
	}
	ds.testServer = newServerWith(t, false, "test.portico", twoResellers(), withDomains(domains.NewDNS(2*time.Second, ds.dns.Addr), manager))
	return ds
}

func (ds *domainsServer) domain(t *testing.T, slug, host string) *store.Domain {
	t.Helper()
	var d *store.Domain
	err := ds.store.View(func(tx *store.Tx) (err error) { d, err = tx.ResellerDomain(ds.ids[slug], host); return err })
	if err != nil {
		t.Fatalf("domain %s of %s: %v", host, slug, err)
	}
	return d
}

func mustContain(t *testing.T, what string, r response, status int, wants ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
	}
	for _, want := range wants {
		if !strings.Contains(r.body, want) {
			t.Errorf("%s: body lacks %q", what, want)
		}
	}
}

// TestDomainLifecycle: acme's owner adds a domain, proves it by TXT after
// a failed first check, the domain serves acme's pages, another proves
// itself by CNAME, and removing the first stops it at once.
func TestDomainLifecycle(t *testing.T) {
	t.Parallel()
	ds := newDomainsServer(t, map[string]time.Time{"shop.acme-voice.example": time.Date(2027, 2, 2, 0, 0, 0, 0, time.UTC)})
	owner := ds.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	const shop = "shop.acme-voice.example"

	r := owner.get(acmeHost, "/reseller/domains")
	mustContain(t, "domains page", r, 200, "acme.test.portico", "portal.acme.example", "declared by the operator", "verified", `name="host"`)
	if strings.Contains(r.body, "/reseller/domains/portal.acme.example/remove") {
		t.Errorf("the config domain has a remove button")
	}

	r = owner.post(acmeHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {"  Shop.ACME-Voice.example. "}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/reseller/domains#dns-"+shop {
		t.Fatalf("add: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	d := ds.domain(t, "acme", shop)
	r = owner.get(acmeHost, "/reseller/domains")
	mustContain(t, "page after add", r, 200, shop+" added", "pending", "not checked yet", "_portico."+shop, d.Token,
		"Points to <code>acme.test.portico</code>", "after verification", "Verify now")
	if r := ds.browser().get(shop, "/login"); r.status != http.StatusNotFound || strings.Contains(r.body, "Acme") {
		t.Fatalf("a pending domain serves pages: %d", r.status)
	}

	// nothing in DNS yet
	r = owner.post(acmeHost, "/reseller/domains", "/reseller/domains/"+shop+"/verify", url.Values{})
	if r.status != http.StatusSeeOther {
		t.Fatalf("verify: %d\n%s", r.status, r.body)
	}
	mustContain(t, "failed check", owner.get(acmeHost, "/reseller/domains"), 200,
		shop+" is not verified yet: TXT record not found; no CNAME record", "2 Nov 2026, 10:00 UTC")

	ds.dns.SetTXT("_portico."+shop, d.Token)
	owner.post(acmeHost, "/reseller/domains", "/reseller/domains/"+shop+"/verify", url.Values{})
	r = owner.get(acmeHost, "/reseller/domains")
	mustContain(t, "passed check", r, 200, shop+" is verified", "verified by TXT record", "issued by Test CA, expires 2 Feb 2027")
	if strings.Contains(r.body, "/reseller/domains/"+shop+"/verify") {
		t.Errorf("a verified domain still offers Verify now")
	}
	mustContain(t, "verified domain serves acme", ds.browser().get(shop, "/login"), 200, "Acme Voice")
	if r := ds.browser().get(shop, "/login"); strings.Contains(r.body, "Globex") {
		t.Errorf("acme's domain shows globex")
	}

	// a CNAME to acme's own address proves a second domain
	const voice = "voice.acme-calls.example"
	owner.post(acmeHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {voice}})
	ds.dns.SetCNAME(voice, "acme.test.portico")
	owner.post(acmeHost, "/reseller/domains", "/reseller/domains/"+voice+"/verify", url.Values{})
	mustContain(t, "CNAME check", owner.get(acmeHost, "/reseller/domains"), 200, "verified by CNAME to acme.test.portico",
		"not yet: requested on the first HTTPS visit")

	r = owner.post(acmeHost, "/reseller/domains", "/reseller/domains/"+shop+"/remove", url.Values{})
	if r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d\n%s", r.status, r.body)
	}
	r = owner.get(acmeHost, "/reseller/domains")
	mustContain(t, "page after remove", r, 200, shop+" removed")
	if strings.Contains(r.body, "<strong>"+shop+"</strong>") {
		t.Errorf("removed domain still listed")
	}
	if r := ds.browser().get(shop, "/login"); r.status != http.StatusNotFound {
		t.Errorf("removed domain still serves: %d", r.status)
	}
	ds.certs.mu.Lock()
	if len(ds.certs.removed) != 1 || ds.certs.removed[0] != shop {
		t.Errorf("certificate manager told %v", ds.certs.removed)
	}
	ds.certs.mu.Unlock()

	var audit []string
	ds.store.View(func(tx *store.Tx) error {
		events, _, err := tx.AuditEventsMatching(ds.ids["acme"], 0, 50, func(e *store.AuditEvent) bool { return strings.HasPrefix(e.Action, "domain.") })
		for i := len(events) - 1; i >= 0; i-- {
			audit = append(audit, events[i].Actor+" "+events[i].Action+" "+events[i].Target+" "+events[i].IP)
		}
		return err
	})
	want := []string{
		"owner@acme.example domain.add " + shop + " 127.0.0.1",
		"owner@acme.example domain.check " + shop + " 127.0.0.1",
		"owner@acme.example domain.verify " + shop + " 127.0.0.1",
		"owner@acme.example domain.add " + voice + " 127.0.0.1",
		"owner@acme.example domain.verify " + voice + " 127.0.0.1",
		"owner@acme.example domain.remove " + shop + " 127.0.0.1",
	}
	if strings.Join(audit, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(audit, "\n"), strings.Join(want, "\n"))
	}
}

// TestDomainTenancyAndRoles: globex can neither see nor touch acme's
// domains, a proved domain belongs to one portal only, and staff other
// than owners and admins are refused. (A pending claim refuses nobody:
// TestDomainClaimTakenOver.)
func TestDomainTenancyAndRoles(t *testing.T) {
	t.Parallel()
	ds := newDomainsServer(t, nil)
	const shop = "shop.acme-voice.example"
	owner := ds.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	owner.post(acmeHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {shop}})
	ds.domain(t, "acme", shop)

	globex := ds.browser()
	globex.login(globexHost, "owner@globex.example", "/reseller")
	r := globex.get(globexHost, "/reseller/domains")
	mustContain(t, "globex's page", r, 200, "globex.test.portico", "No domains yet")
	for _, bad := range []string{shop, "portal.acme.example", "Acme"} {
		if strings.Contains(r.body, bad) {
			t.Errorf("globex's page shows %q", bad)
		}
	}
	for _, action := range []string{"/verify", "/remove"} {
		r := globex.post(globexHost, "/reseller/domains", "/reseller/domains/"+shop+action, url.Values{})
		mustContain(t, "globex "+action, r, http.StatusNotFound, "Page not found")
		if strings.Contains(r.body, "Acme") {
			t.Errorf("globex %s names acme", action)
		}
	}
	ds.domain(t, "acme", shop) // still there
	for _, taken := range []string{"Portal.Acme.Example"} {
		r := globex.post(globexHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {taken}})
		mustContain(t, "globex adds "+taken, r, http.StatusUnprocessableEntity, "This domain is already used by another portal.")
		if strings.Contains(r.body, "Acme Voice") || strings.Contains(r.body, "acme.test.portico") {
			t.Errorf("the refusal names the other reseller")
		}
	}
	mustContain(t, "acme adds it again", owner.post(acmeHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {shop}}),
		http.StatusUnprocessableEntity, "This domain is on your list already.")

	mustContain(t, "acme's page", owner.get(acmeHost, "/reseller/domains"), 200, "automatic HTTPS is off")
	// the operator's domain stays
	owner.post(acmeHost, "/reseller/domains", "/reseller/domains/portal.acme.example/remove", url.Values{})
	mustContain(t, "remove config domain", owner.get(acmeHost, "/reseller/domains"), 200, "declared by the operator in config.toml")
	ds.domain(t, "acme", "portal.acme.example")
	mustContain(t, "unknown domain", owner.post(acmeHost, "/reseller/domains", "/reseller/domains/nothing.example/remove", url.Values{}),
		http.StatusNotFound)

	hash, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	err = ds.store.Update(func(tx *store.Tx) error {
		return tx.CreateUser(&store.User{ResellerID: ds.ids["acme"], Email: "billing@acme.example", Role: store.RoleBilling, PasswordHash: hash})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"support@acme.example", "billing@acme.example"} {
		b := ds.browser()
		b.login(acmeHost, email, "/reseller")
		if r := b.get(acmeHost, "/reseller/domains"); r.status != http.StatusForbidden {
			t.Errorf("%s sees the domains page: %d", email, r.status)
		}
		if strings.Contains(b.get(acmeHost, "/reseller").body, `href="/reseller/domains"`) {
			t.Errorf("%s has a Domains link", email)
		}
		for _, path := range []string{"/reseller/domains", "/reseller/domains/" + shop + "/verify", "/reseller/domains/" + shop + "/remove"} {
			if r := b.post(acmeHost, "/reseller", path, url.Values{"host": {"x.example"}}); r.status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d", email, path, r.status)
			}
		}
	}
	ds.domain(t, "acme", shop)
	client := ds.browser()
	client.login(acmeHost, "client@acme.example", "/dashboard")
	if r := client.get(acmeHost, "/reseller/domains"); r.status != http.StatusForbidden {
		t.Errorf("a client user sees the domains page: %d", r.status)
	}
}

// TestDomainFormRefusals: every wrong name is explained at the field and
// nothing is stored.
func TestDomainFormRefusals(t *testing.T) {
	t.Parallel()
	ds := newDomainsServer(t, nil)
	owner := ds.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	for _, tc := range []struct{ input, message string }{
		{"", "Enter a domain name such as portal.example.com."},
		{"test.portico", "Names under test.portico belong to this service: your portal is at acme.test.portico already."},
		{"globex.test.portico", "Names under test.portico belong to this service"},
		{"new.acme.test.portico", "Names under test.portico belong to this service"},
		{"192.0.2.1", "Enter a domain name, not an IP address."},
		{"[::1]", "Enter a domain name, not an IP address."},
		{"intranet", "Enter a full domain name such as portal.example.com."},
		{"co.uk", "public suffix"},
		{"bad_name!.example", "This is not a valid domain name"},
	} {
		t.Run(tc.input, func(t *testing.T) {
			b := *owner
			b.t = t
			r := b.post(acmeHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {tc.input}})
			mustContain(t, "refusal", r, http.StatusUnprocessableEntity, `class="field-error" id="e-host"`, tc.message, `aria-invalid="true"`)
		})
	}
	var list []*store.Domain
	ds.store.View(func(tx *store.Tx) (err error) { list, err = tx.Domains(ds.ids["acme"]); return err })
	if len(list) != 1 {
		t.Fatalf("refused names were stored: %d domains", len(list))
	}
}

// TestDomainClaimTakenOver is issue 10's probe on the pages: acme's
// pending claim on a domain never expired and refused the domain to every
// other portal ("already used by another portal"). Now globex may claim
// it too; globex proves it first and takes it; acme's Domains page says
// its claim ended (without naming globex) and no longer offers a check.
// A claim unproved for 7 days lapses, says so, and can be claimed again.
func TestDomainClaimTakenOver(t *testing.T) {
	t.Parallel()
	ds := newDomainsServer(t, nil)
	const shop = "shop.contested.example"
	acme := ds.browser()
	acme.login(acmeHost, "owner@acme.example", "/reseller")
	globex := ds.browser()
	globex.login(globexHost, "owner@globex.example", "/reseller")
	if r := acme.post(acmeHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {shop}}); r.status != http.StatusSeeOther {
		t.Fatalf("acme adds: %d", r.status)
	}
	// the probe: this was a 422 "This domain is already used by another portal."
	r := globex.post(globexHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {shop}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("globex claims a domain acme has pending: %d\n%s", r.status, r.body)
	}
	acmeClaim, globexClaim := ds.domain(t, "acme", shop), ds.domain(t, "globex", shop)
	mustContain(t, "globex's page", globex.get(globexHost, "/reseller/domains"), 200, "pending", globexClaim.Token, "Prove it by")
	if strings.Contains(globex.get(globexHost, "/reseller/domains").body, acmeClaim.Token) {
		t.Fatal("globex sees acme's token")
	}

	// globex proves it first (CNAME to its own address)
	ds.dns.SetCNAME(shop, "globex.test.portico")
	globex.post(globexHost, "/reseller/domains", "/reseller/domains/"+shop+"/verify", url.Values{})
	mustContain(t, "globex verified", globex.get(globexHost, "/reseller/domains"), 200, shop+" is verified")
	mustContain(t, "the domain serves globex", ds.browser().get(shop, "/login"), 200, "Globex")

	// acme is told on its page, and its claim is no longer checked
	page := acme.get(acmeHost, "/reseller/domains")
	mustContain(t, "acme's page", page, 200, `id="taken-`+shop+`"`, "was proved by another portal before you proved it", ">taken<")
	if strings.Contains(page.body, "/reseller/domains/"+shop+"/verify") || strings.Contains(page.body, "Globex") || strings.Contains(page.body, "globex.test.portico") {
		t.Errorf("acme's page offers a check of the lost claim or names the winner")
	}
	queries := ds.dns.Queries()
	acme.post(acmeHost, "/reseller/domains", "/reseller/domains/"+shop+"/verify", url.Values{})
	mustContain(t, "acme verifies the lost claim", acme.get(acmeHost, "/reseller/domains"), 200, shop+" was proved by another portal first")
	if ds.dns.Queries() != queries {
		t.Error("the lost claim was checked in DNS")
	}
	if r := acme.post(acmeHost, "/reseller/domains", "/reseller/domains/"+shop+"/remove", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("acme removes its lost claim: %d", r.status)
	}
	mustContain(t, "the domain still serves globex", ds.browser().get(shop, "/login"), 200, "Globex")

	// a claim not proved within 7 days lapses, and can be claimed again
	const slow = "slow.acme-voice.example"
	acme.post(acmeHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {slow}})
	token := ds.domain(t, "acme", slow).Token
	ds.clock.Advance(7 * 24 * time.Hour) // a claim lives 7 days (docs/domains.md)
	acme = ds.browser()                  // the week outlived the session
	acme.login(acmeHost, "owner@acme.example", "/reseller")
	page = acme.get(acmeHost, "/reseller/domains")
	mustContain(t, "expired claim", page, 200, `id="expired-`+slow+`"`, "expired on", "Claim "+slow+" again", ">expired<")
	if strings.Contains(page.body, "/reseller/domains/"+slow+"/verify") {
		t.Error("an expired claim offers Verify now")
	}
	if r := acme.post(acmeHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {slow}}); r.status != http.StatusSeeOther {
		t.Fatalf("claim again: %d", r.status)
	}
	if d := ds.domain(t, "acme", slow); d.Status != store.DomainPending || d.Token != token {
		t.Fatalf("claimed again: %+v", d)
	}
	if problems, err := ds.store.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

// TestDomainJobSharesServices: the domain_check job, built on the app's
// own services as main builds it, checks with the app's DNS resolver, and
// the domain it verifies serves the reseller's pages at once.
func TestDomainJobSharesServices(t *testing.T) {
	t.Parallel()
	ds := newDomainsServer(t, nil)
	owner := ds.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	const host = "jobs.acme-voice.example"
	owner.post(acmeHost, "/reseller/domains", "/reseller/domains", url.Values{"host": {host}})
	if r := ds.browser().get(host, "/login"); r.status != http.StatusNotFound {
		t.Fatalf("a pending domain serves pages: %d", r.status)
	}
	ds.dns.SetTXT("_portico."+host, ds.domain(t, "acme", host).Token)

	svc := ds.services
	sch, err := jobs.New(config.Jobs{}, ds.store, jobs.Services{Clients: svc.Clients, Calls: svc.Calls, Domains: svc.Domains}, t.TempDir(),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.CheckDomains(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := ds.domain(t, "acme", host); d.Status != store.DomainVerified {
		t.Fatalf("after the job: %s (%s)", d.Status, d.LastResult)
	}
	mustContain(t, "the job's verified domain", ds.browser().get(host, "/login"), 200, "Acme Voice")
}
