package app

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/store"
)

// settingsTab is one tab of the client's /settings page. Each tab opens
// directly by URL (/settings?tab=api-keys); a tab that a user may not use is
// not shown, and its URL answers 403 for them.
type settingsTab struct {
	Key, Label string
	// Roles may use the tab; nil admits every client role.
	Roles []string
	// Module is the access module the tab belongs to: the tab shows to
	// users with view access to it (app/access.go), and its forms ask for
	// edit. "" is a tab of the user's own account (Profile, Security),
	// open to every client user whatever their profile.
	Module access.Module
	// load builds the tab's data for its template views/settings/<key>.html.
	load func(a *App, c *fiber.Ctx) (any, error)
}

// settingsTabs is every tab, in the order shown. Later features add theirs
// here. Team and Permission profiles belong to the users module (who may
// do what); Activity, the business's audit log, to settings.
var settingsTabs = []settingsTab{
	{Key: "profile", Label: "Profile", Roles: allClientRoles, load: (*App).loadProfileTab},
	{Key: "security", Label: "Security", Roles: allClientRoles, load: (*App).loadSecurityTab},
	{Key: "billing", Label: "Billing", Module: access.Billing, load: (*App).loadBillingTab},
	{Key: "team", Label: "Team", Module: access.Users, load: (*App).loadTeamTab},
	{Key: "permissions", Label: "Permission profiles", Module: access.Users, load: (*App).loadPermissionsTab},
	{Key: "api-keys", Label: "API keys", Module: access.APIKeys, load: (*App).loadAPIKeysTab},
	{Key: "activity", Label: "Activity", Module: access.Settings, load: (*App).loadActivityTab},
	// Qualified Calls decides what the usage figures count: usage module.
	// Blocked Callers is an owner/admin setting: settings module.
	{Key: "qualified-calls", Label: "Qualified Calls", Module: access.Usage, load: (*App).loadQualifiedTab},
	{Key: "blocked-callers", Label: "Blocked Callers", Module: access.Settings, load: (*App).loadBlockedTab},
}

var allClientRoles = []string{store.RoleOwner, store.RoleAdmin, store.RoleManager, store.RoleUser, store.RolePublisher}

// tabAllowed says whether a user with access m may use the tab.
func tabAllowed(u *store.User, m access.Map, t settingsTab) bool {
	if t.Roles != nil && !slices.Contains(t.Roles, u.Role) {
		return false
	}
	return t.Module == "" || m.Allows(t.Module, access.View)
}

// TabLink is one entry of the tab bar.
type TabLink struct {
	Key, Label, URL string
	Current         bool
}

// SettingsPage is the Data of every settings tab.
type SettingsPage struct {
	Tabs []TabLink
	Tab  string
	Data any
}

// showSettings renders the requested tab, or the first one the role may use.
func (a *App) showSettings(c *fiber.Ctx) error {
	user := userOf(c)
	key := c.Query("tab")
	var tab *settingsTab
	for i := range settingsTabs {
		t := &settingsTabs[i]
		if !tabAllowed(user, a.accessOf(c), *t) {
			if t.Key == key {
				return fiber.ErrForbidden // security: a hidden tab is refused, not merely hidden
			}
			continue
		}
		if key == "" {
			key = t.Key
		}
		if t.Key == key {
			tab = t
		}
	}
	if tab == nil {
		return fiber.ErrNotFound
	}
	data, err := tab.load(a, c)
	if err != nil {
		return err
	}
	return a.renderSettingsTab(c, fiber.StatusOK, tab.Key, data)
}

// renderSettingsTab renders one tab with the tab bar of the user's role;
// POST handlers use it to show their tab again (422, or a new key).
func (a *App) renderSettingsTab(c *fiber.Ctx, status int, key string, data any) error {
	var links []TabLink
	label := key
	for _, t := range settingsTabs {
		if tabAllowed(userOf(c), a.accessOf(c), t) {
			links = append(links, TabLink{Key: t.Key, Label: t.Label, URL: "/settings?tab=" + t.Key, Current: t.Key == key})
		}
		if t.Key == key {
			label = t.Label
		}
	}
	return a.render(c, status, "settings/"+key, label, SettingsPage{Tabs: links, Tab: key, Data: data})
}

// requireTab admits users who may use the tab (for the POST routes of a
// user's own tabs; module-bound forms use requireModule with access.Edit).
func (a *App) requireTab(key string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		for _, t := range settingsTabs {
			if t.Key == key && tabAllowed(userOf(c), a.accessOf(c), t) {
				return c.Next()
			}
		}
		return fiber.ErrForbidden
	}
}
