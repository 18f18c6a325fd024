package app

import (
	"github.com/gofiber/fiber/v2"

	"portico/app/clients"
)

// apiNewKey is the reply to POST /clients/{client}/api-keys: the only
// time the key itself is shown.
type apiNewKey struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
	Key  string `json:"key"`
}

// createAPIClientKey answers POST /clients/{client}/api-keys: a new key
// for the client's PBX or scripts. A business holds at most ten active
// keys (409 beyond), so a leaked-key clean-up stays manageable. The rules
// are the client's API keys tab's (clients.Service.CreateKey).
func (a *App) createAPIClientKey(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var body struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if _, err := clients.KeyName(body.Name); err != nil { // a bad name is 422 whatever the client
		return err
	}
	cl, _, err := a.clients.ClientByRef(tenant.ID, c.Params("client")) // tenant scope: only this reseller's clients get keys
	if err != nil {
		return err
	}
	key, err := a.clients.CreateKey(tenant.ID, cl.ID, body.Name, apiActor(c))
	if err != nil {
		return err // at most store.MaxActiveAPIKeys active keys: 409 (clients.ErrKeyLimit)
	}
	return c.Status(fiber.StatusCreated).JSON(apiNewKey{ID: key.ID, Name: key.Name, Key: key.Secret})
}
