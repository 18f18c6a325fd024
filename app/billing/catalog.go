package billing

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"portico/app/actor"
	"portico/app/clients"
	"portico/app/fault"
	"portico/app/textfield"
	"portico/store"
	"portico/store/money"
)

// The reseller's catalogue: plans, calling packages and add-ons. Forms
// and the API submit the same inputs; every problem is reported at once
// under the API's field names, and a change is saved with its audit event
// in one transaction or not at all.

// Limits of the catalogue's fields.
const (
	// MaxCatalogFee is the highest monthly fee, seat fee or add-on price:
	// 1,000,000 currency units.
	MaxCatalogFee = 1_000_000 * money.Unit
	// MaxIncludedSeats is the most seats a plan may include.
	MaxIncludedSeats = MaxSeats
	// MaxFairUseMinutes is the highest fair-use allowance of a package.
	MaxFairUseMinutes = 1_000_000
	// MaxCatalogName is the longest name (characters).
	MaxCatalogName = 100
	// maxCatalogRefs caps a plan's packages and add-ons.
	maxCatalogRefs = 100
)

// PlanInput is a plan as a form or the API submits it; amounts are
// decimal strings in the reseller's currency ("" is zero).
type PlanInput struct {
	Name          string   `json:"name"`
	Kind          string   `json:"kind"`
	MonthlyFee    string   `json:"monthly_fee"`
	IncludedSeats int      `json:"included_seats"`
	SeatFee       string   `json:"seat_fee"`
	Packages      []uint64 `json:"packages"`
	AddOns        []uint64 `json:"add_ons"`
	Status        string   `json:"status"` // "" is active on create
}

// PlanInputOf is the editable form of a plan.
func PlanInputOf(p *store.Plan, currency string) PlanInput {
	return PlanInput{Name: p.Name, Kind: p.Kind, MonthlyFee: money.Decimal(p.MonthlyFee, currency), IncludedSeats: p.IncludedSeats,
		SeatFee: money.Decimal(p.SeatFee, currency), Packages: slices.Clone(p.Packages), AddOns: slices.Clone(p.AddOns), Status: p.Status}
}

// PackageInput is a calling package as a form or the API submits it.
type PackageInput struct {
	Name           string   `json:"name"`
	Countries      []string `json:"countries"` // ISO 3166-1 alpha-2, any case
	DomesticOnly   bool     `json:"domestic_only"`
	FairUseMinutes int64    `json:"fair_use_minutes"` // 0 is unlimited
	PerSeat        bool     `json:"per_seat"`
}

// PackageInputOf is the editable form of a package.
func PackageInputOf(p *store.CallingPackage) PackageInput {
	return PackageInput{Name: p.Name, Countries: slices.Clone(p.Countries), DomesticOnly: p.DomesticOnly,
		FairUseMinutes: p.FairUseMinutes, PerSeat: p.PerSeat}
}

// AddOnInput is an add-on as a form or the API submits it.
type AddOnInput struct {
	Name       string `json:"name"`
	MonthlyFee string `json:"monthly_fee"`
	PerSeat    bool   `json:"per_seat"`
}

// AddOnInputOf is the editable form of an add-on.
func AddOnInputOf(a *store.AddOn, currency string) AddOnInput {
	return AddOnInput{Name: a.Name, MonthlyFee: money.Decimal(a.MonthlyFee, currency), PerSeat: a.PerSeat}
}

// Plans lists the reseller's plans in id order.
func (s *Service) Plans(rid uint64) ([]*store.Plan, error) { return catalogList[*store.Plan](s, rid) }

// Packages lists the reseller's calling packages in id order.
func (s *Service) Packages(rid uint64) ([]*store.CallingPackage, error) {
	return catalogList[*store.CallingPackage](s, rid)
}

// AddOns lists the reseller's add-ons in id order.
func (s *Service) AddOns(rid uint64) ([]*store.AddOn, error) {
	return catalogList[*store.AddOn](s, rid)
}

// Plan is one of the reseller's plans; another reseller's is not found.
func (s *Service) Plan(rid, id uint64) (*store.Plan, error) {
	return catalogItem[*store.Plan](s, rid, id)
}

// Package is one of the reseller's calling packages.
func (s *Service) Package(rid, id uint64) (*store.CallingPackage, error) {
	return catalogItem[*store.CallingPackage](s, rid, id)
}

// AddOn is one of the reseller's add-ons.
func (s *Service) AddOn(rid, id uint64) (*store.AddOn, error) {
	return catalogItem[*store.AddOn](s, rid, id)
}

