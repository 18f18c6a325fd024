// Package invoicepdf renders an issued invoice as a PDF in the reseller's
// brand, from the invoice alone: everything it prints (seller, buyer,
// brand, lines, totals, time zone) was frozen into store.Invoice at issue,
// so the same invoice always renders to the same bytes. It embeds Noto
// Sans (fonts/, SIL Open Font License), which covers Latin, Greek and
// Cyrillic and the currency signs (₹ ₺ ₿ among them).
package invoicepdf

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"codeberg.org/go-pdf/fpdf"

	"portico/app/clients"
	"portico/store"
	"portico/store/money"

	_ "embed"
)

// The fonts are parsed by fpdf once per document: fpdf keeps the parsed
// tables per instance and rewrites them when it writes the subset, so a
// parsed font cannot be shared between documents. What is shared is the
// file; each document gets its own copy, because fpdf's parser may write
// into the slice it is given (it appends to sub-slices of it).
var (
	//go:embed fonts/NotoSans-Regular.ttf
	fontRegular []byte
	//go:embed fonts/NotoSans-Bold.ttf
	fontBold []byte
)

const family = "noto"

// Page geometry, in millimetres (A4 portrait).
const (
	pageW, pageH = 210.0, 297.0
	marginX      = 18.0
	marginTop    = 16.0
	contentW     = pageW - 2*marginX
	colGap       = 6.0
	halfW        = (contentW - colGap) / 2
	footerBottom = 10.0 // from the page's bottom edge to the footer's last line
	footerLines  = 3    // the reseller's footer text is held to this many lines
	footerLineH  = 3.4
	lineH        = 4.6 // body text at 9 pt
)

// The lines table's columns; the description takes what the numbers leave.
const (
	qtyW    = 18.0
	priceW  = 34.0
	amountW = 34.0
	descW   = contentW - qtyW - priceW - amountW
	cellPad = 1.6
)

