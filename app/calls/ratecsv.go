package calls

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"portico/app/csvx"
	"portico/app/textfield"
	"portico/store"
	"portico/store/money"
)

// Limits of a rate deck import.
const (
	// MaxRateFile is the largest CSV accepted (bytes).
	MaxRateFile = 16 << 20
	// MaxRates is the most lines a deck may have.
	MaxRates = 250_000
	// MaxRateErrors is how many line errors are reported; the count of
	// the others is in the last one.
	MaxRateErrors = 1000
	// maxDescription is the longest description (characters).
	maxDescription = 200
)

// RateError is one problem of an import, by line (1 is the header).
type RateError struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// RateErrors is every problem of an import; the import saved nothing.
type RateErrors []RateError

func (e RateErrors) Error() string {
	return fmt.Sprintf("calls: rate deck has %d problem(s), first: line %d %s: %s", len(e), e[0].Line, e[0].Field, e[0].Message)
}

// rateColumns are the CSV's columns; premium is optional.
var rateColumns = []string{"prefix", "description", "rate_per_minute", "increment", "premium"}

// ParseRates reads a rate deck CSV: a header row
// prefix,description,rate_per_minute,increment[,premium] and one rate a
// line. Every line is checked and every problem reported with its line
// number (RateErrors); the rates come back sorted by prefix only when
// there is none. Duplicate prefixes are errors.
func ParseRates(data []byte) ([]store.Rate, error) {
	if len(data) > MaxRateFile {
		return nil, RateErrors{{Line: 0, Field: "file", Message: fmt.Sprintf("The file is larger than %d MiB.", MaxRateFile>>20)}}
	}
	if !utf8.Valid(data) {
		return nil, RateErrors{{Line: 0, Field: "file", Message: "The file is not UTF-8 text."}}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // spreadsheets write a byte-order mark
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	var errs RateErrors
	extra := 0
	add := func(line int, field, msg string) {
		if len(errs) < MaxRateErrors {
			errs = append(errs, RateError{Line: line, Field: field, Message: msg})
		} else {
			extra++
		}
	}
	header, err := r.Read()
	if err == io.EOF {
		return nil, RateErrors{{Line: 1, Field: "header", Message: "The file is empty; the first line must be prefix,description,rate_per_minute,increment."}}
	}
	if err != nil {
		return nil, RateErrors{{Line: 1, Field: "header", Message: csvMessage(err)}}
	}
	columns := len(header)
	if columns < 4 || columns > 5 || !sameColumns(header) {
		return nil, RateErrors{{Line: 1, Field: "header", Message: "The first line must be prefix,description,rate_per_minute,increment (optionally ,premium)."}}
	}
	var rates []store.Rate
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
			add(line, "line", csvMessage(err))
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
			add(line, "line", fmt.Sprintf("Expected %d fields, found %d.", columns, len(rec)))
			continue
		}
		if len(rates) == MaxRates {
			add(line, "line", fmt.Sprintf("A deck may have at most %d rates.", MaxRates))
			break
		}
		rate, lineErrs := parseRate(rec)
		for _, e := range lineErrs {
			add(line, e.Field, e.Message)
		}
		if len(lineErrs) > 0 {
			continue
		}
		if first, dup := firstLine[rate.Prefix]; dup {
			add(line, "prefix", fmt.Sprintf("Prefix %s is already on line %d.", rate.Prefix, first))
			continue
		}
		firstLine[rate.Prefix] = line
		rates = append(rates, rate)
	}
	if extra > 0 {
		errs = append(errs, RateError{Line: 0, Field: "file", Message: fmt.Sprintf("%d more problem(s) not listed.", extra)})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(rates) == 0 {
		return nil, RateErrors{{Line: 2, Field: "file", Message: "The file has no rates after the header."}}
	}
	sort.Slice(rates, func(i, j int) bool { return rates[i].Prefix < rates[j].Prefix })
	return rates, nil
}

