package app

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"portico/app/billing"
	"portico/app/billing/invoicepdf"
	"portico/app/fault"
	"portico/store"
	"portico/store/money"
)

// billingAPIRoutes mounts the billing endpoints of the JSON API: the
// subscription, invoices, billing details, transactions and credit
// movements (docs/api.md, "Billing"). The catalogue and the number
// inventory have their own files.
func (a *App) billingAPIRoutes(api fiber.Router) {
	// Reseller key only: running a period and changing an invoice's status.
	api.Post("/invoices/run", a.requireResellerKey, a.runAPIInvoices)
	api.Post("/invoices/:id/void", a.requireResellerKey, a.voidAPIInvoice)
	api.Post("/invoices/:id/mark-paid", a.requireResellerKey, a.markAPIInvoicePaid)
	// Either key at the same paths: a client key reads its own client's
	// invoices, a reseller key every invoice of the reseller (invoiceScope).
	api.Get("/invoices", a.listAPIInvoices)
	api.Get("/invoices/:id", a.showAPIInvoice)
	api.Get("/invoices/:id/pdf", a.showAPIInvoicePDF)
	api.Get("/clients/:client/invoices", a.requireResellerKey, a.listAPIInvoices)
	api.Get("/clients/:client/invoices/:id", a.requireResellerKey, a.showAPIInvoice)
	api.Get("/clients/:client/invoices/:id/pdf", a.requireResellerKey, a.showAPIInvoicePDF)
	// The client's own billing, for a client key and, naming the client,
	// for a reseller key.
	for _, mount := range []struct {
		prefix string
		scope  fiber.Handler
	}{{"", a.requireClientKey}, {"/clients/:client", a.requireResellerKey}} {
		p, scope := mount.prefix, mount.scope
		api.Get(p+"/subscription", scope, a.showAPISubscription)
		api.Put(p+"/subscription", scope, a.changeAPISubscription)
		api.Post(p+"/subscription/preview", scope, a.previewAPISubscription)
		api.Get(p+"/billing-details", scope, a.showAPIBillingDetails)
		api.Put(p+"/billing-details", scope, a.updateAPIBillingDetails)
		api.Get(p+"/transactions", scope, a.listAPITransactions)
		api.Get(p+"/credit/movements", scope, a.listAPICreditMovements)
	}
}

// apiPendingChange is a change waiting for the period end.
type apiPendingChange struct {
	Plan        uint64   `json:"plan"`
	Seats       int      `json:"seats"`
	AddOns      []uint64 `json:"add_ons"`
	EffectiveAt string   `json:"effective_at"`
}

// apiSubscription is a client's subscription. Plans and add-ons are named
// by the ids GET /plans and GET /add-ons give them.
type apiSubscription struct {
	Plan          uint64            `json:"plan"`
	Seats         int               `json:"seats"`
	SeatsUsed     int               `json:"seats_used"`
	AddOns        []uint64          `json:"add_ons"`
	PeriodStart   string            `json:"period_start"`
	PeriodEnd     string            `json:"period_end"`
	PendingChange *apiPendingChange `json:"pending_change"`
	Status        string            `json:"status"`
	StartedAt     string            `json:"started_at"`
}

func apiPendingOf(p *store.PendingChange) *apiPendingChange {
	if p == nil {
		return nil
	}
	return &apiPendingChange{Plan: p.PlanID, Seats: p.Seats, AddOns: orEmpty(p.AddOns), EffectiveAt: apiTime(p.EffectiveAt)}
}

func apiSubscriptionOf(v *billing.SubscriptionView) apiSubscription {
	return apiSubscription{Plan: v.Sub.PlanID, Seats: v.Sub.Seats, SeatsUsed: v.SeatsUsed, AddOns: orEmpty(v.Sub.AddOns),
		PeriodStart: apiTime(v.Period.Start), PeriodEnd: apiTime(v.Period.End), PendingChange: apiPendingOf(v.Sub.Pending),
		Status: v.Sub.Status, StartedAt: apiTime(v.Sub.StartedAt)}
}

