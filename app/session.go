package app

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// sessionTouches gathers last-seen times in memory; a ticker writes them.
type sessionTouches struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func newSessionTouches() *sessionTouches { return &sessionTouches{seen: map[string]time.Time{}} }

func (s *sessionTouches) record(hash string, at time.Time) {
	s.mu.Lock()
	s.seen[hash] = at
	s.mu.Unlock()
}

func (s *sessionTouches) get(hash string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.seen[hash]
	return at, ok
}

func (s *sessionTouches) drain() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.seen
	s.seen = map[string]time.Time{}
	return out
}

// setCookie writes a host-only, HttpOnly, SameSite=Lax cookie, Secure when
// the request came over TLS. No Domain attribute: a cookie never reaches
// another reseller's host.
func (a *App) setCookie(c *fiber.Ctx, name, value string, maxAge time.Duration) {
	c.Cookie(&fiber.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge.Seconds()),
		HTTPOnly: true,
		Secure:   c.Protocol() == "https",
		SameSite: fiber.CookieSameSiteLaxMode,
	})
}

func (a *App) clearCookie(c *fiber.Ctx, name string) {
	c.Cookie(&fiber.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HTTPOnly: true,
		Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteLaxMode})
}

// sign is an HMAC of the parts under the install secret.
func (a *App) sign(parts ...string) []byte {
	m := hmac.New(sha256.New, a.store.Secret())
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// csrfBinding ties a CSRF token to the signed-in session or, before sign
// in, to a random anonymous cookie (set here when missing). Nothing is
// written to the store.
func (a *App) csrfBinding(c *fiber.Ctx, create bool) string {
	if s := sessionOf(c); s != nil {
		return "s:" + hex.EncodeToString(s.Hash)
	}
	anon := c.Cookies(anonCookie)
	if anon == "" && create {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		anon = base64.RawURLEncoding.EncodeToString(b)
		a.setCookie(c, anonCookie, anon, 0)
		c.Request().Header.SetCookie(anonCookie, anon) // later reads in this request see it
	}
	if anon == "" {
		return ""
	}
	return "a:" + anon
}

// csrfToken is the token for the forms of this page.
func (a *App) csrfToken(c *fiber.Ctx) string {
	binding := a.csrfBinding(c, true)
	return base64.RawURLEncoding.EncodeToString(a.sign("csrf", strconv.FormatUint(tenantOf(c).ID, 10), binding))
}

func (a *App) validCSRF(c *fiber.Ctx, token string) bool {
	binding := a.csrfBinding(c, false)
	got, err := base64.RawURLEncoding.DecodeString(token)
	if binding == "" || err != nil {
		return false
	}
	return hmac.Equal(got, a.sign("csrf", strconv.FormatUint(tenantOf(c).ID, 10), binding))
}

// setFlash carries a message to the next page in a signed cookie.
func (a *App) setFlash(c *fiber.Ctx, kind, message string) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(kind + "\x00" + message))
	sig := base64.RawURLEncoding.EncodeToString(a.sign("flash", payload))
	a.setCookie(c, flashCookie, payload+"."+sig, time.Minute)
}

// takeFlash reads and clears the flash cookie.
func (a *App) takeFlash(c *fiber.Ctx) *Flash {
	raw := c.Cookies(flashCookie)
	if raw == "" || tenantOf(c) == nil {
		return nil
	}
	a.clearCookie(c, flashCookie)
	payload, sig, ok := strings.Cut(raw, ".")
	if !ok {
		return nil
	}
	want := base64.RawURLEncoding.EncodeToString(a.sign("flash", payload))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return nil
	}
	data, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	kind, message, _ := strings.Cut(string(data), "\x00")
	return &Flash{Kind: kind, Message: message}
}

// authLimits count attempts on sign-in and recovery routes in memory
// (the policy is in lockout.go).
type authLimits struct {
	perIP *limiter // failed sign-ins and every other auth POST from one address
	// perAccount counts guesses at one account: its password from one
	// address (passwordGuesses), its second-factor codes, reset requests
	perAccount *limiter
	accounts   *accountLocks // failed sign-ins at one account from every address
}

func newAuthLimits(now func() time.Time) *authLimits {
	return &authLimits{
		perIP:      newLimiter(30, 10*time.Minute, now),
		perAccount: newLimiter(10, 15*time.Minute, now),
		accounts:   newAccountLocks(accountFailureCeiling, accountFailureWindow, accountPause, now),
	}
}

// limiter allows limit events per key in a fixed window.
type limiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	now    func() time.Time
	counts map[string]*windowCount
}

type windowCount struct {
	start time.Time
	n     int
}

func newLimiter(limit int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{limit: limit, window: window, now: now, counts: map[string]*windowCount{}}
}

// allow counts one event for key and reports whether it is within the
// limit, and if not how long until it will be.
func (l *limiter) allow(key string) (bool, time.Duration) {
	return l.check(key, true)
}

// blocked reports, without counting, whether key is over the limit.
func (l *limiter) blocked(key string) (bool, time.Duration) {
	ok, wait := l.check(key, false)
	return !ok, wait
}

func (l *limiter) check(key string, count bool) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.counts[key]
	if w == nil || now.Sub(w.start) >= l.window {
		if !count {
			return true, 0
		}
		if len(l.counts) > 100000 {
			l.sweep(now)
		}
		w = &windowCount{start: now}
		l.counts[strings.Clone(key)] = w // keys may alias Fiber's request buffer
	}
	if w.n >= l.limit {
		return false, w.start.Add(l.window).Sub(now)
	}
	if count {
		w.n++
	}
	return true, 0
}

func (l *limiter) sweep(now time.Time) {
	for k, w := range l.counts {
		if now.Sub(w.start) >= l.window {
			delete(l.counts, k)
		}
	}
}
