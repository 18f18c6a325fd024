package calls

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"portico/store"
)

// ErrNumber means a phone number cannot be read unambiguously.
var ErrNumber = errors.New("calls: not a phone number")

// isE164 reports whether s is already in E.164 form: + and 7 to 15
// digits, the first not 0. The PBX sends this form; it needs no parsing.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NormalizeNumber turns a dialled or presented number into E.164. A
// number already in that form is taken as it is (rate decks know ranges
// the metadata may not yet); other forms are parsed with the client's
// country as the region for national numbers, and must be possible
// numbers there.
func NormalizeNumber(s, region string) (string, error) {
	s = strings.TrimSpace(s)
	if isE164(s) {
		return s, nil
	}
	if s == "" || len(s) > 40 {
		return "", ErrNumber
	}
	if strings.HasPrefix(s, "00") && region == "" { // international prefix with no country to read it by
		s = "+" + s[2:]
	}
	num, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return "", ErrNumber
	}
	out := phonenumbers.Format(num, phonenumbers.E164)
	if !isE164(out) {
		return "", ErrNumber
	}
	return out, nil
}

// NormalizeBlockedNumber reads a number a person types to block: it must
// be a valid number (not only a possible one), so a typo is explained
// rather than stored.
func NormalizeBlockedNumber(s, region string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 40 {
		return "", ErrNumber
	}
	num, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", ErrNumber
	}
	out := phonenumbers.Format(num, phonenumbers.E164)
	if !isE164(out) {
		return "", ErrNumber
	}
	return out, nil
}

// callerNumber reads an inbound caller's number: withheld numbers
// ("anonymous", "" and the like) are store.Anonymous and can never be
// blocked.
func callerNumber(s, region string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "anonymous", "private", "unknown", "withheld", "restricted":
		return store.Anonymous, nil
	}
	return NormalizeNumber(s, region)
}
