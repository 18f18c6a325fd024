package app

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"portico/app/calls"
	"portico/store"
)

// deckInfo is the reseller's stored deck info.
func (ts *testServer) deckInfo(slug string) store.RateDeckInfo {
	ts.t.Helper()
	info, err := ts.app.calls.RateDeckInfo(ts.ids[slug])
	if err != nil {
		ts.t.Fatal(err)
	}
	return info
}

func uploadRates(b *browser, data string) response {
	b.t.Helper()
	return b.postMultipart(acmeHost, "/reseller/rates", "/reseller/rates", map[string]string{}, map[string]upload{"file": {filename: "deck.csv", data: []byte(data)}})
}

// TestRatesPage: the owner uploads a good deck, a bad one is refused with
// its problems by line and nothing imported, the deck is searched by
// prefix, paged and exported in the format it was imported from; billing
// staff see it without the upload; another reseller sees none of it.
func TestRatesPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.acmeOwner()
	r := owner.get(acmeHost, "/reseller/rates")
	if r.status != http.StatusOK || !strings.Contains(r.body, "No rate deck yet") || !strings.Contains(r.body, "prefix,description,rate_per_minute,increment,premium") {
		t.Fatalf("empty rates page: %d", r.status)
	}
	if !strings.Contains(owner.get(acmeHost, "/reseller").body, `href="/reseller/rates"`) {
		t.Error("the menu does not link the rates")
	}

	good := "\ufeffPrefix,Description,Rate_per_minute,Increment,Premium\n1,United States,0.0100,60/60,no\n+44,United Kingdom,0.0150,1/1,\n447,UK mobile,0.045,30/6,no\n1900,US premium,1.25,60/60,yes\n"
	r = uploadRates(owner, good)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/reseller/rates" {
		t.Fatalf("good upload: %d\n%s", r.status, r.body)
	}
	info := ts.deckInfo("acme")
	if info.Count != 4 || info.ImportedBy != "owner@acme.example" {
		t.Fatalf("deck after import: %+v", info)
	}
	page := owner.get(acmeHost, "/reseller/rates")
	for _, s := range []string{"Imported 4 rates from deck.csv", `<dd id="deck-count">4</dd>`, `<td data-label="Prefix">447</td><td data-label="Description">UK mobile</td><td data-label="Per minute (USD)" class="num">0.045</td><td data-label="Increment">30/6</td>`, `<td data-label="Per minute (USD)" class="num">1.250</td>`, "premium</span>"} {
		if !strings.Contains(page.body, s) {
			t.Errorf("rates page lacks %q", s)
		}
	}
	if !ts.hasAudit("rates.import", "4 rates") {
		t.Error("import not audited")
	}

	// a bad file: every problem by line, nothing imported
	bad := "prefix,description,rate_per_minute,increment\n1,US,0.01,60/60\n44,UK,cheap,1/1\n45,Denmark,0.02,sixty\n1,US again,0.01,60/60\n"
	r = uploadRates(owner, bad)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad upload: %d", r.status)
	}
	body := html.UnescapeString(r.body)
	if !strings.Contains(body, "Nothing was imported: your current deck is unchanged.") {
		t.Error("refusal not explained")
	}
	for _, line := range []string{"3", "4", "5"} {
		if !strings.Contains(body, `<tr><td class="num">`+line+`</td>`) {
			t.Errorf("line %s not listed as a problem", line)
		}
	}
	if after := ts.deckInfo("acme"); after.Version != info.Version || after.Count != 4 {
		t.Errorf("bad upload changed the deck: %+v", after)
	}
	for name, data := range map[string]string{"empty": "", "no header": "1,US,0.01,60/60\n"} {
		if r := uploadRates(owner, data); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Nothing was imported") {
			t.Errorf("%s file: %d", name, r.status)
		}
	}
	r = owner.postMultipart(acmeHost, "/reseller/rates", "/reseller/rates", map[string]string{}, nil)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Choose a CSV file to upload.") {
		t.Errorf("no file: %d", r.status)
	}
	// a file over the import limit (but within the route's body limit) is
	// refused by the page, one far over it by the server
	big := append([]byte("prefix,description,rate_per_minute,increment\n"), bytes.Repeat([]byte("1,x,0.01,60/60\n"), calls.MaxRateFile/15+1)...)
	if r := uploadRates(owner, string(big)); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "larger than 16 MiB") {
		t.Errorf("file over 16 MiB: %d", r.status)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.url(acmeHost, "/reseller/rates"), bytes.NewReader(append(big, bytes.Repeat([]byte("x"), 1<<20)...)))
	req.Header.Set("Content-Type", "text/csv")
	if resp, err := owner.client.Do(req); err == nil { // the server may also cut the connection before reading it all
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("body over the route limit: %d", resp.StatusCode)
		}
	}
	if ts.deckInfo("acme").Version != info.Version {
		t.Error("a refused upload changed the deck")
	}
	// the larger limit is this route's only: other forms keep BodyLimit
	form := url.Values{"_csrf": {owner.csrf(acmeHost, "/reseller/staff")}, "pad": {strings.Repeat("x", BodyLimit)}}
	req, _ = http.NewRequest(http.MethodPost, ts.url(acmeHost, "/reseller/staff"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := owner.client.Do(req); err == nil { // refused from its declared length: the server may close before reading it
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("2 MiB form on another route: %d", resp.StatusCode)
		}
	}

	// search by prefix
	r = owner.get(acmeHost, "/reseller/rates?prefix=%2B44")
	if !strings.Contains(r.body, `"Prefix">44</td>`) || !strings.Contains(r.body, `"Prefix">447</td>`) || strings.Contains(r.body, `"Prefix">1</td>`) || !strings.Contains(r.body, `value="44"`) {
		t.Error("prefix search")
	}
	if r := owner.get(acmeHost, "/reseller/rates?prefix=99"); !strings.Contains(r.body, "No rate starts with 99.") {
		t.Error("search without match")
	}

	// 250 rates: pages of 100
	var deck strings.Builder
	deck.WriteString("prefix,description,rate_per_minute,increment\n")
	for i := range 250 {
		fmt.Fprintf(&deck, "%d,Zone %d,0.0%03d,60/60\n", 30000+i, i, i+1)
	}
	if r := uploadRates(owner, deck.String()); r.status != http.StatusSeeOther {
		t.Fatalf("250 rates: %d\n%s", r.status, r.body)
	}
	var sizes []int
	path := "/reseller/rates"
	for path != "" && len(sizes) < 5 {
		r := owner.get(acmeHost, path)
		sizes = append(sizes, strings.Count(r.body, `<tr><td data-label="Prefix">3`))
		path = ""
		if m := nextPage.FindStringSubmatch(r.body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	if fmt.Sprint(sizes) != "[100 100 50]" {
		t.Errorf("rate pages %v, want [100 100 50]", sizes)
	}

	// export, and the export imports back unchanged
	r = owner.get(acmeHost, "/reseller/rates.csv")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || !strings.Contains(r.header.Get("Content-Disposition"), "acme-rates-") {
		t.Fatalf("export: %d %v", r.status, r.header)
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 251 || rows[1][0] != "30000" || rows[1][3] != "60/60" {
		t.Fatalf("export rows %d %v %v", len(rows), rows[:min(2, len(rows))], err)
	}
	if r := uploadRates(owner, r.body); r.status != http.StatusSeeOther || ts.deckInfo("acme").Count != 250 {
		t.Errorf("re-import of the export: %d", r.status)
	}

	// billing sees the deck but not the upload form, and cannot upload
	ts.addStaff("billing@acme.example", store.RoleBilling)
	billing := ts.signedIn(acmeHost, "billing@acme.example", "/reseller")
	if r := billing.get(acmeHost, "/reseller/rates"); r.status != http.StatusOK || strings.Contains(r.body, `enctype="multipart/form-data"`) || !strings.Contains(r.body, `"Prefix">30000</td>`) {
		t.Errorf("billing's page: %d", r.status)
	}
	if r := uploadRates(billing, good); r.status != http.StatusForbidden || ts.deckInfo("acme").Count != 250 {
		t.Errorf("billing uploads: %d", r.status)
	}

	// another reseller sees its own (empty) deck only
	globex := ts.signedIn(globexHost, "owner@globex.example", "/reseller")
	if r := globex.get(globexHost, "/reseller/rates"); !strings.Contains(r.body, "No rate deck yet") || strings.Contains(r.body, "30000") {
		t.Error("globex sees acme's deck")
	}
	if r := globex.get(globexHost, "/reseller/rates.csv"); strings.Count(r.body, "\n") != 1 {
		t.Errorf("globex export: %q", r.body)
	}
	if ts.deckInfo("globex").Version != 0 {
		t.Error("globex has a deck")
	}
}

// TestClientPageUsageAndPremium: the reseller's client page sums the
// client's calls by month and lets owners and admins allow premium
// destinations; another reseller cannot.
func TestClientPageUsageAndPremium(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	now := ts.clock.Now()
	cleo := ts.cleoCalls(
		call("a", store.Outbound, "+14155550100", "+14155550111", now.Add(-time.Hour), 120, store.Answered),
		call("b", store.Inbound, "+14155550199", "+14155550100", now.Add(-time.Hour), 200, store.Answered),
		call("c", store.Outbound, "+14155550100", "+14155550111", now.AddDate(0, -2, 0), 600, store.Answered))
	owner := ts.acmeOwner()
	clientPath := "/reseller/clients/" + strconv.FormatUint(cleo.ID, 10)
	r := owner.get(acmeHost, clientPath)
	if r.status != http.StatusOK {
		t.Fatalf("client page: %d", r.status)
	}
	for _, s := range []string{
		`<th scope="row">November 2026 <small class="muted">so far</small></th><td data-label="Calls" class="num">2</td><td data-label="Minutes in" class="num">3</td><td data-label="Minutes out" class="num">2</td><td data-label="Qualified" class="num" title="At least 90 s">2</td><td data-label="Cost (USD)" class="num">0.02</td>`,
		`<th scope="row">October 2026</th><td data-label="Calls" class="num">0</td>`,
		`<th scope="row">September 2026</th><td data-label="Calls" class="num">1</td><td data-label="Minutes in" class="num">0</td><td data-label="Minutes out" class="num">10</td><td data-label="Qualified" class="num" title="At least 90 s">1</td><td data-label="Cost (USD)" class="num">0.10</td>`,
		`<th scope="row">June 2026</th>`,
		"Premium destinations", "<strong>refused</strong>",
	} {
		if !strings.Contains(r.body, s) {
			t.Errorf("client page lacks %s", s)
		}
	}

	r = owner.post(acmeHost, clientPath, clientPath+"/premium", url.Values{"allow_premium": {"true"}})
	if r.status != http.StatusSeeOther || !ts.cleo().AllowPremium || !ts.hasAudit("client.premium", "allowed") {
		t.Fatalf("allow premium: %d", r.status)
	}
	if page := owner.get(acmeHost, clientPath); !strings.Contains(page.body, "<strong>allowed</strong>") || !strings.Contains(page.body, "may now call premium destinations") {
		t.Error("page after allowing premium")
	}
	if r := owner.post(acmeHost, clientPath, clientPath+"/premium", url.Values{"allow_premium": {"maybe"}}); r.status != http.StatusBadRequest || !ts.cleo().AllowPremium {
		t.Errorf("unclear choice: %d", r.status)
	}
	// support edits clients but not call pricing
	support := ts.signedIn(acmeHost, "support@acme.example", "/reseller")
	if page := support.get(acmeHost, clientPath); strings.Contains(page.body, clientPath+"/premium") {
		t.Error("support sees the premium form")
	}
	if r := support.post(acmeHost, clientPath, clientPath+"/premium", url.Values{"allow_premium": {"false"}}); r.status != http.StatusForbidden || !ts.cleo().AllowPremium {
		t.Errorf("support changes premium: %d", r.status)
	}
	globex := ts.signedIn(globexHost, "owner@globex.example", "/reseller")
	r = globex.do(http.MethodPost, globexHost, clientPath+"/premium", url.Values{"_csrf": {globex.csrf(globexHost, "/reseller")}, "allow_premium": {"false"}}, nil)
	if r.status != http.StatusNotFound || !ts.cleo().AllowPremium {
		t.Errorf("globex changes acme's client: %d", r.status)
	}
}
