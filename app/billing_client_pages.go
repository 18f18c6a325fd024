package app

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"portico/app/billing"
	"portico/app/dates"
	"portico/app/fault"
	"portico/store"
	"portico/store/money"
)

// A client's subscription as the reseller's billing staff see and change
// it: the Billing section of the client's page, and the page that
// previews a change (GET, changes nothing) and confirms it (POST).

// planOption is one plan of the subscription form.
type planOption struct {
	ID       uint64
	Label    string // "Pro · 30.00 a month, 5 seats included, 4.00 a seat more"
	Selected bool
}

// addOnOption is one add-on of the subscription form.
type addOnOption struct {
	ID      uint64
	Label   string // "Recording · 2.00 a seat a month"
	Checked bool
}

// clientBillingData is the Billing section of a client's page and the
// form of the subscription page.
type clientBillingData struct {
	Client *store.Client
	// Sub is the subscription (nil when the client has none).
	Sub       *billing.SubscriptionView
	Monthly   string // the subscription's monthly price, before tax
	AddOns    string // its add-ons' names, "" for none
	Pending   string // the change waiting for the period end, in words
	PendingAt time.Time
	Currency  string
	// The form: plans, seats and add-ons, filled with the subscription
	// (or with what was asked).
	Form       *Form
	Plans      []planOption
	AddOnItems []addOnOption
	// Invoices are the client's latest; AllURL lists them all.
	Invoices []invoiceRow
	AllURL   string
}

// clientInvoicesShown is how many invoices the client's page lists.
const clientInvoicesShown = 5

