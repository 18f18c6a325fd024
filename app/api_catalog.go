package app

import (
	"sort"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"portico/app/billing"
	"portico/app/fault"
	"portico/store"
	"portico/store/money"
)

// The reseller's catalogue in the JSON API (reseller key): plans, calling
// packages and add-ons. Ids are numbers, as client ids are; amounts are
// decimal strings with the currency once per object.

// apiPlan is a plan as the API shows it.
type apiPlan struct {
	ID            uint64   `json:"id"`
	Name          string   `json:"name"`
	Kind          string   `json:"kind"`
	MonthlyFee    string   `json:"monthly_fee"`
	IncludedSeats int      `json:"included_seats"`
	SeatFee       string   `json:"seat_fee"`
	Packages      []uint64 `json:"packages"`
	AddOns        []uint64 `json:"add_ons"`
	Status        string   `json:"status"`
	Currency      string   `json:"currency"`
}

func planView(r *store.Reseller, p *store.Plan) apiPlan {
	return apiPlan{ID: p.ID, Name: p.Name, Kind: p.Kind, MonthlyFee: money.Decimal(p.MonthlyFee, r.Currency), IncludedSeats: p.IncludedSeats,
		SeatFee: money.Decimal(p.SeatFee, r.Currency), Packages: orEmpty(p.Packages), AddOns: orEmpty(p.AddOns), Status: p.Status, Currency: r.Currency}
}

// apiPackage is a calling package as the API shows it.
type apiPackage struct {
	ID             uint64   `json:"id"`
	Name           string   `json:"name"`
	Countries      []string `json:"countries"`
	DomesticOnly   bool     `json:"domestic_only"`
	FairUseMinutes int64    `json:"fair_use_minutes"`
	PerSeat        bool     `json:"per_seat"`
}

func packageView(_ *store.Reseller, p *store.CallingPackage) apiPackage {
	return apiPackage{ID: p.ID, Name: p.Name, Countries: orEmpty(p.Countries), DomesticOnly: p.DomesticOnly,
		FairUseMinutes: p.FairUseMinutes, PerSeat: p.PerSeat}
}

// apiAddOn is an add-on as the API shows it.
type apiAddOn struct {
	ID         uint64 `json:"id"`
	Name       string `json:"name"`
	MonthlyFee string `json:"monthly_fee"`
	PerSeat    bool   `json:"per_seat"`
	Currency   string `json:"currency"`
}

func addOnView(r *store.Reseller, a *store.AddOn) apiAddOn {
	return apiAddOn{ID: a.ID, Name: a.Name, MonthlyFee: money.Decimal(a.MonthlyFee, r.Currency), PerSeat: a.PerSeat, Currency: r.Currency}
}

// orEmpty writes an empty list as [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// listAPIPlans answers GET /plans.
func (a *App) listAPIPlans(c *fiber.Ctx) error {
	plans, err := a.billing.Plans(tenantOf(c).ID) // tenant scope: the host's reseller
	if err != nil {
		return err
	}
	return catalogPage(c, "plans", plans, func(p *store.Plan) uint64 { return p.ID }, planView)
}

// listAPIPackages answers GET /packages.
func (a *App) listAPIPackages(c *fiber.Ctx) error {
	packs, err := a.billing.Packages(tenantOf(c).ID) // tenant scope: the host's reseller
	if err != nil {
		return err
	}
	return catalogPage(c, "packages", packs, func(p *store.CallingPackage) uint64 { return p.ID }, packageView)
}

// listAPIAddOns answers GET /add-ons.
func (a *App) listAPIAddOns(c *fiber.Ctx) error {
	addOns, err := a.billing.AddOns(tenantOf(c).ID) // tenant scope: the host's reseller
	if err != nil {
		return err
	}
	return catalogPage(c, "add-ons", addOns, func(x *store.AddOn) uint64 { return x.ID }, addOnView)
}

