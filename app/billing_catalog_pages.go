package app

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/billing"
	"portico/store"
	"portico/store/money"
)

// Reseller console pages of the billing catalogue: plans, calling
// packages and add-ons, each a list with a form to add one, and a page to
// edit one (owner, admin and billing staff).

// catalogRoutes mounts the catalogue pages under /reseller (routes.go).
func (a *App) catalogRoutes(reseller fiber.Router) {
	area := a.requireStaffArea(access.AreaBilling)
	reseller.Get("/billing", area, a.showBillingHome)
	reseller.Get("/billing/plans", area, a.listPlans)
	reseller.Post("/billing/plans", area, a.createPlan)
	reseller.Get("/billing/plans/:id<int>", area, a.showPlan)
	reseller.Post("/billing/plans/:id<int>", area, a.updatePlan)
	reseller.Get("/billing/packages", area, a.listPackages)
	reseller.Post("/billing/packages", area, a.createPackage)
	reseller.Get("/billing/packages/:id<int>", area, a.showPackage)
	reseller.Post("/billing/packages/:id<int>", area, a.updatePackage)
	reseller.Get("/billing/add-ons", area, a.listAddOns)
	reseller.Post("/billing/add-ons", area, a.createAddOn)
	reseller.Get("/billing/add-ons/:id<int>", area, a.showAddOn)
	reseller.Post("/billing/add-ons/:id<int>", area, a.updateAddOn)
}

// catalogData is the Data of the catalogue pages (views/billing/).
type catalogData struct {
	Tabs     []NavItem
	Currency string
	Form     *Form
	Plans    []planRow
	Packages []packageRow
	AddOns   []addOnRow
	// PackageChoices and AddOnChoices are the plan form's checkboxes.
	PackageChoices, AddOnChoices []catalogChoice
	// The record an edit page edits, as stored.
	Plan    *store.Plan
	Package *store.CallingPackage
	AddOn   *store.AddOn
}

// catalogChoice is one checkbox of a plan's packages or add-ons.
type catalogChoice struct {
	ID      uint64
	Label   string
	Checked bool
}

type planRow struct {
	*store.Plan
	Monthly, SeatPrice string
	PackageNames       []string
	AddOnNames         []string
}

type packageRow struct {
	*store.CallingPackage
	CountryList, FairUse string
}

type addOnRow struct {
	*store.AddOn
	Price string
}

const catalogFormError = "Please correct the fields marked below."

// catalogData reads the reseller's catalogue for the page at c's path:
// every row with its prices in the reseller's currency, and the checkboxes
// of the plan form checked as packages and addOns say.
func (a *App) catalogData(c *fiber.Ctx, form *Form, packages, addOns []uint64) (*catalogData, error) {
	tenant := tenantOf(c)
	d := &catalogData{Tabs: a.billingTabsFor(c.Path()), Currency: tenant.Currency, Form: form}
	plans, err := a.billing.Plans(tenant.ID) // tenant scope: the host's reseller
	if err != nil {
		return nil, err
	}
	packs, err := a.billing.Packages(tenant.ID)
	if err != nil {
		return nil, err
	}
	extras, err := a.billing.AddOns(tenant.ID)
	if err != nil {
		return nil, err
	}
	packName, addOnName := map[uint64]string{}, map[uint64]string{}
	for _, p := range packs {
		packName[p.ID] = p.Name
		fairUse := "Unlimited"
		if p.FairUseMinutes > 0 {
			fairUse = groupThousands(p.FairUseMinutes) + " min"
			if p.PerSeat {
				fairUse += " per seat"
			} else {
				fairUse += " per account"
			}
		}
		d.Packages = append(d.Packages, packageRow{CallingPackage: p, CountryList: strings.Join(p.Countries, ", "), FairUse: fairUse})
		d.PackageChoices = append(d.PackageChoices, catalogChoice{ID: p.ID, Label: p.Name, Checked: containsID(packages, p.ID)})
	}
	for _, x := range extras {
		addOnName[x.ID] = x.Name
		d.AddOns = append(d.AddOns, addOnRow{AddOn: x, Price: money.Format(x.MonthlyFee, tenant.Currency)})
		d.AddOnChoices = append(d.AddOnChoices, catalogChoice{ID: x.ID, Label: x.Name + " (" + money.Format(x.MonthlyFee, tenant.Currency) + addOnUnit(x) + ")",
			Checked: containsID(addOns, x.ID)})
	}
	for _, p := range plans {
		row := planRow{Plan: p, Monthly: money.Format(p.MonthlyFee, tenant.Currency), SeatPrice: money.Format(p.SeatFee, tenant.Currency)}
		for _, id := range p.Packages {
			row.PackageNames = append(row.PackageNames, packName[id])
		}
		for _, id := range p.AddOns {
			row.AddOnNames = append(row.AddOnNames, addOnName[id])
		}
		d.Plans = append(d.Plans, row)
	}
	return d, nil
}

