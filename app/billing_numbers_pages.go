package app

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"portico/app/billing"
	"portico/app/fault"
	"portico/store"
	"portico/store/money"
)

// Reseller console pages of the phone-number inventory (Billing →
// Numbers, owner/admin/billing staff): the list with its status filter,
// the add and CSV import forms, and a number's page with its holder,
// fees and holding history.

// numbersURL is the inventory's page.
const numbersURL = "/reseller/billing/numbers"

// numbersPageSize is how many numbers one page of the list shows.
const numbersPageSize = 100

// maxClientChoices is how many clients the assign form suggests; more
// are typed by username.
const maxClientChoices = 500

// numberRoutes are the inventory's pages, behind the billing area's guard.
func (a *App) numberRoutes(r fiber.Router) {
	r.Get("", a.listNumbers)
	r.Post("", a.addNumber)
	r.Post("/import", a.importNumbers) // before /:number
	r.Get("/:number", a.showNumber)
	r.Post("/:number", a.saveNumber)
	r.Post("/:number/assign", a.assignNumber)
	r.Post("/:number/release", a.releaseNumber)
	r.Post("/:number/delete", a.removeNumber)
}

// numberURL is a number's page.
func numberURL(e164 string) string { return numbersURL + "/" + url.PathEscape(e164) }

// numberStatusClass is the badge of a status (styles shared with clients).
func numberStatusClass(status string) string {
	switch status {
	case store.NumberAssigned:
		return "status-active"
	case store.NumberQuarantined:
		return "status-paused"
	}
	return ""
}

// numberRow is one number as the list shows it.
type numberRow struct {
	*store.PhoneNumber
	URL, Status, StatusClass string
	Monthly, Setup           string
	Holder                   string // the holder's username
	HolderURL                string
	Until                    time.Time // the end of its quarantine
}

// numbersData is the Data of views/billing/numbers.html.
type numbersData struct {
	Tabs     []NavItem
	Rows     []numberRow
	Status   string // the filter
	Counts   map[string]int
	Total    int
	Currency string
	Paged    bool
	NextURL  string
	FirstURL string
	Form     *Form // add a number
	Types    []string
	// The problems of a refused import, by line.
	Errors   []billing.NumberError
	Refused  string
	FileName string
	MaxFile  string
	MaxRows  int
}

// holders maps the reseller's clients by id (from the in-memory
// summaries, so a page of numbers reads no client records).
func (a *App) holders(rid uint64) (map[uint64]*store.Client, error) {
	summaries, err := a.store.ClientSummaries(rid) // tenant scope: this reseller's clients only
	if err != nil {
		return nil, err
	}
	m := make(map[uint64]*store.Client, len(summaries))
	for _, s := range summaries {
		m[s.Client.ID] = s.Client
	}
	return m, nil
}

