package billing

import (
	"fmt"
	"slices"

	"portico/store"
	"portico/store/money"
)

// Config is a subscription's priced content: a plan, seats and add-ons.
type Config struct {
	Plan   *store.Plan
	Seats  int
	AddOns []*store.AddOn
}

// component is one priced part of a Config: the plan fee, the seats
// beyond those included, or an add-on.
type component struct {
	key         string // "plan:1", "seats:1", "add_on:3"
	kind        string // invoice line kind
	description string
	quantity    int64
	unitPrice   int64
}

// components lists the parts of c that cost something.
func (c Config) components() []component {
	if c.Plan == nil {
		return nil
	}
	var out []component
	if c.Plan.MonthlyFee != 0 {
		out = append(out, component{key: fmt.Sprintf("plan:%d", c.Plan.ID), kind: "plan",
			description: "Plan " + c.Plan.Name, quantity: 1, unitPrice: c.Plan.MonthlyFee})
	}
	if extra := c.Seats - c.Plan.IncludedSeats; extra > 0 && c.Plan.SeatFee != 0 {
		out = append(out, component{key: fmt.Sprintf("seats:%d", c.Plan.ID), kind: "seat",
			description: fmt.Sprintf("Extra seats (%d included in %s)", c.Plan.IncludedSeats, c.Plan.Name),
			quantity:    int64(extra), unitPrice: c.Plan.SeatFee})
	}
	for _, a := range c.AddOns {
		if a.MonthlyFee == 0 {
			continue
		}
		q := int64(1)
		desc := "Add-on " + a.Name
		if a.PerSeat {
			q = int64(max(c.Seats, 1))
			desc += " (per seat)"
		}
		out = append(out, component{key: fmt.Sprintf("add_on:%d", a.ID), kind: "add_on", description: desc,
			quantity: q, unitPrice: a.MonthlyFee})
	}
	return out
}

// Monthly is what c costs for a whole period, before tax.
func (c Config) Monthly() (int64, error) {
	var sum int64
	for _, p := range c.components() {
		a, err := money.Mul(p.quantity, p.unitPrice)
		if err == nil {
			sum, err = money.Add(sum, a)
		}
		if err != nil {
			return 0, err
		}
	}
	return sum, nil
}

// line makes an invoice line of quantity × unitPrice.
func line(kind, description string, quantity, unitPrice int64) (store.InvoiceLine, error) {
	amount, err := money.Mul(quantity, unitPrice)
	return store.InvoiceLine{Kind: kind, Description: description, Quantity: quantity, UnitPrice: unitPrice, Amount: amount}, err
}

// dayRange says which days of a period a prorated line covers.
func dayRange(p Period, days int) string {
	first := p.End.AddDate(0, 0, -days)
	last := p.End.AddDate(0, 0, -1)
	return fmt.Sprintf("%s–%s, %d/%d days", first.Format("Jan 2"), last.Format("Jan 2"), days, p.Days())
}