// groupThousands writes a count with thousands separators (3,000).
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func addOnUnit(x *store.AddOn) string {
	if x.PerSeat {
		return " a seat"
	}
	return ""
}

func containsID(ids []uint64, id uint64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// formIDs reads the ids a form's checkboxes named field send; a value
// that is not an id is kept as 0, which names no record, so the service
// refuses it rather than the form dropping it.
func formIDs(c *fiber.Ctx, field string) []uint64 {
	var ids []uint64
	for _, v := range c.Request().PostArgs().PeekMulti(field) {
		id, _ := strconv.ParseUint(string(v), 10, 64)
		ids = append(ids, id)
	}
	return ids
}

// formCount reads a whole number; empty is 0, anything else that is not
// a number -1, which every count refuses with its own message.
func formCount(s string) int64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// formValues copies the named fields of the posted form onto a new Form
// (Fiber reuses the request's memory once the handler returns).
func formValues(c *fiber.Ctx, names ...string) *Form {
	form := newForm()
	for _, n := range names {
		form.Values[n] = strings.Clone(c.FormValue(n))
	}
	return form
}

// checkbox is the form value of a ticked box.
func checkbox(on bool) string {
	if on {
		return "1"
	}
	return ""
}

// Plans

func planFormOf(in billing.PlanInput) *Form {
	form := newForm()
	form.Values = map[string]string{"name": in.Name, "kind": in.Kind, "monthly_fee": in.MonthlyFee,
		"included_seats": strconv.Itoa(in.IncludedSeats), "seat_fee": in.SeatFee, "status": in.Status}
	return form
}

// planInput reads the plan form. The create form has no status (a new
// plan is active).
func planInput(c *fiber.Ctx) (billing.PlanInput, *Form) {
	form := formValues(c, "name", "kind", "monthly_fee", "included_seats", "seat_fee", "status")
	v := form.Values
	seats := formCount(v["included_seats"])
	if seats > int64(billing.MaxIncludedSeats) {
		seats = -1
	}
	return billing.PlanInput{Name: v["name"], Kind: v["kind"], MonthlyFee: v["monthly_fee"], IncludedSeats: int(seats), SeatFee: v["seat_fee"],
		Packages: formIDs(c, "packages"), AddOns: formIDs(c, "add_ons"), Status: v["status"]}, form
}

// listPlans shows the plans and the form to add one.
func (a *App) listPlans(c *fiber.Ctx) error {
	d, err := a.catalogData(c, planFormOf(billing.PlanInput{Kind: store.PlanSubscription, IncludedSeats: 1}), nil, nil)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "billing/plans", "Plans", d)
}

