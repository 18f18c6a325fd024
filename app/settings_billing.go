package app

// The Billing tab of the client's /settings and its pages: the billing
// module (owners and admins; docs/roles.md). Managers and users never
// see them: the tab, every page and every form answer them 403.
//
// The tab shows the subscription (plan, seats, add-ons, a pending change
// with its Cancel), the credit meter, what the plan includes and what it
// does not, the company's billing details (edited in place), a summary of
// the services with the next invoice and its estimate, the latest
// invoices and transactions, and for per-minute plans the minutes of the
// last 12 months. Every change of the subscription goes through a preview
// (GET, changes nothing) that shows each proration line, the amount due
// now and when it takes effect, and a form that confirms it.

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"portico/app/access"
	"portico/app/billing"
	"portico/app/billing/invoicepdf"
	"portico/app/calls"
	"portico/app/clients"
	"portico/app/dates"
	"portico/app/fault"
	"portico/store"
	"portico/store/money"
)

const (
	billingTabURL          = "/settings?tab=billing"
	billingChangeURL       = "/settings/billing/change"
	billingInvoicesURL     = "/settings/billing/invoices"
	billingTransactionsURL = "/settings/billing/transactions"
	// billingLatest is how many invoices and transactions the tab lists.
	billingLatest = 5
	// billingPageSize is how many rows one page of "See all" shows.
	billingPageSize = 25
	// billingMinutesMonths is how many months "Minutes per month" shows,
	// this month included.
	billingMinutesMonths = 12
)

// billingRoutes mounts the pages and forms of the Billing tab.
func (a *App) billingRoutes(settings fiber.Router) {
	view, edit := a.requireModule(access.Billing, access.View), a.requireModule(access.Billing, access.Edit)
	settings.Get("/billing/change", edit, a.showBillingChange)
	settings.Post("/billing/subscription", edit, a.changeBillingSubscription)
	settings.Post("/billing/details", edit, a.saveBillingDetails)
	settings.Get("/billing/invoices", view, a.listBillingInvoices)
	settings.Get("/billing/invoices/:id<int>", view, a.showBillingInvoice)
	settings.Get("/billing/invoices/:id<int>/pdf", view, a.sendBillingInvoicePDF)
	settings.Get("/billing/transactions", view, a.listBillingTransactions)
	settings.Get("/billing/transactions.csv", view, a.exportBillingTransactions)
	settings.Get("/billing/movements.csv", view, a.exportBillingMovements)
}

// zoneDay writes t as a day of loc: billing dates are the reseller's
// (a period starts at midnight in its zone).
func zoneDay(t time.Time, loc *time.Location) string { return t.In(loc).Format(dates.DayLayout) }

// invoiceZone is the zone an invoice froze at issue.
func invoiceZone(inv *store.Invoice) *time.Location {
	if loc, err := time.LoadLocation(inv.TimeZone); err == nil && inv.TimeZone != "" {
		return loc
	}
	return time.UTC
}

// exactColumn shows a column of amounts exactly, with one number of
// decimals down the column (money.ExactPlaces).
func exactColumn(currency string, amounts ...int64) money.Display {
	return money.Display{Exact: true, Places: money.ExactPlaces(currency, amounts...)}
}

// billingItem is one line of a table of priced items: the services
// summary, an invoice, a preview.
type billingItem struct {
	Label       string
	Quantity    int64
	Unit, Total string
}

// billingItemsOf shows invoice lines with one number of decimals down
// each column.
func billingItemsOf(lines []store.InvoiceLine, currency string) []billingItem {
	var amounts []int64
	for _, l := range lines {
		amounts = append(amounts, l.UnitPrice, l.Amount)
	}
	d := exactColumn(currency, amounts...)
	out := make([]billingItem, len(lines))
	for i, l := range lines {
		out[i] = billingItem{Label: l.Description, Quantity: l.Quantity, Unit: d.Text(l.UnitPrice, currency), Total: d.Text(l.Amount, currency)}
	}
	return out
}

// billingChoice is an option of the plan select.
type billingChoice struct {
	ID       uint64
	Label    string
	Selected bool
}

// billingAddOnRow is an add-on the plan offers, on or off.
type billingAddOnRow struct {
	ID    uint64
	Name  string
	Price string // "2.00 USD a seat a month"
	On    bool   // in the subscription (as it will be)
	// Ends: on now, removed at the period end; Starts: off now, added then.
	Ends, Starts bool
	// Toggle is the change that adds or removes it (the preview's query).
	Toggle string
}

// billingPackageRow is one calling package the plan includes.
type billingPackageRow struct {
	Name      string
	Countries string
	Scope     string // "Domestic calls only" / "Domestic and international"
	Allowance string // "Unlimited (fair use)", "1,000 min a month"
	// Used is the minutes the package covered this period, of its
	// allowance; Over: the allowance is used up (calls are charged).
	Used string
	Over bool
}

// billingPending is a change waiting for the period end, in words.
type billingPending struct {
	Plan   string
	Seats  int
	AddOns string
	At     string // "1 Dec 2026"
	Cancel map[string]any
}

