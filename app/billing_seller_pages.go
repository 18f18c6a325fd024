package app

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portico/app/billing"
	"portico/app/clients"
	"portico/app/fault"
	"portico/store"
)

// taxRow is one row of the tax table as the form shows it.
type taxRow struct {
	Index               int
	Country, Rate       string
	CountryErr, RateErr bool
}

// sellerFields are the seller form's single-line fields in page order
// (the order the first faulty one takes the focus in).
var sellerFields = []string{"legal_name", "vat_number", "address1", "address2", "city", "zip", "state", "country", "footer",
	"payment_terms_days", "invoice_prefix", "invoice_digits"}

// blankTaxRows is how many empty rows the tax table offers for adding.
const blankTaxRows = 2

type sellerPageData struct {
	Tabs      []NavItem
	Form      *Form
	Countries []clients.Country
	TaxRows   []taxRow
	// TaxErrors are every problem of the tax table.
	TaxErrors []string
	// Example is the next invoice's number with these settings.
	Example       string
	DefaultTerms  int
	DefaultDigits int
}

func (a *App) sellerPage(r *store.Reseller, form *Form, rows []taxRow, sd store.SellerDetails) (sellerPageData, error) {
	d := sellerPageData{Tabs: a.billingTabsFor(resellerSellerURL), Form: form, Countries: clients.Countries(), DefaultTerms: store.DefaultPaymentTerms, DefaultDigits: store.DefaultInvoiceDigits}
	for range blankTaxRows {
		rows = append(rows, taxRow{})
	}
	for i := range rows {
		rows[i].Index = i
	}
	d.TaxRows = rows
	var next uint64
	if err := a.store.View(func(tx *store.Tx) error { next = tx.LastInvoiceSeq(r.ID) + 1; return nil }); err != nil {
		return d, err
	}
	example := *r
	example.Seller = sd
	d.Example = store.InvoiceNumber(&example, a.now().In(store.LocationOf(r)).Year(), next)
	return d, nil
}

// showSellerDetails is the seller details and tax form.
func (a *App) showSellerDetails(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var r *store.Reseller
	if err := a.store.View(func(tx *store.Tx) (err error) { r, err = tx.Reseller(tenant.ID); return err }); err != nil {
		return err
	}
	sd := r.Seller
	form := newForm()
	form.Values = map[string]string{"legal_name": sd.LegalName, "vat_number": sd.VATNumber, "address1": sd.Address1,
		"address2": sd.Address2, "city": sd.City, "zip": sd.Zip, "state": sd.State, "country": sd.Country, "footer": sd.Footer,
		"payment_terms_days": strconv.Itoa(sd.PaymentTerms()), "invoice_prefix": sd.InvoicePrefix, "invoice_digits": ""}
	digits := sd.InvoiceDigits
	if digits == 0 {
		digits = store.DefaultInvoiceDigits
	}
	form.Values["invoice_digits"] = strconv.Itoa(digits)
	codes := make([]string, 0, len(sd.TaxRates))
	for k := range sd.TaxRates {
		codes = append(codes, k)
	}
	slices.SortFunc(codes, func(x, y string) int { // by name, "*" (every other country) last
		if x == "*" || y == "*" {
			return strings.Compare(y, x)
		}
		return strings.Compare(clients.CountryName(x), clients.CountryName(y))
	})
	var rows []taxRow
	for _, k := range codes {
		rows = append(rows, taxRow{Country: k, Rate: basisPointsValue(sd.TaxRates[k])})
	}
	data, err := a.sellerPage(r, form, rows, sd)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "billing/seller", "Seller details and tax", data)
}

