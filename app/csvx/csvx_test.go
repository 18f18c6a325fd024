package csvx

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestDefuse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://evil.test\")": "'=HYPERLINK(\"http://evil.test\")",
		"+cmd|' /C calc'!A0":               "'+cmd|' /C calc'!A0",
		"-2+3":                             "'-2+3",
		"@SUM(A1)":                         "'@SUM(A1)",
		"\t=1":                             "'\t=1",
		"\r=1":                             "'\r=1",
		"＝1+1":                             "'＝1+1",
		"'=1":                              "''=1",
		"'Tis":                             "''Tis",
		"-12.50":                           "-12.50",
		"+14155550100":                     "+14155550100",
		"0.0125":                           "0.0125",
		"-":                                "'-",
		"-1.":                              "'-1.",
		"United Kingdom":                   "United Kingdom",
		"":                                 "",
		"60/60":                            "60/60",
	} {
		if got := Defuse(in); got != want {
			t.Errorf("Defuse(%q) = %q, want %q", in, got, want)
		}
		if back := Restore(Defuse(in)); back != in {
			t.Errorf("Restore(Defuse(%q)) = %q", in, back)
		}
	}
	// text a person typed is not changed on the way in
	for _, typed := range []string{"'Tis", "Rock 'n' roll", "'"} {
		if got := Restore(typed); got != typed {
			t.Errorf("Restore(%q) = %q", typed, got)
		}
	}
}

func TestWriter(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.Write("date", "amount", "note"); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("2026-11-02T10:00:00Z", "-12.50", "=1+1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][1] != "-12.50" || rows[1][2] != "'=1+1" {
		t.Fatalf("%q %v", rows, err)
	}
}

// FuzzDefuse: whatever the cell, the written cell never starts a formula
// unless it is a plain number, and Restore gives the cell back.
//
//	go test ./app/csvx -run '^$' -fuzz FuzzDefuse -fuzztime 30s
func FuzzDefuse(f *testing.F) {
	for _, s := range []string{"=1", "'", "''=", "-1", "-1.5", "+", "＠x", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Defuse(s)
		if needsQuote(out) && out[0] != '\'' && !plainNumber(out) {
			t.Fatalf("Defuse(%q) = %q starts a formula", s, out)
		}
		if back := Restore(out); back != s {
			t.Fatalf("Restore(Defuse(%q)) = %q", s, back)
		}
	})
}