// billingNext is the next invoice: its date and estimate.
type billingNext struct {
	Date     string
	Period   string // "December 2026"
	Now      bool   // this period's invoice, still to come
	Lines    []billingItem
	Subtotal string
	Tax      string
	HasTax   bool
	TaxRate  string // "8.25 %"
	TaxNote  string
	Total    string
}

// billingInvoiceRow is one invoice of a list.
type billingInvoiceRow struct {
	ID              uint64
	Number, Date    string
	What            string // "November 2026", "Plan change", "Credit purchase"
	Total, Due      string
	Status          string
	Overdue, Unpaid bool
}

// billingMinutesRow is one month of calls for per-minute plans.
type billingMinutesRow struct {
	Month                        time.Time
	Calls, MinutesOut, MinutesIn int64
	Cost                         string
	Current                      bool
}

// billingTabData is the Data of views/settings/billing.html.
type billingTabData struct {
	Currency string
	CanEdit  bool
	// Sub is the subscription (nil: none yet).
	Sub         *billing.SubscriptionView
	Plan        string // what the plan costs, in words
	PerMinute   bool
	Period      string // "1 Nov – 30 Nov 2026"
	SeatsNote   string // "6 until 30 Nov 2026, then 4"
	Pending     *billingPending
	Plans       []billingChoice
	AddOns      []billingAddOnRow
	Target      billing.Change // what the forms change from: the pending change, or the subscription
	TargetAddOn string         // its add-ons as the forms' add_ons field
	ChangeForm  *Form
	// Credit, what is included and what is not.
	Meter        Meter
	Packages     []billingPackageRow
	AllowPremium bool
	// Company billing details.
	Details   *Form
	Countries []clients.Country
	// The summary of services a month, the calls of this month and the
	// next invoice.
	Summary    []billingItem
	Monthly    string
	UsageCalls string // "24 calls"
	UsageMins  int64
	UsageCost  string
	Next       *billingNext
	// Lists.
	Invoices     []billingInvoiceRow
	Transactions []billingTransactionRow
	Minutes      []billingMinutesRow
}

// loadBillingTab shows the Billing tab (settings.go's registry).
func (a *App) loadBillingTab(c *fiber.Ctx) (any, error) {
	return a.billingTab(c, nil, nil)
}

