package app

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/fault"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Errors    []problemField `json:"errors,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
}

type problemField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// errorText is what a person is told for each status; internal details
// never reach them.
var errorText = map[int][2]string{
	400: {"Bad request", "The request could not be understood."},
	401: {"Sign in needed", "Please sign in to continue."},
	403: {"Not allowed", "You do not have access to this page."},
	404: {"Page not found", "There is nothing at this address."},
	405: {"Not allowed", "This address does not accept that kind of request."},
	413: {"Too large", "What you sent is larger than this site accepts: 1 MiB, 5 MiB for image uploads, 16 MiB for a rate deck."},
	409: {"Conflict", "This cannot be done in the current state of things."},
	422: {"Invalid input", "Some of what you sent is not valid."},
	429: {"Too many attempts", "There have been too many attempts from you or for this account."},
	415: {"Not accepted", "Send the request without Content-Encoding; compressed request bodies are not accepted."},
	500: {"Something went wrong", "We could not complete your request. The error has been logged."},
	503: {"Busy", "The server is busy just now; please try again in a moment."},
}

// kindStatus is the one table from an error's kind to the status it is
// answered with. An error of no kind is a 500, logged and never described.
var kindStatus = [...]int{
	fault.Internal:         fiber.StatusInternalServerError,
	fault.BadRequest:       fiber.StatusBadRequest,
	fault.Unauthorized:     fiber.StatusUnauthorized,
	fault.Forbidden:        fiber.StatusForbidden,
	fault.NotFound:         fiber.StatusNotFound,
	fault.Conflict:         fiber.StatusConflict,
	fault.TooLarge:         fiber.StatusRequestEntityTooLarge,
	fault.Invalid:          fiber.StatusUnprocessableEntity,
	fault.RateLimited:      fiber.StatusTooManyRequests,
	fault.Unavailable:      fiber.StatusServiceUnavailable,
	fault.UnsupportedMedia: fiber.StatusUnsupportedMediaType,
}

// handleError is the one error handler: it maps an error's kind to a
// status (kindStatus), logs server errors with the request id, and answers
// with a branded page or problem+json by Accept. Handlers return errors
// of app/fault (or store sentinels) and nothing else decides a status.
func (a *App) handleError(c *fiber.Ctx, err error) error {
	status := fiber.StatusInternalServerError
	detail := ""
	var fields []problemField
	var retry time.Duration
	var fe *fiber.Error
	if errors.As(err, &fe) { // Fiber's own refusals (no route, method, body limit) and a few handlers' fiber.NewError
		status = fe.Code
		if fe.Message != utilsStatus(fe.Code) {
			detail = fe.Message // a message written for people, not the bare status text
		}
	} else {
		f := fault.From(err)
		status, detail, retry = kindStatus[f.Kind], f.Message, f.Retry
		for _, fl := range f.Fields {
			fields = append(fields, problemField{Field: fl.Field, Message: fl.Message})
		}
		if detail == "" && (f.Kind == fault.Invalid || len(f.Fields) > 0) {
			detail = fieldsDetail(f.Fields, wantsJSON(c))
		}
	}
	if retry > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(retry.Seconds()))))
	}
	if status == fiber.StatusUnauthorized && isAPI(c) {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="api"`) // RFC 9110: a 401 says how to authenticate
	}
	text, ok := errorText[status]
	if !ok {
		text = [2]string{utilsStatus(status), ""}
	}
	if detail == "" {
		detail = text[1]
	}
	requestID := requestIDOf(c)
	if status >= 500 {
		a.log.Error("request failed", "request_id", requestID, "method", c.Method(), "path", c.Path(), "err", err)
	} else {
		requestID = "" // only server errors need a reference
	}
	if tenantOf(c) == nil && status != fiber.StatusNotFound {
		// Errors raised before the tenant middleware (413, 405) still get
		// the brand of a known host; an unknown host stays neutral.
		if r := a.tenants.Reseller(hostOf(c)); r != nil {
			c.Locals(keyTenant, r)
		}
	}
	if wantsJSON(c) {
		title := text[0]
		if isAPI(c) {
			title = utilsStatus(status) // RFC 9457: with type about:blank the title is the status phrase
		}
		c.Set(fiber.HeaderContentType, "application/problem+json")
		return c.Status(status).JSON(problem{Type: "about:blank", Title: title, Status: status,
			Detail: detail, Errors: fields, RequestID: requestID}, "application/problem+json")
	}
	data := map[string]string{"Heading": text[0], "Message": detail, "RequestID": requestID}
	if status == fiber.StatusTooManyRequests && retry > 0 {
		data["RetryAfter"] = humanDuration(retry)
	}
	if rerr := a.render(c, status, "errors/error", text[0], data); rerr != nil {
		a.log.Error("render error page", "request_id", requestIDOf(c), "err", rerr)
		return c.Status(status).SendString(text[0])
	}
	return nil
}

// fieldsDetail is the detail of a refusal that lists fields but has no
// message: problem+json points at its errors; a page, which has no list,
// names each field and its problem ("Note: Use at most 200 characters.")
// and says that nothing changed (services save nothing they refuse).
func fieldsDetail(fields fault.Fields, json bool) string {
	switch {
	case json:
		return "Some fields are invalid; see errors."
	case len(fields) == 0:
		return "" // the status's usual words
	}
	var b strings.Builder
	for _, f := range fields {
		name := strings.ReplaceAll(f.Field, "_", " ")
		if name != "" {
			name = strings.ToUpper(name[:1]) + name[1:]
		}
		b.WriteString(name + ": " + f.Message + " ")
	}
	return b.String() + "Nothing was changed."
}

// utilsStatus is the standard text of a status, e.g. "Not Found".
func utilsStatus(code int) string { return fiber.NewError(code).Message }

// isAPI: the JSON API's paths.
func isAPI(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/api/") }

// wantsJSON: API paths always, browsers by Accept.
func wantsJSON(c *fiber.Ctx) bool {
	if isAPI(c) {
		return true
	}
	switch c.Accepts("text/html", "application/json", "application/problem+json") {
	case "application/json", "application/problem+json":
		return true
	}
	return false
}

func humanDuration(d time.Duration) string {
	switch {
	case d <= time.Minute:
		return plural(int(math.Max(1, math.Ceil(d.Seconds()))), "second")
	default:
		return fmt.Sprintf("%d minutes", int(math.Ceil(d.Minutes())))
	}
}
