// Package auth owns credentials: argon2id password hashes, the password
// policy with its common-password list, and random tokens that are stored
// only as hashes. It imports no Fiber and nothing of the store's.
package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"portico/app/gate"
)

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1
// lane), which keeps a sign-in near 30 ms on a 2-core machine.
const (
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// argonTime and argonMemory are the cost of a new hash; only test binaries
// change them (UseTestCost).
var (
	argonTime   uint32 = 2
	argonMemory uint32 = 19 * 1024
)

// Hasher is the one bounded hasher: every argon2id computation, hashing
// a new password (client create, team add, invitation accept, password
// change and reset, the CLI) or checking one (sign-in, re-authentication),
// runs in one of its slots. Each holds argonMemory KiB while it runs, so a
// burst from many addresses or API keys (which per-address and per-key
// limits do not cap) would otherwise grow memory without bound. Two slots
// keep two cores busy; a caller waits up to hashWait for one and then gets
// ErrBusy (503 with Retry-After on the web). It is process-wide on
// purpose: memory is.
var Hasher = gate.New(2, hashWait)

// hashWait is how long a caller waits for a hashing slot: on an idle
// 2-core machine, a queue of over a hundred hashes.
const hashWait = 5 * time.Second

// ErrBusy is returned when every hashing slot stayed taken for hashWait;
// nothing was checked or hashed. Callers must not treat it as a wrong
// password.
var ErrBusy = gate.ErrBusy

func argonKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) ([]byte, error) {
	var key []byte
	err := Hasher.Do(int64(memory)<<10, func() {
		key = argon2.IDKey(password, salt, time, memory, threads, keyLen)
	})
	return key, err
}

// ErrMismatch is returned when a password does not match its hash.
var ErrMismatch = errors.New("auth: password does not match")

// HashPassword returns an encoded argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := argonKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword compares a password with an encoded hash in constant time,
// using the parameters recorded in the hash. It returns ErrMismatch for a
// wrong password and ErrBusy when it could not check at all. Every call
// costs one argon2id derivation, whatever the hash: an empty one (an
// invited user who has not chosen a password yet) or a damaged one is
// answered only after the dummy hash has been checked, so that no branch
// of a sign-in answers sooner than another and timing cannot tell the
// accounts apart.
func CheckPassword(encoded, password string) error {
	h, err := parseHash(encoded)
	if err != nil {
		if dummy, derr := parseHash(dummyHash); derr == nil {
			if _, busy := verifyHash(password, dummy); busy != nil {
				return busy // as a known account's check would
			}
		}
		return err
	}
	ok, err := verifyHash(password, h)
	if err != nil {
		return err
	}
	if !ok {
		return ErrMismatch
	}
	return nil
}

// parsedHash is an encoded argon2id hash taken apart.
type parsedHash struct {
	memory, iterations uint32
	threads            uint8
	salt, key          []byte
}

func parseHash(encoded string) (parsedHash, error) {
	var h parsedHash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return h, fmt.Errorf("auth: unsupported hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return h, fmt.Errorf("auth: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.iterations, &h.threads); err != nil {
		return h, fmt.Errorf("auth: bad argon2 parameters")
	}
	b64 := base64.RawStdEncoding
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil {
		return h, fmt.Errorf("auth: bad salt")
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil {
		return h, fmt.Errorf("auth: bad key")
	}
	// A damaged or foreign hash must not panic argon2 (it does for 0 passes
	// or too little memory) nor cost unbounded work.
	if h.iterations < 1 || h.iterations > 16 || h.threads == 0 || h.memory < 8*uint32(h.threads) || h.memory > 256*1024 || len(h.key) < 4 || len(h.key) > 64 {
		return h, fmt.Errorf("auth: argon2 parameters out of range")
	}
	return h, nil
}

// verifyHash derives the key of password under h's parameters, in a slot
// of the hasher, and compares it with h's key in constant time.
func verifyHash(password string, h parsedHash) (bool, error) {
	got, err := argonKey([]byte(password), h.salt, h.iterations, h.memory, h.threads, uint32(len(h.key)))
	if err != nil {
		return false, err
	}
	verifications.Add(1)
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// verifications counts password checks that ran argon2id, for tests that
// hold every branch of a sign-in to the same work.
var verifications atomic.Uint64

// Verifications is how many password checks have run argon2id in this
// process, real or dummy.
func Verifications() uint64 { return verifications.Load() }

// dummyHash is checked against when an account does not exist or has no
// usable hash, so that a wrong email takes as long as a wrong password.
// It is fixed, with the parameters HashPassword uses, so that it never
// needs a hashing slot of its own (of a password nobody knows).
var dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtcmVhbC1zYWx0$0y3yHqK9m2y4oN1sV8o0m1W3d9s2ZbS4w6B7c0E5f1Q"

// UseTestCost makes new hashes and the dummy check cheap (one pass over
// 64 KiB) for a test binary, where hundreds of sign-ins at the real cost
// would take minutes; every branch still costs one derivation, so the
// equal-work rule holds. Call it from TestMain before anything hashes;
// the server never calls it.
func UseTestCost() {
	argonTime, argonMemory = 1, 64
	dummyHash = "$argon2id$v=19$m=64,t=1,p=1$bm90LWEtcmVhbC1zYWx0$0y3yHqK9m2y4oN1sV8o0m1W3d9s2ZbS4w6B7c0E5f1Q"
}

// BurnPasswordCheck spends the time a real password check would. Like
// CheckPassword it returns ErrBusy when no slot was free, so that a caller
// answers an unknown account exactly as it answers a known one.
func BurnPasswordCheck(password string) error {
	if err := CheckPassword(dummyHash, password); errors.Is(err, ErrBusy) {
		return err
	}
	return nil
}

// Policy is a password rule; see store.PasswordPolicy, of which it is a copy
// so that this package does not import the store.
type Policy struct {
	MinLength, MaxLength                                     int
	RequireDigit, RequireUpper, RequireLower, RequireSpecial bool
	RejectCommon                                             bool
}

//go:embed common-passwords.txt
var commonPasswordsText []byte

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 40000)
	sc := bufio.NewScanner(bytes.NewReader(commonPasswordsText))
	for sc.Scan() {
		set[sc.Text()] = struct{}{}
	}
	return set
})

