package strictjson

import (
	"testing"
)

type credit struct {
	Amount string `json:"amount"`
	Note   string `json:"note"`
}

type batch struct {
	Records *[]struct {
		CallID    string `json:"call_id"`
		DurationS *int64 `json:"duration_s"`
	} `json:"records"`
}

// TestUnmarshalRefuses: what encoding/json accepted and the contract
// refuses — a duplicated name (last one won), a name in another case
// (matched anyway), an unknown name, trailing data — is refused, and
// Explain says which field is at fault.
func TestUnmarshalRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		dst  any
		kind Kind
		path string
	}{
		{`{"amount":"0.01","Amount":"2.00"}`, &credit{}, Unknown, "Amount"},
		{`{"amount":"0.01","amount":"2.00"}`, &credit{}, Duplicate, "amount"},
		{`{"AMOUNT":"2.00"}`, &credit{}, Unknown, "AMOUNT"},
		{`{"amount":"1","bonus":"2"}`, &credit{}, Unknown, "bonus"},
		{`{"amount":1}`, &credit{}, WrongType, "amount"},
		{`{"amount":"1"} {}`, &credit{}, Malformed, ""},
		{`{"amount":"1"`, &credit{}, Malformed, ""},
		{"{\"note\":\"\xff\"}", &credit{}, Malformed, ""},
		{`{"records":[{"call_id":"a","call_id":"b"}]}`, &batch{}, Duplicate, "records[0].call_id"},
		{`{"records":[{"call_id":"a"},{"Call_ID":"b"}]}`, &batch{}, Unknown, "records[1].Call_ID"},
		{`{"records":[{"duration_s":"61"}]}`, &batch{}, WrongType, "records[0].duration_s"},
		{`{"records":[],"records":null}`, &batch{}, Duplicate, "records"},
	} {
		err := Unmarshal([]byte(tc.body), tc.dst)
		if err == nil {
			t.Errorf("%s: accepted", tc.body)
			continue
		}
		if p := Explain(err); p.Kind != tc.kind || p.Path != tc.path {
			t.Errorf("%s: %+v, want kind %d at %q (%v)", tc.body, p, tc.kind, tc.path, err)
		}
	}
}

// TestUnmarshalAccepts: an exact body decodes as encoding/json would.
func TestUnmarshalAccepts(t *testing.T) {
	t.Parallel()
	var c credit
	if err := Unmarshal([]byte(` {"amount":"12.50", "note":"top-up \u00e9"} `), &c); err != nil || c != (credit{"12.50", "top-up é"}) {
		t.Fatalf("%+v, %v", c, err)
	}
	var b batch
	if err := Unmarshal([]byte(`{"records":[{"call_id":"a","duration_s":61},{"duration_s":null}]}`), &b); err != nil ||
		len(*b.Records) != 2 || *(*b.Records)[0].DurationS != 61 || (*b.Records)[1].DurationS != nil {
		t.Fatalf("%+v, %v", b, err)
	}
}
