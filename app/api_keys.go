package app

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"portico/app/clients"
	"portico/store"
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
		return apiKeyError(err)
	}
	var cl *store.Client
	err := a.store.View(func(tx *store.Tx) (err error) {
		cl, err = clientByRef(tx, tenant.ID, c.Params("client")) // tenant scope: only this reseller's clients get keys
		return err
	})
	if err != nil {
		return apiKeyError(err)
	}
	key, err := a.clients.CreateKey(tenant.ID, cl.ID, body.Name, apiActor(c))
	if err != nil {
		return apiKeyError(err)
	}
	return c.Status(fiber.StatusCreated).JSON(apiNewKey{ID: key.ID, Name: key.Name, Key: key.Secret})
}

// apiKeyError is the API's answer to a failed key creation.
func apiKeyError(err error) error {
	var errs clients.Errors
	switch {
	case errors.As(err, &errs):
		return invalidFields(errs)
	case errors.Is(err, store.ErrNotFound):
		return apiError(fiber.StatusNotFound, "There is no such client.")
	case errors.Is(err, clients.ErrKeyLimit):
		return apiError(fiber.StatusConflict, fmt.Sprintf("This client already has the most active API keys allowed (%d). Revoke one before creating another.", store.MaxActiveAPIKeys))
	}
	return err
}