// catalogPage writes one page of a catalogue list (in id order) after the
// query's cursor, at most limit long.
func catalogPage[T any, V any](c *fiber.Ctx, kind string, all []T, idOf func(T) uint64, view func(*store.Reseller, T) V) error {
	var errs fault.Fields
	limit := queryLimit(c, &errs)
	if err := errs.Err(); err != nil {
		return err
	}
	var after uint64
	if s := c.Query("cursor"); s != "" {
		pos, ok := decodeCursor(s, kind)
		var err error
		if after, err = strconv.ParseUint(pos, 10, 64); err != nil || !ok {
			return badCursor()
		}
	}
	tenant := tenantOf(c)
	start := sort.Search(len(all), func(i int) bool { return idOf(all[i]) > after })
	list := apiList[V]{Data: []V{}}
	for i, x := range all[start:] {
		if i == limit {
			list.NextCursor = encodeCursor(kind, strconv.FormatUint(idOf(all[start+i-1]), 10))
			break
		}
		list.Data = append(list.Data, view(tenant, x))
	}
	return c.JSON(list)
}

// createAPIPlan answers POST /plans with 201 and the plan.
func (a *App) createAPIPlan(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var in billing.PlanInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := a.billing.CreatePlan(tenant, in, apiActor(c)) // tenant scope: created under the host's reseller
	if err != nil {
		return err
	}
	c.Location("/api/v1/plans/" + strconv.FormatUint(p.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(planView(tenant, p))
}

// showAPIPlan answers GET /plans/{id}; another reseller's plan is 404.
func (a *App) showAPIPlan(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	tenant := tenantOf(c)
	p, err := a.billing.Plan(tenant.ID, id) // tenant scope: looked up within the host's reseller
	if err != nil {
		return err
	}
	return c.JSON(planView(tenant, p))
}

// apiPlanPatch is the body of PATCH /plans/{id}: only the fields present
// change.
type apiPlanPatch struct {
	Name          *string   `json:"name"`
	Kind          *string   `json:"kind"`
	MonthlyFee    *string   `json:"monthly_fee"`
	IncludedSeats *int      `json:"included_seats"`
	SeatFee       *string   `json:"seat_fee"`
	Packages      *[]uint64 `json:"packages"`
	AddOns        *[]uint64 `json:"add_ons"`
	Status        *string   `json:"status"`
}

// updateAPIPlan answers PATCH /plans/{id}. The fields present are applied
// to the plan as it is inside the write transaction and checked together,
// so a per-minute plan can be made of a subscription one in one request.
func (a *App) updateAPIPlan(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var patch apiPlanPatch
	if err := decodeJSON(c, &patch); err != nil {
		return err
	}
	tenant := tenantOf(c)
	if patch == (apiPlanPatch{}) { // nothing to change: no save, no audit event
		return a.showAPIPlan(c)
	}
	p, err := a.billing.UpdatePlan(tenant, id, func(in *billing.PlanInput) { // tenant scope: another reseller's id is 404
		setIfGiven(&in.Name, patch.Name)
		setIfGiven(&in.Kind, patch.Kind)
		setIfGiven(&in.MonthlyFee, patch.MonthlyFee)
		setIfGiven(&in.IncludedSeats, patch.IncludedSeats)
		setIfGiven(&in.SeatFee, patch.SeatFee)
		setIfGiven(&in.Packages, patch.Packages)
		setIfGiven(&in.AddOns, patch.AddOns)
		setIfGiven(&in.Status, patch.Status)
	}, apiActor(c))
	if err != nil {
		return err
	}
	return c.JSON(planView(tenant, p))
}

// setIfGiven copies *v to *dst when the field was given.
func setIfGiven[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// createAPIPackage answers POST /packages with 201 and the package.
func (a *App) createAPIPackage(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var in billing.PackageInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := a.billing.CreatePackage(tenant, in, apiActor(c)) // tenant scope: created under the host's reseller
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(packageView(tenant, p))
}

// createAPIAddOn answers POST /add-ons with 201 and the add-on.
func (a *App) createAPIAddOn(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var in billing.AddOnInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	x, err := a.billing.CreateAddOn(tenant, in, apiActor(c)) // tenant scope: created under the host's reseller
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(addOnView(tenant, x))
}
