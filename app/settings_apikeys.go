package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/auth"
	"portico/app/clients"
	"portico/app/dates"
	"portico/store"
)

// apiKeysTabURL is the API keys tab of /settings.
const apiKeysTabURL = "/settings?tab=api-keys"

// apiKeyRow is one key as the API keys tab lists it.
type apiKeyRow struct {
	ID                    uint64
	Name, Prefix          string
	CreatedBy             string
	CreatedAt, LastUsedAt time.Time
	RevokedAt             time.Time
}

// Revoked reports whether the key no longer works.
func (r apiKeyRow) Revoked() bool { return !r.RevokedAt.IsZero() }

// apiKeysTabData is the Data of views/settings/api-keys.html.
type apiKeysTabData struct {
	Keys        []apiKeyRow
	Active, Max int
	Form        *Form
	// Created is the key just created, shown in full this once: it is
	// rendered into the POST's own reply, never put in a cookie or a URL.
	Created *clients.NewKey
	// BaseURL is where the forms post: the client's settings or the
	// reseller console. CSRF is the page's token, for the forms of the
	// shared partial (views/partials/api_keys.html).
	BaseURL, CSRF string
	// FormToken makes the create form one-time: a resubmitted form (a
	// reload of the page that shows a new key) creates nothing. Random
	// for every page; only a submitted one is stored, as its SHA-256.
	FormToken string
}

// AtLimit reports whether the client holds the most active keys allowed.
func (d apiKeysTabData) AtLimit() bool { return d.Active >= d.Max }

// loadAPIKeysTab lists the client's API keys (settings.go's registry).
func (a *App) loadAPIKeysTab(c *fiber.Ctx) (any, error) {
	return a.apiKeysTab(c, newForm(), nil)
}

// apiKeysTab builds the tab for the signed-in user's client.
func (a *App) apiKeysTab(c *fiber.Ctx, form *Form, created *clients.NewKey) (apiKeysTabData, error) {
	keys, err := a.clients.Keys(tenantOf(c).ID, userOf(c).ClientID) // scope: the client comes from the session, never the request
	if err != nil {
		return apiKeysTabData{}, err
	}
	return a.apiKeysData(c, "/settings/api-keys", keys, form, created), nil
}

// apiKeysData lists keys for the shared API keys partial, with a fresh
// one-time form token.
func (a *App) apiKeysData(c *fiber.Ctx, baseURL string, keys []*store.APIKey, form *Form, created *clients.NewKey) apiKeysTabData {
	token, _ := auth.NewToken()
	data := apiKeysTabData{Max: store.MaxActiveAPIKeys, Form: form, Created: created, FormToken: token,
		BaseURL: baseURL, CSRF: a.csrfToken(c)}
	for _, k := range keys {
		row := apiKeyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt,
			LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
		// a use noted in memory but not yet written (see keyUses)
		if at, ok := a.api.used.lastUsed(store.APIKeyRef{ResellerID: k.ResellerID, KeyID: k.ID}); ok && at.After(row.LastUsedAt) {
			row.LastUsedAt = at
		}
		if !row.Revoked() {
			data.Active++
		}
		data.Keys = append(data.Keys, row)
	}
	return data
}

// renderAPIKeysTab renders the API keys tab with its tab bar, for the
// replies to the tab's forms. The bar is built as showSettings builds it.
func (a *App) renderAPIKeysTab(c *fiber.Ctx, status int, data apiKeysTabData) error {
	return a.renderSettingsTab(c, status, "api-keys", data)
}

// createClientAPIKey creates a key for the signed-in user's client and
// shows it in full in this reply, once, with a copy button. It does not
// redirect: the key must not travel in a flash cookie or a URL.
func (a *App) createClientAPIKey(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	name := c.FormValue("name")
	form := newForm()
	form.Values["name"] = name
	formToken := c.FormValue("form_token")
	if !validToken(formToken) {
		return fiber.NewError(fiber.StatusBadRequest, "The form is missing its one-time key. Reload the page and try again.")
	}
	key, err := a.clients.CreateKeyOnce(tenant.ID, user.ClientID, name, auth.HashToken(formToken), a.actor(c)) // scope: the session's client
	status, form, err := a.keyFormOutcome(tenant.ID, user.ClientID, form, err)
	if err != nil {
		return err
	}
	data, err := a.apiKeysTab(c, form, key)
	if err != nil {
		return err
	}
	return a.renderAPIKeysTab(c, status, data)
}

// keyFormOutcome turns the result of creating a key from a form into the
// reply's status and form: 200 and an empty form for the next key, 409
// for a resubmitted form or the key limit, 422 for a bad name. Other
// errors are returned.
func (a *App) keyFormOutcome(rid, cid uint64, form *Form, err error) (int, *Form, error) {
	var used *clients.FormUsed
	switch {
	case errors.As(err, &used):
		form = newForm()
		form.Error = a.formUsedMessage(rid, cid, used.KeyID)
		return fiber.StatusConflict, form, nil
	case form.refused(err):
		return fiber.StatusUnprocessableEntity, form, nil
	case errors.Is(err, clients.ErrKeyLimit): // the API says it of a client; this form says it to the key's owner
		form.Error = fmt.Sprintf("You already have %d active API keys, the most allowed. Revoke a key you no longer use, then create the new one.", store.MaxActiveAPIKeys)
		return fiber.StatusConflict, form, nil
	case err != nil:
		return 0, nil, err
	}
	return fiber.StatusOK, newForm(), nil // the next key starts from an empty form
}

// formUsedMessage says what a resubmitted create form made before.
func (a *App) formUsedMessage(rid, cid, keyID uint64) string {
	msg := "This form was sent already, so no new key was created."
	var keys []*store.APIKey
	var err error
	if cid == 0 {
		keys, err = a.clients.ResellerKeys(rid)
	} else {
		keys, err = a.clients.Keys(rid, cid) // scope: the session's client
	}
	if err == nil {
		for _, k := range keys {
			if k.ID == keyID {
				msg = "This form was sent already: it created the key “" + k.Name + "” (" + k.Prefix + "_…) at " +
					dates.DayTime(k.CreatedAt) + ", so no new key was created."
			}
		}
	}
	return msg + " A key is shown only once; if you did not copy it, revoke it and create another with the form below."
}

// revokeClientAPIKey revokes one of the client's keys: the next request
// with it is refused. Another client's or reseller's key is not found.
func (a *App) revokeClientAPIKey(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	key, revoked, err := a.clients.RevokeKey(tenant.ID, user.ClientID, id, a.actor(c)) // scope: the session's client
	if err != nil {
		return err // store.ErrNotFound is 404
	}
	if revoked {
		a.setFlash(c, "success", "The key “"+key.Name+"” ("+key.Prefix+") is revoked. Requests with it are refused from now on.")
	} else {
		a.setFlash(c, "info", "The key “"+key.Name+"” ("+key.Prefix+") was already revoked.")
	}
	return c.Redirect(apiKeysTabURL, fiber.StatusSeeOther)
}
