package billing

import (
	"math/big"
	"slices"
	"strings"

	"portico/store"
	"portico/store/money"
)

// prorate is amount × days / of, rounded half-to-even to the currency's
// digits: the price of days of a period of of days. Amounts of whole
// periods are not prorated (days == of returns amount unrounded).
func prorate(amount int64, days, of int, currency string) (int64, error) {
	if days == of {
		return amount, nil
	}
	return mulDivRound(amount, int64(days), int64(of), currency)
}

// mulDivRound is a × b / d rounded half-to-even to the currency's digits,
// exact for any int64 inputs; a result past an amount is money.ErrOverflow.
func mulDivRound(a, b, d int64, currency string) (int64, error) {
	step := int64(1)
	for i := money.Digits(currency); i < 4; i++ { // minor units are 1/10,000
		step *= 10
	}
	num := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	den := new(big.Int).Mul(big.NewInt(d), big.NewInt(step))
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	// half-to-even on |r| against den/2
	r2 := new(big.Int).Abs(r)
	r2.Lsh(r2, 1)
	switch c := r2.Cmp(den); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	q.Mul(q, big.NewInt(step))
	if !q.IsInt64() {
		return 0, money.ErrOverflow
	}
	return q.Int64(), nil
}

// euCountries are the member states of the European Union (ISO 3166-1;
// Greece as GR, whose VAT numbers start EL).
var euCountries = []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
	"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}

// ReverseChargeNote is printed on invoices of the EU reverse charge.
const ReverseChargeNote = "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC)."

// Tax is the rate (basis points) and legal note an invoice carries.
type Tax struct {
	Rate int
	Note string
}

// TaxFor decides the tax of an invoice from the seller's settings and the
// buyer's billing details: a business buyer with a VAT number in another
// EU country than an EU seller pays no VAT (reverse charge, with its note);
// otherwise the seller's rate for the buyer's country, or its "*" rate,
// or none. A buyer without a country is taxed as the seller's own.
func TaxFor(seller store.SellerDetails, buyer store.BillingDetails) Tax {
	sc, bc := strings.ToUpper(seller.Country), strings.ToUpper(buyer.Country)
	if bc == "" {
		bc = sc
	}
	if sc != "" && bc != sc && slices.Contains(euCountries, sc) && slices.Contains(euCountries, bc) &&
		VATCountry(buyer.VATNumber) == bc { // a VAT number of the buyer's own member state, never the seller's
		return Tax{Rate: 0, Note: ReverseChargeNote}
	}
	if rate, ok := seller.TaxRates[bc]; ok {
		return Tax{Rate: rate}
	}
	return Tax{Rate: seller.TaxRates["*"]}
}

// VATCountry is the ISO 3166 country of a VAT number's prefix (EL is
// Greece, GR); "" for a number too short to have one.
func VATCountry(vat string) string {
	vat = NormalizeVAT(vat)
	if len(vat) < 2 {
		return ""
	}
	if vat[:2] == "EL" {
		return "GR"
	}
	return vat[:2]
}

// taxAmount is subtotal × rate (basis points), rounded half-to-even to the
// currency's digits.
func taxAmount(subtotal int64, rate int, currency string) (int64, error) {
	if rate == 0 {
		return 0, nil
	}
	return mulDivRound(subtotal, int64(rate), 10_000, currency)
}

// finish fills in an invoice's subtotal, tax and total from its lines.
func finish(inv *store.Invoice, tax Tax) error {
	var sub int64
	for _, l := range inv.Lines {
		var err error
		if sub, err = money.Add(sub, l.Amount); err != nil {
			return err
		}
	}
	t, err := taxAmount(sub, tax.Rate, inv.Currency)
	if err != nil {
		return err
	}
	total, err := money.Add(sub, t)
	if err != nil {
		return err
	}
	inv.Subtotal, inv.Tax, inv.Total, inv.TaxRate, inv.TaxNote = sub, t, total, tax.Rate, tax.Note
	return nil
}
