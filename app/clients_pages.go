package app

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/actor"
	"portico/app/auth"
	"portico/app/billing"
	"portico/app/clients"
	"portico/app/dates"
	"portico/app/fault"
	"portico/app/tenancy"
	"portico/store"
	"portico/store/money"
)

// clientsPageSize is how many clients one page of the list shows.
const clientsPageSize = 50

// Meter is a client's credit meter as the pages show it.
type Meter struct {
	Available, Used, Assigned string // numbers without the currency
	Currency                  string
	Percent                   int    // available as a share of assigned, 0–100
	Level                     string // ok, low, critical or none
	// State says the level in words, so colour is never the only cue:
	// "64 % left", "Low: 8 % left", "Out of credit", "No credit yet".
	State string
	// Held is the credit reserved by calls in progress ("" when none):
	// available + used + held = assigned, so the figures add up.
	Held string
}

// meterOf builds the meter: primary when sufficient, orange under the
// reseller's low threshold (default 25 %), red under 10 % and at nothing.
func meterOf(r *store.Reseller, credit store.Credit) Meter {
	m := Meter{Available: money.FormatNumber(credit.Available, r.Currency), Used: money.FormatNumber(credit.Used, r.Currency),
		Assigned: money.FormatNumber(credit.Assigned, r.Currency), Currency: r.Currency, Level: "none", State: "No credit yet"}
	if credit.Reserved > 0 {
		m.Held = money.FormatNumber(credit.Reserved, r.Currency)
	}
	if credit.Assigned <= 0 {
		return m
	}
	m.Percent = money.Percent(credit.Available, credit.Assigned) // never multiplies in 64 bits: large balances cannot wrap it
	low := r.LowCreditPercent
	if low == 0 {
		low = 25
	}
	left := strconv.Itoa(m.Percent) + "\u00a0% left"
	if m.Percent == 0 {
		left = "under 1\u00a0% left"
	}
	switch {
	case credit.Available <= 0:
		m.Level, m.State = "critical", "Out of credit"
	case m.Percent < 10: // Percent floors, so this is available < 10 % of assigned
		m.Level, m.State = "critical", "Low: "+left
	case m.Percent < low:
		m.Level, m.State = "low", "Low: "+left
	default:
		m.Level, m.State = "ok", left
	}
	return m
}

// clientRow is one line of the clients table.
type clientRow struct {
	Client     *store.Client
	Meter      Meter
	DeletionAt time.Time
	credit     store.Credit
	sortKey    string
}

type clientsListData struct {
	Rows                []clientRow
	Query, Status, Sort string
	Page, Pages, Total  int
	CanEdit, CanCredit  bool
	PrevURL, NextURL    string
}

// listClients shows the clients table with search, status filter, sort
// and pagination. It works on the store's in-memory client summaries and
// formats only the rows of the page shown, so 10,000 clients stay fast.
func (a *App) listClients(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	q := strings.ToLower(strings.TrimSpace(c.Query("q")))
	status := c.Query("status")
	sortBy := c.Query("sort", "name")
	page, _ := strconv.Atoi(c.Query("page", "1"))
	summaries, err := a.store.ClientSummaries(tenant.ID) // tenant scope: the reseller comes from the host
	if err != nil {
		return err
	}
	rows := make([]clientRow, 0, len(summaries))
	for _, sum := range summaries {
		cl := sum.Client
		if status != "" && cl.Status != status || q != "" && !clientMatches(cl, q) {
			continue
		}
		rows = append(rows, clientRow{Client: cl, credit: sum.Credit, sortKey: clientSortKey(cl, sortBy)})
	}
	sortClientRows(rows, sortBy)
	data := clientsListData{Query: c.Query("q"), Status: status, Sort: sortBy, Total: len(rows),
		CanEdit: access.StaffMay(user, access.AreaClientsEdit), CanCredit: access.StaffMay(user, access.AreaCredit)}
	data.Pages = max(1, (len(rows)+clientsPageSize-1)/clientsPageSize)
	data.Page = min(max(page, 1), data.Pages)
	data.Rows = rows[min(len(rows), (data.Page-1)*clientsPageSize):min(len(rows), data.Page*clientsPageSize)]
	for i := range data.Rows {
		data.Rows[i].Meter = meterOf(tenant, data.Rows[i].credit)
		data.Rows[i].DeletionAt = clients.DeletionDate(data.Rows[i].Client)
	}
	link := func(p int) string {
		v := url.Values{"q": {data.Query}, "status": {status}, "sort": {sortBy}, "page": {strconv.Itoa(p)}}
		return "/reseller/clients?" + v.Encode()
	}
	if data.Page > 1 {
		data.PrevURL = link(data.Page - 1)
	}
	if data.Page < data.Pages {
		data.NextURL = link(data.Page + 1)
	}
	return a.render(c, fiber.StatusOK, "clients/list", "Clients", data)
}

