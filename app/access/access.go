// Package access is the one model of what a client user may do: the
// modules of the client portal, the levels of access to each (none, view,
// edit), the ceiling of each client role, and how a permission profile
// narrows it. It is pure: no store reads, no Fiber. app/access.go enforces
// it on every client route and hides what it refuses from the navigation.
// docs/roles.md shows the same tables.
package access

import (
	"portico/store"
)

// Module is one area of the client portal.
type Module string

// The modules of the client portal, in the order pages show them.
const (
	Dashboard Module = "dashboard"
	Calls     Module = "calls"
	Numbers   Module = "numbers"
	Usage     Module = "usage" // usage and reporting
	Billing   Module = "billing"
	Support   Module = "support"
	Settings  Module = "settings"
	Users     Module = "users"
	APIKeys   Module = "api_keys"
	Payouts   Module = "payouts"
)

// Modules lists every module in display order.
var Modules = []Module{Dashboard, Calls, Numbers, Usage, Billing, Support, Settings, Users, APIKeys, Payouts}

// withPages are the modules that have pages yet. Roles and profiles keep
// a level for every module, but a permission profile offers only these:
// nobody should grant or refuse access to screens that do not exist. A
// module joins when its first page lands (Numbers with the phone numbers,
// Support with tickets, Payouts with the publisher's payouts; Billing has
// the Billing tab of the settings).
var withPages = map[Module]bool{Dashboard: true, Calls: true, Usage: true, Billing: true, Settings: true, Users: true, APIKeys: true}

// HasPages reports whether the module has pages yet.
func (m Module) HasPages() bool { return withPages[m] }

// Offered lists, in display order, the modules a permission profile
// offers: those with pages.
func Offered() []Module {
	var out []Module
	for _, m := range Modules {
		if m.HasPages() {
			out = append(out, m)
		}
	}
	return out
}

// Label is the module's name for people.
func (m Module) Label() string {
	switch m {
	case Usage:
		return "Usage and reporting"
	case APIKeys:
		return "API keys"
	}
	s := string(m)
	return string(s[0]-'a'+'A') + s[1:]
}

// Valid reports whether m is a known module.
func (m Module) Valid() bool {
	for _, k := range Modules {
		if k == m {
			return true
		}
	}
	return false
}

// Level is how much of a module a user may use; higher includes lower.
type Level int

// Levels: None hides the module, View shows its pages, Edit allows its
// changes too.
const (
	None Level = iota
	View
	Edit
)

// Levels lists the levels in order.
var Levels = []Level{None, View, Edit}

func (l Level) String() string {
	switch l {
	case View:
		return "view"
	case Edit:
		return "edit"
	}
	return "none"
}

// ParseLevel reads "none", "view" or "edit".
func ParseLevel(s string) (Level, bool) {
	for _, l := range Levels {
		if l.String() == s {
			return l, true
		}
	}
	return None, false
}

// Map is a user's level for each module; a missing module is None.
type Map map[Module]Level

// Allows reports whether the map grants at least level on m.
func (m Map) Allows(mod Module, level Level) bool { return m[mod] >= level }

func levels(l Level, mods ...Module) Map {
	out := Map{}
	for _, m := range mods {
		out[m] = l
	}
	return out
}

// Ceiling is the most a client role may ever do (docs/roles.md):
// owner and admin everything; manager operations and support tickets (no
// billing, API keys, users or settings); user operations only (never
// billing: payment methods, invoices, transactions); publisher payouts
// only. Profile and Security are every user's own and belong to no
// module. A role not listed (staff roles) gets nothing.
func Ceiling(role string) Map {
	switch role {
	case store.RoleOwner, store.RoleAdmin:
		return levels(Edit, Modules...)
	case store.RoleManager:
		return levels(Edit, Dashboard, Calls, Numbers, Usage, Support)
	case store.RoleUser:
		return levels(Edit, Dashboard, Calls, Numbers, Usage)
	case store.RolePublisher:
		return levels(Edit, Payouts)
	}
	return Map{}
}

// TakesProfile reports whether a role can be narrowed by a profile:
// managers and users. Owners and admins always have everything, and a
// publisher has only payouts.
func TakesProfile(role string) bool { return role == store.RoleManager || role == store.RoleUser }

// ProfileLevels reads a stored profile's levels; unknown modules and
// levels are dropped and a missing module is None (least privilege).
func ProfileLevels(p *store.PermissionProfile) Map {
	out := Map{}
	if p == nil {
		return out
	}
	for k, v := range p.Access {
		if m := Module(k); m.Valid() {
			if l, ok := ParseLevel(v); ok {
				out[m] = l
			}
		}
	}
	return out
}

// Effective is what the user may do: their role's ceiling, narrowed module
// by module by their profile when the role takes one. A profile never
// widens a role: each module gets the lower of the two levels. profile is
// the user's profile (nil when they have none); a user whose ProfileID
// names a profile that could not be loaded must be passed a non-nil empty
// profile, which allows nothing, rather than nil, which would give them
// their role's defaults.
func Effective(u *store.User, profile *store.PermissionProfile) Map {
	if u == nil || u.Staff() {
		return Map{} // staff use the reseller console, never client modules
	}
	ceiling := Ceiling(u.Role)
	if !TakesProfile(u.Role) || u.ProfileID == 0 {
		return ceiling
	}
	narrowed := ProfileLevels(profile)
	out := Map{}
	for m, l := range ceiling {
		out[m] = min(l, narrowed[m])
	}
	return out
}
