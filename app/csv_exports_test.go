package app

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
)

// formulaDeck has descriptions that a spreadsheet would run as formulas,
// one a person typed with an apostrophe, and plain ones.
const formulaDeck = "prefix,description,rate_per_minute,increment,premium\n" +
	`1,"=HYPERLINK(""http://evil.test"",""x"")",0.0100,60/60,false` + "\n" +
	`33,"+cmd|' /C calc'!A0",0.0200,60/60,false` + "\n" +
	"44,@SUM(1),0.0300,1/1,false\n" +
	"49,-2+3,0.0400,1/1,false\n" +
	"61,'Tis,0.0500,1/1,false\n" +
	"81,Japan,0.0600,1/1,true\n"

// TestRateDeckExportDefused is issue 10's probe: the rate deck export, on
// the page (/reseller/rates.csv) and in the API (GET /rates?format=csv),
// wrote a description such as =HYPERLINK(...) as it was, so a spreadsheet
// ran it. Both now write every text cell through the one export writer
// (app/csvx), and both exports still import back to the same deck.
func TestRateDeckExportDefused(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	csvHeader := map[string]string{"Content-Type": "text/csv"}
	f.at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/rates", key: f.acmeKey, body: formulaDeck, header: csvHeader}, http.StatusOK)
	stored := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/rates", key: f.acmeKey}, http.StatusOK).body
	if !strings.Contains(stored, `"description":"=HYPERLINK(\"http://evil.test\",\"x\")"`) || !strings.Contains(stored, `"description":"'Tis"`) {
		t.Fatalf("the deck was not stored as written: %s", stored)
	}

	owner := f.ts.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	page := owner.get(acmeHost, "/reseller/rates.csv")
	api := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/rates?format=csv", key: f.acmeKey}, http.StatusOK)
	want := map[string]string{"1": `'=HYPERLINK("http://evil.test","x")`, "33": `'+cmd|' /C calc'!A0`, "44": "'@SUM(1)", "49": "'-2+3", "61": "''Tis", "81": "Japan"}
	for name, export := range map[string]response{"page": page, "api": api} {
		if export.status != http.StatusOK {
			t.Fatalf("%s export: %d", name, export.status)
		}
		rows, err := csv.NewReader(strings.NewReader(export.body)).ReadAll()
		if err != nil || len(rows) != 7 {
			t.Fatalf("%s export: %v\n%s", name, err, export.body)
		}
		for _, row := range rows[1:] {
			if row[1] != want[row[0]] {
				t.Errorf("%s export, prefix %s: description cell %q, want %q", name, row[0], row[1], want[row[0]])
			}
			if strings.HasPrefix(row[2], "'") || strings.HasPrefix(row[3], "'") {
				t.Errorf("%s export quoted a number: %q", name, row)
			}
		}
		// each export imports back to the same deck
		f.at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/rates", key: f.acmeKey, body: export.body, header: csvHeader}, http.StatusOK)
		if again := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/rates", key: f.acmeKey}, http.StatusOK).body; again != stored {
			t.Errorf("the %s export imported back differently:\n%s\nwant\n%s", name, again, stored)
		}
	}
	if r := uploadRates(owner, page.body); r.status != http.StatusSeeOther {
		t.Errorf("the page export does not upload on the page: %d", r.status)
	}
	if again := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/rates", key: f.acmeKey}, http.StatusOK).body; again != stored {
		t.Errorf("the page upload of the export changed the deck:\n%s", again)
	}
}