// IsCommon reports whether the password (ignoring case) is on the list of
// commonly used passwords.
func IsCommon(password string) bool {
	_, ok := commonPasswords()[strings.ToLower(password)]
	return ok
}

// Check returns what is wrong with password under the policy, as one
// sentence, or "" when it is acceptable.
func (p Policy) Check(password string) string {
	n := utf8.RuneCountInString(password)
	var missing []string
	var digit, upper, lower, special bool
	for _, r := range password {
		switch {
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r):
			special = true
		}
	}
	if p.RequireDigit && !digit {
		missing = append(missing, "a digit")
	}
	if p.RequireUpper && !upper {
		missing = append(missing, "an upper-case letter")
	}
	if p.RequireLower && !lower {
		missing = append(missing, "a lower-case letter")
	}
	if p.RequireSpecial && !special {
		missing = append(missing, "a special character such as ! or #")
	}
	switch {
	case n < p.MinLength || (p.MaxLength > 0 && n > p.MaxLength):
		return fmt.Sprintf("Use %s characters%s.", p.lengthRange(), withList(missing))
	case len(missing) > 0:
		return fmt.Sprintf("Add %s.", joinList(missing))
	case p.RejectCommon && IsCommon(password):
		return "This password is too common; choose one that others are unlikely to use."
	}
	return ""
}

// Describe says the policy in words, for hints beside password fields.
func (p Policy) Describe() string {
	var needs []string
	if p.RequireDigit {
		needs = append(needs, "a digit")
	}
	if p.RequireUpper {
		needs = append(needs, "an upper-case letter")
	}
	if p.RequireLower {
		needs = append(needs, "a lower-case letter")
	}
	if p.RequireSpecial {
		needs = append(needs, "a special character")
	}
	return fmt.Sprintf("%s characters%s.", p.lengthRange(), withList(needs))
}

func (p Policy) lengthRange() string {
	if p.MaxLength > 0 {
		return fmt.Sprintf("%d–%d", p.MinLength, p.MaxLength)
	}
	return fmt.Sprintf("at least %d", p.MinLength)
}

func withList(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return " with " + joinList(items)
}

func joinList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// GeneratePassword returns a random password that satisfies the default
// policy: 16 characters with every class present.
func GeneratePassword() string {
	const (
		upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		lower   = "abcdefghijkmnopqrstuvwxyz"
		digits  = "23456789"
		special = "!#%+-=?@"
	)
	all := upper + lower + digits + special
	out := []byte{pick(upper), pick(lower), pick(digits), pick(special)}
	for len(out) < 16 {
		out = append(out, pick(all))
	}
	for i := len(out) - 1; i > 0; i-- { // Fisher–Yates with crypto randomness
		j := randInt(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func pick(set string) byte { return set[randInt(len(set))] }

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return int(v.Int64())
}

// NewToken returns a random URL-safe token and the SHA-256 under which it
// is stored. Only the hash is ever saved.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the stored form of a token.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// NewAPIKey returns a key of the form pk_<8 char id>_<43 char secret>, its
// visible prefix (pk_<id>) and the SHA-256 under which it is stored.
func NewAPIKey() (key, prefix string, hash []byte) {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	id := make([]byte, 8)
	for i := range id {
		id[i] = pick(alphabet)
	}
	secret, _ := NewToken()
	prefix = "pk_" + string(id)
	key = prefix + "_" + secret
	return key, prefix, HashToken(key)
}
