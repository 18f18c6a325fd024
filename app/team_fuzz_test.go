package app

import (
	"encoding/base64"
	"strings"
	"testing"

	"portico/app/auth"
)

// FuzzInviteToken: whatever arrives as ?token= on the invitation page,
// parsing never panics, and what it accepts is exactly the shape
// auth.NewToken makes (43 characters of unpadded base64url for 32 bytes),
// so the store is only asked about plausible tokens. The committed corpus
// is in testdata/fuzz/FuzzInviteToken.
//
//	go test ./app -run '^$' -fuzz FuzzInviteToken -fuzztime 30s
func FuzzInviteToken(f *testing.F) {
	real, _ := auth.NewToken()
	for _, seed := range []string{real, "", strings.Repeat("A", 43), strings.Repeat("A", 42) + "B", real + "=", real[:42],
		strings.Repeat("/", 43), "%00" + real[3:], real[:20] + " " + real[21:]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		got, ok := parseInviteToken(token)
		if !ok {
			if got != "" {
				t.Fatalf("refused %q but returned %q", token, got)
			}
			return
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(got)
		if got != token || len(got) != inviteTokenLen || err != nil || len(raw) != 32 {
			t.Fatalf("accepted %q as %q", token, got)
		}
		if base64.RawURLEncoding.EncodeToString(raw) != got {
			t.Fatalf("accepted a non-canonical encoding %q", got)
		}
	})
}