// showAPISubscription answers GET /subscription: 404 when the client has
// none.
func (a *App) showAPISubscription(c *fiber.Ctx) error {
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	v, err := a.billing.Subscription(tenantOf(c), cl.ID)
	if err != nil {
		return err
	}
	return c.JSON(apiSubscriptionOf(v))
}

// apiSubscriptionChange is the body of PUT /subscription and POST
// /subscription/preview: the whole subscription the client wants.
type apiSubscriptionChange struct {
	Plan   uint64   `json:"plan"`
	Seats  int      `json:"seats"`
	AddOns []uint64 `json:"add_ons"`
}

func (b apiSubscriptionChange) change() billing.Change {
	return billing.Change{PlanID: b.Plan, Seats: b.Seats, AddOns: b.AddOns}
}

// changeAPISubscription answers PUT /subscription: it starts or changes
// the subscription (an upgrade or added seats and add-ons now, with a
// proration invoice; a downgrade or removals at the period end) and
// replies with the subscription as it is now.
func (a *App) changeAPISubscription(c *fiber.Ctx) error {
	var body apiSubscriptionChange
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	v, _, err := a.billing.ChangeSubscription(tenantOf(c), cl.ID, body.change(), apiActor(c))
	if err != nil {
		return err
	}
	return c.JSON(apiSubscriptionOf(v))
}

// apiInvoiceLine is one line of an invoice, and of a preview.
type apiInvoiceLine struct {
	Kind        string `json:"kind"`
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitPrice   string `json:"unit_price"`
	Amount      string `json:"amount"`
}

func apiInvoiceLines(lines []store.InvoiceLine, currency string) []apiInvoiceLine {
	out := make([]apiInvoiceLine, len(lines))
	for i, l := range lines {
		out[i] = apiInvoiceLine{Kind: l.Kind, Description: l.Description, Quantity: l.Quantity,
			UnitPrice: money.Decimal(l.UnitPrice, currency), Amount: money.Decimal(l.Amount, currency)}
	}
	return out
}

// apiPreview is what PUT /subscription would do with the same body.
type apiPreview struct {
	Lines         []apiInvoiceLine  `json:"lines"`
	Subtotal      string            `json:"subtotal"`
	Tax           string            `json:"tax"`
	DueNow        string            `json:"due_now"`
	EffectiveAt   string            `json:"effective_at"`
	PendingChange *apiPendingChange `json:"pending_change"`
	Currency      string            `json:"currency"`
}

// previewAPISubscription answers POST /subscription/preview: the lines of
// the proration invoice the change would issue and what is due now;
// nothing changes.
func (a *App) previewAPISubscription(c *fiber.Ctx) error {
	var body apiSubscriptionChange
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	p, err := a.billing.PreviewChange(tenantOf(c), cl.ID, body.change())
	if err != nil {
		return err
	}
	return c.JSON(apiPreview{Lines: apiInvoiceLines(p.Lines, p.Currency), Subtotal: money.Decimal(p.Subtotal, p.Currency),
		Tax: money.Decimal(p.Tax, p.Currency), DueNow: money.Decimal(p.DueNow, p.Currency), EffectiveAt: apiTime(p.EffectiveAt),
		PendingChange: apiPendingOf(p.Deferred), Currency: p.Currency})
}

// apiParty is the seller or buyer block an invoice froze at issue.
type apiParty struct {
	Name      string   `json:"name"`
	Company   string   `json:"company"`
	VATNumber string   `json:"vat_number"`
	Emails    []string `json:"emails"`
	Address1  string   `json:"address1"`
	Address2  string   `json:"address2"`
	City      string   `json:"city"`
	Zip       string   `json:"zip"`
	State     string   `json:"state"`
	Country   string   `json:"country"`
}

func apiPartyOf(p store.Party) apiParty {
	return apiParty{Name: p.Name, Company: p.Company, VATNumber: p.VATNumber, Emails: orEmpty(p.Emails), Address1: p.Address1,
		Address2: p.Address2, City: p.City, Zip: p.Zip, State: p.State, Country: p.Country}
}