// billingTab builds the tab; changeForm and details, when not nil, are
// refused forms to show again.
func (a *App) billingTab(c *fiber.Ctx, changeForm, details *Form) (*billingTabData, error) {
	tenant, user := tenantOf(c), userOf(c)
	cid := user.ClientID // scope: the session's client only
	loc := store.LocationOf(tenant)
	d := &billingTabData{Currency: tenant.Currency, CanEdit: a.accessOf(c).Allows(access.Billing, access.Edit),
		ChangeForm: changeForm, Details: details, Countries: clients.Countries()}
	if d.ChangeForm == nil {
		d.ChangeForm = newForm()
	}
	sub, err := a.billing.Subscription(tenant, cid)
	if err != nil && !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	if err == nil {
		d.Sub = sub
	}
	var cl *store.Client
	var plans []*store.Plan
	var addOns []*store.AddOn
	var numbers []*store.PhoneNumber
	err = a.store.View(func(tx *store.Tx) (err error) {
		if cl, err = tx.Client(tenant.ID, cid); err != nil {
			return err
		}
		d.Meter = meterOf(tenant, tx.Credit(cl))
		if plans, err = store.CatalogList[*store.Plan](tx, tenant.ID); err != nil {
			return err
		}
		if addOns, err = store.CatalogList[*store.AddOn](tx, tenant.ID); err != nil {
			return err
		}
		numbers, err = tx.ClientNumbers(tenant.ID, cid)
		return err
	})
	if err != nil {
		return nil, err
	}
	d.AllowPremium = cl.AllowPremium
	if d.Details == nil {
		d.Details = billingDetailsForm(cl.Billing)
	}

	// the subscription and the forms that change it
	if s := d.Sub; s != nil {
		d.Plan = planLabel(s.Plan, tenant.Currency)
		d.PerMinute = s.Plan.Kind == store.PlanPerMinute
		d.Period = zoneDay(s.Period.Start, loc) + " – " + zoneDay(s.Period.End.Add(-time.Second), loc)
		d.Target = billing.Change{PlanID: s.Sub.PlanID, Seats: s.Sub.Seats, AddOns: s.Sub.AddOns}
		if p := s.Sub.Pending; p != nil && s.PendingPlan != nil {
			d.Target = billing.Change{PlanID: p.PlanID, Seats: p.Seats, AddOns: p.AddOns}
			at := zoneDay(p.EffectiveAt, loc)
			d.Pending = &billingPending{Plan: s.PendingPlan.Name, Seats: p.Seats, AddOns: billingNames(s.PendingAddOns), At: at,
				Cancel: changeFields(billing.Change{PlanID: s.Sub.PlanID, Seats: s.Sub.Seats, AddOns: s.Sub.AddOns})}
			d.Pending.Cancel["cancel"] = "1"
			if p.Seats != s.Sub.Seats {
				d.SeatsNote = fmt.Sprintf("%d until %s, then %d", s.Sub.Seats, zoneDay(p.EffectiveAt.Add(-time.Second), loc), p.Seats)
			}
		}
	}
	targetPlan := (*store.Plan)(nil)
	for _, p := range plans {
		if p.ID == d.Target.PlanID {
			targetPlan = p
		}
		// an archived plan takes no new subscribers, but its own keep it
		if p.Status != store.CatalogActive && (d.Sub == nil || d.Sub.Sub.PlanID != p.ID) {
			continue
		}
		d.Plans = append(d.Plans, billingChoice{ID: p.ID, Label: planLabel(p, tenant.Currency), Selected: p.ID == d.Target.PlanID})
	}
	if _, ok := d.ChangeForm.Values["seats"]; !ok && d.Sub != nil {
		d.ChangeForm.Values["seats"] = strconv.Itoa(d.Target.Seats)
	} else if !ok {
		d.ChangeForm.Values["seats"] = "1"
	}
	d.TargetAddOn = billingIDs(d.Target.AddOns)
	if targetPlan != nil && d.Sub != nil {
		for _, x := range addOns {
			if !slices.Contains(targetPlan.AddOns, x.ID) {
				continue
			}
			on, now := slices.Contains(d.Target.AddOns, x.ID), slices.Contains(d.Sub.Sub.AddOns, x.ID)
			toggle := d.Target
			toggle.AddOns = slices.DeleteFunc(slices.Clone(d.Target.AddOns), func(id uint64) bool { return id == x.ID })
			if !on {
				toggle.AddOns = append(toggle.AddOns, x.ID)
			}
			d.AddOns = append(d.AddOns, billingAddOnRow{ID: x.ID, Name: x.Name, Price: billingAddOnPrice(x, tenant.Currency),
				On: on, Ends: now && !on, Starts: !now && on, Toggle: changeQuery(toggle)})
		}
	}

	// what the plan includes, as rating counts it (app/calls/packages.go)
	uses, err := a.calls.PackageUsage(tenant, cid)
	if err != nil {
		return nil, err
	}
	for _, u := range uses {
		d.Packages = append(d.Packages, billingPackageOf(u))
	}

	// services a month, calls this month, the next invoice
	if d.Summary, d.Monthly, err = billingSummary(d.Sub, numbers, tenant.Currency); err != nil {
		return nil, err
	}
	now := a.now()
	usage, err := a.calls.Usage(tenant.ID, cid, now.UTC())
	if err != nil {
		return nil, err
	}
	d.UsageCalls, d.UsageMins = plural(int(min(usage.Calls, 1<<31-1)), "call"), calls.Minutes(usage.SecondsIn+usage.SecondsOut)
	d.UsageCost = money.FormatNumber(usage.Cost, tenant.Currency)
	est, err := a.billing.EstimateNext(tenant, cid)
	if err != nil {
		return nil, err
	}
	d.Next = billingNextOf(est, loc)

	// the latest invoices and transactions, minutes per month
	list, _, err := a.billing.Invoices(tenant.ID, billing.InvoiceFilter{ClientID: cid, Limit: billingLatest})
	if err != nil {
		return nil, err
	}
	d.Invoices = billingInvoiceRows(list, now)
	if d.Transactions, _, err = a.billingTransactions(tenant, cid, 0, billingLatest); err != nil {
		return nil, err
	}
	if d.Sub == nil || d.PerMinute {
		if d.Minutes, err = a.billingMinutes(tenant, cid, now); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func billingAddOnPrice(x *store.AddOn, currency string) string {
	if x.PerSeat {
		return money.Format(x.MonthlyFee, currency) + " a seat a month"
	}
	return money.Format(x.MonthlyFee, currency) + " a month"
}

func billingNames(list []*store.AddOn) string {
	names := make([]string, len(list))
	for i, x := range list {
		names[i] = x.Name
	}
	return strings.Join(names, ", ")
}

// billingPackageOf describes an included package and its use this period.
func billingPackageOf(u calls.PackageUse) billingPackageRow {
	p := u.Package
	row := billingPackageRow{Name: p.Name, Scope: "Domestic and international"}
	if p.DomesticOnly {
		row.Scope = "Domestic calls only"
	}
	names := make([]string, 0, len(p.Countries))
	for _, code := range p.Countries {
		if n := clients.CountryName(code); n != "" {
			names = append(names, n)
		} else {
			names = append(names, code)
		}
	}
	slices.Sort(names)
	row.Countries = strings.Join(names, ", ")
	switch {
	case u.AllowanceMinutes == 0:
		row.Allowance = "Unlimited"
		row.Used = groupInt(u.UsedMinutes) + " min"
	case p.PerSeat:
		row.Allowance = fmt.Sprintf("%s min a month (%s per seat)", groupInt(u.AllowanceMinutes), groupInt(p.FairUseMinutes))
	default:
		row.Allowance = groupInt(u.AllowanceMinutes) + " min a month"
	}
	if u.AllowanceMinutes != 0 {
		row.Used = fmt.Sprintf("%s of %s min", groupInt(u.UsedMinutes), groupInt(u.AllowanceMinutes))
		row.Over = u.UsedMinutes >= u.AllowanceMinutes
	}
	return row
}

// groupInt writes a count with thousands separators: 12,500.
func groupInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// billingSummary lists what the client pays a month: the plan, extra
// seats, add-ons and numbers by type, each as quantity × unit price =
// total, and their sum before tax.
func billingSummary(sub *billing.SubscriptionView, numbers []*store.PhoneNumber, currency string) ([]billingItem, string, error) {
	type item struct {
		label       string
		q, unit, at int64
	}
	var items []item
	if sub != nil {
		p := sub.Plan
		items = append(items, item{label: "Plan " + p.Name, q: 1, unit: p.MonthlyFee})
		if extra := sub.Sub.Seats - p.IncludedSeats; extra > 0 && p.SeatFee != 0 {
			items = append(items, item{label: fmt.Sprintf("Extra seats (%d included)", p.IncludedSeats), q: int64(extra), unit: p.SeatFee})
		}
		for _, x := range sub.AddOns {
			q, label := int64(1), "Add-on "+x.Name
			if x.PerSeat {
				q, label = int64(max(sub.Sub.Seats, 1)), label+" (per seat)"
			}
			items = append(items, item{label: label, q: q, unit: x.MonthlyFee})
		}
	}
	type group struct {
		kind string
		fee  int64
	}
	counts := map[group]int64{}
	var order []group
	for _, n := range numbers {
		if n.Status != store.NumberAssigned {
			continue
		}
		g := group{n.Type, n.MonthlyFee}
		if _, ok := counts[g]; !ok {
			order = append(order, g)
		}
		counts[g]++
	}
	kindOrder := []string{store.NumberLocal, store.NumberMobile, store.NumberTollFree}
	slices.SortStableFunc(order, func(x, y group) int {
		if d := slices.Index(kindOrder, x.kind) - slices.Index(kindOrder, y.kind); d != 0 {
			return d
		}
		return int(min(max(x.fee-y.fee, -1), 1))
	})
	for _, g := range order {
		items = append(items, item{label: numberKindLabel(g.kind), q: counts[g], unit: g.fee})
	}
	var sum int64
	amounts := make([]int64, 0, 2*len(items))
	for i := range items {
		at, err := money.Mul(items[i].q, items[i].unit)
		if err == nil {
			sum, err = money.Add(sum, at)
		}
		if err != nil {
			return nil, "", err
		}
		items[i].at = at
		amounts = append(amounts, items[i].unit, at)
	}
	disp := exactColumn(currency, append(amounts, sum)...)
	out := make([]billingItem, len(items))
	for i, it := range items {
		out[i] = billingItem{Label: it.label, Quantity: it.q, Unit: disp.Text(it.unit, currency), Total: disp.Text(it.at, currency)}
	}
	return out, disp.Text(sum, currency), nil
}

func numberKindLabel(kind string) string {
	switch kind {
	case store.NumberMobile:
		return "Mobile numbers"
	case store.NumberTollFree:
		return "Toll-free numbers"
	}
	return "Local numbers"
}

// billingNextOf shows the estimate of the next invoice.
func billingNextOf(e *billing.Estimate, loc *time.Location) *billingNext {
	n := &billingNext{Date: zoneDay(e.IssueAt, loc), Period: e.Period.Start.Format(dates.MonthLayout), Now: e.IssueAt.After(e.Period.Start),
		Lines: billingItemsOf(e.Lines, e.Currency), TaxNote: e.TaxNote}
	d := exactColumn(e.Currency, e.Subtotal, e.Tax, e.Total)
	n.Subtotal, n.Tax, n.Total = d.Text(e.Subtotal, e.Currency), d.Text(e.Tax, e.Currency), d.Text(e.Total, e.Currency)
	n.TaxRate, n.HasTax = basisPointsText(e.TaxRate), e.Tax != 0
	return n
}

// billingInvoiceRows formats invoices for a list.
func billingInvoiceRows(list []*store.Invoice, now time.Time) []billingInvoiceRow {
	rows := make([]billingInvoiceRow, len(list))
	for i, inv := range list {
		rows[i] = billingInvoiceRow{ID: inv.ID, Number: inv.Number, Date: zoneDay(inv.IssuedAt, invoiceZone(inv)), What: invoicePeriodLabel(inv),
			Total: money.FormatNumber(inv.Total, inv.Currency), Due: money.FormatNumber(inv.AmountDue, inv.Currency),
			Status: inv.Status, Unpaid: inv.Unpaid(), Overdue: inv.Unpaid() && inv.DueAt.Before(now)}
	}
	return rows
}

// billingMinutes is the client's calls month by month, this month first.
func (a *App) billingMinutes(r *store.Reseller, cid uint64, now time.Time) ([]billingMinutesRow, error) {
	now = now.UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	rows := make([]billingMinutesRow, 0, billingMinutesMonths)
	for i := range billingMinutesMonths {
		u, err := a.calls.Usage(r.ID, cid, month.AddDate(0, -i, 0))
		if err != nil {
			return nil, err
		}
		rows = append(rows, billingMinutesRow{Month: u.Month, Calls: u.Calls, MinutesOut: calls.Minutes(u.SecondsOut),
			MinutesIn: calls.Minutes(u.SecondsIn), Cost: money.FormatNumber(u.Cost, r.Currency), Current: i == 0})
	}
	return rows, nil
}

// billingDetailsForm fills the billing details form.
func billingDetailsForm(b store.BillingDetails) *Form {
	f := newForm()
	for k, v := range map[string]string{"company": b.Company, "vat_number": b.VATNumber, "invoice_emails": strings.Join(b.InvoiceEmails, ", "),
		"address1": b.Address1, "address2": b.Address2, "city": b.City, "zip": b.Zip, "state": b.State, "country": b.Country} {
		f.Values[k] = v
	}
	return f
}

// changeFields are the hidden fields of a form that asks for ch.
func changeFields(ch billing.Change) map[string]any {
	return map[string]any{"plan": strconv.FormatUint(ch.PlanID, 10), "seats": strconv.Itoa(ch.Seats), "add_ons": billingIDs(ch.AddOns)}
}

// billingIDs writes add-on ids as one field: "3,7".
func billingIDs(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatUint(id, 10)
	}
	return strings.Join(s, ",")
}

// changeQuery is the preview's address for ch.
func changeQuery(ch billing.Change) string {
	v := url.Values{"plan": {strconv.FormatUint(ch.PlanID, 10)}, "seats": {strconv.Itoa(ch.Seats)}}
	for _, id := range ch.AddOns {
		v.Add("add_on", strconv.FormatUint(id, 10))
	}
	return billingChangeURL + "?" + v.Encode()
}

// readBillingChange reads a change (the preview's query, the confirming
// form's body) as readChange does, with the add-ons also as one add_ons
// field of ids separated by commas (a form's hidden field).
func readBillingChange(args *fasthttp.Args) (billing.Change, *Form) {
	ch, form := readChange(args)
	if s := strings.TrimSpace(string(args.Peek("add_ons"))); s != "" {
		for _, v := range strings.Split(s, ",") {
			id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				form.Errors["add_ons"] = "Choose add-ons from the list."
				continue
			}
			if !slices.Contains(ch.AddOns, id) {
				ch.AddOns = append(ch.AddOns, id)
			}
		}
	}
	return ch, form
}