// CreatePlan validates in and saves a new plan.
func (s *Service) CreatePlan(r *store.Reseller, in PlanInput, by actor.Actor) (*store.Plan, error) {
	if strings.TrimSpace(in.Status) == "" {
		in.Status = store.CatalogActive
	}
	return s.savePlan(r, 0, func(p *PlanInput) { *p = in }, by)
}

// UpdatePlan applies edit to the plan as it is now and saves it when the
// result is valid. The edit runs inside the write transaction, so two
// concurrent edits of different fields both land. Subscribers keep the
// plan: an archived plan takes no new ones, and a new fee applies from
// the next invoice.
func (s *Service) UpdatePlan(r *store.Reseller, id uint64, edit func(*PlanInput), by actor.Actor) (*store.Plan, error) {
	return s.savePlan(r, id, edit, by)
}

func (s *Service) savePlan(r *store.Reseller, id uint64, edit func(*PlanInput), by actor.Actor) (*store.Plan, error) {
	var p *store.Plan
	err := s.store.Update(func(tx *store.Tx) error {
		p = &store.Plan{ResellerID: r.ID} // tenant scope: rid comes from the host
		action := "plan.create"
		if id != 0 {
			var err error
			if p, err = store.Catalog[*store.Plan](tx, r.ID, id); err != nil {
				return notInCatalog(err, "plan")
			}
			action = "plan.update"
		}
		in := PlanInputOf(p, r.Currency)
		edit(&in)
		if errs, err := in.apply(tx, r, p); err != nil || len(errs) > 0 {
			return catalogRefusal(errs, err)
		}
		if err := store.PutCatalog(tx, p); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: action, Target: p.Name, IP: by.IP})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// apply checks in against the rules and the reseller's catalogue and, when
// it is valid, writes it to p.
func (in PlanInput) apply(tx *store.Tx, r *store.Reseller, p *store.Plan) (fault.Fields, error) {
	var errs fault.Fields
	name := catalogName(in.Name, &errs)
	kind := strings.TrimSpace(in.Kind)
	switch kind {
	case store.PlanSubscription, store.PlanPerMinute:
	case "":
		errs.Add("kind", "Choose subscription or per_minute.")
	default:
		errs.Add("kind", "Use subscription or per_minute.")
	}
	monthly := catalogFee("monthly_fee", in.MonthlyFee, r.Currency, &errs)
	seatFee := catalogFee("seat_fee", in.SeatFee, r.Currency, &errs)
	if kind == store.PlanPerMinute { // per-minute plans are paid from credit, call by call
		if monthly != 0 && !errs.Has("monthly_fee") {
			errs.Add("monthly_fee", "A per-minute plan has no monthly fee: use 0.")
		}
		if seatFee != 0 && !errs.Has("seat_fee") {
			errs.Add("seat_fee", "A per-minute plan has no seat fee: use 0.")
		}
	}
	if in.IncludedSeats < 0 || in.IncludedSeats > MaxIncludedSeats {
		errs.Add("included_seats", fmt.Sprintf("Enter a whole number from 0 to %d.", MaxIncludedSeats))
	}
	status := strings.TrimSpace(in.Status)
	if status != store.CatalogActive && status != store.CatalogArchived {
		errs.Add("status", "Use active or archived.")
	}
	packages, err := catalogRefs[*store.CallingPackage](tx, r.ID, "packages", "calling package", in.Packages, &errs)
	if err != nil {
		return nil, err
	}
	addOns, err := catalogRefs[*store.AddOn](tx, r.ID, "add_ons", "add-on", in.AddOns, &errs)
	if err != nil {
		return nil, err
	}
	if err := catalogUnique(tx, r.ID, p.ID, name, func(x *store.Plan) (uint64, string) { return x.ID, x.Name }, "plan", &errs); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return errs, nil
	}
	p.Name, p.Kind, p.MonthlyFee, p.IncludedSeats, p.SeatFee = name, kind, monthly, in.IncludedSeats, seatFee
	p.Packages, p.AddOns, p.Status = packages, addOns, status
	return nil, nil
}

// CreatePackage validates in and saves a new calling package.
func (s *Service) CreatePackage(r *store.Reseller, in PackageInput, by actor.Actor) (*store.CallingPackage, error) {
	return s.savePackage(r, 0, func(p *PackageInput) { *p = in }, by)
}

