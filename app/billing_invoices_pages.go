package app

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/auth"
	"portico/app/billing"
	"portico/app/billing/invoicepdf"
	"portico/app/clients"
	"portico/app/fault"
	"portico/store"
	"portico/store/money"
)

// The reseller's billing pages (owner, admin and billing staff): the
// invoices overview with the revenue figures, one invoice with its
// actions, the seller details and tax, and each client's subscription.

const (
	resellerInvoicesURL = "/reseller/billing/invoices"
	resellerSellerURL   = "/reseller/billing/seller"
)

// resellerBillingRoutes mounts the pages of this file and of
// billing_seller_pages.go and billing_client_pages.go.
func (a *App) resellerBillingRoutes(reseller fiber.Router) {
	area := a.requireStaffArea(access.AreaBilling)
	reseller.Get("/billing/invoices", area, a.listResellerInvoices)
	reseller.Post("/billing/invoices/run", area, a.runInvoices)
	reseller.Get("/billing/invoices/:id<int>", area, a.showResellerInvoice)
	reseller.Get("/billing/invoices/:id<int>/pdf", area, a.resellerInvoicePDF)
	reseller.Post("/billing/invoices/:id<int>/void", area, a.voidInvoice)
	reseller.Post("/billing/invoices/:id<int>/paid", area, a.markInvoicePaid)
	reseller.Post("/billing/invoices/:id<int>/uncollectible", area, a.markInvoiceUncollectible)
	reseller.Get("/billing/seller", area, a.showSellerDetails)
	reseller.Post("/billing/seller", area, a.saveSellerDetails)
	reseller.Get("/clients/:id<int>/subscription", area, a.showClientSubscription)
	reseller.Post("/clients/:id<int>/subscription", area, a.changeClientSubscription)
}

// invoicesPageSize is how many invoices one page of the overview shows.
const invoicesPageSize = 50

var invoiceStatusOptions = []option{{"", "All"}, {"unpaid", "Unpaid"}, {store.InvoiceOpen, "Open"}, {store.InvoicePaid, "Paid"},
	{store.InvoiceVoid, "Void"}, {store.InvoiceUncollectible, "Uncollectible"}}

// invoiceRow is one line of an invoices table.
type invoiceRow struct {
	Inv       *store.Invoice
	Buyer     string // the frozen buyer's company, or name
	Period    string // "March 2026", or the kind of an invoice of no period
	Total     string
	AmountDue string
	Overdue   bool
}

// revenueView is the revenue figures for people.
type revenueView struct {
	Month                             string // "March 2026"
	MRR, Invoiced, Collected, Overdue string
	Subscriptions, InvoicedCount      int
	CollectedCount, OverdueCount      int
	HasOverdue                        bool
}

type invoicesPageData struct {
	Tabs     []NavItem // the billing console's (billing_tabs.go)
	Form     *Form     // the filters
	Statuses []option
	Rows     []invoiceRow
	Currency string
	// Totals are of the whole filtered list, every page of it.
	Count            int
	Total, AmountDue string
	Revenue          revenueView
	Filtered, Paged  bool
	NextURL          string
	FirstURL         string
	// Run is the "Run invoices" form.
	Run *Form
}

// invoiceRowsOf formats invoices for a table.
func invoiceRowsOf(list []*store.Invoice, now time.Time) []invoiceRow {
	rows := make([]invoiceRow, len(list))
	for i, inv := range list {
		buyer := inv.Buyer.Company
		if buyer == "" {
			buyer = inv.Buyer.Name
		}
		rows[i] = invoiceRow{Inv: inv, Buyer: buyer, Period: invoicePeriodLabel(inv),
			Total: money.FormatNumber(inv.Total, inv.Currency), AmountDue: money.FormatNumber(inv.AmountDue, inv.Currency),
			Overdue: inv.Unpaid() && inv.DueAt.Before(now)}
	}
	return rows
}

// invoicePeriodLabel is the month a period invoice bills, or what other
// invoices are.
func invoicePeriodLabel(inv *store.Invoice) string {
	if t, err := time.Parse("2006-01", inv.Period); err == nil {
		return t.Format("January 2006")
	}
	switch inv.Kind {
	case store.InvoiceProration:
		return "Plan change"
	case store.InvoiceReceipt:
		return "Credit purchase"
	}
	return inv.Kind
}

// listResellerInvoices is the invoices overview: the revenue figures,
// the filtered list newest first a page at a time with its totals, and
// the "Run invoices" form.
func (a *App) listResellerInvoices(c *fiber.Ctx) error {
	return a.renderInvoices(c, nil)
}

