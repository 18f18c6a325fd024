package app

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// billingHome is where the console's Billing entry leads; every page of
// the billing console is under it, so the entry stays current on each.
const billingHome = "/reseller/billing"

// billingTabs are the tabs of the billing console, in order. A tab shows
// only once its page is served (billingTabsFor), so the parts of billing
// can arrive one at a time without links to pages that do not exist yet.
var billingTabs = []NavItem{
	{Label: "Plans", URL: billingHome + "/plans"},
	{Label: "Packages", URL: billingHome + "/packages"},
	{Label: "Add-ons", URL: billingHome + "/add-ons"},
	{Label: "Numbers", URL: billingHome + "/numbers"},
	{Label: "Invoices", URL: billingHome + "/invoices"},
	{Label: "Seller & tax", URL: billingHome + "/seller"},
}

// billingTabsFor is the tab bar of the billing page at path: the tabs
// whose page is served, the one path is on (or under) marked current.
func (a *App) billingTabsFor(path string) []NavItem {
	served := map[string]bool{}
	for _, r := range a.fiber.GetRoutes(true) {
		if r.Method == http.MethodGet {
			served[r.Path] = true
		}
	}
	var tabs []NavItem
	for _, t := range billingTabs {
		if served[t.URL] {
			t.Current = path == t.URL || strings.HasPrefix(path, t.URL+"/")
			tabs = append(tabs, t)
		}
	}
	return tabs
}

// showBillingHome opens the billing console on its first tab.
func (a *App) showBillingHome(c *fiber.Ctx) error {
	return c.Redirect(billingTabs[0].URL, fiber.StatusSeeOther)
}
