package calls

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestRegionOfNumberMatchesParse: the region worked out from the calling
// code and national number is the one the library gives a number it
// parsed from the same E.164 string, for numbers under every calling code
// that several regions share (random national numbers, fixed seed).
func TestRegionOfNumberMatchesParse(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	shared := 0
	for code := range phonenumbers.GetSupportedCallingCodes() {
		if len(phonenumbers.GetRegionCodesForCountryCode(code)) < 2 {
			continue
		}
		shared++
		cc := strconv.Itoa(code)
		for range 400 {
			national := ""
			for range 6 + rng.IntN(15-len(cc)-5) {
				national += strconv.Itoa(rng.IntN(10))
			}
			e164 := "+" + cc + national
			want := ""
			if num, err := phonenumbers.Parse(e164, ""); err == nil {
				want = phonenumbers.GetRegionCodeForNumber(num)
			}
			gotCode, digits, _ := callingCode(e164)
			if got := regionOfNumber(gotCode, e164[1+digits:]); gotCode != code || got != want {
				t.Errorf("%s: code %d, region %q; the parser's %q", e164, gotCode, got, want)
			}
		}
	}
	if shared < 10 {
		t.Fatalf("only %d shared calling codes", shared)
	}
}