// clientBilling builds the Billing section of cl's page; ch, when not
// nil, fills the form instead of the subscription.
func (a *App) clientBilling(r *store.Reseller, cl *store.Client, ch *billing.Change, form *Form) (*clientBillingData, error) {
	d := &clientBillingData{Client: cl, Currency: r.Currency, Form: form,
		AllURL: resellerInvoicesURL + "?" + url.Values{"client": {cl.Username}}.Encode()}
	if d.Form == nil {
		d.Form = newForm()
	}
	sub, err := a.billing.Subscription(r, cl.ID) // tenant scope: the reseller from the host
	if err != nil && !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	if err == nil {
		d.Sub = sub
		monthly, err := billing.Config{Plan: sub.Plan, Seats: sub.Sub.Seats, AddOns: sub.AddOns}.Monthly()
		if err != nil {
			return nil, err
		}
		d.Monthly = money.FormatNumber(monthly, r.Currency)
		d.AddOns = addOnNames(sub.AddOns)
		if p := sub.Sub.Pending; p != nil && sub.PendingPlan != nil {
			d.Pending = fmt.Sprintf("%s, %s", sub.PendingPlan.Name, plural(p.Seats, "seat"))
			if names := addOnNames(sub.PendingAddOns); names != "" {
				d.Pending += ", with " + names
			}
			d.PendingAt = p.EffectiveAt
		}
	}
	if ch == nil {
		ch = &billing.Change{Seats: 1}
		if d.Sub != nil {
			ch = &billing.Change{PlanID: d.Sub.Sub.PlanID, Seats: d.Sub.Sub.Seats, AddOns: d.Sub.Sub.AddOns}
			if p := d.Sub.Sub.Pending; p != nil { // the form starts from what the client will have
				ch = &billing.Change{PlanID: p.PlanID, Seats: p.Seats, AddOns: p.AddOns}
			}
		}
		if _, ok := d.Form.Values["seats"]; !ok {
			d.Form.Values["seats"] = strconv.Itoa(ch.Seats)
		}
	}
	var plans []*store.Plan
	var addOns []*store.AddOn
	err = a.store.View(func(tx *store.Tx) (err error) {
		if plans, err = store.CatalogList[*store.Plan](tx, r.ID); err != nil {
			return err
		}
		addOns, err = store.CatalogList[*store.AddOn](tx, r.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, p := range plans {
		// an archived plan takes no new subscribers, but its own keep it
		if p.Status != store.CatalogActive && (d.Sub == nil || d.Sub.Sub.PlanID != p.ID) {
			continue
		}
		d.Plans = append(d.Plans, planOption{ID: p.ID, Label: planLabel(p, r.Currency), Selected: p.ID == ch.PlanID})
	}
	for _, x := range addOns {
		d.AddOnItems = append(d.AddOnItems, addOnOption{ID: x.ID, Label: addOnLabel(x, r.Currency), Checked: slices.Contains(ch.AddOns, x.ID)})
	}
	list, _, err := a.billing.Invoices(r.ID, billing.InvoiceFilter{ClientID: cl.ID, Limit: clientInvoicesShown})
	if err != nil {
		return nil, err
	}
	d.Invoices = invoiceRowsOf(list, a.now())
	return d, nil
}

func addOnNames(list []*store.AddOn) string {
	names := make([]string, len(list))
	for i, x := range list {
		names[i] = x.Name
	}
	return strings.Join(names, ", ")
}

// planLabel says what a plan costs: "Pro · 30.00 USD a month, 5 seats
// included, 4.00 USD a seat more".
func planLabel(p *store.Plan, currency string) string {
	if p.Kind == store.PlanPerMinute {
		return p.Name + " · per minute, no monthly fee"
	}
	s := fmt.Sprintf("%s · %s a month", p.Name, money.Format(p.MonthlyFee, currency))
	if p.IncludedSeats > 0 {
		s += ", " + plural(p.IncludedSeats, "seat") + " included"
	}
	if p.SeatFee > 0 {
		s += ", " + money.Format(p.SeatFee, currency) + " a seat more"
	}
	if p.Status != store.CatalogActive {
		s += " (archived)"
	}
	return s
}

func addOnLabel(x *store.AddOn, currency string) string {
	per := " a month"
	if x.PerSeat {
		per = " a seat a month"
	}
	return x.Name + " · " + money.Format(x.MonthlyFee, currency) + per
}

// readChange reads a subscription form (the query of the preview, the
// body of the confirmation) into a change, with a message for each field
// that cannot be read.
func readChange(args *fasthttp.Args) (billing.Change, *Form) {
	form := newForm()
	plan, seats := strings.TrimSpace(string(args.Peek("plan"))), strings.TrimSpace(string(args.Peek("seats")))
	form.Values["plan"], form.Values["seats"] = plan, seats
	var ch billing.Change
	if id, err := strconv.ParseUint(plan, 10, 64); err == nil {
		ch.PlanID = id
	} else {
		form.Errors["plan"] = "Choose a plan."
	}
	if n, err := strconv.Atoi(seats); err == nil {
		ch.Seats = n
	} else {
		form.Errors["seats"] = "A whole number of seats, e.g. 3."
	}
	for _, v := range args.PeekMulti("add_on") {
		if id, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			ch.AddOns = append(ch.AddOns, id)
		} else {
			form.Errors["add_ons"] = "Choose add-ons from the list."
		}
	}
	return ch, form
}

// previewView is what a change would do, for people.
type previewView struct {
	Lines                 []invoiceLineView
	Subtotal, Tax, DueNow string
	Charged               bool // an invoice is issued now
	Credit                bool // the change credits the next invoice
	Starting              bool // the client has no subscription yet
	EffectiveAt           time.Time
	Deferred              bool // waits for the period end
	Plan                  string
	Seats                 int
	AddOns                string
	// Values are the confirmed form's fields; DueMinor is the amount due
	// now it confirms (minor units): changed by then, nothing changes.
	PlanID   uint64
	AddOnIDs []uint64
	DueMinor int64
}

type subscriptionPageData struct {
	Client  *store.Client
	Billing *clientBillingData
	Preview *previewView
}

// showClientSubscription is the subscription form of one client and,
// when the form was sent (a GET: a preview changes nothing), what the
// change would do: the lines and the amount due now, or the date it
// takes effect, with the button that confirms it.
func (a *App) showClientSubscription(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	cl, err := a.clientParam(c)
	if err != nil {
		return err
	}
	args := c.Context().QueryArgs()
	if !args.Has("plan") {
		data, err := a.clientBilling(tenant, cl, nil, nil)
		if err != nil {
			return err
		}
		return a.render(c, fiber.StatusOK, "clients/subscription", "Subscription of "+cl.Username, subscriptionPageData{Client: cl, Billing: data})
	}
	ch, form := readChange(args)
	p, err := a.billing.PreviewChange(tenant, cl.ID, ch)
	if err != nil {
		return a.subscriptionRefused(c, tenant, cl, ch, form, err)
	}
	data, err := a.clientBilling(tenant, cl, &ch, form)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "clients/subscription", "Subscription of "+cl.Username,
		subscriptionPageData{Client: cl, Billing: data, Preview: a.previewOf(tenant, data, ch, p)})
}

// subscriptionRefused shows the form again with 422 and every problem:
// those of reading the form first, then the service's.
func (a *App) subscriptionRefused(c *fiber.Ctx, tenant *store.Reseller, cl *store.Client, ch billing.Change, form *Form, err error) error {
	own := form.Errors
	form.Errors = map[string]string{}
	if !form.refused(err) && len(own) == 0 {
		return err
	}
	for k, v := range own {
		form.Errors[k] = v
	}
	form.Error = "Nothing was changed. Please correct the fields marked below."
	data, derr := a.clientBilling(tenant, cl, &ch, form)
	if derr != nil {
		return derr
	}
	return a.render(c, fiber.StatusUnprocessableEntity, "clients/subscription", "Subscription of "+cl.Username, subscriptionPageData{Client: cl, Billing: data})
}

// subscriptionMoved shows the preview again, as it is now, with 409: the
// amount due changed between the preview and its confirmation.
func (a *App) subscriptionMoved(c *fiber.Ctx, tenant *store.Reseller, cl *store.Client, ch billing.Change, form *Form) error {
	ch.DueNow = nil
	p, err := a.billing.PreviewChange(tenant, cl.ID, ch)
	if err != nil {
		return a.subscriptionRefused(c, tenant, cl, ch, form, err)
	}
	form.Error = "The amounts changed since the preview; nothing was changed. Check the new amounts and confirm again."
	data, err := a.clientBilling(tenant, cl, &ch, form)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusConflict, "clients/subscription", "Subscription of "+cl.Username,
		subscriptionPageData{Client: cl, Billing: data, Preview: a.previewOf(tenant, data, ch, p)})
}

