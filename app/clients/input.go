// Package clients owns the reseller's side of clients: validating what
// staff or the API submit, creating a client with its owner, editing,
// recharging credit, disabling and the 90-day clean-up. HTML and JSON
// handlers both call it. It never imports Fiber.
package clients

import (
	"net/mail"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"portico/app/auth"
	"portico/app/fault"
	"portico/app/textfield"
)

// Input is a client as a form or the API submits it.
type Input struct {
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
	Country   string `json:"country"`
	State     string `json:"state"`
	City      string `json:"city"`
	Zip       string `json:"zip"`
	Address1  string `json:"address1"`
	Address2  string `json:"address2"`
	Company   string `json:"company"`
	Role      string `json:"role"`
	Password  string `json:"password"`
	Confirm   string `json:"-"`
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$`)

// fieldLimits caps free-text fields (characters).
var fieldLimits = map[string]int{"first_name": 100, "last_name": 100, "state": 100, "city": 100,
	"zip": 20, "address1": 200, "address2": 200, "company": 200, "role": 100}

// Normalize trims every field and puts the country in upper case.
func (in *Input) Normalize() {
	for _, p := range []*string{&in.Username, &in.FirstName, &in.LastName, &in.Email, &in.Phone, &in.Country,
		&in.State, &in.City, &in.Zip, &in.Address1, &in.Address2, &in.Company, &in.Role} {
		*p = strings.TrimSpace(*p)
	}
	in.Country = strings.ToUpper(in.Country)
}

// Validate checks a new client (with password) or an edit (without) and
// turns the phone number into E.164. Every problem is reported at once.
func (in *Input) Validate(policy auth.Policy, withPassword bool) fault.Fields {
	in.Normalize()
	var errs fault.Fields
	add := errs.Add
	if !usernamePattern.MatchString(in.Username) {
		add("username", "Use 3–32 letters, digits, dots, hyphens or underscores, starting with a letter or digit.")
	}
	if in.FirstName == "" {
		add("first_name", "Enter the first name.")
	}
	if in.LastName == "" {
		add("last_name", "Enter the last name.")
	}
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || len(in.Email) > 254 {
		add("email", "Enter an email address such as name@example.com.")
	}
	if CountryName(in.Country) == "" {
		add("country", "Choose a country.")
	}
	// A national number needs the country; with the country wrong, its
	// own message says what to fix first.
	if in.Phone != "" && (CountryName(in.Country) != "" || strings.HasPrefix(in.Phone, "+")) {
		region := in.Country
		if CountryName(region) == "" {
			region = ""
		}
		if e164, ok := NormalizePhone(in.Phone, region); !ok {
			add("phone", "Enter a valid phone number for the chosen country, or in international form such as +14155550100.")
		} else {
			in.Phone = e164
		}
	}
	for _, f := range []struct {
		name  string
		value string
	}{{"first_name", in.FirstName}, {"last_name", in.LastName}, {"state", in.State}, {"city", in.City}, {"zip", in.Zip},
		{"address1", in.Address1}, {"address2", in.Address2}, {"company", in.Company}, {"role", in.Role}} {
		// security: names and company reach mail subjects and headers
		if msg := textfield.SingleLine(f.value); msg != "" {
			add(f.name, msg)
		} else if utf8.RuneCountInString(f.value) > fieldLimits[f.name] {
			add(f.name, "Use at most "+strconv.Itoa(fieldLimits[f.name])+" characters.")
		}
	}
	if withPassword {
		if problem := policy.Check(in.Password); problem != "" {
			add("password", problem)
		} else if in.Confirm != in.Password {
			add("confirm", "The two passwords differ.")
		}
	}
	return errs
}

// NormalizePhone turns a phone number into E.164. A national number is
// read as a number of region (ISO 3166 alpha-2, "" for none, when only
// international numbers such as +14155550100 are understood); ok is false
// for a number that is not valid.
func NormalizePhone(phone, region string) (e164 string, ok bool) {
	num, err := phonenumbers.Parse(phone, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// Country is one entry of the country list.
type Country struct{ Code, Name string }

var countries = sync.OnceValue(func() []Country {
	names := display.English.Regions()
	var out []Country
	for code := range phonenumbers.GetSupportedRegions() {
		region, err := language.ParseRegion(code)
		if err != nil || !region.IsCountry() {
			continue
		}
		if name := names.Name(region); name != "" {
			out = append(out, Country{Code: code, Name: name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
})

var countryNames = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, c := range countries() {
		m[c.Code] = c.Name
	}
	return m
})

// Countries lists ISO 3166 countries by English name.
func Countries() []Country { return countries() }

// CountryName is the English name of an ISO 3166 alpha-2 code, or "".
func CountryName(code string) string { return countryNames()[code] }