// renderBillingRefused shows the tab again with 422 and the messages of a
// refused change or details form.
func (a *App) renderBillingRefused(c *fiber.Ctx, changeForm, details *Form) error {
	d, err := a.billingTab(c, changeForm, details)
	if err != nil {
		return err
	}
	return a.renderSettingsTab(c, fiber.StatusUnprocessableEntity, "billing", d)
}

// billingChangeData is the Data of views/settings/billing-change.html.
type billingChangeData struct {
	Currency string
	Before   string // the subscription now, in words ("" when none)
	After    string // what it will be
	// Dropped are add-ons the chosen plan does not offer: they end.
	Dropped               []string
	Lines                 []billingItem
	Subtotal, Tax, DueNow string
	Charged               bool // an invoice is issued now
	Credit                bool // the change credits the next invoice
	Starting              bool // no subscription yet
	Deferred              bool // (part of) the change waits for the period end
	Unchanged             bool // nothing would change
	EffectiveAt           string
	// Replaces is the pending change this one replaces, in words.
	Replaces string
	// Fields are the confirming form's hidden fields.
	Fields map[string]any
	// Moved: the amounts changed between the preview and the confirmation.
	Moved bool
}

// showBillingChange previews a change of the subscription: each line of
// the proration invoice, the amount due now and when it takes effect,
// with the button that confirms it. It changes nothing.
func (a *App) showBillingChange(c *fiber.Ctx) error {
	ch, form := readBillingChange(c.Context().QueryArgs())
	return a.renderBillingChange(c, ch, form, false)
}