// UpdatePackage applies edit to the package as it is now and saves it
// when the result is valid. Rating uses the package as saved from the
// next call on.
func (s *Service) UpdatePackage(r *store.Reseller, id uint64, edit func(*PackageInput), by actor.Actor) (*store.CallingPackage, error) {
	return s.savePackage(r, id, edit, by)
}

func (s *Service) savePackage(r *store.Reseller, id uint64, edit func(*PackageInput), by actor.Actor) (*store.CallingPackage, error) {
	var p *store.CallingPackage
	err := s.store.Update(func(tx *store.Tx) error {
		p = &store.CallingPackage{ResellerID: r.ID} // tenant scope: rid comes from the host
		action := "package.create"
		if id != 0 {
			var err error
			if p, err = store.Catalog[*store.CallingPackage](tx, r.ID, id); err != nil {
				return notInCatalog(err, "calling package")
			}
			action = "package.update"
		}
		in := PackageInputOf(p)
		edit(&in)
		if errs, err := in.apply(tx, r.ID, p); err != nil || len(errs) > 0 {
			return catalogRefusal(errs, err)
		}
		if err := store.PutCatalog(tx, p); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: action, Target: p.Name, IP: by.IP})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (in PackageInput) apply(tx *store.Tx, rid uint64, p *store.CallingPackage) (fault.Fields, error) {
	var errs fault.Fields
	name := catalogName(in.Name, &errs)
	countries := packageCountries(in.Countries, &errs)
	if in.FairUseMinutes < 0 || in.FairUseMinutes > MaxFairUseMinutes {
		errs.Add("fair_use_minutes", fmt.Sprintf("Enter a whole number of minutes from 0 (unlimited) to %d.", MaxFairUseMinutes))
	}
	if err := catalogUnique(tx, rid, p.ID, name, func(x *store.CallingPackage) (uint64, string) { return x.ID, x.Name }, "calling package", &errs); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return errs, nil
	}
	p.Name, p.Countries, p.DomesticOnly, p.FairUseMinutes, p.PerSeat = name, countries, in.DomesticOnly, in.FairUseMinutes, in.PerSeat
	return nil, nil
}

// packageCountries upper-cases, checks and de-duplicates a package's
// countries (in the order given); at least one is needed.
func packageCountries(in []string, errs *fault.Fields) []string {
	var out, bad []string
	for _, c := range in {
		c = strings.ToUpper(strings.TrimSpace(c))
		switch {
		case c == "":
		case clients.CountryName(c) == "": // the countries the phone-number library knows, as the client forms use
			if len(c) > 8 {
				c = c[:8] + "…"
			}
			bad = append(bad, strconv.Quote(c))
		case !slices.Contains(out, c):
			out = append(out, c)
		}
	}
	switch {
	case len(bad) > 0:
		errs.Add("countries", "Not ISO 3166 country codes: "+strings.Join(bad, ", ")+". Use two letters such as GB.")
	case len(out) == 0:
		errs.Add("countries", "Name at least one country (ISO 3166 code such as GB).")
	}
	return out
}

// CreateAddOn validates in and saves a new add-on.
func (s *Service) CreateAddOn(r *store.Reseller, in AddOnInput, by actor.Actor) (*store.AddOn, error) {
	return s.saveAddOn(r, 0, func(a *AddOnInput) { *a = in }, by)
}

// UpdateAddOn applies edit to the add-on as it is now and saves it when
// the result is valid; a new price applies from the next invoice.
func (s *Service) UpdateAddOn(r *store.Reseller, id uint64, edit func(*AddOnInput), by actor.Actor) (*store.AddOn, error) {
	return s.saveAddOn(r, id, edit, by)
}

