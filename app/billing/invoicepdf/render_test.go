package invoicepdf

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/store"
	"portico/store/money"
)

// tool finds a poppler command; a machine without poppler-utils skips the
// test, but CI (which installs it) fails.
func tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: .ci/run installs poppler-utils", name)
		}
		t.Skipf("%s not installed (poppler-utils)", name)
	}
	return path
}

func writePDF(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// text is what pdftotext reads from the PDF, columns kept on their lines.
func text(t *testing.T, data []byte) string {
	t.Helper()
	return run(t, "pdftotext", "-layout", "-enc", "UTF-8", writePDF(t, data), "-")
}

func pages(t *testing.T, data []byte) int {
	t.Helper()
	out := run(t, "pdfinfo", writePDF(t, data))
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo: no page count:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

var wordBox = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)

// inBounds checks that every word pdftotext finds lies inside the page's
// margins: nothing overflows to the right or runs off the bottom.
func inBounds(t *testing.T, data []byte) {
	t.Helper()
	out := run(t, "pdftotext", "-bbox", "-enc", "UTF-8", writePDF(t, data), "-")
	const mm = 72 / 25.4
	words := wordBox.FindAllStringSubmatch(out, -1)
	if len(words) == 0 {
		t.Fatal("pdftotext -bbox found no words")
	}
	for _, w := range words {
		f := func(i int) float64 { v, _ := strconv.ParseFloat(w[i], 64); return v / mm }
		x0, y0, x1, y1 := f(1), f(2), f(3), f(4)
		if x0 < marginX-0.5 || x1 > pageW-marginX+0.5 || y0 < marginTop-2 || y1 > pageH-footerBottom+1 {
			t.Errorf("word %q at x %.1f–%.1f mm, y %.1f–%.1f mm is outside the page's margins", w[5], x0, x1, y0, y1)
		}
	}
}

// collapse makes runs of spaces one space, so that a row of the table
// reads "Description 3 12.5000 37.50".
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

var warsaw = func() *time.Location {
	l, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		panic(err)
	}
	return l
}()

func line(desc string, qty, unit int64) store.InvoiceLine {
	amount, err := money.Mul(qty, unit)
	if err != nil {
		panic(err)
	}
	return store.InvoiceLine{Kind: "plan", Description: desc, Quantity: qty, UnitPrice: unit, Amount: amount}
}

// finish sums lines and tax as the billing service does.
func finish(t testing.TB, inv *store.Invoice) *store.Invoice {
	t.Helper()
	inv.Subtotal = 0
	for _, l := range inv.Lines {
		inv.Subtotal += l.Amount
	}
	inv.Tax = inv.Subtotal * int64(inv.TaxRate) / 10000
	inv.Total = inv.Subtotal + inv.Tax
	inv.AmountDue = inv.Total
	if err := inv.CheckTotals(); err != nil {
		t.Fatal(err)
	}
	return inv
}

const longDescription = "Monthly fee of the phone number +48 22 123 45 67 (local, Warszawa), which carries the office's main line and its fax, with call recording, voicemail to email and the evening menu in Polish, English and German"

// sample is a March invoice of a Warsaw reseller's Polish client, with
// the characters the font must carry.
func sample(t testing.TB) *store.Invoice {
	return finish(t, &store.Invoice{
		ID: 7, ResellerID: 1, ClientID: 2, Seq: 123, Number: "ACME-2026-000123",
		Kind: store.InvoicePeriod, Period: "2026-03",
		PeriodStart: time.Date(2026, 3, 1, 0, 0, 0, 0, warsaw).UTC(),
		PeriodEnd:   time.Date(2026, 4, 1, 0, 0, 0, 0, warsaw).UTC(),
		// 23:30 UTC on 28 February is 1 March in Warsaw
		IssuedAt: time.Date(2026, 2, 28, 23, 30, 0, 0, time.UTC),
		DueAt:    time.Date(2026, 3, 14, 23, 30, 0, 0, time.UTC),
		Status:   store.InvoiceOpen, Currency: "EUR", TimeZone: "Europe/Warsaw",
		Lines: []store.InvoiceLine{
			line("Business plan, Łódź ł office", 1, 49_0000),
			line("Extra seats ₹ 500 pack", 3, 12_5000),
			line("Calls to Türkiye ₺ per minute", 120, 125),
			line("₿ settlement fee", 1, 2_0000),
			line("Müller ü support add-on", 2, 5_0000),
			line(longDescription, 1, 10_0000),
		},
		TaxRate: 2000,
		Buyer: store.Party{Name: "Anna Łukasiewicz", Company: "Müller & Łódź Sp. z o.o.", VATNumber: "PL1234567890",
			Emails: []string{"billing@muller.example"}, Address1: "ul. Piotrkowska 1", City: "Łódź", Zip: "90-001", Country: "PL"},
		Seller: store.Party{Name: "Acme Voice GmbH", VATNumber: "DE123456789", Address1: "Hauptstraße 5", City: "Berlin",
			Zip: "10115", Country: "DE"},
		Brand: store.InvoiceBrand{ProductName: "Acme Voice", PrimaryColor: "#2457d6", AccentColor: "#f59e0b",
			Footer: "Acme Voice GmbH · IBAN DE89 3704 0044 0532 0130 00 · Amtsgericht Berlin HRB 12345"},
	})
}

