package calls

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"portico/store"
	"portico/store/money"
)

// Calling packages in rating (docs/billing.md, "Calling packages", says
// the same for people):
//
//   - An outbound call is covered by a package of the client's plan when
//     the destination's country (the number's region, by the phone-number
//     library) is one of the package's countries and the destination is
//     not premium. A domestic-only package covers a country only when it
//     is also the client's own country (store.Client.Country).
//   - Fair use is counted in whole calls: a covered call counts its
//     duration rounded up to whole minutes (store.CoveredMinutes) in the
//     period of its start, the calendar month in the reseller's time zone.
//     A call that starts while the package has fair use left is covered
//     entirely, even if it runs past the allowance; the calls after it are
//     charged at the deck rate. The allowance is FairUseMinutes (times the
//     seats for a per-seat package); 0 minutes is unlimited.
//   - Authorise: a call a package covers, with fair use left, is allowed
//     without credit, reserves nothing (a reservation of 0 that names the
//     package) and may last the reseller's maximum call length. Its CDR is
//     covered by that package even when other calls spent the fair use
//     meanwhile: a call allowed as free is never charged, so a covered call
//     never takes credit it did not hold. Calls to a covered destination
//     once the fair use is spent are authorised, reserved and charged like
//     any other call.
//   - A CDR without such a reservation (never authorised, or released) is
//     covered when a package covering it has fair use left as the CDR is
//     recorded.

// includedCacheMax bounds the clients whose packages are kept; past it the
// cache starts afresh.
const includedCacheMax = 4096

// included is a client's packages as rating uses them: immutable, shared
// until the billing generation moves.
type included struct {
	gen uint64
	// until, when set, is when a pending subscription change takes
	// effect: the entry is stale from then.
	until time.Time
	pkgs  []*includedPackage
	// codes are the calling codes of every country the packages name: a
	// destination under another code is covered by none of them, and its
	// country need not be worked out.
	codes map[int]bool
}

type includedPackage struct {
	*store.CallingPackage // shared: never modified
	// countries are the package's countries in upper case.
	countries []string
	// allowance is the minutes of fair use a period (0: unlimited).
	allowance int64
}

// covers says whether p covers a destination in country for a client in
// home (both ISO 3166-1 alpha-2, upper case).
func (p *includedPackage) covers(country, home string) bool {
	return slices.Contains(p.countries, country) && (!p.DomesticOnly || country == home)
}

// within says whether used minutes leave fair use.
func (p *includedPackage) within(used int64) bool { return p.allowance == 0 || used < p.allowance }

// allowance is a package's fair-use minutes a period for seats (0:
// unlimited); a product too large to hold is as good as unlimited.
func allowance(p *store.CallingPackage, seats int) int64 {
	if p.FairUseMinutes <= 0 {
		return 0
	}
	if !p.PerSeat {
		return p.FairUseMinutes
	}
	n, err := money.Mul(p.FairUseMinutes, int64(max(seats, 1)))
	if err != nil {
		return math.MaxInt64
	}
	return n
}

// includedPackages is the client's packages now, from memory while no
// subscription or catalogue write has committed since they were read and
// no pending subscription change has come due.
func (s *Service) includedPackages(rid, cid uint64) (*included, error) {
	gen := s.store.BillingGeneration() // before the read: a write after it makes the entry stale, never wrong
	now := s.now()
	key := [2]uint64{rid, cid}
	s.pmu.Lock()
	e := s.included[key]
	s.pmu.Unlock()
	if e != nil && e.gen == gen && (e.until.IsZero() || now.Before(e.until)) {
		return e, nil
	}
	var in store.Included
	err := s.store.View(func(tx *store.Tx) (err error) { in, err = tx.IncludedPackages(rid, cid, now); return err })
	if err != nil {
		return nil, err
	}
	e = &included{gen: gen, until: in.Until, codes: map[int]bool{}}
	for _, p := range in.Packages {
		ip := &includedPackage{CallingPackage: p, allowance: allowance(p, in.Seats)}
		for _, country := range p.Countries {
			country = strings.ToUpper(country)
			ip.countries = append(ip.countries, country)
			if code := phonenumbers.GetCountryCodeForRegion(country); code != 0 {
				e.codes[code] = true
			}
		}
		e.pkgs = append(e.pkgs, ip)
	}
	s.pmu.Lock()
	if s.included == nil || len(s.included) >= includedCacheMax {
		s.included = map[[2]uint64]*included{}
	}
	s.included[key] = e
	s.pmu.Unlock()
	return e, nil
}

