package billing

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"portico/app/actor"
	"portico/app/csvx"
	"portico/store"
)

// Limits of a number import (the rate deck's rules, app/calls/ratecsv.go).
const (
	// MaxNumberFile is the largest CSV accepted (bytes): 100,000 lines
	// of a number, a type, two fees and a label fit in it.
	MaxNumberFile = 8 << 20
	// MaxNumberRows is the most numbers one import may add.
	MaxNumberRows = 100_000
	// MaxNumberErrors is how many line errors are reported; the count of
	// the others is in the last one.
	MaxNumberErrors = 1000
)

// NumberError is one problem of an import, by line (1 is the header; 0
// is the file as a whole).
type NumberError struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// NumberErrors is every problem of an import; the import saved nothing.
type NumberErrors []NumberError

func (e NumberErrors) Error() string {
	return fmt.Sprintf("billing: number import has %d problem(s), first: line %d %s: %s", len(e), e[0].Line, e[0].Field, e[0].Message)
}

// numberColumns are the columns an import may have, in the order the
// format shows them. number and monthly_fee are required; the others may
// be left out, and the columns may come in any order.
var numberColumns = []string{"number", "type", "monthly_fee", "setup_fee", "label"}

// numberHeader is the format's first line, for messages.
const numberHeader = "number,type,monthly_fee,setup_fee,label"

// lineErrors gathers an import's problems: the first MaxNumberErrors
// listed, the others counted.
type lineErrors struct {
	list  NumberErrors
	extra int
}

func (e *lineErrors) add(line int, field, msg string) {
	if len(e.list) < MaxNumberErrors {
		e.list = append(e.list, NumberError{Line: line, Field: field, Message: msg})
	} else {
		e.extra++
	}
}

func (e *lineErrors) empty() bool { return len(e.list) == 0 }

// result is the problems in line order, with the count of those not
// listed last; nil when there is none.
func (e *lineErrors) result() error {
	if e.empty() {
		return nil
	}
	out := slices.Clone(e.list)
	slices.SortStableFunc(out, func(a, b NumberError) int { return a.Line - b.Line })
	if e.extra > 0 {
		out = append(out, NumberError{Line: 0, Field: "file", Message: fmt.Sprintf("%d more problem(s) not listed.", e.extra)})
	}
	return out
}

// ImportedNumber is one number read from an import, with its line.
type ImportedNumber struct {
	Line   int
	Number *store.PhoneNumber
}

// ParseNumbers reads an inventory CSV for reseller rid: a header naming
// its columns (numberHeader; type, setup_fee and label optional) and one
// number a line. region reads national forms, currency the fees. Every
// line is checked and every problem reported with its line number
// (NumberErrors); the numbers come back only when there is none. A
// number given twice (in any form) is an error on its second line.
func ParseNumbers(data []byte, rid uint64, region, currency string) ([]ImportedNumber, error) {
	rows, errs, _ := parseNumbers(data, rid, region, currency)
	if err := errs.result(); err != nil {
		return nil, err
	}
	return rows, nil
}