// numbersData reads the page of numbers the query asks for.
func (a *App) numbersData(c *fiber.Ctx, form *Form) (*numbersData, error) {
	tenant := tenantOf(c)
	data := &numbersData{Tabs: a.billingTabsFor(numbersURL), Currency: tenant.Currency, Form: form, Types: billing.NumberTypes,
		MaxFile: fmt.Sprintf("%d MiB", billing.MaxNumberFile>>20), MaxRows: billing.MaxNumberRows}
	switch s := c.Query("status"); s {
	case store.NumberAvailable, store.NumberAssigned, store.NumberQuarantined:
		data.Status = s
	}
	after := c.Query("after")
	if key, ok := billing.NumberKey(after, ""); !ok || key != after {
		after = ""
	}
	data.Paged = after != ""
	counts, err := a.billing.NumberCounts(tenant.ID) // tenant scope: the reseller comes from the host
	if err != nil {
		return nil, err
	}
	data.Counts = counts
	for _, n := range counts {
		data.Total += n
	}
	page, more, err := a.billing.Numbers(tenant.ID, billing.NumberQuery{Status: data.Status, After: after, Limit: numbersPageSize})
	if err != nil {
		return nil, err
	}
	clients, err := a.holders(tenant.ID)
	if err != nil {
		return nil, err
	}
	now := a.now()
	for _, n := range page {
		row := numberRow{PhoneNumber: n, URL: numberURL(n.Number), Status: n.StatusAt(now),
			Monthly: money.Display{}.Text(n.MonthlyFee, tenant.Currency), Setup: money.Display{}.Text(n.SetupFee, tenant.Currency)}
		row.StatusClass = numberStatusClass(row.Status)
		if row.Status == store.NumberQuarantined {
			row.Until = n.ReleasedAt.AddDate(0, 0, store.QuarantineDays)
		}
		if cl := clients[n.ClientID]; cl != nil {
			row.Holder, row.HolderURL = cl.Username, clientURL(cl)
		}
		data.Rows = append(data.Rows, row)
	}
	q := url.Values{}
	if data.Status != "" {
		q.Set("status", data.Status)
	}
	data.FirstURL = strings.TrimSuffix(numbersURL+"?"+q.Encode(), "?")
	if more && len(page) > 0 {
		q.Set("after", page[len(page)-1].Number)
		data.NextURL = numbersURL + "?" + q.Encode()
	}
	return data, nil
}

// listNumbers is the inventory page.
func (a *App) listNumbers(c *fiber.Ctx) error {
	data, err := a.numbersData(c, newForm())
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "billing/numbers", "Phone numbers", data)
}

// addNumber adds one number from the form.
func (a *App) addNumber(c *fiber.Ctx) error {
	in := billing.NumberInput{Number: c.FormValue("number"), Type: c.FormValue("type"), MonthlyFee: c.FormValue("monthly_fee"),
		SetupFee: c.FormValue("setup_fee"), Label: c.FormValue("label")}
	n, err := a.billing.AddNumber(tenantOf(c), in, a.actor(c))
	form, status := newForm(), fiber.StatusUnprocessableEntity
	switch {
	case errors.Is(err, billing.ErrNumberExists):
		form.Errors["number"], status = messageOf(err), fiber.StatusConflict
	case form.refused(err):
	case err != nil:
		return err
	default:
		a.setFlash(c, "success", n.Number+" is in your inventory, available.")
		return c.Redirect(numberURL(n.Number), fiber.StatusSeeOther)
	}
	form.Values["number"], form.Values["type"], form.Values["monthly_fee"] = in.Number, in.Type, in.MonthlyFee
	form.Values["setup_fee"], form.Values["label"] = in.SetupFee, in.Label
	form.Error = "Please correct the fields marked below."
	data, err := a.numbersData(c, form)
	if err != nil {
		return err
	}
	return a.render(c, status, "billing/numbers", "Phone numbers", data)
}

// importNumbers adds the numbers of the uploaded CSV: every line is
// checked and nothing is imported unless all are right; the problems are
// then listed by line.
func (a *App) importNumbers(c *fiber.Ctx) error {
	file, name, problem, err := uploadedCSV(c, billing.MaxNumberFile)
	if err != nil {
		return err
	}
	var lineErrs billing.NumberErrors
	var n int
	if problem == "" {
		n, err = a.billing.ImportNumbers(tenantOf(c), file, a.actor(c))
		if errors.As(err, &lineErrs) {
			problem = fmt.Sprintf("The file has %d problem(s), listed below by line.", len(lineErrs))
			if len(lineErrs) >= billing.MaxNumberErrors {
				problem = fmt.Sprintf("The file has at least %d problems; the first ones are listed below by line.", billing.MaxNumberErrors)
			}
		} else if err != nil {
			return err
		}
	}
	if problem != "" {
		data, err := a.numbersData(c, newForm())
		if err != nil {
			return err
		}
		data.Refused, data.Errors, data.FileName = "Nothing was imported: your inventory is unchanged. "+problem, lineErrs, name
		return a.render(c, fiber.StatusUnprocessableEntity, "billing/numbers", "Phone numbers", data)
	}
	a.setFlash(c, "success", fmt.Sprintf("Imported %s from %s, all available.", plural(n, "number"), name))
	return c.Redirect(numbersURL, fiber.StatusSeeOther)
}

