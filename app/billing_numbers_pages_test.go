package app

import (
	"bytes"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"portico/app/billing"
	"portico/store"
)

func uploadNumbers(b *browser, data string) response {
	b.t.Helper()
	return b.postMultipart(acmeHost, numbersURL, numbersURL+"/import", map[string]string{}, map[string]upload{"file": {filename: "numbers.csv", data: []byte(data)}})
}

// wantPage fails unless r has status and its text (HTML entities
// unescaped) holds every one of texts.
func wantPage(t *testing.T, what string, r response, status int, texts ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
	}
	body := html.UnescapeString(r.body)
	for _, s := range texts {
		if !strings.Contains(body, s) {
			t.Errorf("%s lacks %q", what, s)
		}
	}
}

// TestNumberPages: the owner adds a number by the form and more by a CSV
// (a bad file imports nothing and lists its lines), filters the list,
// assigns a number to a client, sees the refusals of a second holder and
// of quarantine, edits the fees, releases the number, and deletes it once
// its quarantine is over; the holding history shows who held it when.
// Another reseller reaches none of it.
func TestNumberPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.acmeOwner()
	wantPage(t, "empty list", owner.get(acmeHost, numbersURL), http.StatusOK, "No numbers yet.", "number,type,monthly_fee,setup_fee,label")
	if !strings.Contains(owner.get(acmeHost, "/reseller/billing/plans").body, `href="/reseller/billing/numbers"`) {
		t.Error("the billing tabs do not link the numbers")
	}

	// Add by the form.
	add := func(v url.Values) response { return owner.post(acmeHost, numbersURL, numbersURL, v) }
	r := add(url.Values{"number": {"+1 415 555 2671"}, "type": {""}, "monthly_fee": {"2.50"}, "setup_fee": {"10"}, "label": {"Front desk"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != numbersURL+"/+14155552671" {
		t.Fatalf("add: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	wantPage(t, "new number", owner.get(acmeHost, numbersURL+"/+14155552671"), http.StatusOK,
		"+14155552671 is in your inventory, available.", `id="number-status">available`, "<dd>local</dd>", "<dd>US</dd>", "2.50 USD", "10.00 USD", "Front desk",
		"No client has held this number yet.", `<option value="cleo">Cleo Client</option>`)
	wantPage(t, "bad add", add(url.Values{"number": {"555"}, "monthly_fee": {"x"}}), http.StatusUnprocessableEntity,
		"Enter a valid phone number", "Enter an amount such as 2.50", `value="555"`)
	wantPage(t, "duplicate add", add(url.Values{"number": {"+14155552671"}, "monthly_fee": {"1"}}), http.StatusConflict,
		"This number is in your inventory already.")

	// Import: a bad file imports nothing, a good one everything.
	bad := "number,monthly_fee\n+14155552672,1\n555,1\n+14155552671,1\n"
	wantPage(t, "bad import", uploadNumbers(owner, bad), http.StatusUnprocessableEntity,
		"Nothing was imported: your inventory is unchanged. The file has 2 problem(s)", `<td class="num">3</td><td>number</td>`, `<td class="num">4</td><td>number</td><td>Number +14155552671 is in your inventory already.</td>`)
	wantPage(t, "no file", owner.postMultipart(acmeHost, numbersURL, numbersURL+"/import", map[string]string{}, nil), http.StatusUnprocessableEntity, "Choose a CSV file to upload.")
	big := append([]byte("number,monthly_fee\n"), bytes.Repeat([]byte("+14155552672,1\n"), billing.MaxNumberFile/15+1)...)
	wantPage(t, "file over 8 MiB", uploadNumbers(owner, string(big)), http.StatusUnprocessableEntity, "The file is larger than 8 MiB.")
	r = uploadNumbers(owner, "number,type,monthly_fee\n+14155552672,,1\n+447400123456,,4\n+18002345678,,0\n")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != numbersURL {
		t.Fatalf("good import: %d\n%s", r.status, r.body)
	}
	wantPage(t, "list", owner.get(acmeHost, numbersURL), http.StatusOK, "Imported 3 numbers from numbers.csv, all available.",
		"4 numbers · 4 available · 0 assigned · 0 in quarantine", `href="/reseller/billing/numbers/+447400123456"`, "mobile", "toll_free")
	if !ts.hasAudit("numbers.import", "3 numbers") {
		t.Error("import not audited")
	}

	// Assign: to a client of this reseller only.
	number := numberURL("+14155552671")
	assign := func(client string) response {
		return owner.post(acmeHost, number, number+"/assign", url.Values{"client": {client}})
	}
	wantPage(t, "assign to globex's client", assign("gus"), http.StatusUnprocessableEntity, "There is no such client.")
	if r := assign("cleo"); r.status != http.StatusSeeOther || r.header.Get("Location") != number {
		t.Fatalf("assign: %d\n%s", r.status, r.body)
	}
	cleo := ts.cleo()
	wantPage(t, "assigned", owner.get(acmeHost, number), http.StatusOK, "+14155552671 is assigned to cleo.", `id="number-status">assigned`,
		`<a href="`+clientURL(cleo)+`">cleo</a>`, "on the next invoice", "Release…", `<td data-label="To">now</td>`, "owner@acme.example")
	wantPage(t, "assigned filter", owner.get(acmeHost, numbersURL+"?status=assigned"), http.StatusOK, "+14155552671", "Release…")
	if body := owner.get(acmeHost, numbersURL+"?status=assigned").body; strings.Contains(body, `data-number="+447400123456"`) {
		t.Error("the assigned filter lists an available number")
	}
	if r := owner.post(acmeHost, number, number+"/delete", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("delete assigned: %d", r.status)
	}
	wantPage(t, "delete refused", owner.get(acmeHost, number), http.StatusOK, "Only an available number can be deleted")

	// Edit fees, type and label.
	edit := func(v url.Values) response { return owner.post(acmeHost, number, number, v) }
	wantPage(t, "bad edit", edit(url.Values{"type": {"fax"}, "monthly_fee": {"1.999"}, "setup_fee": {"0"}, "label": {""}}), http.StatusUnprocessableEntity,
		"Use local, mobile or toll_free.", "Use at most 2 decimals.")
	if r := edit(url.Values{"type": {"mobile"}, "monthly_fee": {"3"}, "setup_fee": {"0"}, "label": {"Sales"}}); r.status != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", r.status, r.body)
	}
	wantPage(t, "edited", owner.get(acmeHost, number), http.StatusOK, "<dd>mobile</dd>", "3.00 USD", "<dd>Sales</dd>")

	// Release: quarantined, assigning it again is refused with the reason.
	if r := owner.post(acmeHost, number, number+"/release", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("release: %d", r.status)
	}
	wantPage(t, "released", owner.get(acmeHost, number), http.StatusOK, "rests in quarantine until 2 December 2026", `id="number-status">quarantined`,
		"It rests in quarantine until")
	wantPage(t, "assign in quarantine", assign("cleo"), http.StatusConflict, "rests in quarantine until 2 Dec 2026 10:00 UTC")
	wantPage(t, "quarantined filter", owner.get(acmeHost, numbersURL+"?status=quarantined"), http.StatusOK, "+14155552671", "until 2 Dec 2026")

	// 30 days on, it is available: deleted, with its history.
	ts.clock.Advance(store.QuarantineDays * 24 * time.Hour)
	owner = ts.acmeOwner() // the session did not last the month
	wantPage(t, "after the quarantine", owner.get(acmeHost, number), http.StatusOK, `id="number-status">available`, `<a href="`+clientURL(cleo)+`">cleo</a>`)
	if r := owner.post(acmeHost, number, number+"/delete", url.Values{}); r.status != http.StatusSeeOther || r.header.Get("Location") != numbersURL {
		t.Fatalf("delete: %d %q", r.status, r.header.Get("Location"))
	}
	if r := owner.get(acmeHost, number); r.status != http.StatusNotFound {
		t.Errorf("deleted number's page: %d", r.status)
	}

	// Another reseller: acme's numbers are not there; billing staff may
	// use the pages, support staff may not.
	globex := ts.signedIn(globexHost, "owner@globex.example", "/reseller")
	other := "/reseller/billing/numbers/+447400123456"
	if r := globex.get(globexHost, other); r.status != http.StatusNotFound {
		t.Errorf("globex opens acme's number: %d", r.status)
	}
	if r := globex.post(globexHost, numbersURL, other+"/delete", url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("globex deletes acme's number: %d", r.status)
	}
	if body := globex.get(globexHost, numbersURL).body; strings.Contains(body, `data-number=`) || !strings.Contains(body, "No numbers yet.") {
		t.Error("globex lists acme's numbers")
	}
	ts.addStaff("billing@acme.example", store.RoleBilling)
	if r := ts.signedIn(acmeHost, "billing@acme.example", "/reseller").get(acmeHost, other); r.status != http.StatusOK {
		t.Errorf("billing staff: %d", r.status)
	}
	if r := ts.signedIn(acmeHost, "support@acme.example", "/reseller").get(acmeHost, numbersURL); r.status != http.StatusForbidden {
		t.Errorf("support staff: %d", r.status)
	}
	if r := ts.acmeClient().get(acmeHost, numbersURL); r.status != http.StatusForbidden {
		t.Errorf("client user: %d", r.status)
	}
}
