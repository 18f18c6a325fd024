package app

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/calls"
	"portico/app/clients"
	"portico/app/fault"
	"portico/store"
)

// Settings tabs of the calls feature: Qualified Calls (the usage module:
// it decides what the usage figures count, so whoever may edit usage and
// reporting may change it) and Blocked Callers (the settings module:
// owners and admins; docs/roles.md).

const (
	qualifiedTabURL = "/settings?tab=qualified-calls"
	blockedTabURL   = "/settings?tab=blocked-callers"
)

// qualifiedTabData is the Data of views/settings/qualified-calls.html.
type qualifiedTabData struct {
	ThresholdS int
	Default    int
	Max        int
	Form       *Form
	CanEdit    bool
}

func (a *App) loadQualifiedTab(c *fiber.Ctx) (any, error) {
	return a.qualifiedTab(c, nil)
}

// qualifiedTab builds the tab; form is nil for a fresh one.
func (a *App) qualifiedTab(c *fiber.Ctx, form *Form) (qualifiedTabData, error) {
	tenant, user := tenantOf(c), userOf(c)
	data := qualifiedTabData{Default: store.DefaultQualifiedThreshold, Max: store.MaxQualifiedThreshold,
		CanEdit: a.accessOf(c).Allows(access.Usage, access.Edit)}
	var cl *store.Client
	err := a.store.View(func(tx *store.Tx) (err error) {
		cl, err = tx.Client(tenant.ID, user.ClientID) // scope: the session's client
		return err
	})
	if err != nil {
		return data, err
	}
	data.ThresholdS = cl.QualifiedThreshold()
	if form == nil {
		form = newForm()
		form.Values["qualified_threshold_s"] = strconv.Itoa(data.ThresholdS)
	}
	data.Form = form
	return data, nil
}

// saveQualifiedThreshold sets the client's qualified-call threshold; it
// applies at once, to past periods too (the service audits it).
func (a *App) saveQualifiedThreshold(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	raw := strings.TrimSpace(c.FormValue("qualified_threshold_s"))
	form := newForm()
	form.Values["qualified_threshold_s"] = raw
	seconds, err := strconv.Atoi(raw)
	if err != nil {
		seconds = -1 // the service explains the range
	}
	_, err = a.calls.SetQualifiedThreshold(tenant, user.ClientID, seconds, a.actor(c)) // scope: the session's client
	if form.refused(err) {
		form.Error = "Nothing was saved. Please correct the field marked below."
		data, err := a.qualifiedTab(c, form)
		if err != nil {
			return err
		}
		return a.renderSettingsTab(c, fiber.StatusUnprocessableEntity, "qualified-calls", data)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "Calls of at least "+plural(seconds, "second")+" now count as qualified, in past periods too.")
	return c.Redirect(qualifiedTabURL, fiber.StatusSeeOther)
}

// blockedTabData is the Data of views/settings/blocked-callers.html.
type blockedTabData struct {
	Callers []calls.BlockedView
	Form    *Form
	CanEdit bool
	Country string // the client's country, for national numbers
}

func (a *App) loadBlockedTab(c *fiber.Ctx) (any, error) {
	return a.blockedTab(c, newForm())
}

func (a *App) blockedTab(c *fiber.Ctx, form *Form) (blockedTabData, error) {
	tenant, user := tenantOf(c), userOf(c)
	data := blockedTabData{Form: form, CanEdit: a.accessOf(c).Allows(access.Settings, access.Edit)}
	list, err := a.calls.BlockedCallers(tenant.ID, user.ClientID, a.now()) // scope: the session's client
	if err != nil {
		return data, err
	}
	data.Callers = list
	err = a.store.View(func(tx *store.Tx) error {
		cl, err := tx.Client(tenant.ID, user.ClientID)
		if err == nil {
			data.Country = clients.CountryName(cl.Country)
		}
		return err
	})
	return data, err
}

// addBlockedCaller blocks a number typed by hand, in any usual form.
func (a *App) addBlockedCaller(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	number, note := strings.TrimSpace(c.FormValue("number")), strings.TrimSpace(c.FormValue("note"))
	form := newForm()
	form.Values["number"], form.Values["note"] = number, note
	b, err := a.calls.Block(tenant, user.ClientID, number, note, a.actor(c)) // scope: the session's client
	switch {
	case form.refused(err):
	case errors.Is(err, calls.ErrAlreadyBlocked): // beside the field, in the form's words
		form.Errors["number"] = "This number is already blocked."
	case err != nil:
		return err
	}
	if form.invalid() {
		form.Error = "Nothing was saved. Please correct the fields marked below."
		data, err := a.blockedTab(c, form)
		if err != nil {
			return err
		}
		return a.renderSettingsTab(c, fiber.StatusUnprocessableEntity, "blocked-callers", data)
	}
	a.setFlash(c, "success", b.Number+" is blocked: calls from it are refused from now on.")
	return c.Redirect(blockedTabURL, fiber.StatusSeeOther)
}

// unblockCaller takes a number off the list.
func (a *App) unblockCaller(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	number := c.FormValue("number")
	err := a.calls.Unblock(tenant, user.ClientID, number, a.actor(c)) // scope: the session's client
	switch {
	case fault.Is(err, fault.NotFound):
		a.setFlash(c, "info", truncate(number, 40)+" was not blocked.")
	case err != nil:
		return err
	default:
		a.setFlash(c, "success", number+" is unblocked: its calls ring through again.")
	}
	return c.Redirect(blockedTabURL, fiber.StatusSeeOther)
}