// Render writes inv as a PDF to w. logo is the PNG frozen with the invoice
// (store.Tx.InvoiceLogo; nil for none); a logo fpdf cannot read as it is
// is re-encoded, and one that is not an image is left out rather than
// failing the invoice. The output depends on inv and logo only: its
// creation date is the issue date and it carries no random identifier.
// Render is safe for concurrent use.
func Render(w io.Writer, inv *store.Invoice, logo []byte) (err error) {
	if inv == nil {
		return errors.New("invoicepdf: no invoice")
	}
	// fpdf indexes tables by rune and panics on some input; this runs in
	// the mail worker and in requests, where a panic must stay an error.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("invoicepdf: %s: %v", inv.Number, p)
		}
	}()
	r := newRenderer(printable(inv))
	r.document(logo)
	if err := r.pdf.Error(); err != nil {
		return fmt.Errorf("invoicepdf: %s: %w", inv.Number, err)
	}
	var buf bytes.Buffer // written whole, so that a failure leaves w untouched
	buf.Grow(64 << 10)
	if err := r.pdf.Output(&buf); err != nil {
		return fmt.Errorf("invoicepdf: %s: %w", inv.Number, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// printable is a copy of inv whose texts the font and fpdf can take:
// control characters become spaces and characters outside the Basic
// Multilingual Plane (emoji; fpdf's font tables stop at U+FFFF) become
// U+FFFD. Characters of the plane that Noto Sans lacks (CJK) keep their
// code, which text extraction recovers, and show as the missing glyph.
func printable(inv *store.Invoice) *store.Invoice {
	c := *inv
	for _, s := range []*string{&c.Number, &c.Period, &c.Currency, &c.TaxNote, &c.VoidReason, &c.Reference,
		&c.Brand.ProductName, &c.Brand.Footer} {
		*s = clean(*s)
	}
	for _, p := range []*store.Party{&c.Buyer, &c.Seller} {
		for _, s := range []*string{&p.Name, &p.Company, &p.VATNumber, &p.Address1, &p.Address2, &p.City, &p.Zip, &p.State, &p.Country} {
			*s = clean(*s)
		}
		p.Emails = append([]string(nil), p.Emails...)
		for i := range p.Emails {
			p.Emails[i] = clean(p.Emails[i])
		}
	}
	c.Lines = append([]store.InvoiceLine(nil), inv.Lines...)
	for i := range c.Lines {
		c.Lines[i].Description = clean(c.Lines[i].Description)
	}
	return &c
}

func clean(s string) string {
	return strings.Map(func(c rune) rune {
		switch {
		case unicode.IsControl(c), c == '\u2028', c == '\u2029':
			return ' '
		case c > 0xFFFF:
			return '\uFFFD'
		}
		return c
	}, s)
}

// Bytes renders inv into memory (the mail attachment, a download).
func Bytes(inv *store.Invoice, logo []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := Render(&buf, inv, logo); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type rgb struct{ r, g, b int }

var (
	ink       = rgb{17, 24, 39}    // body text
	muted     = rgb{100, 110, 125} // labels, footer
	rule      = rgb{214, 219, 226} // table lines
	zebra     = rgb{246, 247, 249}
	white     = rgb{255, 255, 255}
	green     = rgb{21, 128, 61}
	red       = rgb{185, 28, 28}
	amber     = rgb{180, 83, 9}
	defPrim   = rgb{36, 87, 214}
	defAccent = rgb{245, 158, 11}
)

type renderer struct {
	pdf     *fpdf.Fpdf
	inv     *store.Invoice
	loc     *time.Location
	primary rgb
	accent  rgb
	cur     string
	// places of the exact money columns: every value in a column shows
	// the same decimals, enough to show each exactly
	pricePlaces, amountPlaces, totalPlaces int
	bottom                                 float64 // lowest y the body may reach
}

func newRenderer(inv *store.Invoice) *renderer {
	r := &renderer{inv: inv, loc: location(inv.TimeZone), cur: inv.Currency,
		primary: parseColor(inv.Brand.PrimaryColor, defPrim), accent: parseColor(inv.Brand.AccentColor, defAccent)}
	prices := make([]int64, 0, len(inv.Lines))
	amounts := make([]int64, 0, len(inv.Lines))
	for _, l := range inv.Lines {
		prices, amounts = append(prices, l.UnitPrice), append(amounts, l.Amount)
	}
	r.pricePlaces = money.ExactPlaces(r.cur, prices...)
	r.amountPlaces = money.ExactPlaces(r.cur, amounts...)
	r.totalPlaces = money.ExactPlaces(r.cur, inv.Subtotal, inv.Tax, inv.Total, inv.AmountDue)

	p := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	p.AliasNbPages("{nb}") // before the fonts: their subsets then keep the digits the alias needs
	p.AddUTF8FontFromBytes(family, "", bytes.Clone(fontRegular))
	p.AddUTF8FontFromBytes(family, "B", bytes.Clone(fontBold))
	p.SetCatalogSort(true)
	at := inv.IssuedAt.UTC()
	if at.IsZero() {
		at = time.Unix(0, 0).UTC()
	}
	p.SetCreationDate(at)
	p.SetModificationDate(at)
	p.SetProducer("Portico", true)
	p.SetCreator("Portico", true)
	p.SetTitle(title(inv)+" "+inv.Number, true)
	p.SetAuthor(inv.Seller.Name, true)
	p.SetMargins(marginX, marginTop, marginX)
	p.SetCellMargin(0)
	p.SetAutoPageBreak(false, 0) // the renderer breaks pages itself, repeating the table's header
	r.pdf = p
	p.SetFont(family, "", 7.5)
	footer := r.footerText()
	r.bottom = pageH - footerBottom - float64(len(footer)+1)*footerLineH - 4
	p.SetFooterFunc(func() { r.footer(footer) })
	return r
}

// document lays out the whole invoice.
func (r *renderer) document(logo []byte) {
	p := r.pdf
	p.AddPage()
	r.header(logo)
	y := r.parties()
	p.SetY(y + 7)
	r.table()
	r.totals()
	r.notes()
}

func title(inv *store.Invoice) string {
	if inv.Kind == store.InvoiceReceipt {
		return "Receipt"
	}
	return "Invoice"
}

func kindLabel(kind string) string {
	switch kind {
	case store.InvoicePeriod:
		return "Subscription invoice"
	case store.InvoiceProration:
		return "Proration invoice"
	case store.InvoiceReceipt:
		return "Receipt"
	}
	return kind
}

func statusLabel(status string) string {
	switch status {
	case store.InvoiceOpen:
		return "Open"
	case store.InvoicePaid:
		return "Paid"
	case store.InvoiceVoid:
		return "Void"
	case store.InvoiceUncollectible:
		return "Uncollectible"
	}
	return status
}

// header: the logo (or the product name) on the left, the title and
// number on the right, and a rule in the accent colour.
func (r *renderer) header(logo []byte) {
	p := r.pdf
	const logoW, logoH = 60.0, 18.0
	placed := false
	if info := r.registerLogo(logo); info != nil {
		w, h := info.Width(), info.Height()
		if w > 0 && h > 0 {
			// fit the box, keeping the aspect ratio
			if w*logoH > h*logoW {
				w, h = logoW, h*logoW/w
			} else {
				w, h = w*logoH/h, logoH
			}
			p.ImageOptions("logo", marginX, marginTop+(logoH-h)/2, w, h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
			placed = true
		}
	}
	if !placed && r.inv.Brand.ProductName != "" {
		r.font("B", 16, onWhite(r.primary))
		r.fitText(marginX, marginTop+4, logoW+20, 8, r.inv.Brand.ProductName, "L")
	}
	r.font("B", 22, onWhite(r.primary))
	p.SetXY(pageW-marginX-90, marginTop)
	p.CellFormat(90, 10, strings.ToUpper(title(r.inv)), "", 0, "R", false, 0, "")
	r.font("B", 11, ink)
	r.fitText(pageW-marginX-90, marginTop+11, 90, 6, r.inv.Number, "R")
	r.fill(r.accent)
	p.Rect(marginX, marginTop+logoH+4, contentW, 1.2, "F")
	p.SetY(marginTop + logoH + 10)
}

// registerLogo hands the logo to fpdf, re-encoding what fpdf's PNG reader
// refuses (16-bit channels, interlacing, a palette with transparency);
// nil when there is no usable logo.
func (r *renderer) registerLogo(logo []byte) *fpdf.ImageInfoType {
	if len(logo) == 0 {
		return nil
	}
	if !plainPNG(logo) {
		img, _, err := image.Decode(bytes.NewReader(logo))
		if err != nil {
			return nil
		}
		rgba := image.NewNRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
		var buf bytes.Buffer
		if err := png.Encode(&buf, rgba); err != nil {
			return nil
		}
		logo = buf.Bytes()
	}
	info := r.pdf.RegisterImageOptionsReader("logo", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(logo))
	if r.pdf.Err() {
		// fpdf's error is sticky and would fail the document: a logo it
		// could not read after all is left out instead.
		r.pdf.ClearError()
		return nil
	}
	return info
}

// plainPNG reports whether b is a PNG that fpdf reads as it is: 8 bits
// per channel or fewer, not interlaced, and no transparency chunk (which
// fpdf reads only for some colour types).
func plainPNG(b []byte) bool {
	const sig = "\x89PNG\r\n\x1a\n"
	if len(b) < 33 || string(b[:8]) != sig || string(b[12:16]) != "IHDR" {
		return false
	}
	depth, colorType, interlace := b[24], b[25], b[28]
	if depth > 8 || interlace != 0 || bytes.Contains(b, []byte("tRNS")) {
		return false
	}
	switch colorType {
	case 0, 2, 3, 4, 6:
		return true
	}
	return false
}

// parties draws the seller and the invoice's facts side by side, then the
// buyer and the status stamp; it returns the y below them.
func (r *renderer) parties() float64 {
	p := r.pdf
	inv := r.inv
	top := p.GetY()
	yl := r.party(marginX, top, "From", inv.Seller, true)
	yr := r.facts(marginX+halfW+colGap, top)
	top = max(yl, yr) + 6
	yl = r.party(marginX, top, "Bill to", inv.Buyer, false)
	yr = r.stamp(marginX+halfW+colGap, top)
	return max(yl, yr)
}

// party draws one party's block at (x, y) and returns the y below it.
func (r *renderer) party(x, y float64, label string, pt store.Party, emails bool) float64 {
	r.font("B", 8, muted)
	r.pdf.SetXY(x, y)
	r.pdf.CellFormat(halfW, 4, strings.ToUpper(label), "", 0, "L", false, 0, "")
	y += 5
	r.font("B", 10, ink)
	y = r.wrapped(x, y, halfW, 5, pt.Name)
	r.font("", 9, ink)
	if pt.Company != "" && pt.Company != pt.Name {
		y = r.wrapped(x, y, halfW, lineH, pt.Company)
	}
	for _, s := range []string{pt.Address1, pt.Address2, strings.TrimSpace(pt.Zip + " " + pt.City), pt.State, country(pt.Country)} {
		if s != "" {
			y = r.wrapped(x, y, halfW, lineH, s)
		}
	}
	if pt.VATNumber != "" {
		y = r.wrapped(x, y, halfW, lineH, "VAT number: "+pt.VATNumber)
	}
	if emails && len(pt.Emails) > 0 {
		y = r.wrapped(x, y, halfW, lineH, strings.Join(pt.Emails, ", "))
	}
	return y
}

func country(code string) string {
	if code == "" {
		return ""
	}
	if name := clients.CountryName(code); name != "" {
		return name
	}
	return code
}

// facts draws the number, kind, dates, period and status as label/value
// rows.
func (r *renderer) facts(x, y float64) float64 {
	inv := r.inv
	rows := [][2]string{
		{title(inv) + " number", inv.Number},
		{"Type", kindLabel(inv.Kind)},
		{"Issue date", r.date(inv.IssuedAt)},
	}
	if inv.Kind != store.InvoiceReceipt {
		rows = append(rows, [2]string{"Due date", r.date(inv.DueAt)})
	}
	if period := r.period(); period != "" {
		rows = append(rows, [2]string{"Period", period})
	}
	rows = append(rows, [2]string{"Status", statusLabel(inv.Status)})
	if inv.Status == store.InvoicePaid && !inv.PaidAt.IsZero() {
		rows = append(rows, [2]string{"Paid on", r.date(inv.PaidAt)})
	}
	const labelW = 28.0
	for _, row := range rows {
		r.font("", 9, muted)
		r.pdf.SetXY(x, y)
		r.pdf.CellFormat(labelW, lineH, row[0], "", 0, "L", false, 0, "")
		r.font("B", 9, ink)
		y = r.wrapped(x+labelW, y, halfW-labelW, lineH, row[1])
	}
	return y
}

// period is the invoice's period in the reseller's zone, its last day
// included (PeriodEnd is the instant the period ends).
func (r *renderer) period() string {
	inv := r.inv
	if inv.PeriodStart.IsZero() || inv.PeriodEnd.IsZero() {
		return ""
	}
	last := inv.PeriodEnd.In(r.loc).Add(-time.Nanosecond)
	return r.date(inv.PeriodStart) + " – " + last.Format("2 January 2006")
}

func (r *renderer) date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(r.loc).Format("2 January 2006")
}

// stamp draws the status stamp (PAID, VOID with its reason,
// UNCOLLECTIBLE); an open invoice has none.
func (r *renderer) stamp(x, y float64) float64 {
	inv := r.inv
	var word, note string
	var c rgb
	switch inv.Status {
	case store.InvoicePaid:
		word, c = "PAID", green
		if inv.Reference != "" {
			note = "Reference: " + inv.Reference
		}
	case store.InvoiceVoid:
		word, c = "VOID", red
		if inv.VoidReason != "" {
			note = "Reason: " + inv.VoidReason
		}
	case store.InvoiceUncollectible:
		word, c = "UNCOLLECTIBLE", amber
	default:
		return y
	}
	p := r.pdf
	const pad = 3.0
	w := halfW
	r.font("", 9, c)
	var lines []string
	if note != "" {
		lines = r.split(note, w-2*pad)
	}
	h := pad + 9 + float64(len(lines))*lineH + pad
	p.SetLineWidth(0.8)
	p.SetDrawColor(c.r, c.g, c.b)
	p.RoundedRect(x, y, w, h, 2, "1234", "D")
	p.SetLineWidth(0.2)
	r.font("B", 18, c)
	p.SetXY(x+pad, y+pad)
	p.CellFormat(w-2*pad, 9, word, "", 0, "L", false, 0, "")
	r.font("", 9, c)
	yy := y + pad + 9
	for _, l := range lines {
		p.SetXY(x+pad, yy)
		p.CellFormat(w-2*pad, lineH, l, "", 0, "L", false, 0, "")
		yy += lineH
	}
	return y + h
}

// table draws the lines: description (wrapped), quantity, unit price and
// amount, breaking pages as needed with the header repeated.
func (r *renderer) table() {
	p := r.pdf
	r.tableHeader()
	for i, l := range r.inv.Lines {
		r.font("", 9, ink)
		desc := r.split(l.Description, descW-2*cellPad)
		if len(desc) == 0 {
			desc = []string{""}
		}
		first := true
		for len(desc) > 0 {
			room := int((r.bottom - p.GetY() - 2*cellPad) / lineH)
			if room < 1 || (first && room < min(len(desc), 3)) {
				// not even a few lines fit: the row starts on the next page
				r.newPage()
				r.tableHeader()
				continue
			}
			n := min(room, len(desc))
			r.row(i, desc[:n], l, first)
			desc, first = desc[n:], false
		}
	}
	r.pdf.SetDrawColor(rule.r, rule.g, rule.b)
	y := p.GetY()
	p.Line(marginX, y, marginX+contentW, y)
}

func (r *renderer) tableHeader() {
	p := r.pdf
	const h = 7.0
	y := p.GetY()
	r.fill(r.primary)
	p.Rect(marginX, y, contentW, h, "F")
	r.font("B", 8.5, textOn(r.primary))
	x := marginX
	for _, c := range []struct {
		w     float64
		text  string
		align string
	}{
		{descW, "Description", "L"},
		{qtyW, "Qty", "R"},
		{priceW, "Unit price (" + r.cur + ")", "R"},
		{amountW, "Amount (" + r.cur + ")", "R"},
	} {
		r.fitText(x+cellPad, y, c.w-2*cellPad, h, c.text, c.align)
		x += c.w
	}
	p.SetY(y + h)
}

// row draws part of line i: its description lines, and the figures when
// first is set (a description longer than the page's room continues on
// the next page without them).
func (r *renderer) row(i int, desc []string, l store.InvoiceLine, first bool) {
	p := r.pdf
	y := p.GetY()
	h := float64(len(desc))*lineH + 2*cellPad
	if i%2 == 1 {
		r.fill(zebra)
		p.Rect(marginX, y, contentW, h, "F")
	}
	r.font("", 9, ink)
	for j, s := range desc {
		p.SetXY(marginX+cellPad, y+cellPad+float64(j)*lineH)
		p.CellFormat(descW-2*cellPad, lineH, s, "", 0, "L", false, 0, "")
	}
	if first {
		x := marginX + descW
		r.fitText(x+cellPad, y+cellPad, qtyW-2*cellPad, lineH, groupDigits(l.Quantity), "R")
		x += qtyW
		r.fitText(x+cellPad, y+cellPad, priceW-2*cellPad, lineH, r.money(l.UnitPrice, r.pricePlaces), "R")
		x += priceW
		r.fitText(x+cellPad, y+cellPad, amountW-2*cellPad, lineH, r.money(l.Amount, r.amountPlaces), "R")
	}
	p.SetY(y + h)
}

// totals draws subtotal, tax, total and amount due on the right.
func (r *renderer) totals() {
	p := r.pdf
	inv := r.inv
	rows := []struct {
		label string
		value int64
		bold  bool
	}{
		{"Subtotal", inv.Subtotal, false},
		{"Tax " + Percent(inv.TaxRate), inv.Tax, false},
		{"Total", inv.Total, true},
		{"Amount due", inv.AmountDue, true},
	}
	const rowH = 6.5
	h := 4 + float64(len(rows))*rowH
	if p.GetY()+h > r.bottom {
		r.newPage()
	}
	y := p.GetY() + 4
	x := marginX + contentW - halfW
	const valueW = 52.0
	for i, row := range rows {
		if i == len(rows)-1 {
			r.fill(r.accent)
			p.Rect(x, y, halfW, rowH, "F")
		}
		style := ""
		if row.bold {
			style = "B"
		}
		c := ink
		if i == len(rows)-1 {
			c = textOn(r.accent)
		}
		r.font(style, 9.5, c)
		r.fitText(x+cellPad, y, halfW-valueW-2*cellPad, rowH, row.label, "L")
		r.fitText(x+halfW-valueW, y, valueW-cellPad, rowH, r.money(row.value, r.totalPlaces)+" "+r.cur, "R")
		if i == 1 {
			p.SetDrawColor(rule.r, rule.g, rule.b)
			p.Line(x, y+rowH, x+halfW, y+rowH)
		}
		y += rowH
	}
	p.SetY(y)
}

// notes prints the legal note of the tax (the EU reverse charge) and a
// void invoice's reason.
func (r *renderer) notes() {
	inv := r.inv
	var notes []string
	if inv.TaxNote != "" {
		notes = append(notes, inv.TaxNote)
	}
	if inv.Status == store.InvoiceVoid {
		n := "This invoice is void and is not payable."
		if inv.VoidReason != "" {
			n += " Reason: " + inv.VoidReason
		}
		notes = append(notes, n)
	}
	if len(notes) == 0 {
		return
	}
	p := r.pdf
	y := p.GetY() + 8
	if y+5+lineH > r.bottom {
		r.newPage()
		y = p.GetY()
	}
	r.font("B", 8, muted)
	p.SetXY(marginX, y)
	p.CellFormat(contentW, 4, "NOTES", "", 0, "L", false, 0, "")
	y += 5
	r.font("", 9, ink)
	for _, n := range notes {
		for _, l := range r.split(n, contentW) {
			if y+lineH > r.bottom {
				r.newPage()
				y = p.GetY()
				r.font("", 9, ink)
			}
			p.SetXY(marginX, y)
			p.CellFormat(contentW, lineH, l, "", 0, "L", false, 0, "")
			y += lineH
		}
		y += 1.5
	}
	p.SetY(y)
}

// newPage starts a page whose top names the invoice it continues.
func (r *renderer) newPage() {
	p := r.pdf
	p.AddPage()
	r.font("B", 9, ink)
	p.SetXY(marginX, marginTop)
	r.fitText(marginX, marginTop, contentW, 5, title(r.inv)+" "+r.inv.Number+" (continued)", "L")
	r.fill(r.accent)
	p.Rect(marginX, marginTop+6.5, contentW, 0.8, "F")
	p.SetY(marginTop + 11)
}

// footerText is the reseller's footer wrapped to at most footerLines
// lines (the last one cut with an ellipsis).
func (r *renderer) footerText() []string {
	lines := r.split(r.inv.Brand.Footer, contentW)
	if len(lines) > footerLines {
		lines = lines[:footerLines]
		last := []rune(lines[footerLines-1])
		for len(last) > 0 && r.pdf.GetStringWidth(string(last)+"…") > contentW {
			last = last[:len(last)-1]
		}
		lines[footerLines-1] = string(last) + "…"
	}
	return lines
}

func (r *renderer) footer(lines []string) {
	p := r.pdf
	y := pageH - footerBottom - float64(len(lines)+1)*footerLineH
	p.SetDrawColor(rule.r, rule.g, rule.b)
	p.Line(marginX, y-2, marginX+contentW, y-2)
	r.font("", 7.5, muted)
	for _, l := range lines {
		p.SetXY(marginX, y)
		p.CellFormat(contentW, footerLineH, l, "", 0, "L", false, 0, "")
		y += footerLineH
	}
	p.SetXY(marginX, y)
	p.CellFormat(contentW/2, footerLineH, r.inv.Brand.ProductName, "", 0, "L", false, 0, "")
	p.SetXY(marginX+contentW/2, y)
	p.CellFormat(contentW/2, footerLineH, r.inv.Number+" · Page "+strconv.Itoa(p.PageNo())+" of {nb}", "", 0, "R", false, 0, "")
}

// wrapped writes s wrapped to w at (x, y) and returns the y below it.
func (r *renderer) wrapped(x, y, w, h float64, s string) float64 {
	for _, l := range r.split(s, w) {
		r.pdf.SetXY(x, y)
		r.pdf.CellFormat(w, h, l, "", 0, "L", false, 0, "")
		y += h
	}
	return y
}

// split wraps s to width w in the current font: at spaces where it can,
// inside a word that is wider than w on its own.
func (r *renderer) split(s string, w float64) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return r.pdf.SplitText(s, w)
}

// fitText writes one line of s in the box, shrinking the font (down to
// 5 pt) when s is wider than w, so that nothing runs into the next box.
func (r *renderer) fitText(x, y, w, h float64, s, align string) {
	p := r.pdf
	size, _ := p.GetFontSize()
	if sw := p.GetStringWidth(s); sw > w && sw > 0 {
		p.SetFontSize(max(5, size*w/sw))
	}
	p.SetXY(x, y)
	p.CellFormat(w, h, s, "", 0, align, false, 0, "")
	p.SetFontSize(size)
}

func (r *renderer) font(style string, size float64, c rgb) {
	r.pdf.SetFont(family, style, size)
	r.pdf.SetTextColor(c.r, c.g, c.b)
}

func (r *renderer) fill(c rgb) { r.pdf.SetFillColor(c.r, c.g, c.b) }

// money writes an amount exactly with the column's places.
func (r *renderer) money(v int64, places int) string {
	return money.Display{Exact: true, Places: places}.Text(v, r.cur)
}

// Percent writes a tax rate in basis points as a percentage: 2000 → "20%",
// 1950 → "19.5%", 825 → "8.25%".
func Percent(bp int) string {
	sign := ""
	if bp < 0 {
		sign, bp = "-", -bp
	}
	whole, frac := bp/100, bp%100
	switch {
	case frac == 0:
		return fmt.Sprintf("%s%d%%", sign, whole)
	case frac%10 == 0:
		return fmt.Sprintf("%s%d.%d%%", sign, whole, frac/10)
	default:
		return fmt.Sprintf("%s%d.%02d%%", sign, whole, frac)
	}
}

// groupDigits writes n with thousands separators.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseColor reads "#rrggbb"; anything else is def.
func parseColor(s string, def rgb) rgb {
	if len(s) != 7 || s[0] != '#' {
		return def
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return def
	}
	return rgb{int(v >> 16 & 0xff), int(v >> 8 & 0xff), int(v & 0xff)}
}

// onWhite is c as a text colour on the white page, or ink when c is too
// light to read there.
func onWhite(c rgb) rgb {
	if luma(c) > 170 {
		return ink
	}
	return c
}

// textOn is the text colour readable on a fill of c: white on a dark
// fill, ink on a light one.
func textOn(c rgb) rgb {
	if luma(c) > 160 {
		return ink
	}
	return white
}

func luma(c rgb) int { return (299*c.r + 587*c.g + 114*c.b) / 1000 }

var (
	locMu sync.Mutex
	locs  = map[string]*time.Location{}
)

// location is the invoice's zone (UTC when unset or unknown), loaded once
// per name.
func location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	locMu.Lock()
	defer locMu.Unlock()
	if l, ok := locs[name]; ok {
		return l
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = time.UTC
	}
	locs[name] = l
	return l
}
