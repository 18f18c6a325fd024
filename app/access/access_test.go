package access

import (
	"testing"

	"portico/store"
)

// TestEffective: the role sets the ceiling, a profile only narrows it, a
// profile never applies to owners, admins or publishers, and a user whose
// profile could not be loaded gets nothing.
func TestEffective(t *testing.T) {
	t.Parallel()
	wide := &store.PermissionProfile{Access: map[string]string{"dashboard": "view", "calls": "edit", "billing": "edit", "users": "edit", "api_keys": "edit", "bogus": "edit", "numbers": "root"}}
	cases := []struct {
		name    string
		role    string
		profile *store.PermissionProfile
		want    Map
	}{
		{"owner", store.RoleOwner, nil, levels(Edit, Modules...)},
		{"admin ignores a profile", store.RoleAdmin, &store.PermissionProfile{}, levels(Edit, Modules...)},
		{"manager defaults", store.RoleManager, nil, levels(Edit, Dashboard, Calls, Numbers, Usage, Support)},
		{"user defaults", store.RoleUser, nil, levels(Edit, Dashboard, Calls, Numbers, Usage)},
		{"publisher", store.RolePublisher, wide, Map{Payouts: Edit}},
		{"user narrowed, never widened", store.RoleUser, wide, Map{Dashboard: View, Calls: Edit}},
		{"manager narrowed", store.RoleManager, wide, Map{Dashboard: View, Calls: Edit}},
		{"missing profile allows nothing", store.RoleManager, &store.PermissionProfile{}, Map{}},
		{"staff role", store.RoleBilling, nil, Map{}},
	}
	for _, tc := range cases {
		u := &store.User{ClientID: 1, Role: tc.role}
		if tc.profile != nil {
			u.ProfileID = 7
		}
		got := Effective(u, tc.profile)
		for _, m := range Modules {
			if got[m] != tc.want[m] {
				t.Errorf("%s: %s = %s, want %s", tc.name, m, got[m], tc.want[m])
			}
		}
	}
	if got := Effective(&store.User{Role: store.RoleOwner}, nil); len(got) != 0 {
		t.Errorf("staff owner gets client access: %v", got)
	}
}

// TestOffered: a profile offers exactly the modules with pages, in display
// order; those without pages (no screens yet) are not offered.
func TestOffered(t *testing.T) {
	t.Parallel()
	got := Offered()
	want := []Module{Dashboard, Calls, Usage, Billing, Settings, Users, APIKeys}
	if len(got) != len(want) {
		t.Fatalf("Offered() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Offered() = %v, want %v", got, want)
		}
	}
	for _, m := range []Module{Numbers, Support, Payouts} {
		if m.HasPages() {
			t.Errorf("%s has no pages yet but says it has", m)
		}
	}
}