// periodLines are the lines of c for period p, billed in advance; days
// below the period's length prorate each unit price by day.
func periodLines(c Config, p Period, days int, currency string) ([]store.InvoiceLine, error) {
	var out []store.InvoiceLine
	for _, comp := range c.components() {
		unit, err := prorate(comp.unitPrice, days, p.Days(), currency)
		if err != nil {
			return nil, err
		}
		desc := fmt.Sprintf("%s, %s", comp.description, p.Start.Format("January 2006"))
		if days < p.Days() {
			desc = fmt.Sprintf("%s (%s)", comp.description, dayRange(p, days))
		}
		l, err := line(comp.kind, desc, comp.quantity, unit)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// changeLines are the proration lines of moving from old to new with days
// of period p left: a part whose quantity alone changed is charged (or
// credited) for the difference; any other changed part is credited for
// its unused days and the new one charged for them.
func changeLines(old, new Config, p Period, days int, currency string) ([]store.InvoiceLine, error) {
	return changeLinesBilled(old, new, p, days, currency, nil)
}

// billedPrices are the monthly unit prices of c's parts by key, as a
// subscription records what it was invoiced at (store.Subscription.Billed).
func billedPrices(c Config) map[string]int64 {
	out := map[string]int64{}
	for _, comp := range c.components() {
		out[comp.key] = comp.unitPrice
	}
	return out
}

// changeLinesBilled is changeLines where the unused time of each old part
// is credited at the price it was invoiced at this period (billed, by
// key; the catalogue's price when it has none): after a price rise, an
// upgrade must not credit more than the client was charged.
func changeLinesBilled(old, new Config, p Period, days int, currency string, billed map[string]int64) ([]store.InvoiceLine, error) {
	paid := func(c component) int64 {
		if v, ok := billed[c.key]; ok {
			return v
		}
		return c.unitPrice
	}
	oldC, newC := old.components(), new.components()
	find := func(cs []component, key string) (component, bool) {
		i := slices.IndexFunc(cs, func(c component) bool { return c.key == key })
		if i < 0 {
			return component{}, false
		}
		return cs[i], true
	}
	span := dayRange(p, days)
	var out []store.InvoiceLine
	add := func(kind, desc string, q, fullUnit int64) error {
		unit, err := prorate(fullUnit, days, p.Days(), currency)
		if err != nil {
			return err
		}
		l, err := line("proration", fmt.Sprintf("%s (%s)", desc, span), q, unit)
		if err != nil {
			return err
		}
		if l.Amount != 0 {
			out = append(out, l)
		}
		return nil
	}
	for _, o := range oldC {
		n, ok := find(newC, o.key)
		switch {
		case ok && n.unitPrice == o.unitPrice && n.quantity == o.quantity:
		case ok && n.unitPrice == o.unitPrice:
			verb, unit := "Added", o.unitPrice
			if n.quantity < o.quantity {
				verb, unit = "Removed", paid(o)
			}
			if err := add(o.kind, fmt.Sprintf("%s: %s", verb, o.description), n.quantity-o.quantity, unit); err != nil {
				return nil, err
			}
		default:
			if err := add(o.kind, "Unused time: "+o.description, o.quantity, -paid(o)); err != nil {
				return nil, err
			}
			if ok {
				if err := add(n.kind, "Remaining time: "+n.description, n.quantity, n.unitPrice); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, n := range newC {
		if _, ok := find(oldC, n.key); !ok {
			if err := add(n.kind, "Remaining time: "+n.description, n.quantity, n.unitPrice); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// numberLines are a client's number fees for a period: each number held
// since before the period ends, and the setup fee of each number whose
// current assignment has not been invoiced yet (setup marks them).
func numberLines(numbers []*store.PhoneNumber, p Period) (lines []store.InvoiceLine, setup []*store.PhoneNumber, err error) {
	for _, n := range numbers {
		if n.Status != store.NumberAssigned || !n.AssignedAt.Before(p.End) {
			continue
		}
		if n.MonthlyFee != 0 {
			l, err := line("number", fmt.Sprintf("Number %s (%s), %s", n.Number, typeLabel(n.Type), p.Start.Format("January 2006")), 1, n.MonthlyFee)
			if err != nil {
				return nil, nil, err
			}
			lines = append(lines, l)
		}
		if !n.SetupInvoiced {
			if n.SetupFee != 0 {
				l, err := line("setup", fmt.Sprintf("Setup of number %s", n.Number), 1, n.SetupFee)
				if err != nil {
					return nil, nil, err
				}
				lines = append(lines, l)
			}
			setup = append(setup, n)
		}
	}
	return lines, setup, nil
}

func typeLabel(t string) string {
	switch t {
	case store.NumberTollFree:
		return "toll-free"
	case store.NumberMobile:
		return "mobile"
	}
	return "local"
}

// subscribedDays is how many days of p the subscription covers (0 when
// it started after the period).
func subscribedDays(sub *store.Subscription, p Period) int {
	if sub == nil || !sub.StartedAt.Before(p.End) {
		return 0
	}
	return p.DaysFrom(sub.StartedAt)
}
