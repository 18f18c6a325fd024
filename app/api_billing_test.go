package app

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// billingFixture is the API fixture with a catalogue: acme's plans Basic
// (10.00, 2 seats included, 5.00 a seat) and Pro (30.00, 5 included,
// 4.00), an add-on Recording (2.00 a seat) both offer, and a plan of
// globex's.
type billingFixture struct {
	*apiFixture
	basic, pro, rec, globexPlan uint64
}

func newBillingFixture(t *testing.T) *billingFixture {
	t.Helper()
	f := &billingFixture{apiFixture: newAPIFixture(t)}
	create := func(host, key, path, body string) uint64 {
		t.Helper()
		return decodeReply[struct{ ID uint64 }](t, f.at.expect(apiRequest{method: "POST", host: host, path: "/api/v1" + path, key: key, body: body}, http.StatusCreated)).ID
	}
	f.rec = create(acmeHost, f.acmeKey, "/add-ons", `{"name":"Recording","monthly_fee":"2.00","per_seat":true}`)
	f.basic = create(acmeHost, f.acmeKey, "/plans", fmt.Sprintf(`{"name":"Basic","kind":"subscription","monthly_fee":"10.00","included_seats":2,"seat_fee":"5.00","add_ons":[%d]}`, f.rec))
	f.pro = create(acmeHost, f.acmeKey, "/plans", fmt.Sprintf(`{"name":"Pro","kind":"subscription","monthly_fee":"30.00","included_seats":5,"seat_fee":"4.00","add_ons":[%d]}`, f.rec))
	f.globexPlan = create(globexHost, f.globexKey, "/plans", `{"name":"Globex","kind":"subscription","monthly_fee":"1.00"}`)
	return f
}

// fieldsOf422 checks r is a 422 problem and returns its fields in order.
func fieldsOf422(t *testing.T, r response) []string {
	t.Helper()
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422\n%s", r.status, r.body)
	}
	checkProblem(t, r)
	var out []string
	for _, e := range decodeReply[problem](t, r).Errors {
		out = append(out, e.Field)
	}
	return out
}

