package app

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"portico/store"
)

// TestAPICallCoveredByPackage: over HTTP, a call that ann's plan's
// package covers is allowed with no credit, reserves "0" and names the
// package by id; its CDR costs nothing and lists the package id, other
// CDRs list null. globex's key sees none of it.
func TestAPICallCoveredByPackage(t *testing.T) {
	t.Parallel()
	f := newCallsFixture(t, "")
	rid := f.ts.ids["acme"]
	pkg := &store.CallingPackage{ResellerID: rid, Name: "UK", Countries: []string{"GB"}, FairUseMinutes: 60}
	err := f.ts.store.Update(func(tx *store.Tx) error {
		if err := store.PutCatalog(tx, pkg); err != nil {
			return err
		}
		plan := &store.Plan{ResellerID: rid, Name: "Pro", Kind: store.PlanSubscription, Packages: []uint64{pkg.ID}, Status: store.CatalogActive}
		if err := store.PutCatalog(tx, plan); err != nil {
			return err
		}
		return tx.PutSubscription(&store.Subscription{ResellerID: rid, ClientID: f.ann.ID, PlanID: plan.ID, Seats: 1, Status: store.SubscriptionActive})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey,
		body: authorizeBody("k1", "outbound", "+14155550100", "+442079460958")}, http.StatusOK)
	want := fmt.Sprintf(`{"allow":true,"call_id":"k1","max_duration_s":14400,"rate_per_minute":"0.06","reserved":"0.00","currency":"USD","package":%d}`, pkg.ID)
	if r.body != want {
		t.Fatalf("covered authorisation:\n%s\nwant\n%s", r.body, want)
	}
	started := f.ts.clock.Now().Add(-time.Hour)
	body := `{"records":[` + cdrJSON("k1", "outbound", "+14155550100", "+442079460958", started, 90, "answered") + "," +
		cdrJSON("k2", "inbound", "+442079460958", "+14155550100", started.Add(time.Second), 30, "answered") + `]}`
	f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey, body: body}, http.StatusOK)
	r = f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey}, http.StatusOK)
	list := decodeReply[struct {
		Data []map[string]any `json:"data"`
	}](t, r)
	if len(list.Data) != 2 || list.Data[0]["package"] != float64(pkg.ID) || list.Data[0]["cost"] != "0.00" {
		t.Fatalf("covered CDR: %s", r.body)
	}
	if v, ok := list.Data[1]["package"]; !ok || v != nil {
		t.Fatalf("uncovered CDR: %s", r.body)
	}
	if cr := f.annCredit(t); cr.Used != "0.00" || cr.Reserved != "0.00" {
		t.Fatalf("credit: %+v", cr)
	}
	// globex's key: not its client
	f.at.expect(apiRequest{method: "GET", host: globexHost, path: "/api/v1/clients/" + fmt.Sprint(f.ann.ID) + "/cdrs", key: f.globexKey}, http.StatusNotFound)
	f.verify(t)
}
