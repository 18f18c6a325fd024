package access

import (
	"slices"

	"portico/store"
)

// Area is one area of the reseller console (/reseller/...), the staff's
// counterpart of a client Module. Routes name the area they belong to,
// and the navigation shows an area's entry only to staff who may use it.
type Area uint8

// The console's areas. Every staff role may see the overview and its own
// security page, which belong to no area.
const (
	AreaClients     Area = iota + 1 // clients: list, client pages, movements CSV
	AreaClientsEdit                 // clients: create, edit, disable, enable
	AreaCredit                      // recharge a client
	AreaStaff                       // staff: add, change role, disable
	AreaBranding                    // the branding editor
	AreaDomains                     // custom domains
	AreaActivity                    // the activity log
	AreaSecurity                    // require two-factor sign-in for every user
	AreaAPIKeys                     // the reseller's own API keys
	AreaRates                       // see and export the rate deck
	AreaRatesEdit                   // import a deck; allow a client premium destinations
	AreaBilling                     // catalogue, numbers, seller details and tax, invoices, client subscriptions
)

// staffRoles says which staff role may use which area; docs/roles.md
// shows the same table. An area not listed is nobody's.
var staffRoles = map[Area][]string{
	AreaClients:     {store.RoleOwner, store.RoleAdmin, store.RoleBilling, store.RoleSupport},
	AreaClientsEdit: {store.RoleOwner, store.RoleAdmin, store.RoleSupport},
	AreaCredit:      {store.RoleOwner, store.RoleAdmin, store.RoleBilling},
	AreaStaff:       {store.RoleOwner, store.RoleAdmin},
	AreaBranding:    {store.RoleOwner, store.RoleAdmin},
	AreaDomains:     {store.RoleOwner, store.RoleAdmin},
	AreaActivity:    {store.RoleOwner, store.RoleAdmin},
	AreaSecurity:    {store.RoleOwner, store.RoleAdmin},
	AreaAPIKeys:     {store.RoleOwner, store.RoleAdmin},
	// billing sees the prices it invoices; importing a deck and allowing
	// a client premium destinations change what calls cost
	AreaRates:     {store.RoleOwner, store.RoleAdmin, store.RoleBilling},
	AreaRatesEdit: {store.RoleOwner, store.RoleAdmin},
	AreaBilling:   {store.RoleOwner, store.RoleAdmin, store.RoleBilling},
}

// StaffMay reports whether u, a staff user, may use the area. Client
// users never may: they use client modules.
func StaffMay(u *store.User, area Area) bool {
	return u != nil && u.Staff() && slices.Contains(staffRoles[area], u.Role)
}
