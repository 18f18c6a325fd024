package app

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"portico/app/actor"
	"portico/app/auth"
	"portico/store"
)

// resellerKeysForm loads the reseller's API keys page and returns its
// create form's hidden fields.
func resellerKeysForm(t *testing.T, b *browser, host string) url.Values {
	t.Helper()
	page := b.get(host, resellerAPIKeysURL)
	csrf := csrfPattern.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || csrf == nil {
		t.Fatalf("reseller API keys page: %d", page.status)
	}
	token, _ := auth.NewToken()
	if m := formTokenPattern.FindStringSubmatch(page.body); m != nil {
		token = m[1]
	}
	return url.Values{"_csrf": {csrf[1]}, "form_token": {token}}
}

func TestResellerAPIKeysLifecycle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "owner@acme.example", "/reseller")
	if r := b.get(acmeHost, "/reseller"); !strings.Contains(r.body, `href="/reseller/api-keys"`) {
		t.Error("the owner's menu has no API keys entry")
	}

	form := resellerKeysForm(t, b, acmeHost)
	form.Set("name", "Billing script")
	created := b.do(http.MethodPost, acmeHost, resellerAPIKeysURL, form, nil)
	m := newKeyShown.FindStringSubmatch(created.body)
	if created.status != http.StatusOK || m == nil {
		t.Fatalf("create: %d", created.status)
	}
	key := m[1]
	stored := storedKey(t, ts, key)
	if stored.ClientID != 0 || stored.ResellerID != ts.ids["acme"] || stored.Name != "Billing script" || stored.CreatedBy != "owner@acme.example" {
		t.Fatalf("stored %+v", stored)
	}
	// A reload of the reply creates nothing.
	if again := b.do(http.MethodPost, acmeHost, resellerAPIKeysURL, form, nil); again.status != http.StatusConflict || newKeyShown.MatchString(again.body) {
		t.Errorf("resubmitted form: %d", again.status)
	}
	// The page lists the key by prefix, never in full.
	if page := b.get(acmeHost, resellerAPIKeysURL); !strings.Contains(page.body, stored.Prefix+"_…") || strings.Contains(page.body, key) {
		t.Error("the list shows the key wrongly")
	}

	// It is a reseller key: it lists clients, and is refused after revoking.
	at := ts.api(t)
	at.expect(apiRequest{method: http.MethodGet, host: acmeHost, path: "/api/v1/clients", key: key}, http.StatusOK)

	// Client keys are not the reseller's to list or revoke here, and the
	// reseller's keys are not a client's.
	clientKey, err := ts.app.clients.CreateKey(ts.ids["acme"], ts.cleo().ID, "cleo pbx", actor.Actor{Name: "seed"})
	if err != nil {
		t.Fatal(err)
	}
	if page := b.get(acmeHost, resellerAPIKeysURL); strings.Contains(page.body, "cleo pbx") {
		t.Error("a client's key is on the reseller's page")
	}
	if keys, _ := ts.app.clients.Keys(ts.ids["acme"], ts.cleo().ID); len(keys) != 1 {
		t.Errorf("cleo's keys: %d, want only her own", len(keys))
	}
	csrf := url.Values{"_csrf": {form.Get("_csrf")}}
	revoke := func(id uint64) response {
		return b.do(http.MethodPost, acmeHost, resellerAPIKeysURL+"/"+strconv.FormatUint(id, 10)+"/revoke", csrf, nil)
	}
	if r := revoke(clientKey.ID); r.status != http.StatusNotFound {
		t.Errorf("revoking a client's key from the reseller page: %d, want 404", r.status)
	}
	// Another reseller's owner cannot revoke acme's key.
	g := ts.browser()
	g.login(globexHost, "owner@globex.example", "/reseller")
	gcsrf := resellerKeysForm(t, g, globexHost)
	if r := g.do(http.MethodPost, globexHost, resellerAPIKeysURL+"/"+strconv.FormatUint(stored.ID, 10)+"/revoke", url.Values{"_csrf": {gcsrf.Get("_csrf")}}, nil); r.status != http.StatusNotFound {
		t.Errorf("globex revoking acme's key: %d, want 404", r.status)
	}

	if r := revoke(stored.ID); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.status)
	}
	at.expect(apiRequest{method: http.MethodGet, host: acmeHost, path: "/api/v1/clients", key: key}, http.StatusUnauthorized)
	if events := ts.auditActions("api_key.revoke"); len(events) != 1 || !strings.Contains(events[0], "reseller "+stored.Prefix) {
		t.Errorf("audit: %v", events)
	}
}

func TestResellerAPIKeysLimit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "owner@acme.example", "/reseller")
	for i := range store.MaxActiveAPIKeys {
		form := resellerKeysForm(t, b, acmeHost)
		form.Set("name", "key "+strconv.Itoa(i))
		if r := b.do(http.MethodPost, acmeHost, resellerAPIKeysURL, form, nil); r.status != http.StatusOK {
			t.Fatalf("key %d: %d", i, r.status)
		}
	}
	form := resellerKeysForm(t, b, acmeHost) // at the limit the page has no create form
	form.Set("name", "eleventh")
	r := b.do(http.MethodPost, acmeHost, resellerAPIKeysURL, form, nil)
	if r.status != http.StatusConflict || !strings.Contains(r.body, "the most allowed") {
		t.Errorf("eleventh key: %d", r.status)
	}
	// A client's keys count apart: cleo can still create hers.
	if _, err := ts.app.clients.CreateKey(ts.ids["acme"], ts.cleo().ID, "cleo pbx", actor.Actor{Name: "seed"}); err != nil {
		t.Errorf("a client's key beside 10 reseller keys: %v", err)
	}
}