func sameColumns(header []string) bool {
	for i, h := range header {
		if !strings.EqualFold(strings.TrimSpace(h), rateColumns[i]) {
			return false
		}
	}
	return true
}

func csvMessage(err error) string {
	var perr *csv.ParseError
	if errors.As(err, &perr) {
		return "The line is not valid CSV: " + perr.Err.Error() + "."
	}
	return "The line cannot be read."
}

type fieldProblem struct{ Field, Message string }

// parseRate checks one line.
func parseRate(rec []string) (store.Rate, []fieldProblem) {
	var r store.Rate
	var errs []fieldProblem
	// Text cells may come back defused from an export ("'=x", "'+44"):
	// csvx.Restore gives the cell as it was.
	prefix := strings.TrimPrefix(csvx.Restore(strings.TrimSpace(rec[0])), "+")
	if prefix == "" || len(prefix) > MaxPrefixLength || strings.Trim(prefix, "0123456789") != "" || prefix[0] == '0' {
		errs = append(errs, fieldProblem{"prefix", "Use 1 to 15 digits of an international number without the leading 0 (e.g. 44 or 1415)."})
	}
	r.Prefix = prefix
	r.Description = csvx.Restore(strings.TrimSpace(rec[1]))
	if msg := textfield.SingleLine(r.Description); msg != "" {
		errs = append(errs, fieldProblem{"description", msg})
	} else if utf8.RuneCountInString(r.Description) > maxDescription {
		errs = append(errs, fieldProblem{"description", fmt.Sprintf("Use at most %d characters.", maxDescription)})
	}
	rate, err := money.Parse(rec[2])
	switch {
	case err != nil:
		errs = append(errs, fieldProblem{"rate_per_minute", "Use a decimal amount such as 0.0125 (at most 4 decimals, no currency sign)."})
	case rate > MaxRatePerMinute:
		errs = append(errs, fieldProblem{"rate_per_minute", "The rate is implausibly high."})
	}
	r.RatePerMinute = rate
	first, next, ok := parseIncrement(rec[3])
	if !ok {
		errs = append(errs, fieldProblem{"increment", fmt.Sprintf("Use first/next seconds such as 60/60, 1/1 or 30/6 (each 1 to %d).", MaxIncrement)})
	}
	r.First, r.Next = first, next
	if len(rec) == 5 {
		premium, ok := parseBool(rec[4])
		if !ok {
			errs = append(errs, fieldProblem{"premium", "Use true or false (yes/no, 1/0, or leave it empty for false)."})
		}
		r.Premium = premium
	}
	return r, errs
}

// parseIncrement reads "first/next" seconds such as "60/60".
func parseIncrement(s string) (first, next int, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(s), "/")
	if !found {
		return 0, 0, false
	}
	first, err1 := strconv.Atoi(strings.TrimSpace(a))
	next, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || first < 1 || next < 1 || first > MaxIncrement || next > MaxIncrement {
		return 0, 0, false
	}
	return first, next, true
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "no", "0", "n":
		return false, true
	case "true", "yes", "1", "y":
		return true, true
	}
	return false, false
}

// WriteRatesCSV writes rates in the import format (with the premium
// column) through the export writer (app/csvx), so a description that a
// spreadsheet would run as a formula is defused, and an export imports
// back unchanged (ParseRates restores what csvx defused).
func WriteRatesCSV(w io.Writer, rates []store.Rate) error {
	cw := csvx.NewWriter(w)
	if err := cw.Write(rateColumns...); err != nil {
		return err
	}
	for i := range rates {
		r := &rates[i]
		err := cw.Write(r.Prefix, r.Description, money.Decimal(r.RatePerMinute, "XXX"),
			strconv.Itoa(r.First)+"/"+strconv.Itoa(r.Next), strconv.FormatBool(r.Premium))
		if err != nil {
			return err
		}
	}
	return cw.Flush()
}
