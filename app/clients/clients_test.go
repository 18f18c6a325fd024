package clients

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portico/app/actor"
	"portico/app/auth"
	"portico/app/fault"
	"portico/app/testkit"
	"portico/store"
)

var policy = auth.Policy{MinLength: 8, MaxLength: 20, RequireDigit: true, RequireUpper: true, RequireLower: true, RequireSpecial: true, RejectCommon: true}

func validInput() Input {
	return Input{Username: "ann.lee", FirstName: "Ann", LastName: "Lee", Email: "ann@example.com", Phone: "(415) 555-2671",
		Country: "us", City: "San Francisco", Company: "Lee Co", Password: "Sup3r-Secret!x", Confirm: "Sup3r-Secret!x"}
}

func TestValidateFieldByField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		edit  func(*Input)
		field string
		msg   string
	}{
		{"short username", func(in *Input) { in.Username = "ab" }, "username", "3–32"},
		{"username with space", func(in *Input) { in.Username = "ann lee" }, "username", "letters, digits"},
		{"no first name", func(in *Input) { in.FirstName = " " }, "first_name", "Enter the first name"},
		{"no last name", func(in *Input) { in.LastName = "" }, "last_name", "Enter the last name"},
		{"bad email", func(in *Input) { in.Email = "ann@" }, "email", "Enter an email address"},
		{"email with name", func(in *Input) { in.Email = "Ann <ann@example.com>" }, "email", "Enter an email address"},
		{"unknown country", func(in *Input) { in.Country = "XX" }, "country", "Choose a country"},
		{"bad phone", func(in *Input) { in.Phone = "12" }, "phone", "valid phone number"},
		{"phone of another country", func(in *Input) { in.Country = "FR"; in.Phone = "(415) 555-2671" }, "phone", "valid phone number"},
		{"long city", func(in *Input) { in.City = strings.Repeat("x", 101) }, "city", "at most 100"},
		{"weak password", func(in *Input) { in.Password, in.Confirm = "password", "password" }, "password", "Add"},
		{"mismatch", func(in *Input) { in.Confirm = "Sup3r-Secret!y" }, "confirm", "differ"},
	}
	for _, c := range cases {
		in := validInput()
		c.edit(&in)
		errs := in.Validate(policy, true)
		if len(errs) != 1 || errs[0].Field != c.field || !strings.Contains(errs[0].Message, c.msg) {
			t.Errorf("%s: got %v, want one error on %s containing %q", c.name, errs, c.field, c.msg)
		}
	}
	in := validInput()
	if errs := in.Validate(policy, true); len(errs) != 0 {
		t.Fatalf("valid input refused: %v", errs)
	}
	if in.Phone != "+14155552671" || in.Country != "US" {
		t.Errorf("not normalised: %q %q", in.Phone, in.Country)
	}
	in = Input{}
	if errs := in.Validate(policy, true); len(errs) < 5 {
		t.Errorf("empty input: only %d errors: %v", len(errs), errs)
	}
	if CountryName("FR") != "France" || len(Countries()) < 200 {
		t.Errorf("country list: %q, %d", CountryName("FR"), len(Countries()))
	}
}