// apiInvoice is an invoice as the API shows it everywhere. Period is the
// YYYY-MM of a period invoice (null for the other kinds); tax_rate is a
// percentage.
type apiInvoice struct {
	ID          uint64           `json:"id"`
	Number      string           `json:"number"`
	Kind        string           `json:"kind"`
	Client      uint64           `json:"client"`
	Period      *string          `json:"period"`
	PeriodStart string           `json:"period_start"`
	PeriodEnd   string           `json:"period_end"`
	IssuedAt    string           `json:"issued_at"`
	DueAt       string           `json:"due_at"`
	Status      string           `json:"status"`
	Currency    string           `json:"currency"`
	Lines       []apiInvoiceLine `json:"lines"`
	Subtotal    string           `json:"subtotal"`
	TaxRate     string           `json:"tax_rate"`
	TaxNote     string           `json:"tax_note"`
	Tax         string           `json:"tax"`
	Total       string           `json:"total"`
	AmountDue   string           `json:"amount_due"`
	PaidAt      *string          `json:"paid_at"`
	Reference   string           `json:"reference"`
	VoidReason  string           `json:"void_reason"`
	Buyer       apiParty         `json:"buyer"`
	Seller      apiParty         `json:"seller"`
}

func apiInvoiceOf(inv *store.Invoice) apiInvoice {
	cur := inv.Currency
	out := apiInvoice{ID: inv.ID, Number: inv.Number, Kind: inv.Kind, Client: inv.ClientID, PeriodStart: apiTime(inv.PeriodStart),
		PeriodEnd: apiTime(inv.PeriodEnd), IssuedAt: apiTime(inv.IssuedAt), DueAt: apiTime(inv.DueAt), Status: inv.Status,
		Currency: cur, Lines: apiInvoiceLines(inv.Lines, cur), Subtotal: money.Decimal(inv.Subtotal, cur),
		TaxRate: fmt.Sprintf("%d.%02d", inv.TaxRate/100, inv.TaxRate%100), TaxNote: inv.TaxNote, Tax: money.Decimal(inv.Tax, cur),
		Total: money.Decimal(inv.Total, cur), AmountDue: money.Decimal(inv.AmountDue, cur), Reference: inv.Reference,
		VoidReason: inv.VoidReason, Buyer: apiPartyOf(inv.Buyer), Seller: apiPartyOf(inv.Seller)}
	if inv.Period != "" {
		p := inv.Period
		out.Period = &p
	}
	if !inv.PaidAt.IsZero() {
		t := apiTime(inv.PaidAt)
		out.PaidAt = &t
	}
	return out
}

// invoiceScope is whose invoices the request may see: a client key its own
// client's, a reseller key under /clients/{client} that client's (another
// reseller's is 404), a reseller key elsewhere every client's (cid 0).
func (a *App) invoiceScope(c *fiber.Ctx) (cid uint64, err error) {
	if cl := callerOf(c).client; cl != nil {
		return cl.ID, nil // scope: a client key only ever reads its own invoices
	}
	if c.Params("client") == "" {
		return 0, nil // the reseller's own list: tenant scope comes from the host
	}
	cl, _, err := a.loadAPIClient(c)
	if err != nil {
		return 0, err
	}
	return cl.ID, nil
}

