package app

import (
	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/auth"
	"portico/app/clients"
)

// resellerAPIKeysURL is the reseller's own API keys page.
const resellerAPIKeysURL = "/reseller/api-keys"

// resellerAPIKeysRoutes mounts the reseller's API keys page (owner/admin):
// keys that act for the reseller and name clients in their paths, under
// the same rules as a client's keys (shown once, at most 10 active,
// revocable, a one-time create form).
func (a *App) resellerAPIKeysRoutes(reseller fiber.Router) {
	area := a.requireStaffArea(access.AreaAPIKeys)
	reseller.Get("/api-keys", area, a.listResellerAPIKeys)
	reseller.Post("/api-keys", area, a.createResellerAPIKey)
	reseller.Post("/api-keys/:id<int>/revoke", area, a.revokeResellerAPIKey)
}

// resellerAPIKeysData lists the signed-in reseller's own keys.
func (a *App) resellerAPIKeysData(c *fiber.Ctx, form *Form, created *clients.NewKey) (apiKeysTabData, error) {
	keys, err := a.clients.ResellerKeys(tenantOf(c).ID) // scope: the tenant from the host
	if err != nil {
		return apiKeysTabData{}, err
	}
	return a.apiKeysData(c, resellerAPIKeysURL, keys, form, created), nil
}

func (a *App) listResellerAPIKeys(c *fiber.Ctx) error {
	data, err := a.resellerAPIKeysData(c, newForm(), nil)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "apikeys/reseller", "API keys", data)
}

// createResellerAPIKey creates a reseller key and shows it in this reply
// only, like createClientAPIKey.
func (a *App) createResellerAPIKey(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	form := newForm()
	form.Values["name"] = c.FormValue("name")
	formToken := c.FormValue("form_token")
	if !validToken(formToken) {
		return fiber.NewError(fiber.StatusBadRequest, "The form is missing its one-time key. Reload the page and try again.")
	}
	key, err := a.clients.CreateResellerKeyOnce(tenant.ID, form.Values["name"], auth.HashToken(formToken), a.actor(c))
	status, form, err := a.keyFormOutcome(tenant.ID, 0, form, err)
	if err != nil {
		return err
	}
	data, err := a.resellerAPIKeysData(c, form, key)
	if err != nil {
		return err
	}
	return a.render(c, status, "apikeys/reseller", "API keys", data)
}

// revokeResellerAPIKey revokes one of the reseller's own keys; a client's
// key or another reseller's is not found.
func (a *App) revokeResellerAPIKey(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	key, revoked, err := a.clients.RevokeResellerKey(tenantOf(c).ID, id, a.actor(c))
	if err != nil {
		return err // store.ErrNotFound is 404
	}
	if revoked {
		a.setFlash(c, "success", "The key “"+key.Name+"” ("+key.Prefix+") is revoked. Requests with it are refused from now on.")
	} else {
		a.setFlash(c, "info", "The key “"+key.Name+"” ("+key.Prefix+") was already revoked.")
	}
	return c.Redirect(resellerAPIKeysURL, fiber.StatusSeeOther)
}