// renderInvoices renders the overview; run, when not nil, is a refused
// "Run invoices" form to show again with 422.
func (a *App) renderInvoices(c *fiber.Ctx, run *Form) error {
	tenant := tenantOf(c)
	form := newForm()
	status, client, period := c.Query("status"), strings.TrimSpace(c.Query("client")), strings.TrimSpace(c.Query("period"))
	form.Values = map[string]string{"status": status, "client": client, "period": period}
	f := billing.InvoiceFilter{Status: status, Period: period, Limit: invoicesPageSize}
	if !billing.ValidStatusFilter(status) {
		form.Errors["status"] = "Choose a status from the list."
	}
	if client != "" {
		err := a.store.View(func(tx *store.Tx) error {
			cl, err := tx.ClientByUsername(tenant.ID, client) // tenant scope: the reseller from the host
			if err == nil {
				f.ClientID = cl.ID
			}
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			form.Errors["client"] = "No client has this username."
		} else if err != nil {
			return err
		}
	}
	if period != "" {
		if _, err := billing.ParsePeriod(period, store.LocationOf(tenant)); err != nil {
			form.Errors["period"] = "A month such as " + a.currentPeriod(tenant).Name + "."
		}
	}
	v := url.Values{}
	for k, s := range form.Values {
		if s != "" {
			v.Set(k, s)
		}
	}
	if run == nil {
		run = newForm()
		run.Values["period"] = a.currentPeriod(tenant).Name
	}
	data := invoicesPageData{Tabs: a.billingTabsFor(resellerInvoicesURL), Form: form, Statuses: invoiceStatusOptions, Currency: tenant.Currency, Filtered: len(v) > 0,
		FirstURL: strings.TrimSuffix(resellerInvoicesURL+"?"+v.Encode(), "?"), Run: run}
	if !form.invalid() {
		if before := c.Query("before"); before != "" {
			id, err := strconv.ParseUint(before, 10, 64)
			if err != nil || id == 0 {
				form.Error = "This page link is damaged. Start again from the first page."
			}
			f.Before, data.Paged = id, true
		}
	}
	var rev *billing.Revenue
	var totals billing.InvoiceTotals
	var err error
	if form.invalid() {
		rev, err = a.billing.Revenue(tenant)
	} else {
		rev, totals, err = a.billing.InvoiceOverview(tenant, f) // one read of every invoice: revenue and the list's totals
	}
	if err != nil {
		return err
	}
	data.Revenue = revenueView{Month: rev.Period.Start.Format("January 2006"), MRR: money.FormatNumber(rev.MRR, rev.Currency),
		Invoiced: money.FormatNumber(rev.Invoiced, rev.Currency), Collected: money.FormatNumber(rev.Collected, rev.Currency),
		Overdue: money.FormatNumber(rev.Overdue, rev.Currency), Subscriptions: rev.Subscriptions, InvoicedCount: rev.InvoicedCount,
		CollectedCount: rev.CollectedCount, OverdueCount: rev.OverdueCount, HasOverdue: rev.OverdueCount > 0}
	if form.invalid() {
		if form.Error == "" {
			form.Error = "Please correct the filters marked below."
		}
		return a.render(c, fiber.StatusBadRequest, "billing/invoices", "Invoices", data)
	}
	list, more, err := a.billing.Invoices(tenant.ID, f)
	if err != nil {
		return err
	}
	data.Count, data.Total, data.AmountDue = totals.Count, money.FormatNumber(totals.Total, tenant.Currency), money.FormatNumber(totals.AmountDue, tenant.Currency)
	data.Rows = invoiceRowsOf(list, a.now())
	if more && len(list) > 0 {
		data.NextURL = resellerInvoicesURL + "?" + merge(v, "before", strconv.FormatUint(list[len(list)-1].ID, 10)).Encode()
	}
	code := fiber.StatusOK
	if run.invalid() {
		code = fiber.StatusUnprocessableEntity
	}
	return a.render(c, code, "billing/invoices", "Invoices", data)
}

// currentPeriod is this month in the reseller's time zone.
func (a *App) currentPeriod(r *store.Reseller) billing.Period {
	return billing.PeriodOf(a.now(), store.LocationOf(r))
}

// runInvoices issues a period's invoices by hand, as the scheduled run
// does: idempotent, so a period run before only counts what exists.
func (a *App) runInvoices(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	period := strings.TrimSpace(c.FormValue("period"))
	res, err := a.billing.RunPeriod(c.UserContext(), tenant, period, a.actor(c))
	run := newForm()
	run.Values["period"] = period
	if run.refused(err) {
		return a.renderInvoices(c, run)
	}
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Invoices for %s: %s created, %d existing or with nothing to bill.", period, plural(res.Created, "invoice"), res.Existing)
	kind := "success"
	if len(res.Failed) > 0 {
		kind = "error"
		msg += fmt.Sprintf(" %s could not be invoiced (amounts out of range; see the log): client ids %s.", plural(len(res.Failed), "client"), strings.Join(res.Failed, ", "))
	}
	a.setFlash(c, kind, msg)
	return c.Redirect(resellerInvoicesURL+"?"+url.Values{"period": {period}}.Encode(), fiber.StatusSeeOther)
}

// invoiceLineView is one line of an invoice for people.
type invoiceLineView struct {
	Description       string
	Quantity          int64
	UnitPrice, Amount string
}

type invoicePageData struct {
	Inv                  *store.Invoice
	Lines                []invoiceLineView
	Subtotal, Tax, Total string
	AmountDue            string
	TaxRate              string // "20 %"
	Period               string
	SellerCountry        string
	BuyerCountry         string
	Overdue              bool
	// ClientURL is the client's page ("" when the client is gone).
	ClientURL string
	// The actions the invoice's status allows.
	CanVoid, CanPay, CanUncollect bool
	// Void and Pay are the forms of the two dialogs; PayKey makes the
	// mark-paid form one-time (a resubmitted form posts once).
	Void, Pay *Form
	PayKey    string
	// Error says why an action was refused (the invoice changed since
	// the page was loaded).
	Error string
}

// invoiceParam loads the reseller's invoice named in the URL; another
// reseller's is not found.
func (a *App) invoiceParam(c *fiber.Ctx) (*store.Invoice, error) {
	id, err := idParam(c)
	if err != nil {
		return nil, err
	}
	return a.billing.Invoice(tenantOf(c).ID, 0, id) // tenant scope: the reseller from the host
}

func invoiceURL(inv *store.Invoice) string {
	return resellerInvoicesURL + "/" + strconv.FormatUint(inv.ID, 10)
}

func (a *App) invoicePage(c *fiber.Ctx, inv *store.Invoice, void, pay *Form) (invoicePageData, error) {
	amounts := []int64{inv.Subtotal, inv.Tax, inv.Total, inv.AmountDue}
	for _, l := range inv.Lines {
		amounts = append(amounts, l.UnitPrice, l.Amount)
	}
	exact := money.Display{Exact: true, Places: money.ExactPlaces(inv.Currency, amounts...)}
	d := invoicePageData{Inv: inv, Subtotal: exact.Text(inv.Subtotal, inv.Currency), Tax: exact.Text(inv.Tax, inv.Currency),
		Total: exact.Text(inv.Total, inv.Currency), AmountDue: exact.Text(inv.AmountDue, inv.Currency), TaxRate: basisPointsText(inv.TaxRate),
		Period: invoicePeriodLabel(inv), SellerCountry: clients.CountryName(inv.Seller.Country), BuyerCountry: clients.CountryName(inv.Buyer.Country),
		Overdue: inv.Unpaid() && inv.DueAt.Before(a.now()), CanVoid: inv.Status == store.InvoiceOpen, CanPay: inv.Unpaid(),
		CanUncollect: inv.Status == store.InvoiceOpen, Void: void, Pay: pay}
	for _, l := range inv.Lines {
		d.Lines = append(d.Lines, invoiceLineView{Description: l.Description, Quantity: l.Quantity,
			UnitPrice: exact.Text(l.UnitPrice, inv.Currency), Amount: exact.Text(l.Amount, inv.Currency)})
	}
	err := a.store.View(func(tx *store.Tx) error {
		cl, err := tx.Client(inv.ResellerID, inv.ClientID)
		if err == nil {
			d.ClientURL = clientURL(cl)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if d.Void == nil {
		d.Void = newForm()
	}
	if d.Pay == nil {
		d.Pay = newForm()
	}
	d.PayKey, _ = auth.NewToken()
	return d, err
}

// showResellerInvoice is one invoice: its parties, lines, totals,
// history, the PDF and the actions its status allows.
func (a *App) showResellerInvoice(c *fiber.Ctx) error {
	inv, err := a.invoiceParam(c)
	if err != nil {
		return err
	}
	data, err := a.invoicePage(c, inv, nil, nil)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "billing/invoice", "Invoice "+inv.Number, data)
}

// resellerInvoicePDF sends the invoice's PDF, rendered from the frozen
// invoice and its frozen logo: the same bytes every time.
func (a *App) resellerInvoicePDF(c *fiber.Ctx) error {
	inv, err := a.invoiceParam(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := invoicepdf.Render(&buf, inv, a.billing.InvoiceLogo(inv)); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, `inline; filename="`+inv.Number+`.pdf"`) // numbers are letters, digits and dashes
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(buf.Bytes()) // buf is this request's own
}

// invoiceActionFailed shows the invoice again after a refused action: 422
// with the form's fields, or 409 with the reason when the invoice's
// status no longer allows it. Other errors go to the error handler.
func (a *App) invoiceActionFailed(c *fiber.Ctx, id uint64, err error, void, pay *Form) error {
	inv, lerr := a.billing.Invoice(tenantOf(c).ID, 0, id)
	if lerr != nil {
		return lerr
	}
	status := fiber.StatusUnprocessableEntity
	var message string
	switch {
	case void != nil && void.refused(err), pay != nil && pay.refused(err):
	case fault.Is(err, fault.Conflict):
		status, message = fiber.StatusConflict, messageOf(err)
	default:
		return err
	}
	data, derr := a.invoicePage(c, inv, void, pay)
	if derr != nil {
		return derr
	}
	switch {
	case message != "":
		data.Error = message
	case void != nil && void.invalid():
		data.Error = "The invoice was not voided: " + strings.Join(formMessages(void), " ")
	case pay != nil && pay.invalid():
		data.Error = "The invoice was not marked paid: " + strings.Join(formMessages(pay), " ")
	}
	return a.render(c, status, "billing/invoice", "Invoice "+inv.Number, data)
}

// formMessages lists a refused form's messages.
func formMessages(f *Form) []string {
	var out []string
	if f.Error != "" {
		out = append(out, f.Error)
	}
	for _, m := range f.Errors {
		out = append(out, m)
	}
	return out
}

// voidInvoice voids an open invoice with a reason; its number stays used.
func (a *App) voidInvoice(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	reason := c.FormValue("reason")
	inv, err := a.billing.VoidInvoice(tenantOf(c).ID, id, reason, a.actor(c)) // tenant scope
	if err != nil {
		form := newForm()
		form.Values["reason"] = reason
		return a.invoiceActionFailed(c, id, err, form, nil)
	}
	a.setFlash(c, "success", "Invoice "+inv.Number+" is void. Its number stays used; nothing is owed on it.")
	return c.Redirect(invoiceURL(inv), fiber.StatusSeeOther)
}

// markInvoicePaid records a payment received by hand (a bank transfer).
// The form carries a one-time key: sent twice, it is recorded once.
func (a *App) markInvoicePaid(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	key := c.FormValue("idempotency_key")
	if len(key) < 16 || len(key) > 100 {
		return fiber.NewError(fiber.StatusBadRequest, "The form is missing its one-time key. Reload the page and try again.")
	}
	reference := c.FormValue("reference")
	inv, repeated, err := a.billing.MarkPaidOnce(tenantOf(c).ID, id, reference, "form:"+key, a.actor(c)) // tenant scope
	if err != nil {
		form := newForm()
		form.Values["reference"] = reference
		if fault.Is(err, fault.Conflict) && !errors.Is(err, store.ErrInvoiceState) {
			// the key was used for another reference: the form was sent
			// before with other words
			err = fault.Wrap(fault.Conflict, "This form was already used to record a payment with another reference. Check the history below.", err)
		}
		return a.invoiceActionFailed(c, id, err, nil, form)
	}
	if repeated {
		a.setFlash(c, "success", "This payment was already recorded: invoice "+inv.Number+" is paid once.")
	} else {
		a.setFlash(c, "success", "Invoice "+inv.Number+" is paid.")
	}
	return c.Redirect(invoiceURL(inv), fiber.StatusSeeOther)
}

// markInvoiceUncollectible gives up collecting an open invoice.
func (a *App) markInvoiceUncollectible(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	inv, err := a.billing.MarkUncollectible(tenantOf(c).ID, id, a.actor(c)) // tenant scope
	if err != nil {
		return a.invoiceActionFailed(c, id, err, nil, nil)
	}
	a.setFlash(c, "success", "Invoice "+inv.Number+" is marked uncollectible. The client still owes it and may still pay it.")
	return c.Redirect(invoiceURL(inv), fiber.StatusSeeOther)
}

// basisPointsText writes a rate in basis points as a percentage for
// people: 2000 → "20 %", 750 → "7.5 %", 1925 → "19.25 %".
func basisPointsText(bp int) string {
	return basisPointsValue(bp) + "\u00a0%"
}

// basisPointsValue is the percentage of bp as typed in a form: "20",
// "7.5", "19.25".
func basisPointsValue(bp int) string {
	sign := ""
	if bp < 0 {
		sign, bp = "-", -bp
	}
	s := sign + strconv.Itoa(bp/100)
	if frac := bp % 100; frac != 0 {
		f := fmt.Sprintf("%02d", frac)
		s += "." + strings.TrimRight(f, "0")
	}
	return s
}

// parsePercent reads a percentage with up to two decimals ("20", "7.5",
// "19.25", "7,5", "20 %") as basis points, with integers only.
func parsePercent(s string) (int, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	s = strings.Replace(s, ",", ".", 1)
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 3 || dot && (frac == "" || len(frac) > 2) {
		return 0, false
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	w, _ := strconv.Atoi(whole) // at most three digits
	f := 0
	if frac != "" {
		f, _ = strconv.Atoi(frac)
		if len(frac) == 1 {
			f *= 10
		}
	}
	return w*100 + f, true
}
