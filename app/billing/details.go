package billing

import (
	"fmt"
	"net/mail"
	"regexp"
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

// CleanBillingDetails trims and normalises d and checks it; the faults
// name the API's fields.
func CleanBillingDetails(d store.BillingDetails) (store.BillingDetails, fault.Fields) {
	var errs fault.Fields
	trim := func(field string, v *string, max int) {
		*v = strings.TrimSpace(*v)
		if msg := textfield.SingleLine(*v); msg != "" {
			errs.Add(field, msg)
		} else if utf8.RuneCountInString(*v) > max {
			errs.Add(field, fmt.Sprintf("Use at most %d characters.", max))
		}
	}
	trim("company", &d.Company, 200)
	trim("address1", &d.Address1, 200)
	trim("address2", &d.Address2, 200)
	trim("city", &d.City, 100)
	trim("zip", &d.Zip, 20)
	trim("state", &d.State, 100)
	d.Country = strings.ToUpper(strings.TrimSpace(d.Country))
	if d.Country != "" && clients.CountryName(d.Country) == "" {
		errs.Add("country", "Choose a country (ISO 3166 code, e.g. GB).")
	}
	d.VATNumber = NormalizeVAT(d.VATNumber)
	if d.VATNumber != "" && !vatPattern.MatchString(d.VATNumber) {
		errs.Add("vat_number", "A VAT number starts with its two-letter country prefix, e.g. DE123456789.")
	}
	var emails []string
	seen := map[string]bool{}
	for _, e := range d.InvoiceEmails {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		a, err := mail.ParseAddress(e)
		if err != nil || a.Address != e || len(e) > 254 {
			errs.Add("invoice_emails", fmt.Sprintf("%q is not an email address.", e))
			continue
		}
		if k := store.NormalizeEmail(e); !seen[k] {
			seen[k] = true
			emails = append(emails, e)
		}
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
	trim := func(field string, v *string, max int) {
		*v = strings.TrimSpace(*v)
		if msg := textfield.SingleLine(*v); msg != "" {
			errs.Add(field, msg)
		} else if utf8.RuneCountInString(*v) > max {
			errs.Add(field, fmt.Sprintf("Use at most %d characters.", max))
		}
	}
	trim("legal_name", &sd.LegalName, 200)
	trim("address1", &sd.Address1, 200)
	trim("address2", &sd.Address2, 200)
	trim("city", &sd.City, 100)
	trim("zip", &sd.Zip, 20)
	trim("state", &sd.State, 100)
	trim("footer", &sd.Footer, 500)
	sd.Country = strings.ToUpper(strings.TrimSpace(sd.Country))
	if sd.Country != "" && clients.CountryName(sd.Country) == "" {
		errs.Add("country", "Choose a country (ISO 3166 code, e.g. GB).")
	}
	sd.VATNumber = NormalizeVAT(sd.VATNumber)
	if sd.VATNumber != "" && !vatPattern.MatchString(sd.VATNumber) {
		errs.Add("vat_number", "A VAT number starts with its two-letter country prefix, e.g. DE123456789.")
	}
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
