package account

import (
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestParseCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]string{
		"123456":       {CodeTOTP, "123456"},
		" 123 456 ":    {CodeTOTP, "123456"},
		"123-456":      {CodeTOTP, "123456"},
		"abcde-fghjk":  {CodeRecovery, "abcdefghjk"},
		"ABCDE FGHJK":  {CodeRecovery, "abcdefghjk"},
		"abcdefghjk":   {CodeRecovery, "abcdefghjk"},
		"12345":        {"", ""},
		"1234567":      {"", ""},
		"abcde-fghil":  {"", ""}, // i and l are not in the alphabet
		"١٢٣٤٥٦":       {"", ""}, // other digits
		"":             {"", ""},
		"12345６":       {"", ""},
		"abcde-fghjkm": {"", ""},
	} {
		if kind, code := ParseCode(in); kind != want[0] || code != want[1] {
			t.Errorf("ParseCode(%q) = %q %q, want %q %q", in, kind, code, want[0], want[1])
		}
	}
	codes, hashes := newRecoveryCodes()
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("%d codes", len(codes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		kind, code := ParseCode(c)
		if kind != CodeRecovery || string(recoveryHash(code)) != string(hashes[i]) || seen[c] {
			t.Errorf("code %q: %s", c, kind)
		}
		seen[c] = true
	}
}

func TestMatchTOTP(t *testing.T) {
	t.Parallel()
	secret, err := NewTOTPSecret("Acme Voice", "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 2, 10, 0, 10, 0, time.UTC)
	for _, tc := range []struct {
		at   time.Duration // when the code was made, relative to now
		ok   bool
		step int64
	}{{0, true, now.Unix() / 30}, {-30 * time.Second, true, now.Unix()/30 - 1}, {30 * time.Second, true, now.Unix()/30 + 1},
		{-60 * time.Second, false, 0}, {90 * time.Second, false, 0}} {
		code, _ := totp.GenerateCode(secret, now.Add(tc.at))
		step, ok := MatchTOTP(secret, code, now)
		if ok != tc.ok || step != tc.step {
			t.Errorf("code from %v: %v %d, want %v %d", tc.at, ok, step, tc.ok, tc.step)
		}
	}
}

// FuzzParseCode: whatever is typed at the sign-in's code step, reading it
// never panics, and what it accepts is six ASCII digits or ten characters
// of the recovery alphabet.
//
//	go test ./app/account -run '^$' -fuzz FuzzParseCode -fuzztime 30s
func FuzzParseCode(f *testing.F) {
	for _, seed := range []string{"123456", " 123 456 ", "abcde-fghjk", "ABCDE FGHJK", "", "12345", "١٢٣٤٥٦", "abcde-fghil", strings.Repeat("1", 100)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		kind, code := ParseCode(input)
		switch kind {
		case "":
			if code != "" {
				t.Fatalf("refused %q but returned %q", input, code)
			}
		case CodeTOTP:
			if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
				t.Fatalf("accepted %q as TOTP code %q", input, code)
			}
		case CodeRecovery:
			if len(code) != RecoveryCodeLen || strings.Trim(code, RecoveryAlphabet) != "" {
				t.Fatalf("accepted %q as recovery code %q", input, code)
			}
		default:
			t.Fatalf("unknown kind %q", kind)
		}
	})
}