// uploadedCSV reads the "file" part of an upload form, at most limit
// bytes; problem says what is wrong with it for the person, err is an
// unexpected failure.
func uploadedCSV(c *fiber.Ctx, limit int) (data []byte, name, problem string, err error) {
	fh, err := c.FormFile("file")
	if errors.Is(err, fasthttp.ErrMissingFile) || errors.Is(err, fasthttp.ErrNoMultipartForm) || err == nil && (fh == nil || fh.Filename == "" && fh.Size == 0) {
		return nil, "", "Choose a CSV file to upload.", nil
	}
	if err != nil {
		return nil, "", "", fmt.Errorf("app: read upload: %w", err)
	}
	name = truncate(fh.Filename, 100)
	if fh.Size > int64(limit) {
		return nil, name, fmt.Sprintf("The file is larger than %d MiB.", limit>>20), nil
	}
	f, err := fh.Open()
	if err != nil {
		return nil, "", "", fmt.Errorf("app: read upload: %w", err)
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, int64(limit)+1)) // whatever the part's header claims
	if err != nil {
		return nil, "", "", fmt.Errorf("app: read upload: %w", err)
	}
	return data, name, "", nil // the parser refuses a file over the limit
}

// holdingRow is one line of a number's history.
type holdingRow struct {
	store.NumberHolding
	Client, ClientURL string
}

// clientChoice is a client the assign form suggests.
type clientChoice struct {
	Username, Name string
}

// numberData is the Data of views/billing/number.html.
type numberData struct {
	Number      *store.PhoneNumber
	URL         string
	Status      string
	StatusClass string
	Until       time.Time
	Holder      string
	HolderURL   string
	Monthly     string
	Setup       string
	Currency    string
	History     []holdingRow // newest first
	Clients     []clientChoice
	Types       []string
	Assign      *Form // client
	Edit        *Form // type, fees, label
}

// numberData reads the number of the route's :number with its holder and
// history; another reseller's number is not found.
func (a *App) numberData(c *fiber.Ctx, assign, edit *Form) (*numberData, error) {
	tenant := tenantOf(c)
	n, err := a.billing.Number(tenant, numberParam(c)) // tenant scope
	if err != nil {
		return nil, err
	}
	clients, err := a.holders(tenant.ID)
	if err != nil {
		return nil, err
	}
	data := &numberData{Number: n, URL: numberURL(n.Number), Status: n.StatusAt(a.now()), Currency: tenant.Currency,
		Monthly: money.Display{}.Text(n.MonthlyFee, tenant.Currency), Setup: money.Display{}.Text(n.SetupFee, tenant.Currency),
		Types: billing.NumberTypes, Assign: assign, Edit: edit}
	data.StatusClass = numberStatusClass(data.Status)
	if data.Status == store.NumberQuarantined {
		data.Until = n.ReleasedAt.AddDate(0, 0, store.QuarantineDays)
	}
	if cl := clients[n.ClientID]; cl != nil {
		data.Holder, data.HolderURL = cl.Username, clientURL(cl)
	}
	for i := len(n.History) - 1; i >= 0; i-- {
		row := holdingRow{NumberHolding: n.History[i], Client: fmt.Sprintf("deleted client %d", n.History[i].ClientID)}
		if cl := clients[row.ClientID]; cl != nil {
			row.Client, row.ClientURL = cl.Username, clientURL(cl)
		}
		data.History = append(data.History, row)
	}
	if data.Status == store.NumberAvailable {
		summaries, err := a.store.ClientSummaries(tenant.ID) // tenant scope
		if err != nil {
			return nil, err
		}
		for _, s := range summaries {
			if len(data.Clients) == maxClientChoices {
				break
			}
			if s.Client.Status != store.ClientClosed {
				data.Clients = append(data.Clients, clientChoice{Username: s.Client.Username, Name: s.Client.Name()})
			}
		}
	}
	if len(edit.Values) == 0 { // the form shows the number as it is
		edit.Values["type"], edit.Values["label"] = n.Type, n.Label
		edit.Values["monthly_fee"], edit.Values["setup_fee"] = money.Decimal(n.MonthlyFee, tenant.Currency), money.Decimal(n.SetupFee, tenant.Currency)
	}
	return data, nil
}

