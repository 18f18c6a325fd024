package app

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"portico/store"
)

// settingsTab is one tab of the client's /settings page. Each tab opens
// directly by URL (/settings?tab=api-keys); a tab that a role may not use is
// not shown, and its URL answers 403 for that role.
type settingsTab struct {
	Key, Label string
	// Roles may use the tab.
	Roles []string
	// load builds the tab's data for its template views/settings/<key>.html.
	load func(a *App, c *fiber.Ctx) (any, error)
}

// settingsTabs is every tab, in the order shown. Later features add theirs
// here.
var settingsTabs = []settingsTab{
	{Key: "profile", Label: "Profile", Roles: allClientRoles, load: (*App).loadProfileTab},
	{Key: "security", Label: "Security", Roles: allClientRoles, load: (*App).loadSecurityTab},
	{Key: "api-keys", Label: "API keys", Roles: []string{store.RoleOwner, store.RoleAdmin}, load: (*App).loadAPIKeysTab},
	{Key: "activity", Label: "Activity", Roles: []string{store.RoleOwner, store.RoleAdmin}, load: (*App).loadActivityTab},
}

var allClientRoles = []string{store.RoleOwner, store.RoleAdmin, store.RoleManager, store.RoleUser, store.RolePublisher}

// tabAllowed says whether the user's role may use the tab.
func tabAllowed(u *store.User, t settingsTab) bool { return slices.Contains(t.Roles, u.Role) }

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
		if !tabAllowed(user, *t) {
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
		if tabAllowed(userOf(c), t) {
			links = append(links, TabLink{Key: t.Key, Label: t.Label, URL: "/settings?tab=" + t.Key, Current: t.Key == key})
		}
		if t.Key == key {
			label = t.Label
		}
	}
	return a.render(c, status, "settings/"+key, label, SettingsPage{Tabs: links, Tab: key, Data: data})
}

// requireTab admits users whose role may use the tab (for its POST routes).
func (a *App) requireTab(key string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		for _, t := range settingsTabs {
			if t.Key == key && tabAllowed(userOf(c), t) {
				return c.Next()
			}
		}
		return fiber.ErrForbidden
	}
}
