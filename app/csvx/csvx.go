// Package csvx is the one CSV writer behind every file Portico exports
// (call log, credit movements, rate deck, activity), so that no export can
// forget to defuse spreadsheet formulas: a cell that a spreadsheet would
// run as a formula (one starting with = + - @, a tab, CR or LF, or their
// full-width forms) is written with a leading apostrophe, which
// spreadsheets show as text. Plain numbers ("-12.50", "+14155550100") are
// not formulas and are written as they are, so amounts stay numbers.
//
// Restore undoes Defuse, so a file that Portico exports can be imported
// again unchanged (the rate deck). The package imports only the standard
// library.
package csvx

import (
	"encoding/csv"
	"io"
	"strings"
	"unicode/utf8"
)

// Writer writes CSV records with every cell defused. It reuses one record
// buffer, so writing allocates nothing per row beyond encoding/csv's own.
type Writer struct {
	cw  *csv.Writer
	rec []string
}

// NewWriter writes to w. Call Flush at the end (and at page boundaries
// when streaming).
func NewWriter(w io.Writer) *Writer { return &Writer{cw: csv.NewWriter(w)} }

// Write writes one record, each cell through Defuse.
func (w *Writer) Write(cells ...string) error {
	w.rec = w.rec[:0]
	for _, c := range cells {
		w.rec = append(w.rec, Defuse(c))
	}
	return w.cw.Write(w.rec)
}

// Flush writes what is buffered and reports any error of the writes so far.
func (w *Writer) Flush() error {
	w.cw.Flush()
	return w.cw.Error()
}

// Defuse returns s as a spreadsheet shows it without running it: a cell
// that would start a formula gets a leading apostrophe. So does a cell
// that already starts with an apostrophe, so that Restore can tell the
// two apart. Plain numbers are left alone.
func Defuse(s string) string {
	if needsQuote(s) && !plainNumber(s) {
		return "'" + s
	}
	return s
}

// Restore undoes Defuse: a cell that starts with an apostrophe followed
// by what Defuse quotes loses that one apostrophe. Other cells, including
// text a person typed with an apostrophe ("'Tis"), are returned as they
// are.
func Restore(s string) string {
	if strings.HasPrefix(s, "'") && needsQuote(s[1:]) && !plainNumber(s[1:]) {
		return s[1:]
	}
	return s
}

// needsQuote reports whether s starts with a character that starts a
// formula in a spreadsheet (or with the apostrophe Defuse adds).
func needsQuote(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	switch r {
	case '=', '+', '-', '@', '\t', '\r', '\n', '\'',
		'＝', '＋', '－', '＠': // full-width forms, which some spreadsheets read as the ASCII ones
		return true
	}
	return false
}

// plainNumber reports whether s is an optionally signed decimal number
// such as -12.50 or +14155550100: a value, not a formula.
func plainNumber(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}