// listAPIInvoices answers GET /invoices (a client key: its own; a reseller
// key: the reseller's, filtered by status, client and period) and GET
// /clients/{client}/invoices. Newest first, a page at a time.
func (a *App) listAPIInvoices(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	cid, err := a.invoiceScope(c)
	if err != nil {
		return err
	}
	f := billing.InvoiceFilter{Status: c.Query("status"), ClientID: cid, Period: c.Query("period")}
	var errs fault.Fields
	if callerOf(c).client != nil {
		switch f.Status {
		case "", "all", store.InvoicePaid, "unpaid":
		default:
			errs.Add("status", "Use all, paid or unpaid.")
		}
	} else if !billing.ValidStatusFilter(f.Status) {
		errs.Add("status", "Use open, paid, void, uncollectible, unpaid or all.")
	}
	if f.Period != "" {
		if _, err := billing.ParsePeriod(f.Period, store.LocationOf(tenant)); err != nil {
			errs.Add("period", "Use a period as YYYY-MM, such as 2026-11.")
		}
	}
	if ref := c.Query("client"); ref != "" && callerOf(c).client == nil && c.Params("client") == "" {
		cl, _, err := a.clients.ClientByRef(tenant.ID, ref) // tenant scope: this reseller's clients only
		switch {
		case errors.Is(err, store.ErrNotFound):
			errs.Add("client", "There is no such client.")
		case err != nil:
			return err
		default:
			f.ClientID = cl.ID
		}
	}
	f.Limit = queryLimit(c, &errs)
	if err := errs.Err(); err != nil {
		return err
	}
	if f.Before, err = apiIDCursor(c, "invoices"); err != nil {
		return err
	}
	page, more, err := a.billing.Invoices(tenant.ID, f)
	if err != nil {
		return err
	}
	list := apiList[apiInvoice]{Data: make([]apiInvoice, len(page))}
	for i, inv := range page {
		list.Data[i] = apiInvoiceOf(inv)
	}
	if more {
		list.NextCursor = encodeCursor("invoices", strconv.FormatUint(page[len(page)-1].ID, 10))
	}
	return c.JSON(list)
}

// apiIDCursor reads a cursor of list kind that holds an id (0 without one).
func apiIDCursor(c *fiber.Ctx, kind string) (uint64, error) {
	raw := c.Query("cursor")
	if raw == "" {
		return 0, nil
	}
	s, ok := decodeCursor(raw, kind)
	id, err := strconv.ParseUint(s, 10, 64)
	if !ok || err != nil || id == 0 {
		return 0, badCursor()
	}
	return id, nil
}

// loadAPIInvoice loads the invoice of the path's :id within the request's
// scope: another client's, or another reseller's, is 404.
func (a *App) loadAPIInvoice(c *fiber.Ctx) (*store.Invoice, error) {
	cid, err := a.invoiceScope(c)
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseUint(c.Params("id"), 10, 64)
	if err != nil {
		return nil, fault.New(fault.NotFound, "There is no such invoice.")
	}
	inv, err := a.billing.Invoice(tenantOf(c).ID, cid, id) // tenant scope: the reseller id comes from the host
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.Wrap(fault.NotFound, "There is no such invoice.", err)
	}
	return inv, err
}

// showAPIInvoice answers GET /invoices/{id}.
func (a *App) showAPIInvoice(c *fiber.Ctx) error {
	inv, err := a.loadAPIInvoice(c)
	if err != nil {
		return err
	}
	return c.JSON(apiInvoiceOf(inv))
}

// showAPIInvoicePDF answers GET /invoices/{id}/pdf: the invoice as its PDF,
// rendered from the frozen invoice and logo (the same bytes each time for
// the same status).
func (a *App) showAPIInvoicePDF(c *fiber.Ctx) error {
	inv, err := a.loadAPIInvoice(c)
	if err != nil {
		return err
	}
	pdf, err := invoicepdf.Bytes(inv, a.billing.InvoiceLogo(inv))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf("inline; filename=%q", inv.Number+".pdf"))
	return c.Send(pdf)
}

// apiRun is the body of POST /invoices/run.
type apiRun struct {
	Period string `json:"period"`
}

// apiRunResult is its reply. Failed lists clients whose invoice could not
// be issued (an amount past what the store holds); a run again retries
// them.
type apiRunResult struct {
	Created  int      `json:"created"`
	Existing int      `json:"existing"`
	Failed   []uint64 `json:"failed,omitempty"`
}

// runAPIInvoices answers POST /invoices/run: the period invoice of every
// client for a period that has begun in the reseller's time zone, each
// issued once however often it runs.
func (a *App) runAPIInvoices(c *fiber.Ctx) error {
	var body apiRun
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	res, err := a.billing.RunPeriod(c.Context(), tenantOf(c), body.Period, apiActor(c))
	if err != nil {
		return err
	}
	out := apiRunResult{Created: res.Created, Existing: res.Existing}
	for _, s := range res.Failed {
		if id, err := strconv.ParseUint(s, 10, 64); err == nil {
			out.Failed = append(out.Failed, id)
		}
	}
	return c.JSON(out)
}