func (a *App) renderBillingChange(c *fiber.Ctx, ch billing.Change, form *Form, moved bool) error {
	tenant, user := tenantOf(c), userOf(c)
	if len(form.Errors) > 0 {
		form.Error = "Nothing was changed. Please correct the fields marked below."
		return a.renderBillingRefused(c, form, nil)
	}
	cur, err := a.billing.Subscription(tenant, user.ClientID)
	if err != nil && !fault.Is(err, fault.NotFound) {
		return err
	}
	// add-ons the chosen plan does not offer end with the change: the
	// preview says so rather than refusing the plan
	var plan *store.Plan
	names := map[uint64]string{}
	err = a.store.View(func(tx *store.Tx) error {
		p, err := store.Catalog[*store.Plan](tx, tenant.ID, ch.PlanID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // the service refuses it
		} else if err != nil {
			return err
		}
		plan = p
		all, err := store.CatalogList[*store.AddOn](tx, tenant.ID)
		for _, x := range all {
			names[x.ID] = x.Name
		}
		return err
	})
	if err != nil {
		return err
	}
	data := billingChangeData{Currency: tenant.Currency, Starting: cur == nil, Moved: moved}
	if plan != nil {
		kept := ch.AddOns[:0:0]
		for _, id := range ch.AddOns {
			if slices.Contains(plan.AddOns, id) || names[id] == "" {
				kept = append(kept, id)
			} else {
				data.Dropped = append(data.Dropped, names[id])
			}
		}
		ch.AddOns = kept
	}
	p, err := a.billing.PreviewChange(tenant, user.ClientID, ch)
	if form.refused(err) {
		form.Error = "Nothing was changed. Please correct the fields marked below."
		return a.renderBillingRefused(c, form, nil)
	}
	if err != nil {
		return err
	}
	loc := store.LocationOf(tenant)
	describe := func(planName string, seats int, addOns []uint64) string {
		s := planName + ", " + plural(seats, "seat")
		var list []string
		for _, id := range addOns {
			list = append(list, names[id])
		}
		if len(list) > 0 {
			s += ", with " + strings.Join(list, ", ")
		}
		return s
	}
	if cur != nil {
		data.Before = describe(cur.Plan.Name, cur.Sub.Seats, cur.Sub.AddOns)
		if pc := cur.Sub.Pending; pc != nil && cur.PendingPlan != nil {
			data.Replaces = describe(cur.PendingPlan.Name, pc.Seats, pc.AddOns) + " from " + zoneDay(pc.EffectiveAt, loc)
		}
		same := cur.Sub.PlanID == ch.PlanID && cur.Sub.Seats == ch.Seats && slices.Equal(slices.Sorted(slices.Values(cur.Sub.AddOns)), slices.Sorted(slices.Values(ch.AddOns)))
		data.Unchanged = same && cur.Sub.Pending == nil
	}
	if plan != nil {
		data.After = describe(plan.Name, ch.Seats, ch.AddOns)
	}
	data.Lines = billingItemsOf(p.Lines, tenant.Currency)
	disp := exactColumn(tenant.Currency, p.Subtotal, p.Tax, p.DueNow)
	data.Subtotal, data.Tax, data.DueNow = disp.Text(p.Subtotal, tenant.Currency), disp.Text(p.Tax, tenant.Currency), disp.Text(p.DueNow, tenant.Currency)
	data.Charged, data.Credit, data.Deferred = p.DueNow > 0, p.Subtotal < 0, p.Deferred != nil
	data.EffectiveAt = zoneDay(p.EffectiveAt, loc)
	data.Fields = changeFields(ch)
	data.Fields["due"] = strconv.FormatInt(p.DueNow, 10)
	status := fiber.StatusOK
	if moved {
		status = fiber.StatusConflict
	}
	return a.render(c, status, "settings/billing-change", "Change your subscription", data)
}

