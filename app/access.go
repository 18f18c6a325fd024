package app

import (
	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/fault"
	"portico/store"
)

// Access control of the client portal.
//
// Every client page and form route is guarded by one call:
//
//	group.Get("/calls", a.requireModule(access.Calls, access.View), a.listCalls)
//	group.Post("/calls/blocked", a.requireModule(access.Calls, access.Edit), a.blockCaller)
//
// requireModule admits a signed-in client user whose effective access to
// the module (app/access: the role's ceiling narrowed by the user's
// permission profile) is at least the level; it refuses staff and
// everyone else with 403. GET pages ask for access.View, changes for
// access.Edit. Handlers that show parts of other modules on one page ask
// a.accessOf(c).Allows(module, level) themselves.
//
// Navigation (clientNav below) and the settings tabs (settingsTabs in
// settings.go) name a module too, so what a user may not open is not
// shown. A new client page adds its route with requireModule, a rule in
// permissions_test.go's routeRules (the test fails without one) and, if it
// belongs in the menu, an entry in clientNav.
//
// Permission profiles apply to people. API keys act for the whole
// business: only owners and admins create them (the api_keys module), and
// the API checks a key's scope (requireClientKey, requireResellerKey in
// api.go), not a profile.

// accessKey is the Locals key of the request's cached access map; a type of
// its own, so it cannot collide with the keys of middleware.go.
type accessKey struct{}

// accessOf is the signed-in user's effective access, computed once per
// request (the profile is read from the store at most once) and cached.
// A visitor or a staff user has none.
func (a *App) accessOf(c *fiber.Ctx) access.Map {
	if m, ok := c.Locals(accessKey{}).(access.Map); ok {
		return m
	}
	m, err := a.accessFor(userOf(c))
	if err != nil {
		a.log.Error("access: load profile", "request_id", requestIDOf(c), "err", err)
		m = access.Map{} // fail closed
	}
	c.Locals(accessKey{}, m)
	return m
}

// accessFor computes a user's effective access, reading their profile.
func (a *App) accessFor(u *store.User) (access.Map, error) {
	if u == nil || u.Staff() {
		return access.Map{}, nil
	}
	if u.ProfileID == 0 || !access.TakesProfile(u.Role) {
		return access.Effective(u, nil), nil
	}
	var profile *store.PermissionProfile
	err := a.store.View(func(tx *store.Tx) (err error) {
		profile, err = tx.Profile(u.ResellerID, u.ClientID, u.ProfileID) // scope: the user's own client's profile
		return err
	})
	if fault.Is(err, fault.NotFound) {
		// A missing profile allows nothing rather than the role's wider
		// defaults (the store refuses to delete a profile in use).
		profile, err = &store.PermissionProfile{}, nil
	}
	if err != nil {
		return nil, err
	}
	return access.Effective(u, profile), nil
}

// requireModule admits client users with at least level on module; see
// the comment at the top of this file.
func (a *App) requireModule(module access.Module, level access.Level) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := userOf(c)
		if u == nil {
			return fiber.ErrUnauthorized
		}
		if u.Staff() || !a.accessOf(c).Allows(module, level) { // security: role ceiling narrowed by profile, server-side
			return fiber.ErrForbidden
		}
		return c.Next()
	}
}

// requireClientRole admits client users of the listed roles only (for the
// few acts bound to a role rather than a module, such as handing over
// ownership).
func (a *App) requireClientRole(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := userOf(c)
		if u == nil || u.Staff() {
			return fiber.ErrForbidden
		}
		for _, r := range roles {
			if u.Role == r {
				return c.Next()
			}
		}
		return fiber.ErrForbidden
	}
}

// clientNavEntry is one entry of the client portal's menu; Module ""
// is shown to every client user.
type clientNavEntry struct {
	Label, URL string
	Module     access.Module
}

// clientNav is the client portal's menu in order. Later modules (calls,
// numbers, usage, billing, support, payouts) add their pages here.
var clientNav = []clientNavEntry{
	{Label: "Dashboard", URL: "/dashboard", Module: access.Dashboard},
	{Label: "Calls", URL: "/calls", Module: access.Calls},
	{Label: "Billing", URL: billingTabURL, Module: access.Billing}, // the Billing tab of the settings
	{Label: "Settings", URL: "/settings"},                          // Profile and Security are every user's own
}

// clientMenu is the menu of a client user with the given access; home is
// the first entry (where sign-in lands).
func clientMenu(m access.Map) (home string, items []NavItem) {
	for _, e := range clientNav {
		if e.Module != "" && !m.Allows(e.Module, access.View) {
			continue // hidden: the route refuses it too
		}
		items = append(items, NavItem{Label: e.Label, URL: e.URL})
	}
	return items[0].URL, items
}

// homeFor is where a user lands after signing in.
func (a *App) homeFor(u *store.User) (string, error) {
	m, err := a.accessFor(u)
	if err != nil {
		return "", err
	}
	home, _ := navigation(u, m, "")
	return home, nil
}