// apiVoid is the body of POST /invoices/{id}/void.
type apiVoid struct {
	Reason string `json:"reason"`
}

// voidAPIInvoice answers POST /invoices/{id}/void: only an open invoice
// (409 otherwise); its number stays used.
func (a *App) voidAPIInvoice(c *fiber.Ctx) error {
	var body apiVoid
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	inv, err := a.loadAPIInvoice(c)
	if err != nil {
		return err
	}
	if inv, err = a.billing.VoidInvoice(inv.ResellerID, inv.ID, body.Reason, apiActor(c)); err != nil {
		return err
	}
	return c.JSON(apiInvoiceOf(inv))
}

// apiMarkPaid is the body of POST /invoices/{id}/mark-paid.
type apiMarkPaid struct {
	Reference string `json:"reference"`
}

// markAPIInvoicePaid answers POST /invoices/{id}/mark-paid: a payment
// received outside Portico (a bank transfer). With an Idempotency-Key, a
// retry of the same request answers the invoice again and moves nothing
// (Idempotent-Replayed: true); the same key with another invoice or
// reference is 409. Marking an invoice that is paid or void is 409.
func (a *App) markAPIInvoicePaid(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	var body apiMarkPaid
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	inv, err := a.loadAPIInvoice(c)
	if err != nil {
		return err
	}
	inv, replayed, err := a.billing.MarkPaidOnce(inv.ResellerID, inv.ID, body.Reference, key, apiActor(c))
	var fe *fault.Error
	if errors.Is(err, store.ErrConflict) && !errors.As(err, &fe) {
		return fault.Wrap(fault.Conflict, "This Idempotency-Key was used for another request.", err)
	}
	if err != nil {
		return err
	}
	if replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.JSON(apiInvoiceOf(inv))
}

// apiBillingDetails is who a client's invoices are addressed to.
type apiBillingDetails struct {
	Company       string   `json:"company"`
	VATNumber     string   `json:"vat_number"`
	InvoiceEmails []string `json:"invoice_emails"`
	Address1      string   `json:"address1"`
	Address2      string   `json:"address2"`
	City          string   `json:"city"`
	Zip           string   `json:"zip"`
	State         string   `json:"state"`
	Country       string   `json:"country"`
}

func apiBillingDetailsOf(d store.BillingDetails) apiBillingDetails {
	return apiBillingDetails{Company: d.Company, VATNumber: d.VATNumber, InvoiceEmails: orEmpty(d.InvoiceEmails), Address1: d.Address1,
		Address2: d.Address2, City: d.City, Zip: d.Zip, State: d.State, Country: d.Country}
}

// showAPIBillingDetails answers GET /billing-details.
func (a *App) showAPIBillingDetails(c *fiber.Ctx) error {
	cl, _, err := a.loadAPIClient(c) // fresh: a client key's client is as it was when the request began
	if err != nil {
		return err
	}
	return c.JSON(apiBillingDetailsOf(cl.Billing))
}

// updateAPIBillingDetails answers PUT /billing-details: the whole set
// (a field left out is emptied), checked field by field (422). Issued
// invoices keep the details they froze.
func (a *App) updateAPIBillingDetails(c *fiber.Ctx) error {
	var body apiBillingDetails
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	saved, err := a.billing.SetBillingDetails(tenantOf(c), cl.ID, store.BillingDetails(body), apiActor(c))
	if err != nil {
		return err
	}
	return c.JSON(apiBillingDetailsOf(saved.Billing))
}

// apiTransaction is one movement of what a client owes on its invoices.
type apiTransaction struct {
	ID           uint64  `json:"id"`
	At           string  `json:"at"`
	Kind         string  `json:"kind"`
	Invoice      *uint64 `json:"invoice"`
	Number       string  `json:"number"`
	Amount       string  `json:"amount"`
	BalanceAfter string  `json:"balance_after"`
	Currency     string  `json:"currency"`
}

