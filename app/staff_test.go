package app

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"portico/store"
)

func TestStaffManagement(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	if r := owner.get(acmeHost, "/reseller/staff"); r.status != 200 || !strings.Contains(r.body, "support@acme.example") || strings.Contains(r.body, "client@acme.example") {
		t.Fatalf("staff list: %d", r.status)
	}
	bad := url.Values{"name": {""}, "email": {"support@acme.example"}, "role": {"owner"}, "password": {"weak"}, "confirm": {"weak"}}
	r := owner.post(acmeHost, "/reseller/staff", "/reseller/staff", bad)
	for _, want := range []string{"Enter a name", "Choose admin, billing or support", "Use 8–20 characters"} {
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, want) {
			t.Errorf("bad staff form lacks %q (%d)", want, r.status)
		}
	}
	good := url.Values{"name": {"Bill"}, "email": {"bill@acme.example"}, "role": {"billing"}, "password": {"B1ll-the-payer"}, "confirm": {"B1ll-the-payer"}}
	if r := owner.post(acmeHost, "/reseller/staff", "/reseller/staff", good); r.status != http.StatusSeeOther {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	if r := owner.post(acmeHost, "/reseller/staff", "/reseller/staff", good); !strings.Contains(r.body, "already has this email") {
		t.Errorf("duplicate email accepted")
	}
	bill := ts.browser()
	r = bill.post(acmeHost, "/login", "/login", url.Values{"email": {"bill@acme.example"}, "password": {"B1ll-the-payer"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("new staff sign-in: %d", r.status)
	}
	if r := bill.get(acmeHost, "/reseller/staff"); r.status != http.StatusForbidden {
		t.Errorf("billing sees staff page: %d", r.status)
	}
	var billID, ownerID uint64
	ts.store.View(func(tx *store.Tx) error {
		u, _ := tx.UserByEmail(ts.ids["acme"], "bill@acme.example")
		o, _ := tx.ResellerOwner(ts.ids["acme"])
		billID, ownerID = u.ID, o.ID
		return nil
	})
	billPath := "/reseller/staff/" + strconv.FormatUint(billID, 10)
	if r := owner.post(acmeHost, "/reseller/staff", billPath, url.Values{"role": {"billing"}, "status": {"disabled"}}); r.status != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.status)
	}
	if r := bill.get(acmeHost, "/reseller"); r.status != http.StatusSeeOther {
		t.Errorf("disabled staff still signed in: %d", r.status)
	}
	ownerPath := "/reseller/staff/" + strconv.FormatUint(ownerID, 10)
	if r := owner.post(acmeHost, "/reseller/staff", ownerPath, url.Values{"role": {"admin"}, "status": {"active"}}); r.status != http.StatusForbidden ||
		!strings.Contains(r.body, "The owner and your own account cannot be changed here.") {
		t.Errorf("owner demoted: %d", r.status)
	}
	// a role or status the page does not offer is refused by field, and
	// the page says which and that nothing changed
	r = owner.post(acmeHost, "/reseller/staff", billPath, url.Values{"role": {"owner"}, "status": {"gone"}})
	if r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "Role: Choose admin, billing or support. Status: Choose active or disabled. Nothing was changed.") {
		t.Errorf("unknown role and status: %d\n%s", r.status, r.body)
	}
	globex := ts.browser()
	globex.login(globexHost, "owner@globex.example", "/reseller")
	if r := globex.post(globexHost, "/reseller/staff", billPath, url.Values{"role": {"admin"}, "status": {"active"}}); r.status != http.StatusNotFound {
		t.Errorf("other reseller changed acme staff: %d", r.status)
	}
}