func (a *App) previewOf(r *store.Reseller, d *clientBillingData, ch billing.Change, p *billing.Preview) *previewView {
	amounts := []int64{p.Subtotal, p.Tax, p.DueNow}
	for _, l := range p.Lines {
		amounts = append(amounts, l.UnitPrice, l.Amount)
	}
	exact := money.Display{Exact: true, Places: money.ExactPlaces(r.Currency, amounts...)}
	v := &previewView{Subtotal: exact.Text(p.Subtotal, r.Currency), Tax: exact.Text(p.Tax, r.Currency), DueNow: exact.Text(p.DueNow, r.Currency),
		Charged: p.DueNow > 0, Credit: p.Subtotal < 0, Starting: d.Sub == nil, EffectiveAt: p.EffectiveAt, Deferred: p.Deferred != nil,
		Seats: ch.Seats, PlanID: ch.PlanID, AddOnIDs: ch.AddOns, DueMinor: p.DueNow}
	for _, l := range p.Lines {
		v.Lines = append(v.Lines, invoiceLineView{Description: l.Description, Quantity: l.Quantity,
			UnitPrice: exact.Text(l.UnitPrice, r.Currency), Amount: exact.Text(l.Amount, r.Currency)})
	}
	var names []string
	for _, o := range d.Plans {
		if o.ID == ch.PlanID {
			v.Plan, _, _ = strings.Cut(o.Label, " · ")
		}
	}
	for _, o := range d.AddOnItems {
		if o.Checked {
			name, _, _ := strings.Cut(o.Label, " · ")
			names = append(names, name)
		}
	}
	v.AddOns = strings.Join(names, ", ")
	return v
}

// changeClientSubscription makes the previewed change: an upgrade at
// once with its proration invoice, a downgrade at the period end.
func (a *App) changeClientSubscription(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	cl, err := a.clientParam(c)
	if err != nil {
		return err
	}
	ch, form := readChange(c.Request().PostArgs())
	if len(form.Errors) > 0 {
		return a.subscriptionRefused(c, tenant, cl, ch, form, nil)
	}
	if due := string(c.Request().PostArgs().Peek("due")); due != "" {
		want, err := strconv.ParseInt(due, 10, 64)
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "The confirmation is not one this page made.")
		}
		ch.DueNow = &want // checked where the change is made
	}
	view, issued, err := a.billing.ChangeSubscription(tenant, cl.ID, ch, a.actor(c)) // tenant scope
	if errors.Is(err, billing.ErrDueMoved) {
		return a.subscriptionMoved(c, tenant, cl, ch, form)
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		return a.subscriptionRefused(c, tenant, cl, ch, form, err)
	}
	msg := fmt.Sprintf("%s is on %s with %s.", cl.Username, view.Plan.Name, plural(view.Sub.Seats, "seat"))
	if p := view.Sub.Pending; p != nil && view.PendingPlan != nil {
		msg += fmt.Sprintf(" From %s: %s with %s.", dates.Day(p.EffectiveAt), view.PendingPlan.Name, plural(p.Seats, "seat"))
	}
	if issued != nil {
		msg += fmt.Sprintf(" Invoice %s of %s was issued for the rest of the month.", issued.Number, money.Format(issued.Total, issued.Currency))
	}
	a.setFlash(c, "success", msg)
	return c.Redirect(clientURL(cl)+"#billing", fiber.StatusSeeOther)
}
