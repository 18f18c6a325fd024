package app

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"portico/app/auth"
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
// keys (409 beyond), so a leaked-key clean-up stays manageable.
func (a *App) createAPIClientKey(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var body struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	name := strings.TrimSpace(body.Name)
	if name == "" || utf8.RuneCountInString(name) > apiKeyNameMax {
		return invalidFields(clients.Errors{{Field: "name", Message: "Enter a name of 1 to 100 characters that says what uses the key."}})
	}
	secret, prefix, hash := auth.NewAPIKey() // only the hash is stored
	by := apiActor(c)
	key := &store.APIKey{ResellerID: tenant.ID, Name: name, Prefix: prefix, Hash: hash, CreatedBy: by.Name}
	err := a.store.Update(func(tx *store.Tx) error {
		cl, err := clientByRef(tx, tenant.ID, c.Params("client")) // tenant scope: only this reseller's clients get keys
		if err != nil {
			return err
		}
		key.ClientID = cl.ID
		if err := tx.CreateAPIKey(key); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: cl.ID, Actor: by.Name, Action: "api_key.create",
			Target: cl.Username + " " + prefix + " " + name, IP: by.IP})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apiError(fiber.StatusNotFound, "There is no such client.")
	case errors.Is(err, store.ErrConflict):
		return apiError(fiber.StatusConflict, "This client already has the most active API keys allowed (10).")
	case err != nil:
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(apiNewKey{ID: key.ID, Name: key.Name, Key: secret})
}