// covering lists the client's packages that cover a call to the E.164
// number to, ignoring fair use (nil when none); home is the client's
// country.
func (s *Service) covering(inc *included, to, home string) []*includedPackage {
	if len(inc.pkgs) == 0 {
		return nil
	}
	code, n, regions := callingCode(to)
	if !inc.codes[code] {
		return nil
	}
	country := ""
	if len(regions) == 1 {
		country = regions[0]
	} else {
		country = s.regionOf(to, code, n)
	}
	if country == "" {
		return nil
	}
	home = strings.ToUpper(home)
	var out []*includedPackage
	for _, p := range inc.pkgs {
		if p.covers(country, home) {
			out = append(out, p)
		}
	}
	return out
}

// callingCode reads the country calling code of an E.164 number, its
// length in digits and the regions that share it (none for an unknown
// code). Calling codes are prefix-free, so the first of 1 to 3 digits
// that is one is the code.
func callingCode(e164 string) (code, digits int, regions []string) {
	number := strings.TrimPrefix(e164, "+")
	for n := 1; n <= 3 && n < len(number); n++ {
		code, err := strconv.Atoi(number[:n])
		if err != nil {
			return 0, 0, nil
		}
		if regions := phonenumbers.GetRegionCodesForCountryCode(code); len(regions) > 0 {
			return code, n, regions
		}
	}
	return 0, 0, nil
}

// regionCacheMax bounds the numbers whose region is remembered.
const regionCacheMax = 16384

// regionOf is the region of an E.164 number whose calling code (of
// digits digits) several regions share (+1: the USA, Canada, the
// Caribbean; +44: the UK, Jersey, Guernsey, the Isle of Man): the library
// tells them apart by the number's patterns, which takes some
// microseconds, so answers are remembered. "" when the number fits none
// of them.
func (s *Service) regionOf(e164 string, code, digits int) string {
	s.pmu.Lock()
	region, ok := s.regions[e164]
	s.pmu.Unlock()
	if ok {
		return region
	}
	region = regionOfNumber(code, strings.TrimPrefix(e164, "+")[digits:])
	s.pmu.Lock()
	if s.regions == nil || len(s.regions) >= regionCacheMax {
		s.regions = map[string]string{}
	}
	s.regions[e164] = region
	s.pmu.Unlock()
	return region
}

// regionOfNumber is the library's region of the number with calling code
// code and national digits national, as its parser reads the E.164
// string: the number is built as the parser builds it (a leading zero
// kept as the Italian leading zero), without the parser's work on
// free-form input, which is most of its cost. Digits that begin with the
// national prefix (+1 1…, +44 0…), which the parser may strip, go through
// the parser itself.
func regionOfNumber(code int, national string) string {
	nsn, err := strconv.ParseUint(national, 10, 64)
	if err != nil || national == "" {
		return ""
	}
	regions := phonenumbers.GetRegionCodesForCountryCode(code)
	if len(regions) == 0 {
		return ""
	}
	if ndd := phonenumbers.GetNddPrefixForRegion(regions[0], true); ndd != "" && strings.HasPrefix(national, ndd) {
		num, err := phonenumbers.Parse("+"+strconv.Itoa(code)+national, "")
		if err != nil {
			return ""
		}
		return phonenumbers.GetRegionCodeForNumber(num)
	}
	cc := int32(code)
	num := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nsn}
	if len(national) > 1 && national[0] == '0' {
		zeros := int32(1)
		for int(zeros) < len(national)-1 && national[zeros] == '0' {
			zeros++
		}
		leading := true
		num.ItalianLeadingZero = &leading
		if zeros != 1 {
			num.NumberOfLeadingZeros = &zeros
		}
	}
	return phonenumbers.GetRegionCodeForNumber(num)
}