// parseNumbers is ParseNumbers returning the good lines beside the
// problems of the others, so that an import can also tell which good
// lines name a number the inventory has; fatal means the file could not
// be read as an inventory at all (no line was looked at).
func parseNumbers(data []byte, rid uint64, region, currency string) (rows []ImportedNumber, errs *lineErrors, fatal bool) {
	errs = &lineErrors{}
	refuse := func(line int, field, msg string) ([]ImportedNumber, *lineErrors, bool) {
		errs.add(line, field, msg)
		return nil, errs, true
	}
	if len(data) > MaxNumberFile {
		return refuse(0, "file", fmt.Sprintf("The file is larger than %d MiB.", MaxNumberFile>>20))
	}
	if !utf8.Valid(data) {
		return refuse(0, "file", "The file is not UTF-8 text.")
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // spreadsheets write a byte-order mark
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return refuse(1, "header", "The file is empty; the first line must be "+numberHeader+".")
	}
	if err != nil {
		return refuse(1, "header", csvMessage(err))
	}
	col, msg := numberHeaderColumns(header)
	if msg != "" {
		return refuse(1, "header", msg)
	}
	columns := len(header)
	firstLine := map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0 // FieldPos is only valid for a record read
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				line = perr.StartLine
			}
			errs.add(line, "line", csvMessage(err))
			if perr == nil {
				break // not a CSV problem: the reader cannot go on
			}
			continue
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rec) != columns {
			errs.add(line, "line", fmt.Sprintf("Expected %d fields, found %d.", columns, len(rec)))
			continue
		}
		if len(rows) == MaxNumberRows {
			errs.add(line, "line", fmt.Sprintf("An import may add at most %d numbers.", MaxNumberRows))
			break
		}
		cell := func(name string) string {
			if i, ok := col[name]; ok {
				// Text cells may come back defused from an export ("'+44..."):
				// csvx.Restore gives the cell as it was.
				return csvx.Restore(strings.TrimSpace(rec[i]))
			}
			return ""
		}
		in := NumberInput{Number: cell("number"), Type: cell("type"), MonthlyFee: cell("monthly_fee"),
			SetupFee: cell("setup_fee"), Label: cell("label")}
		n, problems := in.record(rid, region, currency)
		for _, p := range problems {
			errs.add(line, p.Field, p.Message)
		}
		if len(problems) > 0 {
			continue
		}
		if first, dup := firstLine[n.Number]; dup {
			errs.add(line, "number", fmt.Sprintf("Number %s is already on line %d.", n.Number, first))
			continue
		}
		firstLine[n.Number] = line
		rows = append(rows, ImportedNumber{Line: line, Number: n})
	}
	if len(rows) == 0 && errs.empty() {
		return refuse(2, "file", "The file has no numbers after the header.")
	}
	return rows, errs, false
}

// numberHeaderColumns maps the header's column names to their positions;
// msg says what is wrong with it.
func numberHeaderColumns(header []string) (map[string]int, string) {
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range numberColumns {
			known = known || c == name
		}
		switch _, seen := col[name]; {
		case !known:
			return nil, fmt.Sprintf("Unknown column %q: the first line must be %s (type, setup_fee and label may be left out).", truncate(h, 40), numberHeader)
		case seen:
			return nil, fmt.Sprintf("The column %s is named twice.", name)
		}
		col[name] = i
	}
	for _, required := range []string{"number", "monthly_fee"} {
		if _, ok := col[required]; !ok {
			return nil, fmt.Sprintf("The first line must name the column %s: %s (type, setup_fee and label may be left out).", required, numberHeader)
		}
	}
	return col, ""
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func csvMessage(err error) string {
	var perr *csv.ParseError
	if errors.As(err, &perr) {
		return "The line is not valid CSV: " + perr.Err.Error() + "."
	}
	return "The line cannot be read."
}

// ImportNumbers adds the numbers of an inventory CSV, all or nothing: if
// any line is wrong, or names a number the inventory has already, nothing
// is saved and the error is NumberErrors with every problem by line. It
// returns how many numbers were added, all available.
func (s *Service) ImportNumbers(r *store.Reseller, data []byte, by actor.Actor) (int, error) {
	rows, errs, fatal := parseNumbers(data, r.ID, r.Seller.Country, r.Currency)
	if fatal {
		return 0, errs.result()
	}
	err := s.store.Update(func(tx *store.Tx) error {
		for _, row := range rows {
			_, err := tx.Number(r.ID, row.Number.Number) // tenant scope: this reseller's inventory
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return err
			default:
				errs.add(row.Line, "number", "Number "+row.Number.Number+" is in your inventory already.")
			}
		}
		if err := errs.result(); err != nil {
			return err // the transaction is rolled back: nothing was written
		}
		for _, row := range rows {
			if err := tx.PutNumber(row.Number, true); err != nil {
				return err
			}
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: "numbers.import",
			Target: fmt.Sprintf("%d numbers", len(rows)), IP: by.IP})
	})
	if err != nil {
		return 0, err
	}
	return len(rows), nil
}