// readTaxRows reads the tax table of the form: rows of a country and a
// rate in percent, those ticked "Remove" and the empty ones left out.
func readTaxRows(c *fiber.Ctx) (rows []taxRow, rates map[string]int, problems []string) {
	args := c.Request().PostArgs()
	var countries, values []string
	for _, v := range args.PeekMulti("tax_country") {
		countries = append(countries, string(v))
	}
	for _, v := range args.PeekMulti("tax_rate") {
		values = append(values, string(v))
	}
	removed := map[string]bool{}
	for _, v := range args.PeekMulti("tax_remove") {
		removed[string(v)] = true
	}
	rates = map[string]int{}
	for i := range max(len(countries), len(values)) {
		var country, value string
		if i < len(countries) {
			country = strings.ToUpper(strings.TrimSpace(countries[i]))
		}
		if i < len(values) {
			value = strings.TrimSpace(values[i])
		}
		if removed[strconv.Itoa(i)] || country == "" && value == "" {
			continue
		}
		row := taxRow{Country: country, Rate: value}
		name := countryLabel(country)
		switch {
		case country == "":
			row.CountryErr = true
			problems = append(problems, fmt.Sprintf("The rate %s %% has no country: choose one.", value))
		case country != "*" && clients.CountryName(country) == "":
			row.CountryErr = true
			problems = append(problems, fmt.Sprintf("%q is not a country.", country))
		case hasRow(rows, country):
			row.CountryErr = true
			problems = append(problems, name+" has two rows: keep one.")
		}
		bp, ok := parsePercent(value)
		switch {
		case !ok:
			row.RateErr = true
			problems = append(problems, "The rate of "+name+" must be a percentage such as 20, 7.5 or 19.25 (at most two decimals).")
		case bp > billing.MaxTaxRate:
			row.RateErr = true
			problems = append(problems, "The rate of "+name+" must be between 0 % and 100 %.")
		case !row.CountryErr:
			rates[country] = bp
		}
		rows = append(rows, row)
	}
	return rows, rates, problems
}

func hasRow(rows []taxRow, country string) bool {
	return slices.ContainsFunc(rows, func(r taxRow) bool { return r.Country == country })
}

// countryLabel names a tax table's country for people.
func countryLabel(code string) string {
	switch code {
	case "*":
		return "every other country"
	case "":
		return "a row without a country"
	}
	if name := clients.CountryName(code); name != "" {
		return name
	}
	return code
}

// saveSellerDetails saves the seller details and tax rates, or shows the
// form again with 422 and every problem.
func (a *App) saveSellerDetails(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	form := newForm()
	for _, k := range sellerFields {
		form.Values[k] = c.FormValue(k)
	}
	var errs fault.Fields
	number := func(field, message string) int {
		v := strings.TrimSpace(form.Values[field])
		if v == "" {
			return 0 // the default
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs.Add(field, message)
		}
		return n
	}
	sd := store.SellerDetails{LegalName: form.Values["legal_name"], VATNumber: form.Values["vat_number"],
		Address1: form.Values["address1"], Address2: form.Values["address2"], City: form.Values["city"], Zip: form.Values["zip"],
		State: form.Values["state"], Country: form.Values["country"], Footer: form.Values["footer"], InvoicePrefix: form.Values["invoice_prefix"],
		PaymentTermsDays: number("payment_terms_days", "A whole number of days, e.g. 14."),
		InvoiceDigits:    number("invoice_digits", "A whole number of digits, e.g. 6.")}
	rows, rates, taxProblems := readTaxRows(c)
	sd.TaxRates = rates
	clean, serviceErrs := billing.CleanSellerDetails(sd)
	for _, e := range serviceErrs {
		if e.Field == "tax_rates" {
			taxProblems = append(taxProblems, e.Message)
		} else if !errs.Has(e.Field) {
			errs = append(errs, e)
		}
	}
	if len(errs) == 0 && len(taxProblems) == 0 {
		_, err := a.billing.SetSellerDetails(tenant.ID, clean, a.actor(c)) // tenant scope
		if form.refused(err) {
			return a.renderSellerRefused(c, tenant, form, rows, nil, clean)
		}
		if err != nil {
			return err
		}
		a.InvalidateTenants() // the host cache holds the reseller record, seller details included
		a.setFlash(c, "success", "Seller details and tax saved. Invoices issued from now on use them; issued invoices keep theirs.")
		return c.Redirect(resellerSellerURL, fiber.StatusSeeOther)
	}
	for field, message := range errs.Map() {
		form.Errors[field] = message
	}
	return a.renderSellerRefused(c, tenant, form, rows, taxProblems, clean)
}

func (a *App) renderSellerRefused(c *fiber.Ctx, tenant *store.Reseller, form *Form, rows []taxRow, taxProblems []string, sd store.SellerDetails) error {
	if len(taxProblems) > 0 {
		form.Errors["tax_rates"] = taxProblems[0]
	}
	form.Error = "Nothing was saved. Please correct the fields marked below."
	example := sd
	if form.Errors["invoice_prefix"] != "" || form.Errors["invoice_digits"] != "" {
		example = tenant.Seller
	}
	data, err := a.sellerPage(tenant, form, rows, example)
	if err != nil {
		return err
	}
	data.TaxErrors = taxProblems
	return a.render(c, fiber.StatusUnprocessableEntity, "billing/seller", "Seller details and tax", data)
}