// TestAPISubscription: none is 404; starting one issues nothing; the
// period run invoices it once; an upgrade's preview lines are exactly the
// proration invoice's; a downgrade waits as the pending change and can be
// cancelled by the reseller; bad plans, seats and add-ons are 422 by field;
// the reseller reaches it under /clients/{client}, never another
// reseller's client.
func TestAPISubscription(t *testing.T) {
	t.Parallel()
	f := newBillingFixture(t)
	at, annKey, acme := f.at, f.annKey, f.acmeKey
	sub := func(key, path, method, body string, status int) apiSubscription {
		t.Helper()
		return decodeReply[apiSubscription](t, at.expect(apiRequest{method: method, host: acmeHost, path: "/api/v1" + path, key: key, body: body}, status))
	}

	r := at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/subscription", key: annKey}, http.StatusNotFound)
	checkProblem(t, r)

	for _, c := range []struct {
		body   string
		fields []string
	}{
		{fmt.Sprintf(`{"plan":99999,"seats":1}`), []string{"plan"}},
		{fmt.Sprintf(`{"plan":%d,"seats":1}`, f.globexPlan), []string{"plan"}}, // another reseller's plan does not exist here
		{fmt.Sprintf(`{"plan":%d,"seats":0}`, f.basic), []string{"seats"}},
		{fmt.Sprintf(`{"plan":%d,"seats":100001}`, f.basic), []string{"seats"}},
		{fmt.Sprintf(`{"plan":%d,"seats":1,"add_ons":[99999]}`, f.basic), []string{"add_ons"}},
		{`{"seats":0}`, []string{"plan", "seats"}},
	} {
		for _, path := range []string{"/api/v1/subscription", "/api/v1/subscription/preview"} {
			method := "PUT"
			if strings.HasSuffix(path, "preview") {
				method = "POST"
			}
			got := fieldsOf422(t, at.do(apiRequest{method: method, host: acmeHost, path: path, key: annKey, body: c.body}))
			if !slices.Equal(got, c.fields) {
				t.Errorf("%s %s: fields %v, want %v", method, c.body, got, c.fields)
			}
		}
	}
	r = at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/subscription", key: annKey, body: `{"plan":1,"seats":1,"Seats":2}`}, http.StatusBadRequest)
	checkProblem(t, r)

	// start: nothing is invoiced at once
	s := sub(annKey, "/subscription", "PUT", fmt.Sprintf(`{"plan":%d,"seats":3}`, f.basic), http.StatusOK)
	if s.Plan != f.basic || s.Seats != 3 || s.SeatsUsed != 1 || len(s.AddOns) != 0 || s.PendingChange != nil || s.Status != "active" ||
		s.PeriodStart != "2026-11-01T00:00:00Z" || s.PeriodEnd != "2026-12-01T00:00:00Z" || s.StartedAt != "2026-11-02T10:00:00Z" {
		t.Fatalf("started: %+v", s)
	}
	if got := sub(annKey, "/subscription", "GET", "", http.StatusOK); !equalSubs(got, s) {
		t.Fatalf("GET %+v, PUT said %+v", got, s)
	}
	if l := f.invoices(annKey, "/invoices"); len(l.Data) != 0 {
		t.Fatalf("starting issued %d invoices", len(l.Data))
	}
	// the November invoice: 29 of 30 days of Basic and one extra seat
	run := decodeReply[apiRunResult](t, at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/invoices/run", key: acme, body: `{"period":"2026-11"}`}, http.StatusOK))
	if run.Created != 1 || run.Existing != 2 { // ann; cleo and rita have nothing to bill
		t.Fatalf("run %+v", run)
	}
	nov := f.invoices(annKey, "/invoices").Data
	if len(nov) != 1 || nov[0].Kind != "period" || nov[0].Total != "14.50" || nov[0].Period == nil || *nov[0].Period != "2026-11" {
		t.Fatalf("November invoice %+v", nov)
	}

	// upgrade: preview = the proration invoice
	change := fmt.Sprintf(`{"plan":%d,"seats":3,"add_ons":[%d]}`, f.pro, f.rec)
	pv := decodeReply[apiPreview](t, at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/subscription/preview", key: annKey, body: change}, http.StatusOK))
	if pv.Currency != "USD" || pv.DueNow == "0.00" || pv.EffectiveAt != "2026-11-02T10:00:00Z" || pv.PendingChange != nil || len(pv.Lines) == 0 {
		t.Fatalf("preview %+v", pv)
	}
	if got := sub(annKey, "/subscription", "GET", "", http.StatusOK); got.Plan != f.basic {
		t.Fatalf("the preview changed the subscription: %+v", got)
	}
	s = sub(annKey, "/subscription", "PUT", change, http.StatusOK)
	if s.Plan != f.pro || !slices.Equal(s.AddOns, []uint64{f.rec}) || s.PendingChange != nil {
		t.Fatalf("upgraded: %+v", s)
	}
	l := f.invoices(annKey, "/invoices").Data
	if len(l) != 2 || l[0].Kind != "proration" {
		t.Fatalf("after the upgrade: %+v", l)
	}
	up := l[0]
	if up.Total != pv.DueNow || up.Subtotal != pv.Subtotal || up.Tax != pv.Tax || !slices.Equal(up.Lines, pv.Lines) {
		t.Fatalf("proration invoice %+v\npreview %+v", up, pv)
	}

	// downgrade: pending until the period end, nothing invoiced
	down := fmt.Sprintf(`{"plan":%d,"seats":3}`, f.basic)
	pv = decodeReply[apiPreview](t, at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/subscription/preview", key: annKey, body: down}, http.StatusOK))
	if pv.DueNow != "0.00" || pv.EffectiveAt != "2026-12-01T00:00:00Z" || pv.PendingChange == nil || pv.PendingChange.Plan != f.basic {
		t.Fatalf("downgrade preview %+v", pv)
	}
	s = sub(annKey, "/subscription", "PUT", down, http.StatusOK)
	want := apiPendingChange{Plan: f.basic, Seats: 3, AddOns: []uint64{}, EffectiveAt: "2026-12-01T00:00:00Z"}
	if s.Plan != f.pro || s.PendingChange == nil || !equalPending(*s.PendingChange, want) {
		t.Fatalf("downgraded: %+v %+v", s, s.PendingChange)
	}
	if l := f.invoices(annKey, "/invoices").Data; len(l) != 2 {
		t.Fatalf("the downgrade issued an invoice: %d", len(l))
	}

	// the reseller sees the same subscription and cancels the pending change
	if got := sub(acme, "/clients/ann.lee/subscription", "GET", "", http.StatusOK); !equalSubs(got, s) {
		t.Fatalf("reseller's GET %+v, client's %+v", got, s)
	}
	s = sub(acme, "/clients/ann.lee/subscription", "PUT", change, http.StatusOK)
	if s.Plan != f.pro || s.PendingChange != nil {
		t.Fatalf("pending change cancelled: %+v", s)
	}
	if l := f.invoices(annKey, "/invoices").Data; len(l) != 2 {
		t.Fatalf("cancelling issued an invoice: %d", len(l))
	}

	// scope
	gus := fmt.Sprint(f.gus.ID)
	for _, req := range []apiRequest{
		{method: "GET", host: acmeHost, path: "/api/v1/clients/" + gus + "/subscription", key: acme},
		{method: "PUT", host: acmeHost, path: "/api/v1/clients/" + gus + "/subscription", key: acme, body: down},
		{method: "POST", host: acmeHost, path: "/api/v1/clients/gus.green/subscription/preview", key: acme, body: down},
		{method: "GET", host: globexHost, path: "/api/v1/clients/ann.lee/subscription", key: f.globexKey},
	} {
		checkProblem(t, at.expect(req, http.StatusNotFound))
	}
	for _, req := range []apiRequest{
		{method: "GET", host: acmeHost, path: "/api/v1/subscription", key: acme}, // a reseller key names the client
		{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.lee/subscription", key: annKey},
		{method: "PUT", host: acmeHost, path: "/api/v1/clients/ann.lee/subscription", key: annKey, body: down},
	} {
		checkProblem(t, at.expect(req, http.StatusForbidden))
	}
}

func equalPending(a, b apiPendingChange) bool {
	return a.Plan == b.Plan && a.Seats == b.Seats && slices.Equal(a.AddOns, b.AddOns) && a.EffectiveAt == b.EffectiveAt
}

func equalSubs(a, b apiSubscription) bool {
	pa, pb := a.PendingChange, b.PendingChange
	return a.Plan == b.Plan && a.Seats == b.Seats && a.SeatsUsed == b.SeatsUsed && slices.Equal(a.AddOns, b.AddOns) &&
		a.PeriodStart == b.PeriodStart && a.PeriodEnd == b.PeriodEnd && a.Status == b.Status && a.StartedAt == b.StartedAt &&
		(pa == nil) == (pb == nil) && (pa == nil || equalPending(*pa, *pb))
}

// invoices lists invoices at path (under /api/v1) with key on acme's host.
func (f *billingFixture) invoices(key, path string) apiList[apiInvoice] {
	f.at.t.Helper()
	return decodeReply[apiList[apiInvoice]](f.at.t, f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1" + path, key: key}, http.StatusOK))
}

// billedFixture: ann on Basic with 3 seats, invoiced for November, then
// upgraded to Pro (a proration invoice): two open invoices, the period one
// first.
func billedFixture(t *testing.T) (f *billingFixture, period, proration apiInvoice) {
	t.Helper()
	f = newBillingFixture(t)
	f.at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/subscription", key: f.annKey, body: fmt.Sprintf(`{"plan":%d,"seats":3}`, f.basic)}, http.StatusOK)
	f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/invoices/run", key: f.acmeKey, body: `{"period":"2026-11"}`}, http.StatusOK)
	f.at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/subscription", key: f.annKey, body: fmt.Sprintf(`{"plan":%d,"seats":3}`, f.pro)}, http.StatusOK)
	l := f.invoices(f.annKey, "/invoices").Data
	if len(l) != 2 {
		t.Fatalf("%d invoices", len(l))
	}
	return f, l[1], l[0]
}

// TestAPIInvoices: the invoice object; the client's and the reseller's
// lists with their filters and pages; runs are idempotent and refuse a
// period not begun; void and mark-paid with their conflicts and the
// Idempotency-Key replay; every other tenant's or client's invoice is 404
// and the reseller-only routes are 403 for a client key.
func TestAPIInvoices(t *testing.T) {
	t.Parallel()
	f, period, proration := billedFixture(t)
	at, annKey, acme, globex := f.at, f.annKey, f.acmeKey, f.globexKey
	ann := fmt.Sprint(f.ann.ID)
	cleoKey := f.createKey(acmeHost, acme, "cleo", "pbx")

	// the object
	r := at.expect(apiRequest{method: "GET", host: acmeHost, path: fmt.Sprintf("/api/v1/invoices/%d", period.ID), key: annKey}, http.StatusOK)
	for _, want := range []string{`"number":"ACME-2026-000001"`, `"kind":"period"`, `"client":` + ann, `"period":"2026-11"`,
		`"period_start":"2026-11-01T00:00:00Z"`, `"period_end":"2026-12-01T00:00:00Z"`, `"issued_at":"2026-11-02T10:00:00Z"`,
		`"due_at":"2026-11-16T10:00:00Z"`, `"status":"open"`, `"currency":"USD"`, `"subtotal":"14.50"`, `"tax":"0.00"`,
		`"tax_rate":"0.00"`, `"total":"14.50"`, `"amount_due":"14.50"`, `"paid_at":null`, `"buyer":{"name":"Ann Lee","company":"Lee Co"`,
		`"seller":{"name":"Acme Voice"`, `"unit_price":"9.67"`, `"quantity":1`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("invoice lacks %s\n%s", want, r.body)
		}
	}
	if got := decodeReply[apiInvoice](t, r); got.Lines[0].Description == "" || got.Lines[0].Amount != "9.67" {
		t.Errorf("first line %+v", got.Lines[0])
	}
	for _, path := range []string{fmt.Sprintf("/api/v1/invoices/%d", period.ID), fmt.Sprintf("/api/v1/clients/ann.lee/invoices/%d", period.ID)} {
		if got := decodeReply[apiInvoice](t, at.expect(apiRequest{method: "GET", host: acmeHost, path: path, key: acme}, http.StatusOK)); got.ID != period.ID {
			t.Errorf("reseller %s: %+v", path, got)
		}
	}

	// the PDF, for the client and the reseller: the same bytes each time
	pdfOf := func(key, path string) response {
		t.Helper()
		r := at.expect(apiRequest{method: "GET", host: acmeHost, path: path, key: key}, http.StatusOK)
		if ct := r.header.Get("Content-Type"); ct != "application/pdf" || !strings.HasPrefix(r.body, "%PDF-") {
			t.Fatalf("%s: content type %q, body %.20q", path, ct, r.body)
		}
		return r
	}
	pdf := pdfOf(annKey, fmt.Sprintf("/api/v1/invoices/%d/pdf", period.ID))
	if cd := pdf.header.Get("Content-Disposition"); cd != `inline; filename="ACME-2026-000001.pdf"` {
		t.Errorf("content disposition %q", cd)
	}
	for _, c := range []struct{ key, path string }{{annKey, "/api/v1/invoices/%d/pdf"}, {acme, "/api/v1/invoices/%d/pdf"}, {acme, "/api/v1/clients/ann.lee/invoices/%d/pdf"}} {
		if again := pdfOf(c.key, fmt.Sprintf(c.path, period.ID)); again.body != pdf.body {
			t.Errorf("%s: another PDF for the same invoice", c.path)
		}
	}
	if text := pdfText(t, pdf.body); text != "" && (!strings.Contains(text, "ACME-2026-000001") || !strings.Contains(text, "14.50")) {
		t.Errorf("the PDF lacks the number or total:\n%s", text)
	}

	// lists and filters
	ids := func(l apiList[apiInvoice]) (out []uint64) {
		for _, inv := range l.Data {
			out = append(out, inv.ID)
		}
		return out
	}
	both := []uint64{proration.ID, period.ID}
	for _, c := range []struct {
		key, path string
		want      []uint64
	}{
		{annKey, "/invoices", both},
		{annKey, "/invoices?status=all", both},
		{annKey, "/invoices?status=unpaid", both},
		{annKey, "/invoices?status=paid", nil},
		{cleoKey, "/invoices", nil},
		{acme, "/invoices", both},
		{acme, "/invoices?status=open", both},
		{acme, "/invoices?status=unpaid&client=ann.lee", both},
		{acme, "/invoices?client=" + ann + "&period=2026-11", []uint64{period.ID}},
		{acme, "/invoices?period=2026-10", nil},
		{acme, "/invoices?client=cleo", nil},
		{acme, "/invoices?status=void", nil},
		{acme, "/clients/ann.lee/invoices", both},
		{acme, "/clients/cleo/invoices", nil},
	} {
		if got := ids(f.invoices(c.key, c.path)); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.path, got, c.want)
		}
	}
	if got := decodeReply[apiList[apiInvoice]](t, at.expect(apiRequest{method: "GET", host: globexHost, path: "/api/v1/invoices", key: globex}, http.StatusOK)); len(got.Data) != 0 {
		t.Errorf("globex lists acme's invoices: %+v", got)
	}
	first := f.invoices(acme, "/invoices?limit=1")
	if len(first.Data) != 1 || first.Data[0].ID != proration.ID || first.NextCursor == "" {
		t.Fatalf("first page %+v", first)
	}
	second := f.invoices(acme, "/invoices?limit=1&cursor="+first.NextCursor)
	if len(second.Data) != 1 || second.Data[0].ID != period.ID || second.NextCursor != "" {
		t.Fatalf("second page %+v", second)
	}
	for _, c := range []struct {
		key, path string
		fields    []string
	}{
		{annKey, "/invoices?status=open", []string{"status"}}, // a client filters by all, paid or unpaid
		{annKey, "/invoices?status=nope", []string{"status"}},
		{acme, "/invoices?status=nope", []string{"status"}},
		{acme, "/invoices?period=2026-13", []string{"period"}},
		{acme, "/invoices?period=Nov", []string{"period"}},
		{acme, "/invoices?client=gus.green", []string{"client"}}, // another reseller's client is no client here
		{acme, "/invoices?client=nobody&limit=0", []string{"client", "limit"}},
	} {
		got := fieldsOf422(t, at.do(apiRequest{method: "GET", host: acmeHost, path: "/api/v1" + c.path, key: c.key}))
		if !slices.Equal(got, c.fields) {
			t.Errorf("%s: fields %v, want %v", c.path, got, c.fields)
		}
	}
	checkProblem(t, at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/invoices?cursor=bogus", key: acme}, http.StatusBadRequest))

	// runs
	for range 2 {
		run := decodeReply[apiRunResult](t, at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/invoices/run", key: acme, body: `{"period":"2026-11"}`}, http.StatusOK))
		if run.Created != 0 || run.Existing != 3 {
			t.Fatalf("run again: %+v", run)
		}
	}
	for _, body := range []string{`{"period":"2026-12"}`, `{"period":"2026-13"}`, `{"period":""}`, `{}`} {
		if got := fieldsOf422(t, at.do(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/invoices/run", key: acme, body: body})); !slices.Equal(got, []string{"period"}) {
			t.Errorf("run %s: fields %v", body, got)
		}
	}

	// mark paid, with the Idempotency-Key
	markPaid := func(id uint64, key, idem, body string, status int) response {
		t.Helper()
		req := apiRequest{method: "POST", host: acmeHost, path: fmt.Sprintf("/api/v1/invoices/%d/mark-paid", id), key: key, body: body}
		if idem != "" {
			req.header = map[string]string{"Idempotency-Key": idem}
		}
		return at.expect(req, status)
	}
	paidR := markPaid(period.ID, acme, "bank-42", `{"reference":"bank 42"}`, http.StatusOK)
	paid := decodeReply[apiInvoice](t, paidR)
	if paid.Status != "paid" || paid.AmountDue != "0.00" || paid.Reference != "bank 42" || paid.PaidAt == nil || paidR.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("paid %+v", paid)
	}
	again := markPaid(period.ID, acme, "bank-42", `{"reference":"bank 42"}`, http.StatusOK)
	if again.header.Get("Idempotent-Replayed") != "true" || again.body != paidR.body {
		t.Fatalf("replay: %s %s\nfirst: %s", again.header.Get("Idempotent-Replayed"), again.body, paidR.body)
	}
	checkProblem(t, markPaid(period.ID, acme, "bank-42", `{"reference":"bank 43"}`, http.StatusConflict))    // same key, other body
	checkProblem(t, markPaid(proration.ID, acme, "bank-42", `{"reference":"bank 42"}`, http.StatusConflict)) // same key, other invoice
	checkProblem(t, markPaid(period.ID, acme, "bank-43", `{"reference":"bank 42"}`, http.StatusConflict))    // paid already
	checkProblem(t, markPaid(period.ID, acme, "", `{}`, http.StatusConflict))
	if got := fieldsOf422(t, markPaid(proration.ID, acme, "", `{"reference":"a\nb"}`, http.StatusUnprocessableEntity)); !slices.Equal(got, []string{"reference"}) {
		t.Errorf("reference with a line break: %v", got)
	}

	// void
	void := func(id uint64, key, body string, status int) response {
		t.Helper()
		return at.expect(apiRequest{method: "POST", host: acmeHost, path: fmt.Sprintf("/api/v1/invoices/%d/void", id), key: key, body: body}, status)
	}
	checkProblem(t, void(period.ID, acme, `{"reason":"oops"}`, http.StatusConflict)) // paid: only an open invoice can be void
	if got := fieldsOf422(t, void(proration.ID, acme, `{"reason":" "}`, http.StatusUnprocessableEntity)); !slices.Equal(got, []string{"reason"}) {
		t.Errorf("void without a reason: %v", got)
	}
	voided := decodeReply[apiInvoice](t, void(proration.ID, acme, `{"reason":"issued in error"}`, http.StatusOK))
	if voided.Status != "void" || voided.VoidReason != "issued in error" || voided.AmountDue != "0.00" || voided.Number != proration.Number {
		t.Fatalf("voided %+v", voided)
	}
	checkProblem(t, void(proration.ID, acme, `{"reason":"again"}`, http.StatusConflict))
	for _, c := range []struct {
		path string
		want []uint64
	}{{"/invoices?status=unpaid", nil}, {"/invoices?status=paid", []uint64{period.ID}}, {"/invoices", both}} {
		if got := ids(f.invoices(annKey, c.path)); !slices.Equal(got, c.want) {
			t.Errorf("after paying and voiding, %s: %v, want %v", c.path, got, c.want)
		}
	}
	if got := ids(f.invoices(acme, "/invoices?status=void")); !slices.Equal(got, []uint64{proration.ID}) {
		t.Errorf("void list %v", got)
	}

	// scope: another client's or reseller's invoice is 404; reseller-only routes are 403 for a client key
	inv := fmt.Sprintf("/api/v1/invoices/%d", period.ID)
	for _, req := range []apiRequest{
		{method: "GET", host: acmeHost, path: inv, key: cleoKey},
		{method: "GET", host: acmeHost, path: inv + "/pdf", key: cleoKey},
		{method: "GET", host: globexHost, path: inv + "/pdf", key: globex},
		{method: "GET", host: acmeHost, path: "/api/v1/clients/cleo/invoices/" + fmt.Sprint(period.ID) + "/pdf", key: acme},
		{method: "GET", host: acmeHost, path: "/api/v1/clients/cleo/invoices/" + fmt.Sprint(period.ID), key: acme},
		{method: "GET", host: acmeHost, path: "/api/v1/clients/" + fmt.Sprint(f.gus.ID) + "/invoices", key: acme},
		{method: "GET", host: globexHost, path: inv, key: globex},
		{method: "POST", host: globexHost, path: inv + "/void", key: globex, body: `{"reason":"x"}`},
		{method: "POST", host: globexHost, path: inv + "/mark-paid", key: globex, body: `{"reference":"x"}`},
		{method: "GET", host: acmeHost, path: "/api/v1/invoices/999999", key: acme},
		{method: "GET", host: acmeHost, path: "/api/v1/invoices/abc", key: acme},
	} {
		checkProblem(t, at.expect(req, http.StatusNotFound))
	}
	for _, req := range []apiRequest{
		{method: "POST", host: acmeHost, path: "/api/v1/invoices/run", key: annKey, body: `{"period":"2026-11"}`},
		{method: "POST", host: acmeHost, path: fmt.Sprintf("/api/v1/invoices/%d/void", proration.ID), key: annKey, body: `{"reason":"x"}`},
		{method: "POST", host: acmeHost, path: fmt.Sprintf("/api/v1/invoices/%d/mark-paid", proration.ID), key: annKey, body: `{}`},
		{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.lee/invoices", key: annKey},
	} {
		checkProblem(t, at.expect(req, http.StatusForbidden))
	}
	checkProblem(t, at.expect(apiRequest{method: "GET", host: acmeHost, path: inv, key: globex}, http.StatusUnauthorized))
}

// TestAPIBillingDetails: empty at first, saved normalised, refused by
// field, the same for the reseller under /clients/{client}, and frozen on
// invoices issued before a change.
func TestAPIBillingDetails(t *testing.T) {
	t.Parallel()
	f, period, _ := billedFixture(t)
	at, annKey, acme := f.at, f.annKey, f.acmeKey
	get := func(key, path string) apiBillingDetails {
		t.Helper()
		return decodeReply[apiBillingDetails](t, at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1" + path, key: key}, http.StatusOK))
	}
	r := at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/billing-details", key: annKey}, http.StatusOK)
	if !strings.Contains(r.body, `"invoice_emails":[]`) || !strings.Contains(r.body, `"company":""`) {
		t.Fatalf("empty details %s", r.body)
	}
	bad := `{"company":"Lee\nCo","vat_number":"123","invoice_emails":["not an email"],"country":"XX"}`
	got := fieldsOf422(t, at.do(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/billing-details", key: annKey, body: bad}))
	if !slices.Equal(got, []string{"company", "country", "vat_number", "invoice_emails"}) {
		t.Errorf("fields %v", got)
	}
	checkProblem(t, at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/billing-details", key: annKey, body: `{"vat":"x"}`}, http.StatusBadRequest))
	good := `{"company":"Lee GmbH","vat_number":"de 123.456.789","invoice_emails":["ap@lee.example"," ap@lee.example ","boss@lee.example"],` +
		`"address1":"Hauptstr. 1","address2":"","city":"Berlin","zip":"10115","state":"","country":"de"}`
	saved := decodeReply[apiBillingDetails](t, at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/billing-details", key: annKey, body: good}, http.StatusOK))
	want := apiBillingDetails{Company: "Lee GmbH", VATNumber: "DE123456789", InvoiceEmails: []string{"ap@lee.example", "boss@lee.example"},
		Address1: "Hauptstr. 1", City: "Berlin", Zip: "10115", Country: "DE"}
	if !equalDetails(saved, want) {
		t.Fatalf("saved %+v", saved)
	}
	for _, d := range []apiBillingDetails{get(annKey, "/billing-details"), get(acme, "/clients/ann.lee/billing-details")} {
		if !equalDetails(d, want) {
			t.Errorf("read back %+v", d)
		}
	}
	// the reseller edits them too; issued invoices keep what they froze
	saved = decodeReply[apiBillingDetails](t, at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/clients/" + fmt.Sprint(f.ann.ID) + "/billing-details", key: acme,
		body: `{"company":"Lee AG","country":"CH"}`}, http.StatusOK))
	if saved.Company != "Lee AG" || saved.VATNumber != "" || len(saved.InvoiceEmails) != 0 {
		t.Errorf("a PUT replaces the whole set: %+v", saved)
	}
	inv := decodeReply[apiInvoice](t, at.expect(apiRequest{method: "GET", host: acmeHost, path: fmt.Sprintf("/api/v1/invoices/%d", period.ID), key: annKey}, http.StatusOK))
	if inv.Buyer.Company != "Lee Co" || inv.Buyer.Country != "US" {
		t.Errorf("an issued invoice's buyer changed: %+v", inv.Buyer)
	}
	for _, req := range []apiRequest{
		{method: "GET", host: acmeHost, path: "/api/v1/clients/gus.green/billing-details", key: acme},
		{method: "PUT", host: acmeHost, path: "/api/v1/clients/" + fmt.Sprint(f.gus.ID) + "/billing-details", key: acme, body: good},
	} {
		checkProblem(t, at.expect(req, http.StatusNotFound))
	}
	checkProblem(t, at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/clients/ann.lee/billing-details", key: annKey, body: good}, http.StatusForbidden))
}

func equalDetails(a, b apiBillingDetails) bool { return reflect.DeepEqual(a, b) }

// TestAPITransactionsAndMovements: transactions are the invoices issued,
// paid and voided with what is owed after each, newest first, in pages
// and as CSV; credit movements are the wallet's, as JSON and as the same
// CSV the reseller's client page exports.
func TestAPITransactionsAndMovements(t *testing.T) {
	t.Parallel()
	f, period, proration := billedFixture(t)
	at, annKey, acme := f.at, f.annKey, f.acmeKey
	at.expect(apiRequest{method: "POST", host: acmeHost, path: fmt.Sprintf("/api/v1/invoices/%d/mark-paid", period.ID), key: acme, body: `{"reference":"bank"}`}, http.StatusOK)
	at.expect(apiRequest{method: "POST", host: acmeHost, path: fmt.Sprintf("/api/v1/invoices/%d/void", proration.ID), key: acme, body: `{"reason":"error"}`}, http.StatusOK)
	at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/ann.lee/credits", key: acme, body: `{"amount":"25.00","note":"=cmd|x"}`}, http.StatusCreated)

	list := func(key, path string) apiList[apiTransaction] {
		t.Helper()
		return decodeReply[apiList[apiTransaction]](t, at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1" + path, key: key}, http.StatusOK))
	}
	type row struct {
		kind, number, amount, after string
		invoice                     uint64
	}
	total := proration.Total // the proration invoice's total, e.g. "13.33"
	sum := decimalAdd(t, period.Total, total)
	want := []row{
		{"void", proration.Number, "-" + total, "0.00", proration.ID},
		{"payment", period.Number, "-" + period.Total, total, period.ID},
		{"invoice", proration.Number, total, sum, proration.ID},
		{"invoice", period.Number, period.Total, period.Total, period.ID},
	}
	all := list(annKey, "/transactions")
	if len(all.Data) != len(want) || all.NextCursor != "" {
		t.Fatalf("transactions %+v", all)
	}
	for i, tr := range all.Data {
		if tr.Invoice == nil || tr.Currency != "USD" || tr.At != "2026-11-02T10:00:00Z" {
			t.Errorf("transaction %d: %+v", i, tr)
			continue
		}
		if got := (row{tr.Kind, tr.Number, tr.Amount, tr.BalanceAfter, *tr.Invoice}); got != want[i] {
			t.Errorf("transaction %d: %+v, want %+v", i, got, want[i])
		}
	}
	p1 := list(acme, "/clients/ann.lee/transactions?limit=3")
	p2 := list(acme, "/clients/ann.lee/transactions?limit=3&cursor="+p1.NextCursor)
	if len(p1.Data) != 3 || p1.NextCursor == "" || len(p2.Data) != 1 || p2.NextCursor != "" || p2.Data[0].ID != all.Data[3].ID {
		t.Fatalf("pages %+v\n%+v", p1, p2)
	}
	r := at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/transactions?format=csv", key: annKey}, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	rows := readCSV(t, r.body)
	if len(rows) != 5 || strings.Join(rows[0], ",") != "date,kind,invoice_number,amount,currency,balance_after" ||
		strings.Join(rows[1], ",") != fmt.Sprintf("2026-11-02T10:00:00Z,void,%s,-%s,USD,0.00", proration.Number, total) {
		t.Errorf("transactions CSV %q", r.body)
	}

	moves := decodeReply[apiList[apiMovement]](t, at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/credit/movements", key: annKey}, http.StatusOK))
	if len(moves.Data) != 1 || moves.Data[0].Kind != "grant" || moves.Data[0].Amount != "25.00" || moves.Data[0].BalanceAfter != "25.00" ||
		moves.Data[0].Currency != "USD" || moves.Data[0].Note != "=cmd|x" {
		t.Fatalf("movements %+v", moves)
	}
	r = at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.lee/credit/movements?format=csv", key: acme}, http.StatusOK)
	rows = readCSV(t, r.body)
	if len(rows) != 2 || strings.Join(rows[0], ",") != "date,kind,amount,currency,balance_after,who,note" ||
		rows[1][2] != "25.00" || rows[1][6] != "'=cmd|x" { // the note is defused
		t.Errorf("movements CSV %q", r.body)
	}
	page := f.ts.acmeOwner().get(acmeHost, fmt.Sprintf("/reseller/clients/%d/movements.csv", f.ann.ID))
	if page.status != http.StatusOK || page.body != r.body {
		t.Errorf("the API's CSV differs from the page's:\n%s\n%s", r.body, page.body)
	}

	for _, path := range []string{"/transactions?format=xml", "/credit/movements?limit=501"} {
		if got := fieldsOf422(t, at.do(apiRequest{method: "GET", host: acmeHost, path: "/api/v1" + path, key: annKey})); len(got) != 1 {
			t.Errorf("%s: fields %v", path, got)
		}
	}
	checkProblem(t, at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/transactions?cursor=" + p1.NextCursor[:4], key: annKey}, http.StatusBadRequest))
	for _, path := range []string{"/transactions", "/credit/movements"} {
		checkProblem(t, at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/gus.green" + path, key: acme}, http.StatusNotFound))
		checkProblem(t, at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1" + path, key: acme}, http.StatusForbidden))
	}
	// another client's lists are its own
	cleoKey := f.createKey(acmeHost, acme, "cleo", "pbx")
	if l := list(cleoKey, "/transactions"); len(l.Data) != 0 {
		t.Errorf("cleo sees %+v", l)
	}
}

// pdfText is the text of a PDF by pdftotext (poppler-utils), or "" when
// the tool is not installed.
func pdfText(t *testing.T, pdf string) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Log("pdftotext not installed: the PDF's text is not checked")
		return ""
	}
	cmd := exec.Command("pdftotext", "-", "-")
	cmd.Stdin = strings.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	return rows
}

// decimalAdd adds two decimal strings of two places ("14.50" + "13.33").
func decimalAdd(t *testing.T, a, b string) string {
	t.Helper()
	var ai, af, bi, bf int
	if _, err := fmt.Sscanf(a, "%d.%d", &ai, &af); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscanf(b, "%d.%d", &bi, &bf); err != nil {
		t.Fatal(err)
	}
	cents := ai*100 + af + bi*100 + bf
	return fmt.Sprintf("%d.%02d", cents/100, cents%100)
}
