package access

import (
	"testing"

	"portico/store"
)

// TestStaffMay is the console's table: every role's areas, nothing for a
// client user whatever their role's name, nothing for an unknown area.
func TestStaffMay(t *testing.T) {
	t.Parallel()
	all := []Area{AreaClients, AreaClientsEdit, AreaCredit, AreaStaff, AreaBranding, AreaDomains, AreaActivity,
		AreaSecurity, AreaAPIKeys, AreaRates, AreaRatesEdit, AreaBilling}
	want := map[string][]Area{
		store.RoleOwner:   all,
		store.RoleAdmin:   all,
		store.RoleBilling: {AreaClients, AreaCredit, AreaRates, AreaBilling},
		store.RoleSupport: {AreaClients, AreaClientsEdit},
	}
	for role, areas := range want {
		staff := &store.User{Role: role}
		for _, area := range all {
			allowed := false
			for _, a := range areas {
				allowed = allowed || a == area
			}
			if got := StaffMay(staff, area); got != allowed {
				t.Errorf("%s on area %d: %v, want %v", role, area, got, allowed)
			}
		}
		if StaffMay(staff, Area(0)) || StaffMay(staff, AreaBilling+1) {
			t.Errorf("%s may use an area that does not exist", role)
		}
	}
	for _, area := range all {
		if StaffMay(&store.User{ClientID: 3, Role: store.RoleOwner}, area) {
			t.Errorf("a client's owner may use console area %d", area)
		}
		if StaffMay(nil, area) {
			t.Errorf("nobody may use console area %d", area)
		}
	}
}