// createPlan saves a new plan, or shows the form again with its faults.
func (a *App) createPlan(c *fiber.Ctx) error {
	in, form := planInput(c)
	p, err := a.billing.CreatePlan(tenantOf(c), in, a.actor(c))
	if form.refused(err) {
		form.Error = catalogFormError
		d, err := a.catalogData(c, form, in.Packages, in.AddOns)
		if err != nil {
			return err
		}
		return a.render(c, fiber.StatusUnprocessableEntity, "billing/plans", "Plans", d)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "The plan "+p.Name+" was created.")
	return c.Redirect(billingHome+"/plans", fiber.StatusSeeOther)
}

// showPlan is the page that edits a plan; another reseller's is 404.
func (a *App) showPlan(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	p, err := a.billing.Plan(tenant.ID, id) // tenant scope: looked up within the host's reseller
	if err != nil {
		return err
	}
	d, err := a.catalogData(c, planFormOf(billing.PlanInputOf(p, tenant.Currency)), p.Packages, p.AddOns)
	if err != nil {
		return err
	}
	d.Plan = p
	return a.render(c, fiber.StatusOK, "billing/plan", "Edit plan "+p.Name, d)
}

// updatePlan saves the edited plan: every field of the form replaces the
// stored one, or nothing is saved and the form comes back with its faults.
func (a *App) updatePlan(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	in, form := planInput(c)
	p, err := a.billing.UpdatePlan(tenant, id, func(cur *billing.PlanInput) { *cur = in }, a.actor(c)) // tenant scope: 404 for another reseller's plan
	if form.refused(err) {
		form.Error = catalogFormError
		stored, err := a.billing.Plan(tenant.ID, id)
		if err != nil {
			return err
		}
		d, err := a.catalogData(c, form, in.Packages, in.AddOns)
		if err != nil {
			return err
		}
		d.Plan = stored
		return a.render(c, fiber.StatusUnprocessableEntity, "billing/plan", "Edit plan "+stored.Name, d)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "The plan "+p.Name+" was saved.")
	return c.Redirect(billingHome+"/plans", fiber.StatusSeeOther)
}

// Calling packages

func packageFormOf(in billing.PackageInput) *Form {
	form := newForm()
	form.Values = map[string]string{"name": in.Name, "countries": strings.Join(in.Countries, ", "), "domestic_only": checkbox(in.DomesticOnly),
		"fair_use_minutes": strconv.FormatInt(in.FairUseMinutes, 10), "per_seat": checkbox(in.PerSeat)}
	return form
}

// packageInput reads the package form; countries are codes separated by
// commas or spaces.
func packageInput(c *fiber.Ctx) (billing.PackageInput, *Form) {
	form := formValues(c, "name", "countries", "domestic_only", "fair_use_minutes", "per_seat")
	v := form.Values
	countries := strings.FieldsFunc(v["countries"], func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) })
	return billing.PackageInput{Name: v["name"], Countries: countries, DomesticOnly: v["domestic_only"] != "",
		FairUseMinutes: formCount(v["fair_use_minutes"]), PerSeat: v["per_seat"] != ""}, form
}

// listPackages shows the calling packages and the form to add one.
func (a *App) listPackages(c *fiber.Ctx) error {
	d, err := a.catalogData(c, packageFormOf(billing.PackageInput{}), nil, nil)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "billing/packages", "Calling packages", d)
}

// createPackage saves a new package, or shows the form again with its
// faults.
func (a *App) createPackage(c *fiber.Ctx) error {
	in, form := packageInput(c)
	p, err := a.billing.CreatePackage(tenantOf(c), in, a.actor(c))
	if form.refused(err) {
		form.Error = catalogFormError
		d, err := a.catalogData(c, form, nil, nil)
		if err != nil {
			return err
		}
		return a.render(c, fiber.StatusUnprocessableEntity, "billing/packages", "Calling packages", d)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "The calling package "+p.Name+" was created.")
	return c.Redirect(billingHome+"/packages", fiber.StatusSeeOther)
}

// showPackage is the page that edits a package.
func (a *App) showPackage(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	p, err := a.billing.Package(tenant.ID, id) // tenant scope: looked up within the host's reseller
	if err != nil {
		return err
	}
	d, err := a.catalogData(c, packageFormOf(billing.PackageInputOf(p)), nil, nil)
	if err != nil {
		return err
	}
	d.Package = p
	return a.render(c, fiber.StatusOK, "billing/package", "Edit package "+p.Name, d)
}