// apiMovement is one movement of a client's prepaid credit.
type apiMovement struct {
	ID           uint64 `json:"id"`
	At           string `json:"at"`
	Kind         string `json:"kind"`
	Amount       string `json:"amount"`
	BalanceAfter string `json:"balance_after"`
	Currency     string `json:"currency"`
	Who          string `json:"who"`
	Note         string `json:"note"`
}

// apiLedgerQuery reads format, limit and cursor of GET /transactions and
// GET /credit/movements. A CSV is the whole list (limit and cursor apply
// to JSON pages), as every export of the API.
func apiLedgerQuery(c *fiber.Ctx, kind string) (csv bool, limit int, before uint64, err error) {
	var errs fault.Fields
	switch c.Query("format") {
	case "", "json":
	case "csv":
		csv = true
	default:
		errs.Add("format", "Use csv or json.")
	}
	if !csv {
		limit = queryLimit(c, &errs)
	}
	if err := errs.Err(); err != nil {
		return false, 0, 0, err
	}
	if !csv {
		before, err = apiIDCursor(c, kind)
	}
	return csv, limit, before, err
}

// listAPITransactions answers GET /transactions: the client's invoice
// money movements, newest first, as JSON pages or one CSV.
func (a *App) listAPITransactions(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	csv, limit, before, err := apiLedgerQuery(c, "transactions")
	if err != nil {
		return err
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	if csv { // read and written a page at a time (ledger_csv.go)
		return a.sendLedgerCSV(c, tenant, cl.ID, store.ReceivableOf(tenant.ID, cl.ID), transactionsExportCSV, cl.Username+"-transactions.csv")
	}
	rows, more, err := a.billing.Transactions(tenant.ID, cl.ID, before, limit)
	if err != nil {
		return err
	}
	cur := tenant.Currency
	list := apiList[apiTransaction]{Data: make([]apiTransaction, len(rows))}
	for i, m := range rows {
		t := apiTransaction{ID: m.ID, At: apiTime(m.At), Kind: m.Kind, Number: m.Note, Amount: money.Decimal(m.Amount, cur),
			BalanceAfter: money.Decimal(m.BalanceAfter, cur), Currency: cur}
		if id := m.InvoiceID(); id != 0 {
			t.Invoice = &id
		}
		list.Data[i] = t
	}
	if more {
		list.NextCursor = encodeCursor("transactions", strconv.FormatUint(rows[len(rows)-1].ID, 10))
	}
	return c.JSON(list)
}

// listAPICreditMovements answers GET /credit/movements: the client's
// prepaid credit movements, newest first, as JSON pages or one CSV (the
// CSV of the reseller's client page).
func (a *App) listAPICreditMovements(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	csv, limit, before, err := apiLedgerQuery(c, "movements")
	if err != nil {
		return err
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	if csv { // read and written a page at a time (ledger_csv.go)
		return a.sendLedgerCSV(c, tenant, cl.ID, store.WalletOf(tenant.ID, cl.ID), creditMovementsCSV, cl.Username+"-credit-movements.csv")
	}
	rows, more, err := a.billing.CreditMovements(tenant.ID, cl.ID, before, limit)
	if err != nil {
		return err
	}
	cur := tenant.Currency
	list := apiList[apiMovement]{Data: make([]apiMovement, len(rows))}
	for i, m := range rows {
		list.Data[i] = apiMovement{ID: m.ID, At: apiTime(m.At), Kind: m.Kind, Amount: money.Decimal(m.Amount, cur),
			BalanceAfter: money.Decimal(m.BalanceAfter, cur), Currency: cur, Who: m.Actor, Note: m.Note}
	}
	if more {
		list.NextCursor = encodeCursor("movements", strconv.FormatUint(rows[len(rows)-1].ID, 10))
	}
	return c.JSON(list)
}

// sendAPICSV replies with a CSV file to download.
func sendAPICSV(c *fiber.Ctx, filename, body string) error {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", filename))
	return c.SendString(body)
}
