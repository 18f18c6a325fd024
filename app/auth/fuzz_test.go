package auth

import (
	"strings"
	"testing"
)

// FuzzCheckPassword: a stored hash of any shape (a damaged store, an
// import) never panics the sign-in, and only the exact password matches
// a real hash.
//
//	go test ./app/auth -run '^$' -fuzz FuzzCheckPassword -fuzztime 30s
func FuzzCheckPassword(f *testing.F) {
	real, _ := HashPassword("Sup3r-Secret!x")
	f.Add(real, "Sup3r-Secret!x")
	f.Add("$argon2id$v=19$m=999999999,t=1,p=1$c2FsdA$a2V5", "x")
	f.Add("$argon2id$v=19$m=8,t=1,p=0$$", "")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		err := CheckPassword(encoded, password)
		if encoded == real && (err == nil) != (password == "Sup3r-Secret!x") {
			t.Fatalf("real hash vs %q: %v", password, err)
		}
	})
}

// FuzzHashToken: tokens from cookies and links hash without panics and
// always to 32 bytes.
func FuzzHashToken(f *testing.F) {
	f.Add("")
	f.Add(strings.Repeat("a", 4096))
	f.Fuzz(func(t *testing.T, token string) {
		if len(HashToken(token)) != 32 {
			t.Fatal("hash length")
		}
	})
}
