package billing

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// inventory is acme's numbers as "number type fee setup label" lines.
func (f *numberFixture) inventory() []string {
	f.t.Helper()
	page, _, err := f.svc.Numbers(f.acme.ID, NumberQuery{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, n := range page {
		out = append(out, fmt.Sprintf("%s %s %s %d %d %s", n.Number, n.Type, n.Country, n.MonthlyFee, n.SetupFee, n.Label))
	}
	return out
}

// TestImportNumbers: a good file adds every number, available, with its
// type inferred where the cell is empty; columns may come in any order
// and the optional ones may be left out; a spreadsheet's byte-order mark
// and cells an export defused are read as meant.
func TestImportNumbers(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	csv := "\xef\xbb\xbfNumber,Type,Monthly_Fee,setup_fee,label\n" +
		"+14155552671,,1.50,5,Front desk\n" +
		"'+447400123456,,2,,\"Sales, UK\"\n" + // defused by an export
		"\n" + // a blank line
		"020 7946 0958,toll_free,0,0,\n"
	n, err := f.svc.ImportNumbers(f.acme, []byte(csv), staff)
	if err != nil || n != 3 {
		t.Fatalf("import: %d %v", n, err)
	}
	want := []string{
		"+14155552671 local US 15000 50000 Front desk",
		"+442079460958 toll_free GB 0 0 ",
		"+447400123456 mobile GB 20000 0 Sales, UK",
	}
	if got := f.inventory(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("inventory:\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// two columns only, in another order
	if n, err := f.svc.ImportNumbers(f.acme, []byte("monthly_fee,number\n3,+4915123456789\n"), staff); err != nil || n != 1 {
		t.Fatalf("two columns: %d %v", n, err)
	}
	if got := f.audit(); len(got) != 2 || got[0] != "numbers.import 3 numbers" || got[1] != "numbers.import 1 numbers" {
		t.Errorf("audit: %v", got)
	}
	f.verify()
}

// TestImportNumbersAllOrNothing: one wrong line, or one number the
// inventory has already, and nothing is imported; every problem is
// reported with its line and column.
func TestImportNumbersAllOrNothing(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	f.add("+14155552671", "", "1")
	before := f.inventory()

	cases := []struct {
		name, csv string
		want      []NumberError
	}{
		{"empty", "", []NumberError{{1, "header", "The file is empty; the first line must be number,type,monthly_fee,setup_fee,label."}}},
		{"unknown column", "number,price\n+14155552672,1\n", []NumberError{{1, "header", `Unknown column "price": the first line must be number,type,monthly_fee,setup_fee,label (type, setup_fee and label may be left out).`}}},
		{"no fee column", "number,type\n+14155552672,local\n", []NumberError{{1, "header", "The first line must name the column monthly_fee: number,type,monthly_fee,setup_fee,label (type, setup_fee and label may be left out)."}}},
		{"column twice", "number,monthly_fee,number\n", []NumberError{{1, "header", "The column number is named twice."}}},
		{"header only", "number,monthly_fee\n", []NumberError{{2, "file", "The file has no numbers after the header."}}},
		{"not utf-8", "number,monthly_fee\n+14155552672,\xff\n", []NumberError{{0, "file", "The file is not UTF-8 text."}}},
		{"line errors", "number,type,monthly_fee,setup_fee,label\n" +
			"+14155552671,,1,,ok\n" + // line 2: in the inventory already (found after the lines are read)
			"555,,1,,\n" + // 3: number
			"+14155552673,fax,-1,x,\n" + // 4: type, monthly_fee, setup_fee
			"+14155552674,,1\n" + // 5: fields
			"(415) 555-2671,,1,,\n" + // 6: a national form of another country than the seller's: invalid
			"+1 415 555 2671,,1,,\n" + // 7: line 2's number again
			"+14155552675,,1,,\"a\nb\"\n", // 8: a label over two lines
			[]NumberError{
				{2, "number", "Number +14155552671 is in your inventory already."},
				{3, "number", "Enter a valid phone number in international form, such as +14155550100."},
				{4, "type", "Use local, mobile or toll_free, or leave it empty to infer it from the number."},
				{4, "monthly_fee", "Enter an amount such as 2.50 (a dot for decimals, no currency sign)."},
				{4, "setup_fee", "Enter an amount such as 2.50 (a dot for decimals, no currency sign)."},
				{5, "line", "Expected 5 fields, found 3."},
				{6, "number", "Enter a valid phone number in international form, such as +14155550100."},
				{7, "number", "Number +14155552671 is already on line 2."},
				{8, "label", "Use plain text on one line: no line breaks, tabs or other control characters."},
			}},
		{"bad quote", "number,monthly_fee\n+14155552672,1\n\"+14155552673,1\n", []NumberError{{3, "line", `The line is not valid CSV: extraneous or missing " in quoted-field.`}}},
		{"in the inventory already", "number,monthly_fee\n+14155552672,1\n+14155552671,1\n", []NumberError{{3, "number", "Number +14155552671 is in your inventory already."}}},
	}
	for _, tc := range cases {
		_, err := f.svc.ImportNumbers(f.acme, []byte(tc.csv), staff)
		var got NumberErrors
		if !errors.As(err, &got) {
			t.Errorf("%s: %v, want NumberErrors", tc.name, err)
			continue
		}
		if fmt.Sprint([]NumberError(got)) != fmt.Sprint(tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
	if got := f.inventory(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("a refused import changed the inventory: %v", got)
	}
	if got := f.audit(); len(got) != 1 {
		t.Errorf("a refused import was audited: %v", got)
	}
}

// TestImportNumbersLimits: a file over MaxNumberFile is refused before it
// is read, problems past MaxNumberErrors are counted in one last line,
// and an import of more than MaxNumberRows numbers is refused at the
// first line too many.
func TestImportNumbersLimits(t *testing.T) {
	t.Parallel()
	f := newNumberFixture(t)
	big := make([]byte, MaxNumberFile+1)
	if _, err := f.svc.ImportNumbers(f.acme, big, staff); err == nil || !strings.Contains(err.Error(), "larger than 8 MiB") {
		t.Errorf("a file too large: %v", err)
	}
	var b strings.Builder
	b.WriteString("number,monthly_fee\n")
	for range MaxNumberErrors + 5 {
		b.WriteString("555,1\n")
	}
	_, err := f.svc.ImportNumbers(f.acme, []byte(b.String()), staff)
	var errs NumberErrors
	if !errors.As(err, &errs) || len(errs) != MaxNumberErrors+1 || errs[MaxNumberErrors] != (NumberError{0, "file", "5 more problem(s) not listed."}) {
		t.Fatalf("many errors: %d %v", len(errs), errs[len(errs)-1])
	}
	if testing.Short() {
		t.Skip("100,001 numbers take a second to parse")
	}
	b.Reset()
	b.WriteString("number,monthly_fee\n")
	for i := range MaxNumberRows + 1 {
		fmt.Fprintf(&b, "+1212%07d,1\n", 2000000+i) // New York numbers, all valid
	}
	_, err = f.svc.ImportNumbers(f.acme, []byte(b.String()), staff)
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0] != (NumberError{MaxNumberRows + 2, "line", "An import may add at most 100000 numbers."}) {
		t.Fatalf("too many rows: %v", err)
	}
	if page, _, _ := f.svc.Numbers(f.acme.ID, NumberQuery{}); len(page) != 0 {
		t.Errorf("a refused import added %d numbers", len(page))
	}
}
