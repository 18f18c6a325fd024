package auth

import (
	"errors"
	"strings"
	"testing"
)

var defaultPolicy = Policy{MinLength: 8, MaxLength: 20, RequireDigit: true, RequireUpper: true, RequireLower: true, RequireSpecial: true, RejectCommon: true}

func TestHashAndCheck(t *testing.T) {
	t.Parallel()
	hash, err := HashPassword("Correct-h0rse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash format %q", hash)
	}
	if err := CheckPassword(hash, "Correct-h0rse"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := CheckPassword(hash, "correct-h0rse"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	other, _ := HashPassword("Correct-h0rse")
	if other == hash {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	if err := CheckPassword("$2a$10$bcrypt", "x"); err == nil || errors.Is(err, ErrMismatch) {
		t.Fatalf("foreign format: %v", err)
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"Sup3r-Secret!x":          "",
		"Ab1!":                    "Use 8–20 characters",
		"Abcdefgh1!Abcdefgh1!xyz": "Use 8–20 characters",
		"abcdefg1!":               "Add an upper-case letter.",
		"ABCDEFG1!":               "Add a lower-case letter.",
		"Abcdefgh!":               "Add a digit.",
		"Abcdefgh1":               "Add a special character such as ! or #.",
		"abcdefgh":                "Add a digit, an upper-case letter and a special character such as ! or #.",
		"P@ssw0rd":                "too common",
		"Zoë-Ünïcode9":            "",
	}
	for pw, want := range cases {
		got := defaultPolicy.Check(pw)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("Check(%q) = %q, want %q", pw, got, want)
		}
	}
	if d := defaultPolicy.Describe(); d != "8–20 characters with a digit, an upper-case letter, a lower-case letter and a special character." {
		t.Errorf("Describe = %q", d)
	}
}

func TestGeneratedPasswordsPass(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		pw := GeneratePassword()
		if p := defaultPolicy.Check(pw); p != "" {
			t.Fatalf("generated %q fails the policy: %s", pw, p)
		}
		if seen[pw] {
			t.Fatalf("repeated password %q", pw)
		}
		seen[pw] = true
	}
}

func TestTokensAndKeys(t *testing.T) {
	t.Parallel()
	token, hash := NewToken()
	if len(token) < 43 || string(HashToken(token)) != string(hash) {
		t.Fatalf("token %q", token)
	}
	key, prefix, keyHash := NewAPIKey()
	if !strings.HasPrefix(key, prefix+"_") || len(prefix) != 11 || len(key) < 11+1+32 || string(HashToken(key)) != string(keyHash) {
		t.Fatalf("key %q prefix %q", key, prefix)
	}
}