// location is the reseller's time zone, loaded once per zone name.
func (s *Service) location(r *store.Reseller) *time.Location {
	s.pmu.Lock()
	loc, ok := s.zones[r.Timezone]
	s.pmu.Unlock()
	if ok {
		return loc
	}
	loc = store.LocationOf(r)
	s.pmu.Lock()
	if s.zones == nil {
		s.zones = map[string]*time.Location{}
	}
	s.zones[r.Timezone] = loc
	s.pmu.Unlock()
	return loc
}

// periodOf names the fair-use period of t: its calendar month in loc.
func periodOf(t time.Time, loc *time.Location) string {
	y, m, _ := t.In(loc).Date()
	return string([]byte{byte('0' + y/1000%10), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + int(m)/10), byte('0' + int(m)%10)})
}

// coverCall picks the package that covers an authorised call now: the
// first of cands (in the plan's order) with fair use left in the current
// period, or nil.
func coverCall(tx *store.Tx, rid, cid uint64, cands []*includedPackage, period string) (*includedPackage, error) {
	for _, p := range cands {
		if p.allowance == 0 {
			return p, nil
		}
		used, err := tx.FairUseMinutes(rid, cid, p.ID, period)
		if err != nil {
			return nil, err
		}
		if p.within(used) {
			return p, nil
		}
	}
	return nil, nil
}

// coverer is the store.CoverFunc of one ingest: cands[i] are the packages
// covering the destination of the i-th rated CDR, costs[i] its cost at the
// deck rate.
func coverer(tx *store.Tx, rid, cid uint64, cands [][]*includedPackage, costs []int64, loc *time.Location) store.CoverFunc {
	return func(i int, cdr *store.CDR, fu *store.FairUse) error {
		cdr.PackageID, cdr.Cost = 0, costs[i]
		if len(cands[i]) == 0 {
			return nil
		}
		period := periodOf(cdr.StartedAt, loc)
		var chosen *includedPackage
		// A call authorised as covered stays covered by its package.
		if held, err := tx.Reservation(rid, cid, cdr.CallID); err == nil && held.Package != 0 {
			for _, p := range cands[i] {
				if p.ID == held.Package {
					chosen = p
					break
				}
			}
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if chosen == nil {
			for _, p := range cands[i] {
				if p.allowance == 0 {
					chosen = p
					break
				}
				used, err := fu.Used(p.ID, period)
				if err != nil {
					return err
				}
				if p.within(used) {
					chosen = p
					break
				}
			}
		}
		if chosen == nil {
			return nil
		}
		cdr.PackageID, cdr.Cost = chosen.ID, 0
		return fu.Add(chosen.ID, period, store.CoveredMinutes(cdr.DurationS))
	}
}

// PackageUse is one included package and the client's use of it in the
// current period.
type PackageUse struct {
	Package *store.CallingPackage
	// Period is the current period, "2026-11" (the calendar month in the
	// reseller's time zone).
	Period string
	// UsedMinutes are the minutes of covered calls counted in the period.
	UsedMinutes int64
	// AllowanceMinutes is the period's fair use, seats counted for a
	// per-seat package; 0 is unlimited.
	AllowanceMinutes int64
}

// PackageUsage lists the calling packages the client's plan includes,
// in the plan's order, with the minutes used of each this period and its
// allowance (for the billing page). Another reseller's client is a
// fault.NotFound.
func (s *Service) PackageUsage(r *store.Reseller, cid uint64) ([]PackageUse, error) {
	now := s.now()
	period := periodOf(now, s.location(r))
	var out []PackageUse
	err := s.store.View(func(tx *store.Tx) error {
		if _, err := tx.Client(r.ID, cid); err != nil { // tenant scope
			return err
		}
		in, err := tx.IncludedPackages(r.ID, cid, now)
		if err != nil {
			return err
		}
		for _, p := range in.Packages {
			used, err := tx.FairUseMinutes(r.ID, cid, p.ID, period)
			if err != nil {
				return err
			}
			out = append(out, PackageUse{Package: p, Period: period, UsedMinutes: used, AllowanceMinutes: allowance(p, in.Seats)})
		}
		return nil
	})
	if err != nil {
		return nil, noClient(err)
	}
	return out, nil
}
