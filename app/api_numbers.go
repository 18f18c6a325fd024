package app

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portico/app/billing"
	"portico/app/fault"
	"portico/app/strictjson"
	"portico/store"
	"portico/store/money"
)

// The reseller's phone-number inventory in the JSON API (reseller key):
// list, add, assign or release and change, delete. The rules are the
// billing service's (app/billing/numbers.go).

// apiNumber is a number as the API shows it: fees as decimal strings in
// the reseller's currency, the holder's client id or null, and the
// status as it reads now (a number whose quarantine is over is
// available).
type apiNumber struct {
	Number     string  `json:"number"`
	Type       string  `json:"type"`
	Country    string  `json:"country"`
	MonthlyFee string  `json:"monthly_fee"`
	SetupFee   string  `json:"setup_fee"`
	Status     string  `json:"status"`
	Client     *uint64 `json:"client"`
	Label      string  `json:"label"`
	AssignedAt *string `json:"assigned_at"`
	Currency   string  `json:"currency"`
}

func (a *App) numberView(r *store.Reseller, n *store.PhoneNumber) apiNumber {
	v := apiNumber{Number: n.Number, Type: n.Type, Country: n.Country, MonthlyFee: money.Decimal(n.MonthlyFee, r.Currency),
		SetupFee: money.Decimal(n.SetupFee, r.Currency), Status: n.StatusAt(a.now()), Label: n.Label, Currency: r.Currency}
	if n.ClientID != 0 {
		id, at := n.ClientID, apiTime(n.AssignedAt)
		v.Client, v.AssignedAt = &id, &at
	}
	return v
}

// listAPINumbers answers GET /numbers: the inventory in E.164 order,
// filtered by status and holder, a page at a time.
func (a *App) listAPINumbers(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var errs fault.Fields
	q := billing.NumberQuery{Status: c.Query("status")}
	switch q.Status {
	case "", store.NumberAvailable, store.NumberAssigned, store.NumberQuarantined:
	default:
		errs.Add("status", "Use available, assigned or quarantined.")
	}
	q.Limit = queryLimit(c, &errs)
	if ref := c.Query("client"); ref != "" {
		cl, _, err := a.clients.ClientByRef(tenant.ID, ref) // tenant scope: this reseller's clients only
		switch {
		case fault.Is(err, fault.NotFound):
			errs.Add("client", "There is no such client.") // another reseller's client reads as none
		case err != nil:
			return err
		default:
			q.ClientID = cl.ID
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if s := c.Query("cursor"); s != "" {
		after, ok := decodeCursor(s, "numbers")
		if key, valid := billing.NumberKey(after, ""); !ok || !valid || key != after {
			return badCursor()
		}
		q.After = after
	}
	page, more, err := a.billing.Numbers(tenant.ID, q) // tenant scope: this reseller's inventory only
	if err != nil {
		return err
	}
	list := apiList[apiNumber]{Data: make([]apiNumber, 0, len(page))}
	for _, n := range page {
		list.Data = append(list.Data, a.numberView(tenant, n))
	}
	if more {
		list.NextCursor = encodeCursor("numbers", page[len(page)-1].Number)
	}
	return c.JSON(list)
}

// apiNewNumber is the body of POST /numbers.
type apiNewNumber struct {
	Number     string `json:"number"`
	Type       string `json:"type"`
	MonthlyFee string `json:"monthly_fee"`
	SetupFee   string `json:"setup_fee"`
	Label      string `json:"label"`
}

// createAPINumber answers POST /numbers: 201 with the number, available.
func (a *App) createAPINumber(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var body apiNewNumber
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	n, err := a.billing.AddNumber(tenant, billing.NumberInput(body), apiActor(c)) // tenant scope: added to the host's reseller
	if err != nil {
		return err
	}
	c.Location("/api/v1/numbers/" + url.PathEscape(n.Number))
	return c.Status(fiber.StatusCreated).JSON(a.numberView(tenant, n))
}

// apiNumberPatch is the body of PATCH /numbers/{number}: only the fields
// present change. client is a client id, a username, or null to release.
type apiNumberPatch struct {
	Client     strictjson.Raw `json:"client"`
	Type       *string        `json:"type"`
	MonthlyFee *string        `json:"monthly_fee"`
	SetupFee   *string        `json:"setup_fee"`
	Label      *string        `json:"label"`
}

// updateAPINumber answers PATCH /numbers/{number}: the changes are made
// in one transaction, or none (409 when the number is held by another
// client or rests in quarantine).
func (a *App) updateAPINumber(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var body apiNumberPatch
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	patch := billing.NumberPatch{Type: body.Type, MonthlyFee: body.MonthlyFee, SetupFee: body.SetupFee, Label: body.Label}
	if body.Client != nil {
		ref, err := clientRefOf(body.Client)
		if err != nil {
			return err
		}
		patch.Client = &ref
	}
	n, err := a.billing.UpdateNumber(tenant, numberParam(c), patch, apiActor(c)) // tenant scope: another reseller's number is 404
	if err != nil {
		return err
	}
	return c.JSON(a.numberView(tenant, n))
}

// clientRefOf reads the client member of a patch: a client id (a JSON
// number), an id or a username (a string), or null ("", a release).
func clientRefOf(raw strictjson.Raw) (string, error) {
	v := bytes.TrimSpace(raw)
	switch {
	case string(v) == "null":
		return "", nil
	case len(v) > 0 && v[0] == '"':
		var s string
		if err := strictjson.Unmarshal(v, &s); err != nil {
			return "", badJSON(err)
		}
		if strings.TrimSpace(s) == "" {
			return "", fault.InvalidField("client", "Name the client by id or username, or send null to release the number.")
		}
		return s, nil
	}
	if _, err := strconv.ParseUint(string(v), 10, 64); err != nil {
		return "", &fault.Error{Kind: fault.BadRequest, Message: "A field has the wrong JSON type; see errors.",
			Fields: fault.Fields{{Field: "client", Message: "Must be a client id, a username or null."}}}
	}
	return string(v), nil
}

// deleteAPINumber answers DELETE /numbers/{number}: 204, only while the
// number is available (409 otherwise).
func (a *App) deleteAPINumber(c *fiber.Ctx) error {
	if err := a.billing.DeleteNumber(tenantOf(c), numberParam(c), apiActor(c)); err != nil { // tenant scope
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// numberParam is the route's {number}: E.164 with its + written as is or
// as %2B (or another form billing.NumberKey reads). A segment that does
// not unescape names no number; the service then answers 404.
func numberParam(c *fiber.Ctx) string {
	number, err := url.PathUnescape(c.Params("number"))
	if err != nil {
		return ""
	}
	return strings.Clone(number) // Fiber's string is only valid in the handler
}