// updatePackage saves the edited package.
func (a *App) updatePackage(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	in, form := packageInput(c)
	p, err := a.billing.UpdatePackage(tenant, id, func(cur *billing.PackageInput) { *cur = in }, a.actor(c)) // tenant scope: 404 for another reseller's
	if form.refused(err) {
		form.Error = catalogFormError
		stored, err := a.billing.Package(tenant.ID, id)
		if err != nil {
			return err
		}
		d, err := a.catalogData(c, form, nil, nil)
		if err != nil {
			return err
		}
		d.Package = stored
		return a.render(c, fiber.StatusUnprocessableEntity, "billing/package", "Edit package "+stored.Name, d)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "The calling package "+p.Name+" was saved.")
	return c.Redirect(billingHome+"/packages", fiber.StatusSeeOther)
}

// Add-ons

func addOnFormOf(in billing.AddOnInput) *Form {
	form := newForm()
	form.Values = map[string]string{"name": in.Name, "monthly_fee": in.MonthlyFee, "per_seat": checkbox(in.PerSeat)}
	return form
}

func addOnInput(c *fiber.Ctx) (billing.AddOnInput, *Form) {
	form := formValues(c, "name", "monthly_fee", "per_seat")
	v := form.Values
	return billing.AddOnInput{Name: v["name"], MonthlyFee: v["monthly_fee"], PerSeat: v["per_seat"] != ""}, form
}

// listAddOns shows the add-ons and the form to add one.
func (a *App) listAddOns(c *fiber.Ctx) error {
	d, err := a.catalogData(c, addOnFormOf(billing.AddOnInput{}), nil, nil)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "billing/addons", "Add-ons", d)
}

// createAddOn saves a new add-on, or shows the form again with its faults.
func (a *App) createAddOn(c *fiber.Ctx) error {
	in, form := addOnInput(c)
	x, err := a.billing.CreateAddOn(tenantOf(c), in, a.actor(c))
	if form.refused(err) {
		form.Error = catalogFormError
		d, err := a.catalogData(c, form, nil, nil)
		if err != nil {
			return err
		}
		return a.render(c, fiber.StatusUnprocessableEntity, "billing/addons", "Add-ons", d)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "The add-on "+x.Name+" was created.")
	return c.Redirect(billingHome+"/add-ons", fiber.StatusSeeOther)
}

// showAddOn is the page that edits an add-on.
func (a *App) showAddOn(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	x, err := a.billing.AddOn(tenant.ID, id) // tenant scope: looked up within the host's reseller
	if err != nil {
		return err
	}
	d, err := a.catalogData(c, addOnFormOf(billing.AddOnInputOf(x, tenant.Currency)), nil, nil)
	if err != nil {
		return err
	}
	d.AddOn = x
	return a.render(c, fiber.StatusOK, "billing/addon", "Edit add-on "+x.Name, d)
}

// updateAddOn saves the edited add-on.
func (a *App) updateAddOn(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	in, form := addOnInput(c)
	x, err := a.billing.UpdateAddOn(tenant, id, func(cur *billing.AddOnInput) { *cur = in }, a.actor(c)) // tenant scope: 404 for another reseller's
	if form.refused(err) {
		form.Error = catalogFormError
		stored, err := a.billing.AddOn(tenant.ID, id)
		if err != nil {
			return err
		}
		d, err := a.catalogData(c, form, nil, nil)
		if err != nil {
			return err
		}
		d.AddOn = stored
		return a.render(c, fiber.StatusUnprocessableEntity, "billing/addon", "Edit add-on "+stored.Name, d)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "The add-on "+x.Name+" was saved.")
	return c.Redirect(billingHome+"/add-ons", fiber.StatusSeeOther)
}
