package app

import (
	"bytes"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/actor"
	"portico/app/config"
	"portico/app/fault"
	"portico/app/strictjson"
	"portico/store"
)

// apiRoutes lists every route of the JSON API (the public contract, described
// for programs in openapi.json and for people in docs/api.md). routes.go
// mounts it after tenant resolution and before the session and CSRF
// middleware, which the API must never reach.
func (a *App) apiRoutes(api fiber.Router) {
	api.Get("/openapi.json", a.showOpenAPI) // public: describes the API, reveals no tenant data

	api.Use(a.authenticateAPIKey, a.readBigBody) // everything below needs a key of this host's reseller; PUT /rates reads its deck after it

	// Client endpoints: a client key acts for its own client.
	api.Get("/account", a.requireClientKey, a.showAPIAccount)

	// Reseller endpoints: a reseller key names the client in the path.
	api.Get("/clients", a.requireResellerKey, a.listAPIClients)
	api.Post("/clients", a.requireResellerKey, a.createAPIClient)
	api.Get("/clients/:client", a.requireResellerKey, a.showAPIClient)
	api.Patch("/clients/:client", a.requireResellerKey, a.updateAPIClient)
	api.Post("/clients/:client/credits", a.requireResellerKey, a.rechargeAPIClient)
	api.Post("/clients/:client/api-keys", a.requireResellerKey, a.createAPIClientKey)
	api.Get("/clients/:client/account", a.requireResellerKey, a.showAPIAccount)
	api.Put("/rates", a.requireResellerKey, a.importAPIRates)
	api.Get("/rates", a.requireResellerKey, a.listAPIRates)
	api.Get("/numbers", a.requireResellerKey, a.listAPINumbers) // api_numbers.go: the number inventory
	api.Post("/numbers", a.requireResellerKey, a.createAPINumber)
	api.Patch("/numbers/:number", a.requireResellerKey, a.updateAPINumber)
	api.Delete("/numbers/:number", a.requireResellerKey, a.deleteAPINumber)

	// The billing catalogue (app/api_catalog.go).
	api.Get("/plans", a.requireResellerKey, a.listAPIPlans)
	api.Post("/plans", a.requireResellerKey, a.createAPIPlan)
	api.Get("/plans/:id", a.requireResellerKey, a.showAPIPlan)
	api.Patch("/plans/:id", a.requireResellerKey, a.updateAPIPlan)
	api.Get("/packages", a.requireResellerKey, a.listAPIPackages)
	api.Post("/packages", a.requireResellerKey, a.createAPIPackage)
	api.Get("/add-ons", a.requireResellerKey, a.listAPIAddOns)
	api.Post("/add-ons", a.requireResellerKey, a.createAPIAddOn)

	// Call endpoints (app/api_calls.go), for a client key and, naming the
	// client, for a reseller key.
	for _, mount := range []struct {
		prefix string
		scope  fiber.Handler
	}{{"", a.requireClientKey}, {"/clients/:client", a.requireResellerKey}} {
		p, scope := mount.prefix, mount.scope
		api.Post(p+"/calls/authorize", scope, a.authorizeAPICall)
		api.Post(p+"/cdrs", scope, a.ingestAPICDRs)
		api.Get(p+"/cdrs", scope, a.listAPICDRs)
		api.Get(p+"/usage", scope, a.showAPIUsage)
		api.Get(p+"/blocked-callers", scope, a.listAPIBlockedCallers)
		api.Post(p+"/blocked-callers", scope, a.blockAPICaller)
		api.Delete(p+"/blocked-callers/:number", scope, a.unblockAPICaller)
	}
	a.billingAPIRoutes(api) // subscription, invoices, billing details, transactions (app/api_billing.go)

	// Nothing else under /api/v1 may fall through to the browser
	// middleware (sessions from cookies, CSRF).
	api.Use(func(*fiber.Ctx) error { return fault.New(fault.NotFound, "There is no such API endpoint.") })
}

//go:embed openapi.json
var openAPIDocument []byte

// showOpenAPI serves the OpenAPI description. It needs no key so that
// tools can read it before anyone has one.
func (a *App) showOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(openAPIDocument)
}

// idempotencyKeyMax is the longest Idempotency-Key (bytes).
const idempotencyKeyMax = 255

// apiState is what the API keeps in memory between requests.
type apiState struct {
	perKey      *limiter    // requests per key per minute, call endpoints aside
	perKeyCalls *keyLimiter // call endpoint requests per key per minute
	used        *keyUses    // when each key was last used, waiting to be written
}

func newAPIState(cfg config.API, now func() time.Time) *apiState {
	return &apiState{perKey: newLimiter(cfg.RequestsPerMinute, time.Minute, now),
		perKeyCalls: newKeyLimiter(cfg.CallsPerMinute, time.Minute, now), used: newKeyUses()}
}

// keyUses gathers API keys' last-used times in memory, like
// sessionTouches, so that requests never write for bookkeeping; a time is
// recorded at most once a minute per key.
type keyUses struct {
	mu   sync.Mutex
	seen map[store.APIKeyRef]time.Time // key → last use
}

func newKeyUses() *keyUses { return &keyUses{seen: map[store.APIKeyRef]time.Time{}} }

// drain hands the gathered times to the writer and starts afresh.
func (u *keyUses) drain() map[store.APIKeyRef]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.seen
	u.seen = map[store.APIKeyRef]time.Time{}
	return out
}

// record notes a use of key at now unless one was noted, or stored, less
// than a minute before.
func (u *keyUses) record(key *store.APIKey, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	ref := store.APIKeyRef{ResellerID: key.ResellerID, KeyID: key.ID}
	last := key.LastUsedAt
	if mem, ok := u.seen[ref]; ok && mem.After(last) {
		last = mem
	}
	if now.Sub(last) >= touchEvery {
		u.seen[ref] = now
	}
}