// changeBillingSubscription makes the change the preview showed: an
// upgrade or added seats and add-ons at once with their proration
// invoice, a downgrade or removals at the period end; cancel=1 keeps the
// subscription as it is and drops its pending change. When the amount due
// now is not what the preview showed (a day passed, the catalogue
// changed), nothing changes and the new preview is shown (409).
func (a *App) changeBillingSubscription(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	args := c.Request().PostArgs()
	ch, form := readBillingChange(args)
	if len(form.Errors) > 0 {
		form.Error = "Nothing was changed. Please correct the fields marked below."
		return a.renderBillingRefused(c, form, nil)
	}
	if due := string(args.Peek("due")); due != "" {
		want, err := strconv.ParseInt(due, 10, 64)
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "The confirmation is not one this page made.")
		}
		ch.DueNow = &want
	} else if string(args.Peek("cancel")) == "1" {
		none := int64(0) // a Cancel never charges: a stale one must not become an upgrade
		ch.DueNow = &none
	}
	before, err := a.billing.Subscription(tenant, user.ClientID)
	if err != nil && !fault.Is(err, fault.NotFound) {
		return err
	}
	view, issued, err := a.billing.ChangeSubscription(tenant, user.ClientID, ch, a.actor(c)) // scope: the session's client
	if errors.Is(err, billing.ErrDueMoved) {
		ch.DueNow = nil
		return a.renderBillingChange(c, ch, form, true)
	}
	if form.refused(err) {
		form.Error = "Nothing was changed. Please correct the fields marked below."
		return a.renderBillingRefused(c, form, nil)
	}
	if err != nil {
		return err
	}
	loc := store.LocationOf(tenant)
	var msg string
	if string(args.Peek("cancel")) == "1" && before != nil && before.Sub.Pending != nil {
		msg = fmt.Sprintf("The change planned for %s is cancelled: you keep %s with %s.", zoneDay(before.Sub.Pending.EffectiveAt, loc), view.Plan.Name, plural(view.Sub.Seats, "seat"))
	} else {
		msg = fmt.Sprintf("You are on %s with %s.", view.Plan.Name, plural(view.Sub.Seats, "seat"))
		if p := view.Sub.Pending; p != nil && view.PendingPlan != nil {
			msg += fmt.Sprintf(" From %s: %s with %s.", zoneDay(p.EffectiveAt, loc), view.PendingPlan.Name, plural(p.Seats, "seat"))
		}
	}
	if issued != nil {
		msg += fmt.Sprintf(" Invoice %s of %s was issued for the rest of the month.", issued.Number, money.Format(issued.Total, issued.Currency))
	}
	a.setFlash(c, "success", msg)
	return c.Redirect(billingTabURL+"#subscription", fiber.StatusSeeOther)
}

