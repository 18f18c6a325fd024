package app

import (
	"net/http"
	"net/url"
	"testing"
)

// TestIDParamNotFound: an id the route's :id<int> lets through but no
// record can have (negative) is a 404 page on every route that reads one,
// like an id that names nothing.
func TestIDParamNotFound(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	for _, path := range []string{"/reseller/clients/-1", "/reseller/clients/-1/edit", "/reseller/clients/-1/recharge"} {
		if r := owner.get(acmeHost, path); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.status)
		}
	}
	for _, path := range []string{"/reseller/staff/-1", "/reseller/api-keys/-1/revoke"} {
		if r := owner.post(acmeHost, "/reseller/staff", path, url.Values{"role": {"admin"}}); r.status != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", path, r.status)
		}
	}
	client := ts.browser()
	client.login(acmeHost, "client@acme.example", "/dashboard")
	for _, path := range []string{"/settings/team/-1", "/settings/team/-1/delete", "/settings/profiles/-1", "/settings/profiles/-1/delete", "/settings/api-keys/-1/revoke"} {
		if r := client.post(acmeHost, "/settings", path, url.Values{}); r.status != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", path, r.status)
		}
	}
}