// lastUsed is the newest use of a key noted in memory.
func (u *keyUses) lastUsed(ref store.APIKeyRef) (time.Time, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	at, ok := u.seen[ref]
	return at, ok
}

// apiCaller is who makes an API request: a reseller key (client nil) or a
// client key with its client as it was when the request began.
type apiCaller struct {
	key    *store.APIKey
	client *store.Client
}

// apiCallerKey is the Locals key of the caller; its own type so that it can
// never collide with the page keys in middleware.go.
type apiCallerKey struct{}

func callerOf(c *fiber.Ctx) *apiCaller {
	caller, _ := c.Locals(apiCallerKey{}).(*apiCaller)
	return caller
}

// apiActor is who the audit log names for an API change: the key's
// visible prefix (never the secret) and the caller's address.
func apiActor(c *fiber.Ctx) actor.Actor { return actor.Key(callerOf(c).key.Prefix, c.IP()) }

// authenticateAPIKey admits requests with a valid key of this host's
// reseller (clients.Service.Authenticate). Every refusal is the same 401,
// so a caller cannot tell a revoked key from another reseller's or a
// made-up one; the error handler adds WWW-Authenticate.
func (a *App) authenticateAPIKey(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	c.Set(fiber.HeaderCacheControl, "no-store") // replies carry account data and, once, new keys
	token, ok := bearerToken(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return fault.New(fault.Unauthorized, "Send an API key as Authorization: Bearer <key>.")
	}
	var caller apiCaller
	var err error
	if caller.key, caller.client, err = a.clients.Authenticate(tenant.ID, token); err != nil {
		return err
	}
	if cl := caller.client; cl != nil && cl.Status == store.ClientDisabled && cl.RestrictAPI { // the reseller cut this client's API access
		return fault.New(fault.Forbidden, "The API access of this account has been suspended by your provider.")
	}
	// A PBX asks for every call: the call endpoints have their own, much
	// higher limit, counted apart so that they cannot starve the others.
	ok, wait, limit := false, time.Duration(0), 0
	if isCallEndpoint(c) {
		limit = a.cfg.API.CallsPerMinute
		ok, wait = a.api.perKeyCalls.allow(caller.key.ID)
	} else {
		limit = a.cfg.API.RequestsPerMinute
		ok, wait = a.api.perKey.allow(strconv.FormatUint(caller.key.ID, 10))
	}
	if !ok {
		return fault.Limited(wait, fmt.Sprintf("This key may make %d such requests a minute; retry after the time in Retry-After.", limit))
	}
	a.api.used.record(caller.key, a.now())
	c.Locals(apiCallerKey{}, &caller)
	return c.Next()
}

// bearerToken takes the key out of an Authorization header and checks its
// shape (pk_<8 char id>_<secret>) before any lookup.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	id, secret, ok := strings.Cut(strings.TrimPrefix(token, "pk_"), "_")
	if !strings.HasPrefix(token, "pk_") || !ok || len(id) != 8 || len(secret) < 32 || len(secret) > 128 {
		return "", false
	}
	return token, true
}

// requireResellerKey admits reseller keys only: a client key must never
// reach another client's records, nor list them.
func (a *App) requireResellerKey(c *fiber.Ctx) error {
	if callerOf(c).client != nil { // scope: client keys act for their own client only
		return fault.New(fault.Forbidden, "This endpoint needs a reseller key.")
	}
	return c.Next()
}

// requireClientKey admits client keys only; a reseller key names the
// client under /clients/{client} instead.
func (a *App) requireClientKey(c *fiber.Ctx) error {
	if callerOf(c).client == nil {
		return fault.New(fault.Forbidden, "This endpoint needs a client key; with a reseller key use /clients/{client}"+strings.TrimPrefix(c.Path(), "/api/v1")+".")
	}
	return c.Next()
}

// decodeJSON reads the body into dst strictly (app/strictjson): a JSON
// object, nothing after it, no field that dst does not know, and every
// field name spelled exactly and given once, so that a typo or a second
// "Amount" is an error rather than a silently ignored or overriding
// setting. The decoder copies every string, so dst never aliases Fiber's
// request buffer.
func decodeJSON(c *fiber.Ctx, dst any) error {
	if err := requireJSON(c); err != nil {
		return err
	}
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 || body[0] != '{' {
		return fault.New(fault.BadRequest, "The body must be a JSON object.")
	}
	if err := strictjson.Unmarshal(body, dst); err != nil {
		return badJSON(err)
	}
	return nil
}

// badJSON turns a decoding error into a 400 that says what to fix without
// echoing the body.
func badJSON(err error) error {
	p := strictjson.Explain(err)
	switch p.Kind {
	case strictjson.WrongType:
		return &fault.Error{Kind: fault.BadRequest, Message: "A field has the wrong JSON type; see errors.",
			Fields: fault.Fields{{Field: p.Name, Message: "Must be a JSON " + p.Want + "."}}} // bodies are flat: the member's own name
	case strictjson.Unknown:
		return &fault.Error{Kind: fault.BadRequest, Message: "The body has a field this endpoint does not accept; see errors.",
			Fields: fault.Fields{{Field: p.Name, Message: "Unknown field (field names are case-sensitive)."}}}
	case strictjson.Duplicate:
		return &fault.Error{Kind: fault.BadRequest, Message: "The body gives a field more than once; see errors.",
			Fields: fault.Fields{{Field: p.Name, Message: "Give each field once."}}}
	}
	return fault.Newf(fault.BadRequest, "The body is not valid JSON (near byte %d).", p.Offset)
}

// apiTime writes a time as RFC 3339 in UTC; the zero time is "".
func apiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