// saveBillingDetails saves the company's billing details, or shows the
// tab again with 422 and every field at fault, nothing saved.
func (a *App) saveBillingDetails(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	form := newForm()
	field := func(name string) string {
		v := strings.Clone(c.FormValue(name)) // Fiber reuses the request's memory
		form.Values[name] = v
		return v
	}
	d := store.BillingDetails{Company: field("company"), VATNumber: field("vat_number"), Address1: field("address1"),
		Address2: field("address2"), City: field("city"), Zip: field("zip"), State: field("state"), Country: field("country")}
	d.InvoiceEmails = strings.FieldsFunc(field("invoice_emails"), func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	})
	_, err := a.billing.SetBillingDetails(tenant, user.ClientID, d, a.actor(c)) // scope: the session's client
	if form.refused(err) {
		form.Error = "Nothing was saved. Please correct the fields marked below."
		return a.renderBillingRefused(c, nil, form)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "Your billing details are saved. Invoices issued from now on are addressed with them.")
	return c.Redirect(billingTabURL+"#details", fiber.StatusSeeOther)
}

// billingInvoicesData is the Data of views/settings/billing-invoices.html.
type billingInvoicesData struct {
	Form      *Form
	Statuses  []option
	Rows      []billingInvoiceRow
	Currency  string
	Filtered  bool
	NextURL   string
	FirstURL  string
	FirstPage bool
}

// billingInvoiceStatuses are the invoice list's filter: all, paid, unpaid.
var billingInvoiceStatuses = []option{{"", "All"}, {store.InvoicePaid, "Paid"}, {"unpaid", "Unpaid"}}

// listBillingInvoices lists the client's invoices, newest first, a page at
// a time, all or paid or unpaid.
func (a *App) listBillingInvoices(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	status := c.Query("status")
	if status == "all" {
		status = ""
	}
	d := billingInvoicesData{Form: newForm(), Statuses: billingInvoiceStatuses, Currency: tenant.Currency, Filtered: status != ""}
	d.Form.Values["status"] = status
	if !slices.ContainsFunc(billingInvoiceStatuses, func(o option) bool { return o.Value == status }) {
		d.Form.Errors["status"] = "Choose all, paid or unpaid."
		d.FirstPage = true
		return a.render(c, fiber.StatusBadRequest, "settings/billing-invoices", "Invoices", d)
	}
	before, _ := strconv.ParseUint(c.Query("before"), 10, 64)
	list, more, err := a.billing.Invoices(tenant.ID, billing.InvoiceFilter{Status: status, ClientID: user.ClientID, Before: before, Limit: billingPageSize})
	if err != nil {
		return err
	}
	d.Rows, d.FirstPage = billingInvoiceRows(list, a.now()), before == 0
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	d.FirstURL = billingInvoicesURL
	if len(q) > 0 {
		d.FirstURL += "?" + q.Encode()
	}
	if more {
		q.Set("before", strconv.FormatUint(list[len(list)-1].ID, 10))
		d.NextURL = billingInvoicesURL + "?" + q.Encode()
	}
	return a.render(c, fiber.StatusOK, "settings/billing-invoices", "Invoices", d)
}

// billingInvoiceData is the Data of views/settings/billing-invoice.html.
type billingInvoiceData struct {
	Inv                          *store.Invoice
	Row                          billingInvoiceRow
	Issued, DueDate, Paid        string
	Period                       string
	Lines                        []billingItem
	Subtotal, Tax, Total, Amount string
	TaxRate                      string
	SellerCountry, BuyerCountry  string
}

// showBillingInvoice is one of the client's invoices (the invoice mail
// links here); another client's is not found.
func (a *App) showBillingInvoice(c *fiber.Ctx) error {
	inv, err := a.billingInvoiceParam(c)
	if err != nil {
		return err
	}
	loc := invoiceZone(inv)
	d := billingInvoiceData{Inv: inv, Row: billingInvoiceRows([]*store.Invoice{inv}, a.now())[0],
		Issued: zoneDay(inv.IssuedAt, loc), DueDate: zoneDay(inv.DueAt, loc), Lines: billingItemsOf(inv.Lines, inv.Currency),
		TaxRate: basisPointsText(inv.TaxRate), SellerCountry: clients.CountryName(inv.Seller.Country), BuyerCountry: clients.CountryName(inv.Buyer.Country)}
	if !inv.PaidAt.IsZero() {
		d.Paid = zoneDay(inv.PaidAt, loc)
	}
	if !inv.PeriodStart.IsZero() && inv.PeriodEnd.After(inv.PeriodStart) {
		d.Period = zoneDay(inv.PeriodStart, loc) + " – " + zoneDay(inv.PeriodEnd.Add(-time.Second), loc)
	}
	disp := exactColumn(inv.Currency, inv.Subtotal, inv.Tax, inv.Total, inv.AmountDue)
	d.Subtotal, d.Tax, d.Total, d.Amount = disp.Text(inv.Subtotal, inv.Currency), disp.Text(inv.Tax, inv.Currency),
		disp.Text(inv.Total, inv.Currency), disp.Text(inv.AmountDue, inv.Currency)
	return a.render(c, fiber.StatusOK, "settings/billing-invoice", "Invoice "+inv.Number, d)
}

