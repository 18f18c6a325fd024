// Package textfield holds the one rule for what a single-line text field
// may contain — names, company, job title, product name, key and profile
// names, notes, descriptions — so that every form, API body and import
// checks it the same way. Such text ends up in mail subjects and headers,
// audit lines, CSV files and log lines, where a line break or another
// control character could forge a header, a log entry or a spreadsheet
// row. The package imports only the standard library.
package textfield

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SingleLineMessage is the field message for text that breaks the rule.
const SingleLineMessage = "Use plain text on one line: no line breaks, tabs or other control characters."

// SingleLine returns SingleLineMessage when s is not valid UTF-8 or holds
// a control character (C0 including tab, CR and LF; DEL; C1 including
// NEL) or a Unicode line or paragraph separator, and "" when s is fine.
// Check the value as it will be stored (after trimming).
func SingleLine(s string) string {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, breaksLine) {
		return SingleLineMessage
	}
	return ""
}

// breaksLine reports the characters a single line may not hold.
func breaksLine(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}