func clientMatches(cl *store.Client, q string) bool {
	for _, s := range []string{cl.FirstName + " " + cl.LastName, cl.Company, cl.Username, cl.Email} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// clientSortKey is computed once per row, not once per comparison.
func clientSortKey(cl *store.Client, by string) string {
	switch by {
	case "company":
		return strings.ToLower(cl.Company)
	case "username":
		return strings.ToLower(cl.Username)
	}
	return strings.ToLower(cl.LastName + " " + cl.FirstName)
}

func sortClientRows(rows []clientRow, by string) {
	switch by {
	case "newest":
		slices.SortStableFunc(rows, func(x, y clientRow) int { return y.Client.CreatedAt.Compare(x.Client.CreatedAt) })
	case "credit":
		slices.SortStableFunc(rows, func(x, y clientRow) int { return cmp.Compare(x.credit.Available, y.credit.Available) })
	default:
		slices.SortStableFunc(rows, func(x, y clientRow) int { return strings.Compare(x.sortKey, y.sortKey) })
	}
}

type clientFormData struct {
	Form       *Form
	Countries  []clients.Country
	PolicyHint string
	Client     *store.Client
}

func (a *App) clientForm(tenant *store.Reseller, form *Form, cl *store.Client) clientFormData {
	return clientFormData{Form: form, Countries: clients.Countries(), PolicyHint: a.policyHint(tenant), Client: cl}
}

// showNewClient renders the empty create form.
func (a *App) showNewClient(c *fiber.Ctx) error {
	form := newForm()
	return a.render(c, fiber.StatusOK, "clients/new", "New client", a.clientForm(tenantOf(c), form, nil))
}

// clientInput reads the client fields of a form.
func clientInput(c *fiber.Ctx) (clients.Input, *Form) {
	in := clients.Input{Username: c.FormValue("username"), FirstName: c.FormValue("first_name"), LastName: c.FormValue("last_name"),
		Email: c.FormValue("email"), Phone: c.FormValue("phone"), Country: c.FormValue("country"), State: c.FormValue("state"),
		City: c.FormValue("city"), Zip: c.FormValue("zip"), Address1: c.FormValue("address1"), Address2: c.FormValue("address2"),
		Company: c.FormValue("company"), Role: c.FormValue("role"), Password: c.FormValue("password"), Confirm: c.FormValue("confirm")}
	return in, formOf(in)
}

// formOf fills a form with a client's fields (never the password).
func formOf(in clients.Input) *Form {
	form := newForm()
	for k, v := range map[string]string{"username": in.Username, "first_name": in.FirstName, "last_name": in.LastName, "email": in.Email,
		"phone": in.Phone, "country": in.Country, "state": in.State, "city": in.City, "zip": in.Zip, "address1": in.Address1,
		"address2": in.Address2, "company": in.Company, "role": in.Role} {
		form.Values[k] = v
	}
	return form
}

// createClient saves a new client and its owner, or shows the form again
// with a message at each wrong field.
func (a *App) createClient(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	in, form := clientInput(c)
	cl, err := a.clients.Create(tenant, in, a.actor(c))
	if form.refused(err) {
		form.Error = "Please correct the fields marked below."
		return a.render(c, fiber.StatusUnprocessableEntity, "clients/new", "New client", a.clientForm(tenant, form, nil))
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "Client "+cl.Username+" created. Its owner can sign in now with "+cl.Email+".")
	return c.Redirect(clientURL(cl), fiber.StatusSeeOther)
}

func clientURL(cl *store.Client) string { return "/reseller/clients/" + strconv.FormatUint(cl.ID, 10) }

// clientParam loads the client named in the URL; another reseller's
// client is not found.
func (a *App) clientParam(c *fiber.Ctx) (*store.Client, error) {
	id, err := idParam(c)
	if err != nil {
		return nil, err
	}
	var cl *store.Client
	err = a.store.View(func(tx *store.Tx) (err error) {
		cl, err = tx.Client(tenantOf(c).ID, id) // tenant scope: the reseller id comes from the host
		return err
	})
	return cl, err
}

type movementView struct {
	At                   time.Time
	Kind, Who, Note      string
	Amount, BalanceAfter string
	amount, balanceAfter int64
}

type clientPageData struct {
	Client             *store.Client
	Meter              Meter
	Movements          []movementView
	MoreMovements      bool // older movements are in the CSV only
	Users              []*store.User
	CountryName        string
	DeletionAt         time.Time
	CanEdit, CanCredit bool
	// Usage is this month and the months before, newest first
	// (rates_pages.go); CanPremium may change the call settings.
	Usage      []usageRow
	CanPremium bool
	// DeletionIfDisabled is when the client would be deleted if disabled
	// now, for the confirmation that says so.
	DeletionIfDisabled time.Time
	// Billing is the subscription and latest invoices, for billing staff
	// (nil for others; billing_client_pages.go).
	Billing *clientBillingData
}

// showClient is one client's page: details, meter, credit movements,
// status history and users.
func (a *App) showClient(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	cl, err := a.clientParam(c)
	if err != nil {
		return err
	}
	data := clientPageData{Client: cl, CountryName: clients.CountryName(cl.Country), DeletionAt: clients.DeletionDate(cl),
		CanEdit: access.StaffMay(user, access.AreaClientsEdit), CanCredit: access.StaffMay(user, access.AreaCredit), CanPremium: access.StaffMay(user, access.AreaRatesEdit),
		DeletionIfDisabled: a.now().Add(clients.Retention)}
	if data.Usage, err = a.clientUsage(tenant, cl.ID); err != nil {
		return err
	}
	if access.StaffMay(user, access.AreaBilling) {
		if data.Billing, err = a.clientBilling(tenant, cl, nil, nil); err != nil {
			return err
		}
	}
	// the latest movements only: a client makes them as fast as it
	// authorises calls; the CSV has them all
	latest, more, err := a.billing.CreditMovements(tenant.ID, cl.ID, 0, clientMovementsShown)
	if err != nil {
		return err
	}
	data.Movements, data.MoreMovements = movementViews(tenant, latest), more
	err = a.store.View(func(tx *store.Tx) error {
		data.Meter = meterOf(tenant, tx.Credit(cl))
		var err error
		data.Users, err = tx.ClientUsers(tenant.ID, cl.ID)
		return err
	})
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "clients/show", cl.Username, data)
}

