package domains_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/app/actor"
	"portico/app/domains"
	"portico/app/domains/dnstest"
	"portico/app/fault"
	"portico/app/testkit"
	"portico/store"
)

type fixture struct {
	store          *store.Store
	clock          *testkit.Clock
	dns            *dnstest.Server
	svc            *domains.Service
	acme, globex   *store.Reseller
	mu             sync.Mutex
	verifiedEvents []string // OnVerified calls; the job makes them concurrently
}

// newFixture seeds two resellers (acme with the config domain
// portal.acme.example) and a service asking a loopback DNS server.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	s, err := store.Open(filepath.Join(t.TempDir(), "portico.db"), store.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	_, err = s.ReconcileResellers([]store.ResellerSpec{
		{Slug: "acme", Name: "Acme", Currency: "USD", Domains: []string{"portal.acme.example"}, OwnerEmail: "o@acme.example"},
		{Slug: "globex", Name: "Globex", Currency: "EUR", OwnerEmail: "o@globex.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: s, clock: clock, dns: dnstest.Start(t)}
	err = s.View(func(tx *store.Tx) (err error) {
		if f.acme, err = tx.ResellerBySlug("acme"); err != nil {
			return err
		}
		f.globex, err = tx.ResellerBySlug("globex")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = domains.New(domains.Config{Store: s, BaseDomain: base, Resolver: domains.NewDNS(2*time.Second, f.dns.Addr),
		OnVerified: func(host string) { f.mu.Lock(); f.verifiedEvents = append(f.verifiedEvents, host); f.mu.Unlock() }})
	return f
}

func (f *fixture) audit(t *testing.T, r *store.Reseller) []string {
	t.Helper()
	var out []string
	err := f.store.View(func(tx *store.Tx) error {
		events, _, err := tx.AuditEvents(r.ID, 0, 100)
		for i := len(events) - 1; i >= 0; i-- {
			e := events[i]
			out = append(out, e.Actor+" "+e.Action+" "+e.Target+" "+e.IP)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValidateHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ input, host, problem string }{
		{"Shop.Example.COM.", "shop.example.com", ""},
		{"  https://Shop.Example.com/login?x=1 ", "shop.example.com", ""},
		{"bücher.example", "xn--bcher-kva.example", ""},
		{"", "", "Enter a domain name"},
		{"192.0.2.7", "", "not an IP address"},
		{"[2001:db8::1]", "", "not an IP address"},
		{"portico.example", "", "Names under portico.example belong to this service: your portal is at acme.portico.example"},
		{"acme.portico.example", "", "Names under portico.example"},
		{"deep.globex.PORTICO.example.", "", "Names under portico.example"},
		{"intranet", "", "Enter a full domain name"},
		{"co.uk", "", "public suffix"},
		{"shop.example.com:8443", "", "not a valid domain name"},
		{"under_score.example", "", "not a valid domain name"},
		{strings.Repeat("a", 64) + ".example", "", "not a valid domain name"},
	} {
		host, err := domains.ValidateHost(tc.input, base, "acme")
		switch {
		case tc.problem == "" && (err != nil || host != tc.host):
			t.Errorf("%q: %q %v, want %q", tc.input, host, err, tc.host)
		case tc.problem != "" && (!strings.Contains(hostProblem(err), tc.problem)):
			t.Errorf("%q: %q %v, want a message with %q", tc.input, host, err, tc.problem)
		}
	}
}

func TestAddVerifyRemove(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	owner := actor.Actor{Name: "o@acme.example", IP: "192.0.2.10"}
	d, err := f.svc.Add(f.acme, "Shop.Acme-Voice.example", owner)
	if err != nil {
		t.Fatal(err)
	}
	if d.Host != "shop.acme-voice.example" || d.Status != store.DomainPending || len(d.Token) != 32 {
		t.Fatalf("added %+v", d)
	}
	// refusals: a verified domain of another reseller is not named, a
	// second add is explained (another reseller's pending claim refuses
	// nothing: TestClaimRaceAndLapse)
	for _, tc := range []struct {
		r     *store.Reseller
		input string
		want  string
	}{
		{f.globex, "PORTAL.acme.example", "This domain is already used by another portal."},
		{f.acme, "shop.acme-voice.example.", "This domain is on your list already."},
	} {
		if _, err := f.svc.Add(tc.r, tc.input, owner); hostProblem(err) != tc.want {
			t.Errorf("add %s for %s: %v, want %q", tc.input, tc.r.Slug, err, tc.want)
		}
	}
	// globex can neither verify nor remove it: not found
	if _, err := f.svc.Verify(context.Background(), f.globex, d.Host, owner); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("globex verifies acme's domain: %v", err)
	}
	if _, err := f.svc.Remove(f.globex, d.Host, owner); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("globex removes acme's domain: %v", err)
	}
	// first check: nothing in DNS yet
	d, err = f.svc.Verify(context.Background(), f.acme, "SHOP.acme-voice.example", owner)
	if err != nil || d.Status != store.DomainPending || d.LastResult != "TXT record not found; no CNAME record" || d.LastCheckAt.IsZero() {
		t.Fatalf("first verify: %+v %v", d, err)
	}
	f.dns.SetTXT("_portico.shop.acme-voice.example", d.Token)
	d, err = f.svc.Verify(context.Background(), f.acme, d.Host, owner)
	if err != nil || d.Status != store.DomainVerified || d.LastResult != "verified by TXT record" || d.VerifiedAt.IsZero() {
		t.Fatalf("second verify: %+v %v", d, err)
	}
	if len(f.verifiedEvents) != 1 || f.verifiedEvents[0] != d.Host {
		t.Errorf("OnVerified told %v", f.verifiedEvents)
	}
	// a verified domain is not checked again
	queries := f.dns.Queries()
	if d, err = f.svc.Verify(context.Background(), f.acme, d.Host, owner); err != nil || d.Status != store.DomainVerified || f.dns.Queries() != queries {
		t.Fatalf("verify again: %+v %v, %d queries", d, err, f.dns.Queries()-queries)
	}
	// the config domain cannot be removed here
	if _, err := f.svc.Remove(f.acme, "portal.acme.example", owner); !errors.Is(err, domains.ErrDeclared) {
		t.Errorf("remove config domain: %v", err)
	}
	if _, err := f.svc.Remove(f.acme, d.Host, owner); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Domain(f.acme, d.Host); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removed domain still there: %v", err)
	}
	want := []string{
		"o@acme.example domain.add shop.acme-voice.example 192.0.2.10",
		"o@acme.example domain.check shop.acme-voice.example 192.0.2.10",
		"o@acme.example domain.verify shop.acme-voice.example 192.0.2.10",
		"o@acme.example domain.remove shop.acme-voice.example 192.0.2.10",
	}
	if got := f.audit(t, f.acme); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := f.audit(t, f.globex); len(got) != 0 {
		t.Errorf("globex's audit has %v", got)
	}
}

func TestAddLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range domains.MaxDomains {
		if _, err := f.svc.Add(f.globex, "d"+strings.Repeat("x", i)+".example", actor.Actor{Name: "o"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Add(f.globex, "one-more.example", actor.Actor{Name: "o"}); !strings.Contains(hostProblem(err), "Remove one first") {
		t.Fatalf("domain %d: %v", domains.MaxDomains+1, err)
	}
}

func TestCheckPending(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	by := actor.Actor{Name: "o@acme.example"}
	byTXT, _ := f.svc.Add(f.acme, "txt.acme-voice.example", by)
	_, _ = f.svc.Add(f.acme, "cname.acme-voice.example", by)
	_, _ = f.svc.Add(f.acme, "never.acme-voice.example", by)
	_, _ = f.svc.Add(f.globex, "lines.globex.example", by)
	f.dns.SetTXT("_portico.txt.acme-voice.example", byTXT.Token)
	f.dns.SetCNAME("cname.acme-voice.example", "acme.portico.example")
	f.dns.SetCNAME("lines.globex.example", "globex.portico.example")
	// a disabled reseller's domains are not checked
	if _, err := f.store.ReconcileResellers([]store.ResellerSpec{
		{Slug: "acme", Name: "Acme", Currency: "USD", Domains: []string{"portal.acme.example"}, OwnerEmail: "o@acme.example"},
	}); err != nil {
		t.Fatal(err)
	}

	if err := f.svc.CheckPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	status := func(r *store.Reseller, host string) *store.Domain {
		t.Helper()
		d, err := f.svc.Domain(r, host)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for host, want := range map[string]string{
		"txt.acme-voice.example":   "verified by TXT record",
		"cname.acme-voice.example": "verified by CNAME to acme.portico.example",
		"never.acme-voice.example": "TXT record not found; no CNAME record",
	} {
		if d := status(f.acme, host); d.LastResult != want || (d.Status == store.DomainVerified) != strings.HasPrefix(want, "verified") {
			t.Errorf("%s: %s %q, want %q", host, d.Status, d.LastResult, want)
		}
	}
	if d := status(f.globex, "lines.globex.example"); d.Status != store.DomainPending || !d.LastCheckAt.IsZero() {
		t.Errorf("disabled reseller's domain was checked: %+v", d)
	}
	// only verifications are audited for the job, not every failed check
	var jobLines []string
	for _, line := range f.audit(t, f.acme) {
		if strings.HasPrefix(line, domains.JobActor) {
			jobLines = append(jobLines, line)
		}
	}
	f.mu.Lock()
	told := len(f.verifiedEvents)
	f.mu.Unlock()
	if len(jobLines) != 2 || told != 2 {
		t.Errorf("job audit lines: %v; OnVerified told %d times", jobLines, told)
	}

	// idempotent: a second run checks only what is still pending
	queries := f.dns.Queries()
	if err := f.svc.CheckPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.dns.Queries() - queries; got != 2 { // TXT and CNAME of never.acme-voice.example
		t.Errorf("second run asked %d questions, want 2", got)
	}
	// after a day unverified, hourly; once the claim lapses (a week), never
	for _, step := range []struct {
		advance time.Duration
		asks    bool
	}{
		{25 * time.Hour, true}, {30 * time.Minute, false}, {31 * time.Minute, true},
		{5 * 24 * time.Hour, true}, {21*time.Hour + 58*time.Minute, true}, {2 * time.Hour, false}, {24 * time.Hour, false},
	} {
		f.clock.Advance(step.advance)
		queries := f.dns.Queries()
		if err := f.svc.CheckPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		if asked := f.dns.Queries() > queries; asked != step.asks {
			t.Errorf("after %s more: asked %v, want %v", step.advance, asked, step.asks)
		}
	}
	// a cancelled run starts no check
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.clock.Advance(48 * time.Hour)
	queries = f.dns.Queries()
	if err := f.svc.CheckPending(ctx); err != nil || f.dns.Queries() != queries {
		t.Errorf("cancelled run: %v, %d questions", err, f.dns.Queries()-queries)
	}
}

// TestClaimRaceAndLapse is issue 10's probe: a pending custom-domain claim
// never expired and kept every other reseller from adding the domain
// ("already used by another portal"), so a reseller could hold a domain it
// could not prove. Now a second reseller may claim it, the first to prove
// it in DNS takes it (the other's claim is marked taken and no longer
// checked), and a claim not proved within a week lapses until its
// reseller claims it again with the same token.
func TestClaimRaceAndLapse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	acmeBy, globexBy := actor.Actor{Name: "o@acme.example"}, actor.Actor{Name: "o@globex.example"}
	const host = "voice.shared.example"
	first, err := f.svc.Add(f.acme, host, acmeBy)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.svc.Add(f.globex, host, globexBy) // the probe: this was "already used by another portal"
	if err != nil || second.Status != store.DomainPending || second.Token == first.Token {
		t.Fatalf("globex's claim on a host acme has pending: %+v %v", second, err)
	}
	// globex proves it (CNAME to its own address); the job gives it globex
	f.dns.SetCNAME(host, "globex.portico.example")
	if err := f.svc.CheckPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	won, err := f.svc.Domain(f.globex, host)
	if err != nil || won.Status != store.DomainVerified {
		t.Fatalf("globex's domain: %+v %v", won, err)
	}
	lost, err := f.svc.Domain(f.acme, host)
	if err != nil || lost.Status != store.DomainTaken {
		t.Fatalf("acme's claim: %+v %v", lost, err)
	}
	// the loser's claim is not checked again, and cannot be added again
	queries := f.dns.Queries()
	if d, err := f.svc.Verify(context.Background(), f.acme, host, acmeBy); err != nil || d.Status != store.DomainTaken || f.dns.Queries() != queries {
		t.Errorf("verify the lost claim: %+v %v, %d queries", d, err, f.dns.Queries()-queries)
	}
	f.clock.Advance(2 * time.Hour)
	if err := f.svc.CheckPending(context.Background()); err != nil || f.dns.Queries() != queries {
		t.Errorf("the job checked the lost claim: %v", err)
	}
	if _, err := f.svc.Add(f.acme, host, acmeBy); hostProblem(err) != "This domain is already used by another portal." {
		t.Errorf("acme adds the taken domain again: %v", err)
	}

	// lapse: an unproved claim expires after a week and is not checked
	lapsing, err := f.svc.Add(f.acme, "lines.lapse.example", acmeBy)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(store.ClaimLifetime)
	if d, _ := f.svc.Domain(f.acme, lapsing.Host); d.Status != store.DomainExpired || !d.ClaimEnds().Equal(lapsing.CreatedAt.Add(store.ClaimLifetime)) {
		t.Fatalf("a week later: %+v", d)
	}
	f.dns.SetTXT("_portico.lines.lapse.example", lapsing.Token)
	queries = f.dns.Queries()
	if err := f.svc.CheckPending(context.Background()); err != nil || f.dns.Queries() != queries {
		t.Errorf("the job checked an expired claim: %v, %d queries", err, f.dns.Queries()-queries)
	}
	if d, err := f.svc.Verify(context.Background(), f.acme, lapsing.Host, acmeBy); err != nil || d.Status != store.DomainExpired {
		t.Errorf("verify an expired claim: %+v %v", d, err)
	}
	// claiming it again restarts it with the same token; then it verifies
	renewed, err := f.svc.Add(f.acme, lapsing.Host, acmeBy)
	if err != nil || renewed.Status != store.DomainPending || renewed.Token != lapsing.Token {
		t.Fatalf("claimed again: %+v %v", renewed, err)
	}
	if d, err := f.svc.Verify(context.Background(), f.acme, lapsing.Host, acmeBy); err != nil || d.Status != store.DomainVerified {
		t.Fatalf("verify the renewed claim: %+v %v", d, err)
	}
	if got := strings.Join(f.audit(t, f.acme), "\n"); !strings.Contains(got, "domain.renew lines.lapse.example") {
		t.Errorf("renewal not audited:\n%s", got)
	}
	if problems, err := f.store.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

// hostProblem is what a refused domain says beside the form's host field.
func hostProblem(err error) string {
	fields, _ := fault.FieldsOf(err)
	return fields.Map()["host"]
}
