package app

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/account"
	"portico/app/auth"
	"portico/app/fault"
	"portico/store"
)

// Sign-in lock-out policy (docs/security.md says it in words):
//
//   - per address: 30 failed sign-ins (and other sign-in and recovery
//     posts) in 10 minutes hold that address back for the rest of the
//     window; successful sign-ins do not count, so an office behind one
//     NAT address is never refused for signing in;
//   - per account and address: 10 wrong passwords for one account from
//     one address in 15 minutes hold that address back from that account;
//     the account's owner, elsewhere, signs in as usual;
//   - per account: 100 failed sign-ins from all addresses together in an
//     hour pause the account for an hour for every browser, and its owner
//     is mailed a one-time link that unlocks sign-in in their own browser
//     for the rest of the pause (a signed cookie). No one locks an account
//     against its owner, and a botnet still gets 100 guesses an hour.
//
// The counts live in memory: a restart forgets them.
const (
	accountFailureCeiling = 100
	accountFailureWindow  = time.Hour
	accountPause          = time.Hour
	unlockCookie          = "portico_unlock"
	unlockURL             = account.UnlockPath
)

// signInAccount names an account for the limits: reseller and email as
// typed (an account that does not exist is counted the same way).
func signInAccount(rid uint64, email string) string {
	return strconv.FormatUint(rid, 10) + "/" + store.NormalizeEmail(email)
}

// codeGuesses is the budget of guesses at one account's two-factor codes,
// from every address: only someone with the password (or a session) can
// spend it.
func codeGuesses(rid uint64, email string) string { return signInAccount(rid, email) }

// resetMails is the budget of password-reset mails of one account.
func resetMails(rid uint64, email string) string { return "reset/" + signInAccount(rid, email) }

// passwordGuesses is the budget of guesses at one account's password from
// the request's address: the sign-in form and every form that asks a
// signed-in user for their password draw on it.
func passwordGuesses(c *fiber.Ctx, rid uint64, email string) string {
	return signInAccount(rid, email) + "@" + clientIP(c).String()
}

// accountLocks counts failed sign-ins at each account from every address
// and pauses an account whose failures reach the ceiling.
type accountLocks struct {
	mu       sync.Mutex
	ceiling  int
	window   time.Duration
	pause    time.Duration
	now      func() time.Time
	accounts map[string]*accountFailures
	unlocks  map[string]string // sha256 of a pending unlock token → account
}

type accountFailures struct {
	start       time.Time // of the counting window
	n           int
	pausedUntil time.Time
	unlock      string // sha256 of the mailed token; "" once spent
}

func newAccountLocks(ceiling int, window, pause time.Duration, now func() time.Time) *accountLocks {
	return &accountLocks{ceiling: ceiling, window: window, pause: pause, now: now,
		accounts: map[string]*accountFailures{}, unlocks: map[string]string{}}
}

// paused reports whether account is paused now, and until when.
func (l *accountLocks) paused(account string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.accounts[account]
	if f == nil || !l.now().Before(f.pausedUntil) {
		return time.Time{}, false
	}
	return f.pausedUntil, true
}

// fail counts one failed sign-in at account. When it is the one that
// reaches the ceiling, the account is paused and fail returns the token
// of its unlock link (to be mailed) and the end of the pause.
func (l *accountLocks) fail(account string) (token string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.accounts[account]
	if f == nil || (now.Sub(f.start) >= l.window && !now.Before(f.pausedUntil)) {
		if len(l.accounts) > 100000 {
			l.sweep(now)
		}
		if f != nil && f.unlock != "" {
			delete(l.unlocks, f.unlock)
		}
		f = &accountFailures{start: now}
		l.accounts[strings.Clone(account)] = f // keys may alias Fiber's request buffer
	}
	if now.Before(f.pausedUntil) {
		return "", time.Time{} // paused already; its link is out
	}
	f.n++
	if f.n < l.ceiling {
		return "", time.Time{}
	}
	token, hash := auth.NewToken()
	f.pausedUntil, f.unlock = now.Add(l.pause), string(hash)
	l.unlocks[f.unlock] = strings.Clone(account)
	return token, f.pausedUntil
}

// pending reports the account and pause end of an unlock token that can
// still be used.
func (l *accountLocks) pending(token string) (string, time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lookup(token)
}

// spend uses an unlock token once.
func (l *accountLocks) spend(token string) (string, time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	account, until, ok := l.lookup(token)
	if ok {
		f := l.accounts[account]
		delete(l.unlocks, f.unlock)
		f.unlock = ""
	}
	return account, until, ok
}

func (l *accountLocks) lookup(token string) (string, time.Time, bool) {
	if token == "" {
		return "", time.Time{}, false
	}
	hash := string(auth.HashToken(token))
	account, ok := l.unlocks[hash]
	if !ok {
		return "", time.Time{}, false
	}
	f := l.accounts[account]
	if f == nil || f.unlock != hash || !l.now().Before(f.pausedUntil) {
		return "", time.Time{}, false
	}
	return account, f.pausedUntil, true
}

