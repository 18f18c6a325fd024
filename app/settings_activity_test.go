package app

import (
	"net/http"
	"strings"
	"testing"

	"portico/app/auth"
	"portico/store"
)

// addClientUser adds a member with role to acme's client cleo.
func (ts *testServer) addClientUser(email, role string) {
	ts.t.Helper()
	hash, _ := auth.HashPassword(testPassword)
	cleo := ts.cleo()
	err := ts.store.Update(func(tx *store.Tx) error {
		return tx.CreateUser(&store.User{ResellerID: ts.ids["acme"], ClientID: cleo.ID, Email: email, Role: role, PasswordHash: hash})
	})
	if err != nil {
		ts.t.Fatal(err)
	}
}

func TestClientActivityTab(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addClientUser("mia@cleo.example", store.RoleManager)
	owner := ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")
	mia := ts.browser()
	mia.login(acmeHost, "mia@cleo.example", "/dashboard")
	staff := ts.browser()
	staff.login(acmeHost, "owner@acme.example", "/reseller") // staff sign-ins are not the client's activity

	r := owner.get(acmeHost, "/settings?tab=activity")
	if r.status != http.StatusOK || !strings.Contains(r.body, "mia@cleo.example") || strings.Contains(r.body, "owner@acme.example") {
		t.Fatalf("activity tab: %d\n%s", r.status, r.body)
	}
	if r := owner.get(acmeHost, "/settings?tab=activity&actor=mia%40cleo.example"); strings.Count(r.body, `<td data-label="Who" class="break">client@acme.example</td>`) != 0 || !strings.Contains(r.body, `<td data-label="Who" class="break">mia@cleo.example</td>`) {
		t.Errorf("filter by user")
	}
	if r := owner.get(acmeHost, "/settings?tab=activity&from=2026-11-03"); !strings.Contains(r.body, "No event matches") {
		t.Errorf("filter by date")
	}
	csv := owner.get(acmeHost, "/settings/activity.csv")
	if csv.status != http.StatusOK || !strings.HasPrefix(csv.body, "time,who,action,target,ip\n") || !strings.Contains(csv.body, ",mia@cleo.example,login,") || strings.Contains(csv.body, "owner@acme.example") {
		t.Errorf("csv:\n%s", csv.body)
	}
	// a manager has no Activity tab: hidden and refused
	r = mia.get(acmeHost, "/settings")
	if r.status != http.StatusOK || strings.Contains(r.body, "tab=activity") {
		t.Errorf("manager's settings show the activity tab: %d", r.status)
	}
	if r := mia.get(acmeHost, "/settings?tab=activity"); r.status != http.StatusForbidden {
		t.Errorf("manager opens activity: %d", r.status)
	}
	if r := mia.get(acmeHost, "/settings/activity.csv"); r.status != http.StatusForbidden {
		t.Errorf("manager exports activity: %d", r.status)
	}
	if r := staff.get(acmeHost, "/settings"); r.status != http.StatusForbidden {
		t.Errorf("staff opens client settings: %d", r.status)
	}
	if r := owner.get(acmeHost, "/settings?tab=nope"); r.status != http.StatusNotFound {
		t.Errorf("unknown tab: %d", r.status)
	}
}