func newService(t *testing.T) (*Service, *store.Store, *store.Reseller, *testkit.Clock) {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	s, err := store.Open(filepath.Join(t.TempDir(), "p.db"), store.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.ReconcileResellers([]store.ResellerSpec{{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example"}}); err != nil {
		t.Fatal(err)
	}
	var r *store.Reseller
	s.View(func(tx *store.Tx) (err error) { r, err = tx.ResellerBySlug("acme"); return err })
	return New(s), s, r, clock
}

func TestCreateAndConflicts(t *testing.T) {
	t.Parallel()
	svc, s, r, _ := newService(t)
	c, err := svc.Create(r, validInput(), actor.Actor{Name: "staff@acme.example", IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Phone != "+14155552671" || c.Status != store.ClientActive {
		t.Fatalf("client %+v", c)
	}
	in := validInput()
	in.Username = "ANN.LEE"
	in.Email = "other@example.com"
	var errs fault.Fields
	if _, err := svc.Create(r, in, actor.Actor{}); !errors.As(err, &errs) || errs[0].Field != "username" {
		t.Fatalf("duplicate username: %v", err)
	}
	in = validInput()
	in.Username = "other"
	if _, err := svc.Create(r, in, actor.Actor{}); !errors.As(err, &errs) || errs[0].Field != "email" {
		t.Fatalf("duplicate email: %v", err)
	}
	s.View(func(tx *store.Tx) error {
		n := 0
		tx.Clients(r.ID, func(*store.Client) bool { n++; return true })
		if n != 1 {
			t.Errorf("%d clients after refused creates", n)
		}
		u, err := tx.UserByEmail(r.ID, "ann@example.com")
		if err != nil || auth.CheckPassword(u.PasswordHash, "Sup3r-Secret!x") != nil {
			t.Errorf("owner cannot sign in: %v", err)
		}
		events, _, _ := tx.AuditEvents(r.ID, 0, 10)
		if len(events) != 1 || events[0].Action != "client.create" || events[0].Actor != "staff@acme.example" {
			t.Errorf("audit %+v", events)
		}
		return nil
	})
}

func TestRechargeRules(t *testing.T) {
	t.Parallel()
	svc, _, r, _ := newService(t)
	c, err := svc.Create(r, validInput(), actor.Actor{Name: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	for amount, want := range map[string]string{"": "Enter an amount", "abc": "Enter an amount", "0": "above zero",
		"-5": "Enter an amount", "100000.01": "At most 100,000.00 USD", "1.005": "at most 2 decimals"} {
		_, err := svc.Recharge(r, c.ID, amount, "", "", actor.Actor{Name: "staff"})
		var errs fault.Fields
		if !errors.As(err, &errs) || errs[0].Field != "amount" || !strings.Contains(errs[0].Message, want) {
			t.Errorf("amount %q: %v, want %q", amount, err, want)
		}
	}
	res, err := svc.Recharge(r, c.ID, "100.00", "welcome", "form-1", actor.Actor{Name: "staff"})
	if err != nil || res.Replayed || res.Credit.Available != 100*10000 || res.Credit.Assigned != 100*10000 {
		t.Fatalf("recharge: %+v %v", res, err)
	}
	again, err := svc.Recharge(r, c.ID, "100.00", "welcome", "form-1", actor.Actor{Name: "staff"})
	if err != nil || !again.Replayed || again.Entry.ID != res.Entry.ID || again.Credit.Available != 100*10000 {
		t.Fatalf("double submit: %+v %v", again, err)
	}
	if _, err := svc.Recharge(r, c.ID, "50.00", "welcome", "form-1", actor.Actor{Name: "staff"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same key, other amount: %v", err)
	}
	if _, err := svc.Recharge(r, c.ID+99, "1", "", "", actor.Actor{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown client: %v", err)
	}
}

// TestCleanupAfter90Days: with a fixed clock, day 89 keeps the client, day
// 90 deletes it (keeping its ledger), and a second run deletes nothing.
func TestCleanupAfter90Days(t *testing.T) {
	t.Parallel()
	svc, s, r, clock := newService(t)
	c, err := svc.Create(r, validInput(), actor.Actor{Name: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Recharge(r, c.ID, "10", "", "", actor.Actor{Name: "staff"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetStatus(r, c.ID, store.ClientDisabled, false, "", actor.Actor{Name: "staff"}); err != nil {
		t.Fatal(err)
	}
	disabledAt := clock.Now()
	clock.Advance(89 * 24 * time.Hour)
	if n, err := svc.Cleanup(clock.Now()); err != nil || n != 0 {
		t.Fatalf("day 89: deleted %d, %v", n, err)
	}
	clock.Advance(24 * time.Hour)
	if n, err := svc.Cleanup(clock.Now()); err != nil || n != 1 {
		t.Fatalf("day 90: deleted %d, %v", n, err)
	}
	if n, err := svc.Cleanup(clock.Now()); err != nil || n != 0 {
		t.Fatalf("second run: deleted %d, %v", n, err)
	}
	if got := DeletionDate(&store.Client{Status: store.ClientDisabled, DisabledAt: disabledAt}); !got.Equal(disabledAt.Add(90 * 24 * time.Hour)) {
		t.Errorf("deletion date %v", got)
	}
	s.View(func(tx *store.Tx) error {
		if ledger, _ := tx.ClientLedger(r.ID, c.ID); len(ledger) != 1 {
			t.Errorf("ledger entries after deletion: %d", len(ledger))
		}
		events, _, _ := tx.AuditEvents(r.ID, 0, 1)
		if events[0].Action != "client.delete" || events[0].Actor != "system" {
			t.Errorf("last audit %+v", events[0])
		}
		return nil
	})
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
}

// TestConcurrentEditsBothLand: edits of different fields at the same time
// are applied inside the transaction, so neither overwrites the other.
func TestConcurrentEditsBothLand(t *testing.T) {
	t.Parallel()
	svc, s, r, _ := newService(t)
	c, err := svc.Create(r, validInput(), actor.Actor{Name: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() {
		_, err := svc.Update(r, c.ID, func(in *Input) { in.City = "Oakland" }, actor.Actor{Name: "a"})
		done <- err
	}()
	go func() {
		_, err := svc.Update(r, c.ID, func(in *Input) { in.Company = "Lee Holdings" }, actor.Actor{Name: "b"})
		done <- err
	}()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	s.View(func(tx *store.Tx) error {
		got, _ := tx.Client(r.ID, c.ID)
		if got.City != "Oakland" || got.Company != "Lee Holdings" {
			t.Errorf("lost an edit: city %q company %q", got.City, got.Company)
		}
		return nil
	})
	if _, err := svc.Update(r, c.ID, func(in *Input) { in.Email = "bad" }, actor.Actor{}); !errors.As(err, new(fault.Fields)) {
		t.Errorf("invalid edit saved: %v", err)
	}
}

// TestConcurrentRechargesThroughService: 200 recharges with 100 distinct
// keys at once, through the batched commit path, make exactly 100 ledger
// entries, move 100 units, and leave a ledger that verifies.
func TestConcurrentRechargesThroughService(t *testing.T) {
	t.Parallel()
	svc, s, r, _ := newService(t)
	c, err := svc.Create(r, validInput(), actor.Actor{Name: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var replays atomic.Int64
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := svc.Recharge(r, c.ID, "1", "", "key-"+strconv.Itoa(i%100), actor.Actor{Name: "api"})
			if err != nil {
				t.Error(err)
				return
			}
			if res.Replayed {
				replays.Add(1)
			}
		}()
	}
	wg.Wait()
	if replays.Load() != 100 {
		t.Errorf("%d replays, want 100", replays.Load())
	}
	s.View(func(tx *store.Tx) error {
		ledger, _ := tx.ClientLedger(r.ID, c.ID)
		cl, _ := tx.Client(r.ID, c.ID)
		if len(ledger) != 100 || tx.Credit(cl).Available != 100*10000 {
			t.Errorf("%d entries, available %d", len(ledger), tx.Credit(cl).Available)
		}
		return nil
	})
	if problems, _ := s.Verify(); len(problems) > 0 {
		t.Fatal(problems)
	}
}
