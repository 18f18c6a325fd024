package billing

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"portico/app/actor"
	"portico/app/clients"
	"portico/app/fault"
	"portico/app/textfield"
	"portico/store"
)

// MaxInvoiceEmails caps a client's invoice emails.
const MaxInvoiceEmails = 5

var vatPattern = regexp.MustCompile(`^[A-Z]{2}[0-9A-Z+*.]{2,13}$`)

// NormalizeVAT upper-cases a VAT number and drops spaces, dots and dashes.
func NormalizeVAT(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.':
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}

// trimLine trims *v and checks it is one line of at most max characters.
func trimLine(errs *fault.Fields, field string, v *string, max int) {
	*v = strings.TrimSpace(*v)
	if msg := textfield.SingleLine(*v); msg != "" {
		errs.Add(field, msg)
	} else if utf8.RuneCountInString(*v) > max {
		errs.Add(field, fmt.Sprintf("Use at most %d characters.", max))
	}
}

// cleanAddress checks the address, country and VAT number that buyer and
// seller blocks share, under the same field names.
func cleanAddress(errs *fault.Fields, address1, address2, city, zip, state, country, vat *string) {
	trimLine(errs, "address1", address1, 200)
	trimLine(errs, "address2", address2, 200)
	trimLine(errs, "city", city, 100)
	trimLine(errs, "zip", zip, 20)
	trimLine(errs, "state", state, 100)
	*country = strings.ToUpper(strings.TrimSpace(*country))
	if *country != "" && clients.CountryName(*country) == "" {
		errs.Add("country", "Choose a country (ISO 3166 code, e.g. GB).")
	}
	*vat = NormalizeVAT(*vat)
	switch {
	case *vat != "" && !vatPattern.MatchString(*vat):
		errs.Add("vat_number", "A VAT number starts with its two-letter country prefix, e.g. DE123456789.")
	case *vat != "" && slices.Contains(euCountries, *country) && VATCountry(*vat) != *country && !errs.Has("country"):
		errs.Add("vat_number", fmt.Sprintf("A VAT number of %s starts with %s; this one is of another country.", clients.CountryName(*country), vatPrefix(*country)))
	}
}

// vatPrefix is the prefix of the VAT numbers of an EU country (EL for
// Greece).
func vatPrefix(country string) string {
	if country == "GR" {
		return "EL"
	}
	return country
}

// CleanBillingDetails trims and normalises d and checks it; the faults
// name the API's fields.
func CleanBillingDetails(d store.BillingDetails) (store.BillingDetails, fault.Fields) {
	var errs fault.Fields
	trimLine(&errs, "company", &d.Company, 200)
	cleanAddress(&errs, &d.Address1, &d.Address2, &d.City, &d.Zip, &d.State, &d.Country, &d.VATNumber)
	var emails []string
	seen := map[string]bool{}
	bad := 0
	for _, e := range d.InvoiceEmails {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		a, err := mail.ParseAddress(e)
		if err != nil || a.Address != e || len(e) > 254 {
			if bad++; bad <= MaxInvoiceEmails { // a few by name: a list of thousands is not answered with thousands
				errs.Add("invoice_emails", fmt.Sprintf("%q is not an email address.", truncate(e, 80)))
			}
			continue
		}
		if k := store.NormalizeEmail(e); !seen[k] {
			seen[k] = true
			emails = append(emails, e)
		}
	}
	if bad > MaxInvoiceEmails {
		errs.Add("invoice_emails", fmt.Sprintf("%d more are not email addresses.", bad-MaxInvoiceEmails))
	}
	if len(emails) > MaxInvoiceEmails {
		errs.Add("invoice_emails", fmt.Sprintf("At most %d invoice emails.", MaxInvoiceEmails))
	}
	d.InvoiceEmails = emails
	return d, errs
}

// SetBillingDetails validates and saves the client's billing details.
// Issued invoices keep the details they froze.
func (s *Service) SetBillingDetails(r *store.Reseller, cid uint64, d store.BillingDetails, by actor.Actor) (*store.Client, error) {
	d, errs := CleanBillingDetails(d)
	if len(errs) > 0 {
		return nil, errs
	}
	var c *store.Client
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		if c, err = tx.SetClientBilling(r.ID, cid, d); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, ClientID: cid, Actor: by.Name, Action: "billing.details", Target: c.Username, IP: by.IP})
	})
	return c, err
}

// MaxTaxRate is the highest tax rate, in basis points (100 %).
const MaxTaxRate = 10_000

// CleanSellerDetails trims and normalises sd and checks it; the faults
// name the API's fields.
func CleanSellerDetails(sd store.SellerDetails) (store.SellerDetails, fault.Fields) {
	var errs fault.Fields
	trimLine(&errs, "legal_name", &sd.LegalName, 200)
	trimLine(&errs, "footer", &sd.Footer, 500)
	cleanAddress(&errs, &sd.Address1, &sd.Address2, &sd.City, &sd.Zip, &sd.State, &sd.Country, &sd.VATNumber)
	if sd.PaymentTermsDays < 0 || sd.PaymentTermsDays > 365 {
		errs.Add("payment_terms_days", "Between 0 and 365 days.")
	}
	sd.InvoicePrefix = strings.ToUpper(strings.TrimSpace(sd.InvoicePrefix))
	if sd.InvoicePrefix != "" && !regexp.MustCompile(`^[A-Z0-9]{1,12}$`).MatchString(sd.InvoicePrefix) {
		errs.Add("invoice_prefix", "Up to 12 letters and digits.")
	}
	if sd.InvoiceDigits != 0 && (sd.InvoiceDigits < 3 || sd.InvoiceDigits > 12) {
		errs.Add("invoice_digits", "Between 3 and 12 digits.")
	}
	rates := map[string]int{}
	for k, v := range sd.TaxRates {
		k = strings.ToUpper(strings.TrimSpace(k))
		if k != "*" && clients.CountryName(k) == "" {
			errs.Add("tax_rates", fmt.Sprintf("%q is not a country code.", k))
			continue
		}
		if v < 0 || v > MaxTaxRate {
			errs.Add("tax_rates", fmt.Sprintf("The rate of %s must be between 0 %% and 100 %%.", k))
			continue
		}
		rates[k] = v
	}
	sd.TaxRates = rates
	return sd, errs
}

// SetSellerDetails validates and saves the reseller's invoicing settings.
// Issued invoices keep the seller they froze.
func (s *Service) SetSellerDetails(rid uint64, sd store.SellerDetails, by actor.Actor) (*store.Reseller, error) {
	sd, errs := CleanSellerDetails(sd)
	if len(errs) > 0 {
		return nil, errs
	}
	var r *store.Reseller
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		if r, err = tx.Reseller(rid); err != nil {
			return err
		}
		r.Seller = sd
		if err := tx.UpdateReseller(r); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, Actor: by.Name, Action: "billing.seller", Target: r.Slug, IP: by.IP})
	})
	return r, err
}
