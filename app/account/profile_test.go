package account

import (
	"strings"
	"testing"
)

func TestValidateProfile(t *testing.T) {
	t.Parallel()
	ok := Profile{FirstName: "Cleo", LastName: "Client"}
	for _, tc := range []struct {
		name   string
		in     Profile
		region string
		errs   []string // fields in error
		phone  string   // the phone as stored
	}{
		{"names only", ok, "US", nil, ""},
		{"trimmed", Profile{FirstName: "  Cleo ", LastName: " Client", Company: " Cleo Calls "}, "US", nil, ""},
		{"national number in the client's country", Profile{FirstName: "A", LastName: "B", Phone: "(415) 555-0100"}, "US", nil, "+14155550100"},
		{"international number", Profile{FirstName: "A", LastName: "B", Phone: "+44 20 7946 0958"}, "US", nil, "+442079460958"},
		{"international number without a country", Profile{FirstName: "A", LastName: "B", Phone: "+33 1 42 68 53 00"}, "", nil, "+33142685300"},
		{"national number without a country", Profile{FirstName: "A", LastName: "B", Phone: "415 555 0100"}, "", []string{"phone"}, ""},
		{"not a number", Profile{FirstName: "A", LastName: "B", Phone: "call me"}, "US", []string{"phone"}, ""},
		{"names missing", Profile{FirstName: " ", Company: "X"}, "US", []string{"first_name", "last_name"}, ""},
		{"too long", Profile{FirstName: strings.Repeat("é", 101), LastName: "B", Address: strings.Repeat("x", 301), JobTitle: strings.Repeat("y", 101)}, "US",
			[]string{"first_name", "address", "job_title"}, ""},
		{"control characters", Profile{FirstName: "A", LastName: "B\nC", Company: "X\x00"}, "US", []string{"last_name", "company"}, ""},
		{"invalid UTF-8", Profile{FirstName: "A\xff", LastName: "B"}, "US", []string{"first_name"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := ValidateProfile(tc.in, tc.region)
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors %v, want fields %v", errs, tc.errs)
			}
			for _, f := range tc.errs {
				if !errs.Has(f) {
					t.Errorf("no error for %s: %v", f, errs)
				}
			}
			if len(tc.errs) == 0 && (got.FirstName != strings.TrimSpace(tc.in.FirstName) || got.Phone != tc.phone) {
				t.Errorf("cleaned %+v, want phone %q", got, tc.phone)
			}
		})
	}
}
