package fault

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"portico/store"
)

// TestKindOf: every way an error reaches the error handler has one kind,
// wrapped or not, and an error of no kind is internal.
func TestKindOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want Kind
	}{
		{"plain", errors.New("disk on fire"), Internal},
		{"store not found", fmt.Errorf("store: client 4: %w", store.ErrNotFound), NotFound},
		{"store conflict", fmt.Errorf("store: %w", store.ErrConflict), Conflict},
		{"fields", Fields{{Field: "email", Message: "taken"}}, Invalid},
		{"wrapped fields", fmt.Errorf("clients: %w", InvalidField("email", "taken")), Invalid},
		{"kind", New(Forbidden, "no"), Forbidden},
		{"wrapped kind", fmt.Errorf("x: %w", Limited(time.Minute, "slow down")), RateLimited},
		{"kind wins over its cause", Wrap(Conflict, "taken", store.ErrNotFound), Conflict},
		{"busy", Busy(time.Second, "busy"), Unavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.want {
				t.Fatalf("KindOf(%v) = %v, want %v", tc.err, got, tc.want)
			}
			if !Is(tc.err, tc.want) {
				t.Fatalf("Is(%v, %v) = false", tc.err, tc.want)
			}
		})
	}
	if Is(nil, Internal) {
		t.Fatal("nil is no error of any kind")
	}
}

// TestFields: the one validation error keeps order, maps the first
// problem per field, and is nil when empty.
func TestFields(t *testing.T) {
	t.Parallel()
	var f Fields
	if f.Err() != nil {
		t.Fatal("no problem must be a nil error")
	}
	f.Add("username", "taken")
	f.Add("email", "taken")
	f.Add("email", "second")
	if !f.Has("email") || f.Has("name") {
		t.Fatalf("Has: %v", f)
	}
	if m := f.Map(); m["email"] != "taken" || m["username"] != "taken" || len(m) != 2 {
		t.Fatalf("Map = %v", m)
	}
	got, ok := FieldsOf(fmt.Errorf("wrapped: %w", f.Err()))
	if !ok || len(got) != 3 || got[0].Field != "username" {
		t.Fatalf("FieldsOf = %v, %v", got, ok)
	}
	if _, ok := FieldsOf(New(Conflict, "x")); ok {
		t.Fatal("a conflict has no fields")
	}
	cause := errors.New("cause")
	if e := Wrap(NotFound, "no such client", cause); !errors.Is(e, cause) {
		t.Fatal("Wrap must keep its cause for errors.Is")
	}
}