// clientMovementsShown is how many credit movements a client's page lists.
const clientMovementsShown = 100

// movementViews shows wallet movements as movements does.
func movementViews(r *store.Reseller, list []billing.Movement) []movementView {
	out := make([]movementView, len(list))
	amounts := make([]int64, len(list))
	for i, m := range list {
		out[i] = movementView{At: m.At, Kind: m.Kind, Who: m.Actor, Note: m.Note, amount: m.Amount, balanceAfter: m.BalanceAfter,
			BalanceAfter: money.FormatNumber(m.BalanceAfter, r.Currency)}
		amounts[i] = m.Amount
	}
	exact := money.Display{Exact: true, Places: money.ExactPlaces(r.Currency, amounts...)}
	for i := range out {
		out[i].Amount = exact.Text(out[i].amount, r.Currency)
	}
	return out
}

// exportMovements sends the client's credit movements as CSV, read a
// page at a time (ledger_csv.go).
func (a *App) exportMovements(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	cl, err := a.clientParam(c)
	if err != nil {
		return err
	}
	return a.sendLedgerCSV(c, tenant, cl.ID, store.WalletOf(tenant.ID, cl.ID), creditMovementsCSV, cl.Username+"-credit-movements.csv")
}

// showEditClient renders the edit form filled with the client's details.
func (a *App) showEditClient(c *fiber.Ctx) error {
	cl, err := a.clientParam(c)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "clients/edit", "Edit "+cl.Username, a.clientForm(tenantOf(c), formOf(clients.InputOf(cl)), cl))
}

