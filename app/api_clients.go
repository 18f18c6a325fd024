package app

import (
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portico/app/clients"
	"portico/app/fault"
	"portico/app/tenancy"
	"portico/store"
	"portico/store/money"
)

// List sizes of GET /clients.
const (
	apiDefaultLimit = 50
	apiMaxLimit     = 500
)

// apiCredit is a client's meter as decimal strings in the reseller's
// currency: money never travels as a float.
type apiCredit struct {
	Available string `json:"available"`
	Used      string `json:"used"`
	Assigned  string `json:"assigned"`
	Reserved  string `json:"reserved"`
	Currency  string `json:"currency"`
}

func creditView(r *store.Reseller, credit store.Credit) apiCredit {
	return apiCredit{Available: money.Decimal(credit.Available, r.Currency), Used: money.Decimal(credit.Used, r.Currency),
		Assigned: money.Decimal(credit.Assigned, r.Currency), Reserved: money.Decimal(credit.Reserved, r.Currency), Currency: r.Currency}
}

// apiClient is a client as the API shows it, everywhere the same.
type apiClient struct {
	ID          uint64 `json:"id"`
	Username    string `json:"username"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
	Country     string `json:"country"`
	State       string `json:"state"`
	City        string `json:"city"`
	Zip         string `json:"zip"`
	Address1    string `json:"address1"`
	Address2    string `json:"address2"`
	Company     string `json:"company"`
	Role        string `json:"role"`
	Status      string `json:"status"`
	RestrictAPI bool   `json:"restrict_api"`
	// AllowPremium lets the client call premium destinations.
	AllowPremium bool   `json:"allow_premium"`
	DisabledAt   string `json:"disabled_at,omitempty"`
	// DeletionAt is when the clean-up job will delete a disabled client.
	DeletionAt string    `json:"deletion_at,omitempty"`
	CreatedAt  string    `json:"created_at"`
	UpdatedAt  string    `json:"updated_at"`
	Credit     apiCredit `json:"credit"`
}

func clientView(r *store.Reseller, cl *store.Client, credit store.Credit) apiClient {
	return apiClient{ID: cl.ID, Username: cl.Username, FirstName: cl.FirstName, LastName: cl.LastName, Email: cl.Email,
		Phone: cl.Phone, Country: cl.Country, State: cl.State, City: cl.City, Zip: cl.Zip, Address1: cl.Address1,
		Address2: cl.Address2, Company: cl.Company, Role: cl.Role, Status: cl.Status, RestrictAPI: cl.RestrictAPI,
		AllowPremium: cl.AllowPremium, DisabledAt: apiTime(cl.DisabledAt), DeletionAt: apiTime(clients.DeletionDate(cl)),
		CreatedAt: apiTime(cl.CreatedAt), UpdatedAt: apiTime(cl.UpdatedAt), Credit: creditView(r, credit)}
}

// apiAccount is what a client's program needs to know about its account.
type apiAccount struct {
	ID       uint64    `json:"id"`
	Username string    `json:"username"`
	Company  string    `json:"company"`
	Status   string    `json:"status"`
	Currency string    `json:"currency"`
	Credit   apiCredit `json:"credit"`
}

// apiList is the envelope of every list; NextCursor is absent on the last
// page.
type apiList[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// loadAPIClient reads the client the request is about, with its credit:
// the {client} of the path (an id, or else a username) for a reseller
// key, the key's own client for a client key. Another reseller's client
// is not found (404).
func (a *App) loadAPIClient(c *fiber.Ctx) (*store.Client, store.Credit, error) {
	tenant, caller := tenantOf(c), callerOf(c)
	if caller.client != nil {
		return a.clients.Client(tenant.ID, caller.client.ID) // scope: a client key only ever reads its own client
	}
	return a.clients.ClientByRef(tenant.ID, c.Params("client")) // tenant scope: this reseller's clients only
}

// listAPIClients answers GET /clients: the reseller's clients in id order,
// filtered by status and a search over name, company, username and email,
// a page at a time. It reads the store's in-memory summaries, so a page
// costs a walk in memory rather than decoding every client.
func (a *App) listAPIClients(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	query, err := clientQueryOf(c)
	if err != nil {
		return err
	}
	summaries, err := a.store.ClientSummaries(tenant.ID) // tenant scope: this reseller's clients only
	if err != nil {
		return err
	}
	start := sort.Search(len(summaries), func(i int) bool { return summaries[i].Client.ID > query.after }) // id order
	list := apiList[apiClient]{Data: []apiClient{}}
	for _, sum := range summaries[start:] {
		if !query.matches(sum.Client) {
			continue
		}
		if len(list.Data) == query.limit {
			list.NextCursor = clientCursor(list.Data[len(list.Data)-1].ID)
			break
		}
		list.Data = append(list.Data, clientView(tenant, sum.Client, sum.Credit))
	}
	return c.JSON(list)
}

// clientQuery is a parsed GET /clients query.
type clientQuery struct {
	status, q string
	limit     int
	after     uint64 // the last id of the previous page
}

func (q clientQuery) matches(cl *store.Client) bool {
	return (q.status == "" || cl.Status == q.status) && (q.q == "" || clientMatches(cl, q.q))
}

// clientQueryOf reads status, q, limit and cursor (used within the
// request only, so Fiber's strings need no copy).
func clientQueryOf(c *fiber.Ctx) (clientQuery, error) {
	q := clientQuery{status: c.Query("status"), q: strings.ToLower(strings.TrimSpace(c.Query("q")))}
	var errs fault.Fields
	switch q.status {
	case "", store.ClientActive, store.ClientDisabled, store.ClientPaused, store.ClientClosed:
	default:
		errs.Add("status", "Use active, disabled, paused or closed.")
	}
	q.limit = queryLimit(c, &errs)
	if err := errs.Err(); err != nil {
		return q, err
	}
	if s := c.Query("cursor"); s != "" {
		id, ok := decodeCursor(s, "clients")
		var err error
		if q.after, err = strconv.ParseUint(id, 10, 64); err != nil || !ok {
			return q, badCursor()
		}
	}
	return q, nil
}

// clientCursor is an opaque cursor for the page after id.
func clientCursor(id uint64) string {
	return encodeCursor("clients", strconv.FormatUint(id, 10))
}

// apiNewClient is the body of POST /clients. Plans do not exist yet, so
// plan is accepted only empty: silently ignoring one would bill the client
// differently from what the caller asked.
type apiNewClient struct {
	clients.Input
	Plan string `json:"plan"`
}

// createAPIClient answers POST /clients: the client and its owner user,
// who can sign in at once with the password given.
func (a *App) createAPIClient(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var body apiNewClient
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	body.Confirm = body.Password // the API has no confirmation field
	if strings.TrimSpace(body.Plan) != "" {
		errs := body.Validate(tenancy.Policy(tenant), true)
		errs.Add("plan", "Plans are not available yet; leave plan out.")
		return errs
	}
	cl, err := a.clients.Create(tenant, body.Input, apiActor(c)) // tenant scope: created under the host's reseller
	if err != nil {
		return err
	}
	c.Location("/api/v1/clients/" + strconv.FormatUint(cl.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(clientView(tenant, cl, store.Credit{}))
}

// showAPIClient answers GET /clients/{client}.
func (a *App) showAPIClient(c *fiber.Ctx) error {
	cl, credit, err := a.loadAPIClient(c)
	if err != nil {
		return err
	}
	return c.JSON(clientView(tenantOf(c), cl, credit))
}

// showAPIAccount answers GET /account (client key) and
// GET /clients/{client}/account (reseller key).
func (a *App) showAPIAccount(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	cl, credit, err := a.loadAPIClient(c)
	if err != nil {
		return err
	}
	return c.JSON(apiAccount{ID: cl.ID, Username: cl.Username, Company: cl.Company, Status: cl.Status,
		Currency: tenant.Currency, Credit: creditView(tenant, credit)})
}

// apiClientPatch is the body of PATCH /clients/{client}: only the fields
// present change. The password is not editable here (the owner resets it).
type apiClientPatch struct {
	Username     *string `json:"username"`
	FirstName    *string `json:"first_name"`
	LastName     *string `json:"last_name"`
	Email        *string `json:"email"`
	Phone        *string `json:"phone"`
	Country      *string `json:"country"`
	State        *string `json:"state"`
	City         *string `json:"city"`
	Zip          *string `json:"zip"`
	Address1     *string `json:"address1"`
	Address2     *string `json:"address2"`
	Company      *string `json:"company"`
	Role         *string `json:"role"`
	Status       *string `json:"status"`
	RestrictAPI  *bool   `json:"restrict_api"`
	AllowPremium *bool   `json:"allow_premium"`
}

// updateAPIClient answers PATCH /clients/{client}. Every field is checked
// before anything is saved; details and status are then saved by the
// service, each with its audit event, and only when they change.
func (a *App) updateAPIClient(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var patch apiClientPatch
	if err := decodeJSON(c, &patch); err != nil {
		return err
	}
	cl, _, err := a.loadAPIClient(c) // tenant scope: 404 for another reseller's client
	if err != nil {
		return err
	}
	in := patch.applyTo(clients.InputOf(cl))
	status, restrict, errs := patch.statusFor(cl)
	if in != clients.InputOf(cl) { // a status-only patch does not re-judge stored details
		errs = append(in.Validate(tenancy.Policy(tenant), false), errs...)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	by := apiActor(c)
	if in != clients.InputOf(cl) { // compared again once normalised: "(415) 555-2671" is the stored +14155552671
		_, err = a.clients.Update(tenant, cl.ID, func(cur *clients.Input) { *cur = patch.applyTo(*cur) }, by)
	}
	if err == nil && (status != cl.Status || restrict != cl.RestrictAPI) {
		_, err = a.clients.SetStatus(tenant, cl.ID, status, restrict, "", by)
	}
	if err == nil && patch.AllowPremium != nil && *patch.AllowPremium != cl.AllowPremium {
		_, err = a.calls.SetAllowPremium(tenant, cl.ID, *patch.AllowPremium, by)
	}
	if err != nil {
		return err
	}
	return a.showAPIClient(c)
}

// applyTo sets the fields present in the patch.
func (p *apiClientPatch) applyTo(in clients.Input) clients.Input {
	for _, f := range []struct {
		from *string
		to   *string
	}{{p.Username, &in.Username}, {p.FirstName, &in.FirstName}, {p.LastName, &in.LastName}, {p.Email, &in.Email},
		{p.Phone, &in.Phone}, {p.Country, &in.Country}, {p.State, &in.State}, {p.City, &in.City}, {p.Zip, &in.Zip},
		{p.Address1, &in.Address1}, {p.Address2, &in.Address2}, {p.Company, &in.Company}, {p.Role, &in.Role}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	return in
}

// statusFor is the status and API restriction the patch asks for. Only
// active and disabled are the reseller's to set (paused and closed follow
// billing), and restrict_api means something only for a disabled client.
func (p *apiClientPatch) statusFor(cl *store.Client) (string, bool, fault.Fields) {
	status, restrict := cl.Status, cl.RestrictAPI
	var errs fault.Fields
	if p.Status != nil {
		status = *p.Status
		if status != store.ClientActive && status != store.ClientDisabled {
			errs.Add("status", "Use active or disabled.")
		}
		if status == store.ClientActive {
			restrict = false // enabling a client lifts its API restriction
		}
	}
	if p.RestrictAPI != nil {
		restrict = *p.RestrictAPI
		if restrict && status != store.ClientDisabled {
			errs.Add("restrict_api", "Only a disabled client's API access can be restricted; send status disabled with it.")
		}
	}
	return status, restrict, errs
}
