package billing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"portico/app/fault"
	"portico/app/testkit"
	"portico/store"
)

var numberT0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// staff (service_test.go) acts in these tests too.

// numberFixture is a real store with two resellers (acme in USD selling
// from GB, globex in EUR) and clients of each.
type numberFixture struct {
	t     *testing.T
	s     *store.Store
	svc   *Service
	clock *testkit.Clock
	acme  *store.Reseller
	globx *store.Reseller
	ann   *store.Client // acme's
	bob   *store.Client // acme's
	gus   *store.Client // globex's
}

func newNumberFixture(t *testing.T) *numberFixture {
	t.Helper()
	clock := testkit.NewClock(numberT0)
	s := testkit.OpenStore(t, clock)
	res, err := s.ReconcileResellers([]store.ResellerSpec{
		{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example"},
		{Slug: "globex", Name: "Globex", Currency: "EUR", OwnerEmail: "o@globex.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &numberFixture{t: t, s: s, svc: New(s, nil, nil, nil), clock: clock}
	for _, r := range res.NeedOwner {
		if r.Slug == "acme" {
			f.acme = r
		} else {
			f.globx = r
		}
	}
	f.acme.Seller.Country = "GB" // national forms are read as British
	f.ann, f.bob = f.newClient(f.acme, "ann"), f.newClient(f.acme, "bob")
	f.gus = f.newClient(f.globx, "gus")
	return f
}

func (f *numberFixture) newClient(r *store.Reseller, username string) *store.Client {
	f.t.Helper()
	c := &store.Client{ResellerID: r.ID, Username: username, FirstName: "A", LastName: "B", Email: username + "@example.com", Country: "US"}
	err := f.s.Update(func(tx *store.Tx) error {
		return tx.CreateClient(c, &store.User{Email: username + "@example.com", PasswordHash: "x"}, "seed")
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *numberFixture) add(number, typ, monthly string) *store.PhoneNumber {
	f.t.Helper()
	n, err := f.svc.AddNumber(f.acme, NumberInput{Number: number, Type: typ, MonthlyFee: monthly, SetupFee: "10"}, staff)
	if err != nil {
		f.t.Fatalf("add %s: %v", number, err)
	}
	return n
}

// audit is acme's audit actions, oldest first, as "action target".
func (f *numberFixture) audit() []string {
	f.t.Helper()
	var out []string
	err := f.s.View(func(tx *store.Tx) error {
		events, _, err := tx.AuditEvents(f.acme.ID, 0, 1000)
		for i := len(events) - 1; i >= 0; i-- {
			if strings.HasPrefix(events[i].Action, "number") {
				out = append(out, events[i].Action+" "+events[i].Target)
			}
		}
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *numberFixture) verify() {
	f.t.Helper()
	problems, err := f.s.Verify()
	if err != nil || len(problems) > 0 {
		f.t.Fatalf("verify: %v %v", err, problems)
	}
}

// numberFieldsOf fails unless err is a validation error, and returns its fields.
func numberFieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	fields, ok := fault.FieldsOf(err)
	if !ok {
		t.Fatalf("want a validation error, got %v", err)
	}
	return fields.Map()
}

// TestAddNumber: numbers are stored in E.164 with the type the library
// infers unless one is given, the number's country, and fees in minor
// units; what cannot be read is a field problem; a second add is 409.
func TestAddNumber(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	cases := []struct {
		in, typ, wantNumber, wantType, wantCountry string
	}{
		{"+1 415 555 2671", "", "+14155552671", store.NumberLocal, "US"}, // fixed line or mobile: local
		{"+447400123456", "", "+447400123456", store.NumberMobile, "GB"},
		{"+18002345678", "", "+18002345678", store.NumberTollFree, "US"},
		{"020 7946 0958", "", "+442079460958", store.NumberLocal, "GB"}, // national form in the seller's country
		{"0049 30 12345678", "", "+493012345678", store.NumberLocal, "DE"},
		{"+4915123456789", "", "+4915123456789", store.NumberMobile, "DE"},
		{"+33612345678", "local", "+33612345678", store.NumberLocal, "FR"}, // a given type wins
		{"+442079460959", "Toll-Free", "+442079460959", store.NumberTollFree, "GB"},
	}
	for _, tc := range cases {
		n := f.add(tc.in, tc.typ, "2.50")
		if n.Number != tc.wantNumber || n.Type != tc.wantType || n.Country != tc.wantCountry || n.Status != store.NumberAvailable ||
			n.MonthlyFee != 25000 || n.SetupFee != 100000 || n.ClientID != 0 || !n.CreatedAt.Equal(numberT0) {
			t.Errorf("%q: got %+v, want %s %s %s", tc.in, n, tc.wantNumber, tc.wantType, tc.wantCountry)
		}
	}
	stored, err := f.svc.Number(f.acme, "+447400123456")
	if err != nil || stored.Type != store.NumberMobile {
		t.Fatalf("stored: %+v %v", stored, err)
	}
	if _, err := f.svc.AddNumber(f.acme, NumberInput{Number: "07400 123456", MonthlyFee: "1"}, staff); !errors.Is(err, ErrNumberExists) {
		t.Errorf("same number again in national form: %v, want ErrNumberExists", err)
	}
	if _, err := f.svc.AddNumber(f.globx, NumberInput{Number: "+447400123456", MonthlyFee: "1"}, staff); err != nil {
		t.Errorf("another reseller may have the same number: %v", err)
	}

	bad := []struct {
		in    NumberInput
		field string
	}{
		{NumberInput{Number: "", MonthlyFee: "1"}, "number"},
		{NumberInput{Number: "555", MonthlyFee: "1"}, "number"},
		{NumberInput{Number: "+1234", MonthlyFee: "1"}, "number"},
		{NumberInput{Number: "+44 20 7946 095", MonthlyFee: "1"}, "number"}, // a digit short: possible nowhere valid
		{NumberInput{Number: "not a number", MonthlyFee: "1"}, "number"},
		{NumberInput{Number: "+14155550123", Type: "landline", MonthlyFee: "1"}, "type"},
		{NumberInput{Number: "+14155550123"}, "monthly_fee"},
		{NumberInput{Number: "+14155550123", MonthlyFee: "-1"}, "monthly_fee"},
		{NumberInput{Number: "+14155550123", MonthlyFee: "1.234"}, "monthly_fee"}, // USD has 2 decimals
		{NumberInput{Number: "+14155550123", MonthlyFee: "1000000.01"}, "monthly_fee"},
		{NumberInput{Number: "+14155550123", MonthlyFee: "1", SetupFee: "$5"}, "setup_fee"},
		{NumberInput{Number: "+14155550123", MonthlyFee: "1", Label: "front\ndesk"}, "label"},
		{NumberInput{Number: "+14155550123", MonthlyFee: "1", Label: strings.Repeat("x", 101)}, "label"},
	}
	for _, tc := range bad {
		_, err := f.svc.AddNumber(f.acme, tc.in, staff)
		if fields := numberFieldsOf(t, err); fields[tc.field] == "" {
			t.Errorf("%+v: fields %v, want one on %s", tc.in, fields, tc.field)
		}
	}
	if got := f.audit(); len(got) != len(cases) || got[0] != "number.add +14155552671" {
		t.Errorf("audit: %v", got)
	}
	f.verify()
}

// TestAssignReleaseQuarantine walks a number through its life: assigned
// (a new holding, setup fee not yet invoiced), refused to another client,
// released into quarantine, refused to anyone for 30 days to the second,
// then assigned again with a second holding and its setup fee due again.
func TestAssignReleaseQuarantine(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	f.add("+442079460958", "", "3")

	n, err := f.svc.AssignNumber(f.acme, "+442079460958", "ann", staff)
	if err != nil || n.Status != store.NumberAssigned || n.ClientID != f.ann.ID || !n.AssignedAt.Equal(numberT0) || n.SetupInvoiced ||
		len(n.History) != 1 || n.History[0] != (store.NumberHolding{ClientID: f.ann.ID, From: numberT0, By: staff.Name}) {
		t.Fatalf("assign: %+v %v", n, err)
	}
	// billing invoices the setup fee of this holding
	if err := f.s.Update(func(tx *store.Tx) error {
		n.SetupInvoiced = true
		return tx.PutNumber(n, false)
	}); err != nil {
		t.Fatal(err)
	}
	if again, err := f.svc.AssignNumber(f.acme, "442079460958", strconv.FormatUint(f.ann.ID, 10), staff); err != nil || len(again.History) != 1 || !again.SetupInvoiced {
		t.Fatalf("assign to its holder again (by id) changes nothing: %+v %v", again, err)
	}
	if _, err := f.svc.AssignNumber(f.acme, "+442079460958", "bob", staff); !errors.Is(err, ErrNumberTaken) {
		t.Fatalf("assign a held number to another client: %v, want ErrNumberTaken (409)", err)
	}

	f.clock.Advance(24 * time.Hour)
	released := numberT0.Add(24 * time.Hour)
	n, err = f.svc.ReleaseNumber(f.acme, "+442079460958", staff)
	if err != nil || n.Status != store.NumberQuarantined || n.ClientID != 0 || !n.ReleasedAt.Equal(released) || !n.AssignedAt.IsZero() ||
		!n.History[0].To.Equal(released) || n.History[0].ReleasedBy != staff.Name {
		t.Fatalf("release: %+v %v", n, err)
	}
	if _, err := f.svc.ReleaseNumber(f.acme, "+442079460958", staff); err != nil {
		t.Fatalf("releasing a released number changes nothing: %v", err)
	}
	for _, who := range []string{"bob", "ann"} { // not even back to its last holder
		if _, err := f.svc.AssignNumber(f.acme, "+442079460958", who, staff); !fault.Is(err, fault.Conflict) {
			t.Fatalf("assign in quarantine to %s: %v, want a conflict", who, err)
		}
	}
	f.clock.Advance(store.QuarantineDays*24*time.Hour - time.Second)
	if _, err := f.svc.AssignNumber(f.acme, "+442079460958", "bob", staff); !fault.Is(err, fault.Conflict) {
		t.Fatalf("assign a second before the quarantine ends: %v, want a conflict", err)
	}
	if page, _, _ := f.svc.Numbers(f.acme.ID, NumberQuery{Status: store.NumberQuarantined}); len(page) != 1 {
		t.Fatalf("quarantined a second before the end: %d", len(page))
	}
	f.clock.Advance(time.Second)
	if page, _, _ := f.svc.Numbers(f.acme.ID, NumberQuery{Status: store.NumberAvailable}); len(page) != 1 {
		t.Fatalf("available once the quarantine is over: %d", len(page))
	}
	second := f.clock.Now()
	n, err = f.svc.AssignNumber(f.acme, "+442079460958", "bob", staff)
	if err != nil || n.ClientID != f.bob.ID || n.SetupInvoiced || !n.ReleasedAt.IsZero() || len(n.History) != 2 ||
		n.History[1] != (store.NumberHolding{ClientID: f.bob.ID, From: second, By: staff.Name}) || n.History[0].ClientID != f.ann.ID {
		t.Fatalf("assign after the quarantine: %+v %v", n, err)
	}
	want := []string{"number.add +442079460958", "number.assign +442079460958", "number.release +442079460958", "number.assign +442079460958"}
	if got := f.audit(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit: %v, want %v", got, want)
	}
	f.verify()
}

// TestAssignNeverReachesAnotherTenant: a client of another reseller,
// named by id or username, is the same field problem as one that does
// not exist; another reseller's number is not found.
func TestAssignNeverReachesAnotherTenant(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	f.add("+14155552671", "", "1")
	for _, ref := range []string{"gus", strconv.FormatUint(f.gus.ID, 10), "nobody", "999999"} {
		_, err := f.svc.AssignNumber(f.acme, "+14155552671", ref, staff)
		if fields := numberFieldsOf(t, err); fields["client"] != "There is no such client." {
			t.Errorf("client %q: %v", ref, fields)
		}
	}
	if _, err := f.svc.AssignNumber(f.acme, "+14155552671", " ", staff); numberFieldsOf(t, err)["client"] == "" {
		t.Error("an empty client is a field problem")
	}
	for _, call := range []func() error{
		func() error { _, err := f.svc.Number(f.globx, "+14155552671"); return err },
		func() error { _, err := f.svc.AssignNumber(f.globx, "+14155552671", "gus", staff); return err },
		func() error { _, err := f.svc.ReleaseNumber(f.globx, "+14155552671", staff); return err },
		func() error { return f.svc.DeleteNumber(f.globx, "+14155552671", staff) },
		func() error { _, err := f.svc.Number(f.acme, "garbage"); return err },
	} {
		if err := call(); !fault.Is(err, fault.NotFound) {
			t.Errorf("another reseller's number: %v, want not found", err)
		}
	}
	n, err := f.svc.Number(f.acme, "+14155552671")
	if err != nil || n.Status != store.NumberAvailable {
		t.Fatalf("unchanged: %+v %v", n, err)
	}
}

// TestUpdateNumber: type, fees and label change and are audited; wrong
// values change nothing; a patch that changes nothing writes nothing.
func TestUpdateNumber(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	f.add("+14155552671", "", "1")
	s := func(v string) *string { return &v }
	n, err := f.svc.UpdateNumber(f.acme, "+14155552671", NumberPatch{Type: s("mobile"), MonthlyFee: s("4.99"), SetupFee: s("0"), Label: s("  Sales line ")}, staff)
	if err != nil || n.Type != store.NumberMobile || n.MonthlyFee != 49900 || n.SetupFee != 0 || n.Label != "Sales line" {
		t.Fatalf("update: %+v %v", n, err)
	}
	_, err = f.svc.UpdateNumber(f.acme, "+14155552671", NumberPatch{Type: s(""), MonthlyFee: s("x"), Label: s("a\tb")}, staff)
	if fields := numberFieldsOf(t, err); fields["type"] == "" || fields["monthly_fee"] == "" || fields["label"] == "" {
		t.Errorf("fields: %v", fields)
	}
	if _, err := f.svc.UpdateNumber(f.acme, "+14155552671", NumberPatch{Label: s("Sales line")}, staff); err != nil {
		t.Fatal(err)
	}
	want := []string{"number.add +14155552671", "number.update +14155552671"}
	if got := f.audit(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit: %v, want %v", got, want)
	}
	// a fee change and an assignment in one patch: one transaction, two events
	n, err = f.svc.UpdateNumber(f.acme, "+14155552671", NumberPatch{MonthlyFee: s("5"), Client: s("ann")}, staff)
	if err != nil || n.MonthlyFee != 50000 || n.ClientID != f.ann.ID {
		t.Fatalf("fee and holder: %+v %v", n, err)
	}
	// a refused assignment leaves the fee unchanged too
	if _, err := f.svc.UpdateNumber(f.acme, "+14155552671", NumberPatch{MonthlyFee: s("6"), Client: s("bob")}, staff); !errors.Is(err, ErrNumberTaken) {
		t.Fatalf("%v", err)
	}
	if n, _ := f.svc.Number(f.acme, "+14155552671"); n.MonthlyFee != 50000 {
		t.Errorf("a refused patch changed the fee: %d", n.MonthlyFee)
	}
}

// TestDeleteNumber: only an available number can be deleted; an assigned
// or quarantined one is a conflict until its quarantine is over.
func TestDeleteNumber(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	f.add("+14155552671", "", "1")
	f.add("+14155552672", "", "1")
	if err := f.svc.DeleteNumber(f.acme, "+14155552672", staff); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Number(f.acme, "+14155552672"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("deleted: %v", err)
	}
	if _, err := f.svc.AssignNumber(f.acme, "+14155552671", "ann", staff); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteNumber(f.acme, "+14155552671", staff); !errors.Is(err, ErrNumberInUse) {
		t.Fatalf("delete assigned: %v", err)
	}
	if _, err := f.svc.ReleaseNumber(f.acme, "+14155552671", staff); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteNumber(f.acme, "+14155552671", staff); !errors.Is(err, ErrNumberInUse) {
		t.Fatalf("delete quarantined: %v", err)
	}
	f.clock.Advance(store.QuarantineDays * 24 * time.Hour)
	if err := f.svc.DeleteNumber(f.acme, "14155552671", staff); err != nil {
		t.Fatalf("delete once the quarantine is over: %v", err)
	}
	if err := f.svc.DeleteNumber(f.acme, "+14155552671", staff); !fault.Is(err, fault.NotFound) {
		t.Fatalf("delete again: %v", err)
	}
	f.verify()
}

// TestNumbersList: filters by status as it reads now and by holder, in
// E.164 order, a page at a time.
func TestNumbersList(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	for i := range 6 {
		f.add(fmt.Sprintf("+1415555267%d", i), "", "1")
	}
	for _, a := range []struct{ number, client string }{{"+14155552670", "ann"}, {"+14155552672", "ann"}, {"+14155552674", "bob"}, {"+14155552675", "bob"}} {
		if _, err := f.svc.AssignNumber(f.acme, a.number, a.client, staff); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.ReleaseNumber(f.acme, "+14155552675", staff); err != nil {
		t.Fatal(err)
	}
	list := func(q NumberQuery) string {
		page, more, err := f.svc.Numbers(f.acme.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range page {
			out = append(out, n.Number[len(n.Number)-1:])
		}
		return strings.Join(out, ",") + fmt.Sprintf(" more=%v", more)
	}
	for _, tc := range []struct {
		q    NumberQuery
		want string
	}{
		{NumberQuery{}, "0,1,2,3,4,5 more=false"},
		{NumberQuery{Status: store.NumberAssigned}, "0,2,4 more=false"},
		{NumberQuery{Status: store.NumberAvailable}, "1,3 more=false"},
		{NumberQuery{Status: store.NumberQuarantined}, "5 more=false"},
		{NumberQuery{ClientID: f.ann.ID}, "0,2 more=false"},
		{NumberQuery{ClientID: f.bob.ID}, "4 more=false"},
		{NumberQuery{ClientID: f.ann.ID, Limit: 1}, "0 more=true"},
		{NumberQuery{ClientID: f.ann.ID, After: "+14155552670"}, "2 more=false"},
		{NumberQuery{Limit: 2}, "0,1 more=true"},
		{NumberQuery{Limit: 2, After: "+14155552671"}, "2,3 more=true"},
		{NumberQuery{Status: store.NumberAssigned, Limit: 2, After: "+14155552671"}, "2,4 more=false"},
	} {
		if got := list(tc.q); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.q, got, tc.want)
		}
	}
	if page, _, _ := f.svc.Numbers(f.globx.ID, NumberQuery{}); len(page) != 0 {
		t.Errorf("globex sees %d of acme's numbers", len(page))
	}
	counts, err := f.svc.NumberCounts(f.acme.ID)
	if err != nil || counts[store.NumberAssigned] != 3 || counts[store.NumberAvailable] != 2 || counts[store.NumberQuarantined] != 1 {
		t.Errorf("counts: %v %v", counts, err)
	}
}

// TestDeletedClientReleasesItsNumbers: when the clean-up deletes a
// client, its numbers go into quarantine with their holding closed, and
// the store still verifies.
func TestDeletedClientReleasesItsNumbers(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	f.add("+14155552671", "", "1")
	if _, err := f.svc.AssignNumber(f.acme, "+14155552671", "ann", staff); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if err := f.s.Update(func(tx *store.Tx) error { return tx.DeleteClient(f.acme.ID, f.ann.ID) }); err != nil {
		t.Fatal(err)
	}
	n, err := f.svc.Number(f.acme, "+14155552671")
	if err != nil || n.StatusAt(f.clock.Now()) != store.NumberQuarantined || n.ClientID != 0 || !n.History[0].To.Equal(numberT0.Add(time.Hour)) {
		t.Fatalf("after the holder's deletion: %+v %v", n, err)
	}
	f.verify()
}

// TestVerifyFindsNumberDamage: verify notices a number with a holder
// whose status is not assigned.
func TestVerifyFindsNumberDamage(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	f.add("+14155552671", "", "1")
	if _, err := f.svc.AssignNumber(f.acme, "+14155552671", "ann", staff); err != nil {
		t.Fatal(err)
	}
	err := f.s.Update(func(tx *store.Tx) error {
		n, err := tx.Number(f.acme.ID, "+14155552671")
		if err != nil {
			return err
		}
		n.Status = store.NumberAvailable // still held by ann
		return tx.PutNumber(n, false)
	})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := f.s.Verify()
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0], "status available with holder") {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

// TestConcurrentAssignsOneWins: clients racing for one number: exactly
// one gets it, every other is ErrNumberTaken, and the history has one
// holding.
func TestConcurrentAssignsOneWins(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	f.add("+14155552671", "", "1")
	var clients []string
	for i := range 8 {
		clients = append(clients, f.newClient(f.acme, fmt.Sprintf("racer%d", i)).Username)
	}
	errs := make(chan error, len(clients))
	for _, cl := range clients {
		go func() {
			_, err := f.svc.AssignNumber(f.acme, "+14155552671", cl, staff)
			errs <- err
		}()
	}
	won := 0
	for range clients {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, ErrNumberTaken):
			t.Errorf("a loser's error: %v", err)
		}
	}
	n, err := f.svc.Number(f.acme, "+14155552671")
	if won != 1 || err != nil || len(n.History) != 1 || n.History[0].ClientID != n.ClientID {
		t.Fatalf("won %d, number %+v %v", won, n, err)
	}
	f.verify()
}