// sweep forgets windows that are over; if that is not enough, the counts
// of accounts that are not paused (a flood of made-up emails), never a
// pause.
func (l *accountLocks) sweep(now time.Time) {
	for k, f := range l.accounts {
		if now.Sub(f.start) >= l.window && !now.Before(f.pausedUntil) {
			l.forget(k, f)
		}
	}
	if len(l.accounts) > 100000 {
		for k, f := range l.accounts {
			if !now.Before(f.pausedUntil) {
				l.forget(k, f)
			}
		}
	}
}

func (l *accountLocks) forget(k string, f *accountFailures) {
	if f.unlock != "" {
		delete(l.unlocks, f.unlock)
	}
	delete(l.accounts, k)
}

// unlockValue is the cookie that lets one browser sign in to a paused
// account: the account and the end of its pause, signed.
func (a *App) unlockValue(account string, until time.Time) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(account + "\x00" + strconv.FormatInt(until.UnixNano(), 10)))
	return payload + "." + base64.RawURLEncoding.EncodeToString(a.sign("unlock", payload))
}

// unlockedHere reports whether this browser holds the unlock cookie of
// account's current pause (signed by this server: it cannot be made up).
func (a *App) unlockedHere(c *fiber.Ctx, account string, until time.Time) bool {
	raw := c.Cookies(unlockCookie)
	return raw != "" && hmac.Equal([]byte(raw), []byte(a.unlockValue(account, until)))
}

// refusePausedSignIn answers a sign-in at a paused account from a browser
// without its unlock cookie, before any password is checked.
func (a *App) refusePausedSignIn(c *fiber.Ctx, data loginData, until time.Time) error {
	wait := until.Sub(a.now())
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(wait.Seconds())+1))
	data.Form.Error = "Signing in to this account is paused until " + until.UTC().Format("15:04 UTC") +
		" after many failed attempts. If the account exists, we have emailed it a link that lets its owner sign in from their own browser now."
	return a.render(c, fiber.StatusTooManyRequests, "auth/login", "Sign in", data)
}

// signInFailed counts a failed sign-in against the address, the account
// from this address and the account as a whole; when this failure pauses
// the account it returns the token of the unlock link and the end of the
// pause (the account service audits the failure and mails the link).
func (a *App) signInFailed(c *fiber.Ctx, rid uint64, email string) (token string, until time.Time) {
	a.limits.perIP.allow(clientIP(c).String())
	a.limits.perAccount.allow(passwordGuesses(c, rid, email))
	return a.limits.accounts.fail(signInAccount(rid, email))
}

// countGuess counts a refusal for a wrong password or code (the cause of
// err, see app/account) against key's budget of guesses.
func countGuess(err error, l *limiter, key string) {
	if errors.Is(err, account.ErrWrongPassword) || errors.Is(err, account.ErrWrongCode) {
		l.allow(key)
	}
}

// refuse is a rate-limit refusal when key has spent its budget in l;
// nothing is counted.
func (l *limiter) refuse(key string) error {
	if blocked, wait := l.blocked(key); blocked {
		return fault.Limited(wait, "")
	}
	return nil
}

// spend counts one attempt for key in l, or refuses it when the budget is
// spent.
func (l *limiter) spend(key string) error {
	if ok, wait := l.allow(key); !ok {
		return fault.Limited(wait, "")
	}
	return nil
}

// unlockData is the Data of views/auth/unlock.html.
type unlockData struct {
	Valid bool
	Token string
	Until string
}

// showUnlock explains a mailed unlock link; looking does not spend it (mail
// scanners follow links).
func (a *App) showUnlock(c *fiber.Ctx) error {
	token := c.Query("token")
	account, until, ok := a.limits.accounts.pending(token)
	if !ok || !strings.HasPrefix(account, strconv.FormatUint(tenantOf(c).ID, 10)+"/") { // tenant scope
		return a.render(c, fiber.StatusNotFound, "auth/unlock", "Unlock sign-in", unlockData{})
	}
	return a.render(c, fiber.StatusOK, "auth/unlock", "Unlock sign-in",
		unlockData{Valid: true, Token: token, Until: until.UTC().Format("15:04 UTC")})
}

// unlockSignIn spends the link and lets this browser sign in to the paused
// account until the pause ends.
func (a *App) unlockSignIn(c *fiber.Ctx) error {
	if err := a.limits.perIP.refuse(clientIP(c).String()); err != nil {
		return err
	}
	token := c.FormValue("token")
	account, _, ok := a.limits.accounts.pending(token)
	if !ok || !strings.HasPrefix(account, strconv.FormatUint(tenantOf(c).ID, 10)+"/") { // tenant scope: another reseller's link is nothing here
		a.limits.perIP.allow(clientIP(c).String())
		return a.render(c, fiber.StatusNotFound, "auth/unlock", "Unlock sign-in", unlockData{})
	}
	account, until, ok := a.limits.accounts.spend(token)
	if !ok { // spent by a concurrent request
		return a.render(c, fiber.StatusNotFound, "auth/unlock", "Unlock sign-in", unlockData{})
	}
	a.setCookie(c, unlockCookie, a.unlockValue(account, until), until.Sub(a.now()))
	a.setFlash(c, "success", "Signing in is unlocked in this browser until "+until.UTC().Format("15:04 UTC")+". Sign in with your password.")
	return c.Redirect("/login", fiber.StatusSeeOther)
}