func (s *Service) saveAddOn(r *store.Reseller, id uint64, edit func(*AddOnInput), by actor.Actor) (*store.AddOn, error) {
	var a *store.AddOn
	err := s.store.Update(func(tx *store.Tx) error {
		a = &store.AddOn{ResellerID: r.ID} // tenant scope: rid comes from the host
		action := "addon.create"
		if id != 0 {
			var err error
			if a, err = store.Catalog[*store.AddOn](tx, r.ID, id); err != nil {
				return notInCatalog(err, "add-on")
			}
			action = "addon.update"
		}
		in := AddOnInputOf(a, r.Currency)
		edit(&in)
		var errs fault.Fields
		name := catalogName(in.Name, &errs)
		fee := catalogFee("monthly_fee", in.MonthlyFee, r.Currency, &errs)
		if err := catalogUnique(tx, r.ID, a.ID, name, func(x *store.AddOn) (uint64, string) { return x.ID, x.Name }, "add-on", &errs); err != nil {
			return err
		}
		if len(errs) > 0 {
			return errs
		}
		a.Name, a.MonthlyFee, a.PerSeat = name, fee, in.PerSeat
		if err := store.PutCatalog(tx, a); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: action, Target: a.Name, IP: by.IP})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// catalogEntry is what the catalogue's generic helpers read.
type catalogEntry interface {
	*store.Plan | *store.CallingPackage | *store.AddOn
}

func catalogList[T catalogEntry](s *Service, rid uint64) ([]T, error) {
	var out []T
	err := s.store.View(func(tx *store.Tx) (err error) {
		out, err = store.CatalogList[T](tx, rid) // tenant scope: the reseller's own records only
		return err
	})
	return out, err
}

func catalogItem[T catalogEntry](s *Service, rid, id uint64) (T, error) {
	var out T
	err := s.store.View(func(tx *store.Tx) (err error) {
		out, err = store.Catalog[T](tx, rid, id) // tenant scope: another reseller's id is not found
		return err
	})
	if err != nil {
		var what string
		switch any(out).(type) {
		case *store.Plan:
			what = "plan"
		case *store.CallingPackage:
			what = "calling package"
		default:
			what = "add-on"
		}
		return nil, notInCatalog(err, what)
	}
	return out, nil
}

// notInCatalog words a record that is not found (another reseller's, or
// never made) as the pages and the API show it.
func notInCatalog(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.Wrap(fault.NotFound, "There is no such "+what+".", err)
	}
	return err
}

// catalogRefusal is the refusal of a save: an internal error first, else the
// field problems.
func catalogRefusal(errs fault.Fields, err error) error {
	if err != nil {
		return err
	}
	return errs
}

// catalogName trims and checks a name: required, one line, at most
// MaxCatalogName characters.
func catalogName(s string, errs *fault.Fields) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		errs.Add("name", "Enter a name.")
	case textfield.SingleLine(s) != "":
		errs.Add("name", textfield.SingleLineMessage)
	case utf8.RuneCountInString(s) > MaxCatalogName:
		errs.Add("name", fmt.Sprintf("Use at most %d characters.", MaxCatalogName))
	}
	return s
}

// catalogFee reads a price: a decimal of zero or more ("" is zero), at
// most MaxCatalogFee, in the currency's precision (invoices bill it as
// it is).
func catalogFee(field, s, currency string, errs *fault.Fields) int64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	v, err := money.Parse(s)
	switch {
	case err != nil:
		errs.Add(field, "Enter an amount of zero or more, such as 12.50.")
	case v > MaxCatalogFee:
		errs.Add(field, "At most "+money.Format(MaxCatalogFee, currency)+".")
	case money.Round(v, currency) != v:
		errs.Add(field, fmt.Sprintf("Use at most %d decimals.", money.Digits(currency)))
	default:
		return v
	}
	return 0
}

// catalogRefs checks that every id names a record of the reseller (an id
// of another reseller is as unknown as one never made, and the message
// only echoes the ids given) and returns them sorted without repeats.
func catalogRefs[T catalogEntry](tx *store.Tx, rid uint64, field, what string, ids []uint64, errs *fault.Fields) ([]uint64, error) {
	out := slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(out) > maxCatalogRefs {
		errs.Add(field, fmt.Sprintf("At most %d.", maxCatalogRefs))
		return nil, nil
	}
	var unknown []string
	for _, id := range out {
		_, err := store.Catalog[T](tx, rid, id) // tenant scope: looked up within rid only
		if errors.Is(err, store.ErrNotFound) {
			unknown = append(unknown, strconv.FormatUint(id, 10))
		} else if err != nil {
			return nil, err
		}
	}
	if len(unknown) > 0 {
		errs.Add(field, fmt.Sprintf("There is no %s %s.", what, strings.Join(unknown, ", ")))
	}
	if out == nil {
		out = []uint64{}
	}
	return out, nil
}

// catalogUnique refuses a name that another record of the same kind of
// the reseller has, whatever the case.
func catalogUnique[T catalogEntry](tx *store.Tx, rid, self uint64, name string, idName func(T) (uint64, string), what string, errs *fault.Fields) error {
	if name == "" || errs.Has("name") {
		return nil
	}
	all, err := store.CatalogList[T](tx, rid)
	if err != nil {
		return err
	}
	for _, x := range all {
		if id, other := idName(x); id != self && strings.EqualFold(other, name) {
			errs.Add("name", "Another "+what+" has this name.")
			return nil
		}
	}
	return nil
}