// updateClient saves the edited details.
func (a *App) updateClient(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	cl, err := a.clientParam(c)
	if err != nil {
		return err
	}
	in, form := clientInput(c)
	updated, err := a.clients.Update(tenant, cl.ID, func(cur *clients.Input) { *cur = in }, a.actor(c))
	if form.refused(err) {
		form.Error = "Please correct the fields marked below."
		return a.render(c, fiber.StatusUnprocessableEntity, "clients/edit", "Edit "+cl.Username, a.clientForm(tenant, form, cl))
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "Changes to "+updated.Username+" saved.")
	return c.Redirect(clientURL(updated), fiber.StatusSeeOther)
}

type rechargeData struct {
	Client   *store.Client
	Meter    Meter
	Form     *Form
	Key      string
	Max      string
	Currency string
}

// showRecharge renders the recharge dialog with a fresh idempotency key,
// so a double click or a resubmitted form recharges once.
func (a *App) showRecharge(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	cl, err := a.clientParam(c)
	if err != nil {
		return err
	}
	key, _ := auth.NewToken()
	return a.render(c, fiber.StatusOK, "clients/recharge", "Recharge "+cl.Username, a.rechargeData(tenant, cl, newForm(), key))
}

func (a *App) rechargeData(tenant *store.Reseller, cl *store.Client, form *Form, key string) rechargeData {
	limit := tenant.MaxRecharge
	if limit == 0 {
		limit = clients.DefaultMaxRecharge
	}
	var credit store.Credit
	_ = a.store.View(func(tx *store.Tx) error { credit = tx.Credit(cl); return nil })
	return rechargeData{Client: cl, Meter: meterOf(tenant, credit), Form: form, Key: key, Max: money.Format(limit, tenant.Currency), Currency: tenant.Currency}
}

// rechargeClient posts the recharge as one ledger transaction.
func (a *App) rechargeClient(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	cl, err := a.clientParam(c)
	if err != nil {
		return err
	}
	key := c.FormValue("idempotency_key")
	if len(key) < 16 || len(key) > 100 {
		return fiber.NewError(fiber.StatusBadRequest, "The form is missing its one-time key. Reload the page and try again.")
	}
	res, err := a.clients.Recharge(tenant, cl.ID, c.FormValue("amount"), c.FormValue("note"), "form:"+key, a.actor(c))
	if err != nil {
		form := newForm()
		if !form.refused(err) {
			if !fault.Is(err, fault.Conflict) {
				return err
			}
			form.Error = "This form was already used for another amount. Check the movements below before recharging again." // its one-time key
		}
		form.Values["amount"], form.Values["note"] = c.FormValue("amount"), c.FormValue("note")
		newKey, _ := auth.NewToken()
		return a.render(c, fiber.StatusUnprocessableEntity, "clients/recharge", "Recharge "+cl.Username, a.rechargeData(tenant, cl, form, newKey))
	}
	amount := money.Format(-res.Entry.Legs[0].Amount, tenant.Currency)
	msg := "Recharged " + amount + ". Available now: " + money.Format(res.Credit.Available, tenant.Currency) + "."
	if res.Replayed {
		msg = "This recharge of " + amount + " was already made; nothing was charged twice."
	}
	a.setFlash(c, "success", msg)
	return c.Redirect(clientURL(cl), fiber.StatusSeeOther)
}

// setClientStatus disables or enables a client.
func (a *App) setClientStatus(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	cl, err := a.clientParam(c)
	if err != nil {
		return err
	}
	status := c.FormValue("status")
	updated, err := a.clients.SetStatus(tenant, cl.ID, status, c.FormValue("restrict_api") == "on", c.FormValue("note"), a.actor(c))
	if err != nil {
		return err // a bad note or status: 422, "Note: … Nothing was changed."
	}
	if updated.Status == store.ClientDisabled {
		a.setFlash(c, "success", updated.Username+" is disabled: its users are signed out and cannot sign in. It will be deleted on "+
			dates.Day(clients.DeletionDate(updated))+" unless enabled again.")
	} else {
		a.setFlash(c, "success", updated.Username+" is enabled again.")
	}
	return c.Redirect(clientURL(updated), fiber.StatusSeeOther)
}

// actor is the signed-in user making a change from this request, for the
// audit log and the services' rules about who acts.
func (a *App) actor(c *fiber.Ctx) actor.Actor { return actor.Of(userOf(c), c.IP()) }

func (a *App) policyHint(r *store.Reseller) string { return tenancy.Policy(r).Describe() }