func render(t testing.TB, inv *store.Invoice, logo []byte) []byte {
	t.Helper()
	data, err := Bytes(inv, logo)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", data[:min(len(data), 16)])
	}
	return data
}

// TestRenderShowsTheInvoice: number, dates in the reseller's zone,
// period, both parties, every line as quantity × unit price = amount,
// subtotal, tax with its rate, total and amount due come out of the PDF,
// with ł, ₹, ₺, ₿ and ü intact.
func TestRenderShowsTheInvoice(t *testing.T) {
	t.Parallel()
	inv := sample(t)
	data := render(t, inv, nil)
	raw := text(t, data)
	txt := collapse(raw)
	for _, want := range []string{
		"INVOICE", "ACME-2026-000123", "Subscription invoice",
		"Issue date 1 March 2026", "Due date 15 March 2026", "Period 1 March 2026 – 31 March 2026", "Status Open",
		"Acme Voice GmbH", "Hauptstraße 5", "10115 Berlin", "Germany", "VAT number: DE123456789",
		"Anna Łukasiewicz", "Müller & Łódź Sp. z o.o.", "ul. Piotrkowska 1", "90-001 Łódź", "Poland", "VAT number: PL1234567890",
		"Unit price (EUR)", "Amount (EUR)",
		"Business plan, Łódź ł office 1 49.0000 49.00",
		"Extra seats ₹ 500 pack 3 12.5000 37.50",
		"Calls to Türkiye ₺ per minute 120 0.0125 1.50",
		"₿ settlement fee 1 2.0000 2.00",
		"Müller ü support add-on 2 5.0000 10.00",
		"Subtotal 110.00 EUR", "Tax 20% 22.00 EUR", "Total 132.00 EUR", "Amount due 132.00 EUR",
		"IBAN DE89 3704 0044 0532 0130 00", "ACME-2026-000123 · Page 1 of 1",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	// the long description wraps inside its column, every word kept, and
	// its figures stay on its first line
	if !strings.Contains(txt, "Monthly fee of the phone number +48 22 123 45 67") || !strings.Contains(txt, "English and German") {
		t.Errorf("long description lost:\n%s", raw)
	}
	if !regexp.MustCompile(`Monthly fee of the phone number[^\n]*\s1\s+10\.0000\s+10\.00\n`).MatchString(raw) {
		t.Errorf("long description's first line lacks its figures:\n%s", raw)
	}
	for _, w := range strings.Fields(longDescription) {
		if !strings.Contains(raw, w) {
			t.Errorf("word %q of the long description is missing", w)
		}
	}
	for _, stamp := range []string{"PAID", "VOID", "UNCOLLECTIBLE"} {
		if strings.Contains(raw, stamp) {
			t.Errorf("an open invoice shows %s", stamp)
		}
	}
	inBounds(t, data)
}

// TestRenderIsByteIdentical: the same invoice renders to the same bytes,
// one after the other and concurrently; the creation date is the issue
// date, and another invoice renders differently.
func TestRenderIsByteIdentical(t *testing.T) {
	t.Parallel()
	logo := testLogo(t, false)
	first := render(t, sample(t), logo)
	second := render(t, sample(t), logo)
	if !bytes.Equal(first, second) {
		t.Fatal("two renders of the same invoice differ")
	}
	if !bytes.Contains(first, []byte("/CreationDate (D:20260228233000)")) || !bytes.Contains(first, []byte("/ModDate (D:20260228233000)")) {
		t.Error("creation and modification dates are not the issue date")
	}
	var wg sync.WaitGroup
	outs := make([][]byte, 6)
	for i := range outs {
		wg.Go(func() { outs[i] = render(t, sample(t), logo) })
	}
	wg.Wait()
	for i, out := range outs {
		if !bytes.Equal(out, first) {
			t.Errorf("concurrent render %d differs", i)
		}
	}
	other := sample(t)
	other.Number = "ACME-2026-000124"
	if bytes.Equal(render(t, other, logo), first) {
		t.Error("another invoice rendered to the same bytes")
	}
}

// TestRenderPaginates: 60 lines, some wrapping, run over several pages;
// every line comes out, the table's header repeats on each page, the
// totals follow the last line, and nothing leaves the page.
func TestRenderPaginates(t *testing.T) {
	t.Parallel()
	inv := sample(t)
	inv.Lines = nil
	for i := 1; i <= 60; i++ {
		desc := fmt.Sprintf("Line %02d: number +48 22 555 %04d monthly fee", i, i)
		if i%7 == 0 {
			desc += ", " + longDescription
		}
		inv.Lines = append(inv.Lines, line(desc, int64(i), 1_2345))
	}
	finish(t, inv)
	data := render(t, inv, nil)
	n := pages(t, data)
	if n < 2 {
		t.Fatalf("60 lines fit on %d page", n)
	}
	raw := text(t, data)
	txt := collapse(raw)
	for i := 1; i <= 60; i++ {
		amount := money.Display{Exact: true, Places: 4}.Text(int64(i)*1_2345, "EUR")
		if want := fmt.Sprintf("Line %02d: number +48 22 555 %04d monthly fee", i, i); !strings.Contains(txt, want) {
			t.Errorf("line %d missing", i)
		} else if !regexp.MustCompile(fmt.Sprintf(`Line %02d: number[^\n]*\s%d\s+1\.2345\s+%s\n`, i, i, regexp.QuoteMeta(amount))).MatchString(raw) {
			t.Errorf("line %d lacks its figures on its row", i)
		}
	}
	for i, page := range strings.Split(strings.TrimRight(raw, "\f"), "\f") {
		if strings.Contains(page, "Line ") && strings.Count(page, "Description") != 1 {
			t.Errorf("page %d has lines but %d table headers", i+1, strings.Count(page, "Description"))
		}
	}
	if got := strings.Count(raw, "(continued)"); got != n-1 {
		t.Errorf("%d continuation headers on %d pages", got, n)
	}
	for p := 1; p <= n; p++ {
		if want := fmt.Sprintf("Page %d of %d", p, n); !strings.Contains(txt, want) {
			t.Errorf("footer %q missing", want)
		}
	}
	if last, total := strings.LastIndex(raw, "Line 60"), strings.Index(raw, "Subtotal"); total < last {
		t.Error("totals come before the last line")
	}
	exact := money.Display{Exact: true, Places: money.ExactPlaces("EUR", inv.Subtotal, inv.Tax, inv.Total)}
	for _, want := range []string{"Subtotal " + exact.Text(inv.Subtotal, "EUR"), "Total " + exact.Text(inv.Total, "EUR")} {
		if !strings.Contains(txt, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	inBounds(t, data)
}

// TestRenderStatuses: a void invoice shows VOID with its reason, a paid
// one PAID with its date, an uncollectible one UNCOLLECTIBLE.
func TestRenderStatuses(t *testing.T) {
	t.Parallel()
	void := sample(t)
	void.Status, void.VoidReason, void.AmountDue = store.InvoiceVoid, "Issued to the wrong company, replaced by ACME-2026-000124", 0
	txt := collapse(text(t, render(t, void, nil)))
	for _, want := range []string{"VOID", "Reason: Issued to the wrong company", "replaced by ACME-2026-000124",
		"This invoice is void and is not payable.", "Status Void", "Amount due 0.00 EUR", "Total 132.00 EUR"} {
		if !strings.Contains(txt, want) {
			t.Errorf("void invoice lacks %q:\n%s", want, txt)
		}
	}
	paid := sample(t)
	paid.Status, paid.PaidAt, paid.Reference, paid.AmountDue = store.InvoicePaid, time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), "bank transfer 2026-0310", 0
	txt = collapse(text(t, render(t, paid, nil)))
	for _, want := range []string{"PAID", "Paid on 10 March 2026", "Reference: bank transfer 2026-0310", "Amount due 0.00 EUR"} {
		if !strings.Contains(txt, want) {
			t.Errorf("paid invoice lacks %q:\n%s", want, txt)
		}
	}
	bad := sample(t)
	bad.Status = store.InvoiceUncollectible
	if txt := collapse(text(t, render(t, bad, nil))); !strings.Contains(txt, "UNCOLLECTIBLE") || !strings.Contains(txt, "Amount due 132.00 EUR") {
		t.Errorf("uncollectible invoice:\n%s", txt)
	}
}

// TestRenderReverseCharge: the 0 % rate and the legal note are printed.
func TestRenderReverseCharge(t *testing.T) {
	t.Parallel()
	inv := sample(t)
	inv.TaxRate, inv.TaxNote = 0, "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC)."
	finish(t, inv)
	data := render(t, inv, nil)
	txt := collapse(text(t, data))
	for _, want := range []string{"Tax 0% 0.00 EUR", "Total 110.00 EUR", "NOTES", "Reverse charge: VAT to be accounted for by the recipient", "2006/112/EC"} {
		if !strings.Contains(txt, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, txt)
		}
	}
	inBounds(t, data)
}

// testLogo is a 300×100 logo with transparency, in 16 bits per channel
// when wide (which fpdf's PNG reader refuses as it is).
func testLogo(t testing.TB, wide bool) []byte {
	t.Helper()
	var img image.Image
	if wide {
		m := image.NewNRGBA64(image.Rect(0, 0, 300, 100))
		for x := range 300 {
			for y := range 100 {
				m.SetNRGBA64(x, y, color.NRGBA64{R: uint16(x * 200), G: 0x4000, B: uint16(y * 600), A: 0xffff - uint16(x*100)})
			}
		}
		img = m
	} else {
		m := image.NewNRGBA(image.Rect(0, 0, 300, 100))
		for x := range 300 {
			for y := range 100 {
				m.SetNRGBA(x, y, color.NRGBA{R: uint8(x), G: 0x57, B: uint8(y * 2), A: uint8(255 - x/2)})
			}
		}
		img = m
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRenderLogo: an 8-bit and a 16-bit PNG logo are both placed; bytes
// that are no image leave the logo out (the product name stands in) and
// the invoice still renders.
func TestRenderLogo(t *testing.T) {
	t.Parallel()
	for _, wide := range []bool{false, true} {
		data := render(t, sample(t), testLogo(t, wide))
		out := run(t, "pdfimages", "-list", writePDF(t, data))
		if !regexp.MustCompile(`(?m)^\s+1\s+0\s+image\s+300\s+100\s`).MatchString(out) {
			t.Errorf("16-bit %v: logo not in the PDF:\n%s", wide, out)
		}
	}
	data := render(t, sample(t), []byte("not a PNG at all"))
	if out := run(t, "pdfimages", "-list", writePDF(t, data)); strings.Contains(out, "image") && strings.Count(out, "\n") > 2 {
		t.Errorf("garbage logo placed:\n%s", out)
	}
	if txt := text(t, data); !strings.Contains(txt, "Acme Voice") || !strings.Contains(txt, "ACME-2026-000123") {
		t.Errorf("invoice without its logo:\n%s", txt)
	}
}

// TestRenderExtremes: amounts at the edge of int64, a description with no
// space to break at, characters the font lacks, a long footer and
// colours that are not colours still render inside the page.
func TestRenderExtremes(t *testing.T) {
	t.Parallel()
	inv := sample(t)
	inv.Lines = []store.InvoiceLine{
		line(strings.Repeat("Unbreakable", 40), 1, math.MaxInt64/4),
		line("Emoji 😀 and 中文 and \t tab\nnewline", 3, -1_0001),
	}
	inv.TaxRate = 0
	finish(t, inv)
	inv.Buyer.Company = strings.Repeat("Łódź Company Name ", 12)
	inv.Brand.Footer = strings.Repeat("A very long footer with legal details. ", 30)
	inv.Brand.PrimaryColor, inv.Brand.AccentColor = "blue", "#fffff0"
	inv.TimeZone = "Nowhere/Unknown"
	data := render(t, inv, nil)
	txt := collapse(text(t, data))
	if !strings.Contains(txt, money.Display{Exact: true}.Text(math.MaxInt64/4, "EUR")[:10]) || !strings.Contains(txt, "Unbreakable") {
		t.Errorf("extreme line:\n%s", txt)
	}
	if !strings.Contains(txt, "Issue date 28 February 2026") { // an unknown zone prints in UTC
		t.Errorf("unknown zone:\n%s", txt)
	}
	inBounds(t, data)
}

func TestPercent(t *testing.T) {
	t.Parallel()
	for bp, want := range map[int]string{0: "0%", 2000: "20%", 1950: "19.5%", 825: "8.25%", 5: "0.05%", 10000: "100%", 2100: "21%", 770: "7.7%"} {
		if got := Percent(bp); got != want {
			t.Errorf("Percent(%d) = %q, want %q", bp, got, want)
		}
	}
}

// BenchmarkRender renders the sample invoice with a logo (target: 30 ms
// or less per invoice). cpu-ms/op is the process's CPU time per render,
// which other load on the machine inflates less than the wall time.
func BenchmarkRender(b *testing.B) {
	inv, logo := sample(b), testLogo(b, false)
	var buf bytes.Buffer
	start := cpuTime()
	for b.Loop() {
		buf.Reset()
		if err := Render(&buf, inv, logo); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(buf.Len()), "bytes")
}