// sendBillingInvoicePDF sends one of the client's invoices as PDF,
// rendered from the frozen invoice (the same bytes each time).
func (a *App) sendBillingInvoicePDF(c *fiber.Ctx) error {
	inv, err := a.billingInvoiceParam(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := invoicepdf.Render(&buf, inv, a.billing.InvoiceLogo(inv)); err != nil {
		return fmt.Errorf("invoice %d: %w", inv.ID, err)
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf("inline; filename=%q", inv.Number+".pdf"))
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(buf.Bytes())
}

// billingInvoiceParam loads the invoice of :id; it must be the session's
// client's (another's, or another reseller's, is not found).
func (a *App) billingInvoiceParam(c *fiber.Ctx) (*store.Invoice, error) {
	id, err := strconv.ParseUint(c.Params("id"), 10, 64)
	if err != nil {
		return nil, fiber.ErrNotFound
	}
	return a.billing.Invoice(tenantOf(c).ID, userOf(c).ClientID, id)
}

// billingTransactionRow is one movement of what the client owes on its
// invoices: an invoice issued (it grows), paid or voided (it shrinks).
type billingTransactionRow struct {
	ID        uint64 // the ledger transaction
	At        time.Time
	What      string // "Invoice ACME-2026-000003 issued"
	InvoiceID uint64
	Amount    string
	OwedAfter string
}

// billingTransactions lists the client's transactions (billing.Transactions,
// as the API does), newest first, below the ledger transaction before (0:
// the newest), at most limit; more reports whether older ones follow.
func (a *App) billingTransactions(r *store.Reseller, cid, before uint64, limit int) ([]billingTransactionRow, bool, error) {
	list, more, err := a.billing.Transactions(r.ID, cid, before, limit)
	if err != nil {
		return nil, false, err
	}
	var amounts, owed []int64
	for _, m := range list {
		amounts, owed = append(amounts, m.Amount), append(owed, m.BalanceAfter)
	}
	ad, od := exactColumn(r.Currency, amounts...), exactColumn(r.Currency, owed...)
	rows := make([]billingTransactionRow, len(list))
	for i, m := range list {
		what := m.Kind + " " + m.Note
		switch m.Kind {
		case store.KindInvoice:
			what = "Invoice " + m.Note + " issued"
		case store.KindPayment:
			what = "Invoice " + m.Note + " paid"
		case store.KindVoid:
			what = "Invoice " + m.Note + " voided"
		}
		rows[i] = billingTransactionRow{ID: m.ID, At: m.At, What: what, InvoiceID: m.InvoiceID(),
			Amount: ad.Text(m.Amount, r.Currency), OwedAfter: od.Text(m.BalanceAfter, r.Currency)}
	}
	return rows, more, nil
}

// billingTransactionsData is the Data of views/settings/billing-transactions.html.
type billingTransactionsData struct {
	Rows      []billingTransactionRow
	Currency  string
	NextURL   string
	FirstPage bool
}

// listBillingTransactions lists every movement of what the client owes
// on its invoices, a page at a time.
func (a *App) listBillingTransactions(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	before, _ := strconv.ParseUint(c.Query("before"), 10, 64)
	rows, more, err := a.billingTransactions(tenant, user.ClientID, before, billingPageSize)
	if err != nil {
		return err
	}
	d := billingTransactionsData{Rows: rows, Currency: tenant.Currency, FirstPage: before == 0}
	if more {
		d.NextURL = billingTransactionsURL + "?before=" + strconv.FormatUint(rows[len(rows)-1].ID, 10)
	}
	return a.render(c, fiber.StatusOK, "settings/billing-transactions", "Transactions", d)
}

// exportBillingTransactions sends every transaction as CSV, the file of
// the API's GET /transactions?format=csv, read a page at a time.
func (a *App) exportBillingTransactions(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	cid := user.ClientID // scope: the session's client
	return a.sendLedgerCSV(c, tenant, cid, store.ReceivableOf(tenant.ID, cid), transactionsExportCSV, a.clientUsername(c)+"-transactions.csv")
}

// exportBillingMovements sends the client's credit movements as CSV, as
// the reseller's client page does.
func (a *App) exportBillingMovements(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	cid := user.ClientID // scope: the session's client
	return a.sendLedgerCSV(c, tenant, cid, store.WalletOf(tenant.ID, cid), creditMovementsCSV, a.clientUsername(c)+"-credit-movements.csv")
}

// clientUsername is the session's client's username, for file names.
func (a *App) clientUsername(c *fiber.Ctx) string {
	name := "billing"
	_ = a.store.View(func(tx *store.Tx) error {
		if cl, err := tx.Client(tenantOf(c).ID, userOf(c).ClientID); err == nil {
			name = cl.Username
		}
		return nil
	})
	return name
}

// navPath is the address the menu marks as current: the Billing tab and
// its pages are the Billing entry's, not the Settings entry's.
func navPath(c *fiber.Ctx) string {
	if p := c.Path(); p == "/settings" && c.Query("tab") == "billing" || strings.HasPrefix(p, "/settings/billing/") {
		return billingTabURL
	}
	return c.Path()
}