// renderNumber renders a number's page with status.
func (a *App) renderNumber(c *fiber.Ctx, status int, assign, edit *Form) error {
	data, err := a.numberData(c, assign, edit)
	if err != nil {
		return err
	}
	return a.render(c, status, "billing/number", data.Number.Number, data)
}

// showNumber is a number's page.
func (a *App) showNumber(c *fiber.Ctx) error {
	return a.renderNumber(c, fiber.StatusOK, newForm(), newForm())
}

// saveNumber changes a number's type, fees and label.
func (a *App) saveNumber(c *fiber.Ctx) error {
	form := newForm()
	for _, name := range []string{"type", "monthly_fee", "setup_fee", "label"} {
		form.Values[name] = c.FormValue(name)
	}
	typ, monthly, setup, label := form.Values["type"], form.Values["monthly_fee"], form.Values["setup_fee"], form.Values["label"]
	n, err := a.billing.UpdateNumber(tenantOf(c), numberParam(c), billing.NumberPatch{Type: &typ, MonthlyFee: &monthly, SetupFee: &setup, Label: &label}, a.actor(c))
	if form.refused(err) {
		form.Error = "Please correct the fields marked below."
		return a.renderNumber(c, fiber.StatusUnprocessableEntity, newForm(), form)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", n.Number+" saved.")
	return c.Redirect(numberURL(n.Number), fiber.StatusSeeOther)
}

// assignNumber assigns a number to the client the form names (username
// or id). A number held by another client or in quarantine is shown again
// with the reason (409).
func (a *App) assignNumber(c *fiber.Ctx) error {
	ref := strings.TrimSpace(c.FormValue("client"))
	n, err := a.billing.AssignNumber(tenantOf(c), numberParam(c), ref, a.actor(c)) // tenant scope: the client is looked up within the host's reseller
	form, status := newForm(), fiber.StatusUnprocessableEntity
	switch {
	case fault.Is(err, fault.Conflict):
		form.Error, status = messageOf(err), fiber.StatusConflict
	case form.refused(err):
	case err != nil:
		return err
	default:
		a.setFlash(c, "success", fmt.Sprintf("%s is assigned to %s.", n.Number, ref))
		return c.Redirect(numberURL(n.Number), fiber.StatusSeeOther)
	}
	form.Values["client"] = ref
	return a.renderNumber(c, status, form, newForm())
}

// releaseNumber takes a number from its holder into quarantine.
func (a *App) releaseNumber(c *fiber.Ctx) error {
	n, err := a.billing.ReleaseNumber(tenantOf(c), numberParam(c), a.actor(c))
	if err != nil {
		return err
	}
	a.setFlash(c, "success", fmt.Sprintf("%s is released. It rests in quarantine until %s before it can be assigned again.",
		n.Number, n.ReleasedAt.AddDate(0, 0, store.QuarantineDays).UTC().Format("2 January 2006")))
	return c.Redirect(numberURL(n.Number), fiber.StatusSeeOther)
}

// removeNumber deletes an available number; any other is refused with
// the reason on its page.
func (a *App) removeNumber(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	n, err := a.billing.Number(tenant, numberParam(c)) // tenant scope
	if err != nil {
		return err
	}
	err = a.billing.DeleteNumber(tenant, n.Number, a.actor(c))
	if fault.Is(err, fault.Conflict) {
		a.setFlash(c, "error", messageOf(err))
		return c.Redirect(numberURL(n.Number), fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", n.Number+" is deleted from your inventory.")
	return c.Redirect(numbersURL, fiber.StatusSeeOther)
}
