package app

import (
	"portico/app/fault"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// apiRechargeRequest is the body of POST /clients/{client}/credits. The
// amount is a decimal string: a JSON number is refused (400) because a
// float cannot carry 0.10 exactly.
type apiRechargeRequest struct {
	Amount string `json:"amount"`
	Note   string `json:"note"`
}

// apiRecharge is the reply: the ledger entry and the client's meter.
type apiRecharge struct {
	EntryID uint64    `json:"entry_id"`
	Credit  apiCredit `json:"credit"`
}

// rechargeAPIClient answers POST /clients/{client}/credits: it grants
// credit from the reseller's pool to the client. With an Idempotency-Key,
// a retry of the same request answers 201 with the same entry and moves
// nothing (Idempotent-Replayed: true); the same key with another client,
// amount or note is 409.
func (a *App) rechargeAPIClient(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	var body apiRechargeRequest
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	cl, _, err := a.loadAPIClient(c) // tenant scope: 404 for another reseller's client
	if err != nil {
		return err
	}
	res, err := a.clients.Recharge(tenant, cl.ID, body.Amount, body.Note, key, apiActor(c))
	if err != nil {
		return err // the key used for another request is 409, a client deleted meanwhile 404
	}
	if res.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(apiRecharge{EntryID: res.Entry.ID, Credit: creditView(tenant, res.Credit)})
}

// idempotencyKey reads the optional Idempotency-Key header: 1–255
// visible ASCII characters. It is stored under an "api:" prefix so that
// it can never match a console form's key, and is copied because Fiber
// reuses the header's memory while the store keeps the key.
func idempotencyKey(c *fiber.Ctx) (string, error) {
	raw := c.Get("Idempotency-Key")
	if raw == "" {
		return "", nil
	}
	if len(raw) > idempotencyKeyMax || strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return "", fault.New(fault.BadRequest, "Idempotency-Key must be 1 to 255 visible ASCII characters.")
	}
	return "api:" + strings.Clone(raw), nil
}
