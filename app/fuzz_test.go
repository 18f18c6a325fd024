package app

import (
	"strings"
	"testing"
)

// FuzzBearerToken: whatever arrives in Authorization, parsing never
// panics, and what it accepts has the shape of a key.
//
//	go test ./app -run '^$' -fuzz FuzzBearerToken -fuzztime 30s
func FuzzBearerToken(f *testing.F) {
	for _, seed := range []string{"", "Bearer ", "Bearer pk_abcdefgh_" + strings.Repeat("x", 43), "bearer  pk_12345678_" + strings.Repeat("y", 32),
		"Basic abc", "Bearer pk__", "Bearer pk_abcdefgh_short", "Bearer pk_abcdefgh_" + strings.Repeat("z", 200)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, ok := bearerToken(header)
		if !ok {
			return
		}
		id, secret, found := strings.Cut(strings.TrimPrefix(token, "pk_"), "_")
		if !strings.HasPrefix(token, "pk_") || !found || len(id) != 8 || len(secret) < 32 || len(secret) > 128 {
			t.Fatalf("accepted %q as %q", header, token)
		}
	})
}

// FuzzSafeNext: the ?next= of the sign-in page can only ever name a path
// on this site.
func FuzzSafeNext(f *testing.F) {
	for _, seed := range []string{"/reseller", "//evil.example", "/\\evil.example", "https://evil.example", "/ok\r\nSet-Cookie: x", "", "/a?b=c"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "" {
			return
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("safeNext(%q) = %q leaves the site", next, got)
		}
	})
}

// FuzzPendingSignInToken: the cookie of a pending sign-in (and the
// one-time token of a form) is checked for shape before any store
// look-up; whatever arrives, the check never panics and accepts only 43
// base64url characters, the shape auth.NewToken makes.
func FuzzPendingSignInToken(f *testing.F) {
	for _, seed := range []string{"", strings.Repeat("A", 43), strings.Repeat("A", 42) + "=", strings.Repeat("-_", 21) + "x", strings.Repeat("A", 44), "../../etc/passwd", "token with spaces that is long enough to pass"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		if !validToken(token) {
			return
		}
		if len(token) != 43 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("accepted %q", token)
		}
	})
}
