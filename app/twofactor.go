package app

// Two-factor sign-in with TOTP (RFC 6238 through pquerna/otp): the codes,
// the recovery codes, and the second step of signing in. After a correct
// password, a user with TOTP (or any user of a reseller that requires it)
// gets no session but a short-lived pending sign-in: a random token in a
// cookie, stored as its SHA-256, that opens only the code page (or the
// enrolment page) and expires in loginChallengeLifetime.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"portico/app/auth"
	"portico/store"
)

const (
	// challengeCookie carries the pending sign-in's token between the
	// password step and the code step.
	challengeCookie = "portico_2fa"
	// loginChallengeLifetime is how long the code step waits.
	loginChallengeLifetime = 10 * time.Minute
	// totpPeriod is the TOTP time step; totpSkew the steps either side of
	// now that are accepted, for clocks that drift.
	totpPeriod = 30
	totpSkew   = 1
	// recoveryCodeCount codes are issued at enrolment, each usable once.
	recoveryCodeCount = 10
	// recoveryAlphabet has no look-alike characters (0/o, 1/l/i).
	recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	recoveryCodeLen  = 10
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: totpSkew, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// secondFactorRoutes lists the sign-in's second step (public: the pending
// sign-in's cookie is the credential).
func (a *App) secondFactorRoutes(f *fiber.App) {
	f.Get("/login/code", a.showLoginCode)
	f.Post("/login/code", a.loginWithCode)
	f.Get("/login/enrol", a.showLoginEnrol)
	f.Post("/login/enrol", a.loginEnrol)
}

// Codes.

// newTOTPSecret is a fresh random TOTP secret (160 bits, base32).
func newTOTPSecret(issuer, account string) (string, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
	if err != nil {
		return "", err
	}
	return key.Secret(), nil
}

// totpKey is the otpauth:// key an authenticator app scans: the secret
// labelled with the reseller's brand and the user's email.
func totpKey(issuer, account, secret string) (*otp.Key, error) {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", strconv.Itoa(totpPeriod))
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	return otp.NewKeyFromURL(u.String())
}

// totpQR renders the key as a PNG QR code in a data: URL (the CSP allows
// data: images; nothing is fetched or stored).
func totpQR(key *otp.Key) (template.URL, error) {
	img, err := key.Image(200, 200)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	// template.URL: html/template would otherwise blank a data: URL; this
	// one is our own PNG, base64-encoded, with nothing from the request.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// groupSecret spaces the base32 secret in fours for typing by hand.
func groupSecret(secret string) string {
	var b strings.Builder
	for i, r := range secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// matchTOTP finds the time step whose code is code, within totpSkew steps
// of now; the step is what replay protection remembers.
func matchTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	for d := -totpSkew; d <= totpSkew; d++ {
		at := now.Add(time.Duration(d*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, at, totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 { // constant time: no hint of a near miss
			return at.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

// Kinds of code a person may type at the second step.
const (
	codeTOTP     = "totp"
	codeRecovery = "recovery"
)

// parseCode reads what was typed: six digits (spaces allowed) are a TOTP
// code, ten characters of the recovery alphabet (a hyphen and spaces
// allowed, any case) a recovery code. Anything else is "".
func parseCode(input string) (kind, code string) {
	if len(input) > 64 {
		return "", ""
	}
	cleaned := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, input)
	switch {
	case len(cleaned) == 6 && strings.Trim(cleaned, "0123456789") == "":
		return codeTOTP, cleaned
	case len(cleaned) == recoveryCodeLen && strings.Trim(cleaned, recoveryAlphabet) == "":
		return codeRecovery, cleaned
	}
	return "", ""
}

// newRecoveryCodes returns recoveryCodeCount fresh codes as shown
// ("abcde-fghjk") and the SHA-256 of each, which is all that is stored.
func newRecoveryCodes() (codes []string, hashes [][]byte) {
	for range recoveryCodeCount {
		b := make([]byte, recoveryCodeLen)
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		for i := range b {
			b[i] = recoveryAlphabet[int(b[i])%len(recoveryAlphabet)] // 256 % 31 bias is negligible for 50-bit codes
		}
		codes = append(codes, string(b[:5])+"-"+string(b[5:]))
		hashes = append(hashes, recoveryHash(string(b)))
	}
	return codes, hashes
}

func recoveryHash(code string) []byte {
	sum := sha256.Sum256([]byte(code))
	return sum[:]
}

// codeError is a refused code, written for the person who typed it.
type codeError string

func (e codeError) Error() string { return string(e) }

// Errors of spendCode.
const (
	errWrongCode    = codeError("The code is incorrect. Type the 6-digit code your app shows now, or one of your recovery codes.")
	errReplayedCode = codeError("This code was used already. Wait for your app to show the next one, then type it.")
)

// spendCode checks a TOTP or recovery code of user u and spends it: a
// TOTP code's time step can never be used again, a recovery code is
// deleted. It returns whether a recovery code was used and how many are
// left; a wrong code is errWrongCode, a replayed one errReplayedCode.
func (a *App) spendCode(tx *store.Tx, u *store.User, typed string) (recovery bool, left int, err error) {
	kind, code := parseCode(typed)
	switch kind {
	case codeTOTP:
		step, ok := matchTOTP(u.TwoFactor.Secret, code, tx.Now())
		if !ok {
			return false, 0, errWrongCode
		}
		err := tx.UseTOTPStep(u.ResellerID, u.ID, step)
		if errors.Is(err, store.ErrReplayed) {
			return false, 0, errReplayedCode
		}
		return false, len(u.TwoFactor.RecoveryCodes), err
	case codeRecovery:
		left, err := tx.UseRecoveryCode(u.ResellerID, u.ID, recoveryHash(code))
		if errors.Is(err, store.ErrNotFound) {
			return false, 0, errWrongCode
		}
		return true, left, err
	}
	return false, 0, errWrongCode
}

// Sign-in.

// validToken reports whether s has the shape of a token from
// auth.NewToken (43 base64url characters), before any store lookup.
func validToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// secondFactorStep is called by login once the password is right: for a
// user with TOTP, or of a reseller that requires it, it starts a pending
// sign-in and sends the browser to the code (or enrolment) step, and
// reports done. Otherwise it does nothing and login starts the session.
func (a *App) secondFactorStep(c *fiber.Ctx, tenant *store.Reseller, user *store.User, next string) (done bool, err error) {
	if !user.TwoFactorOn() && !tenant.Require2FA {
		return false, nil
	}
	token, hash := auth.NewToken()
	ch := &store.LoginChallenge{Hash: hash, ResellerID: tenant.ID, UserID: user.ID, Next: next, Enrol: !user.TwoFactorOn()}
	if ch.Enrol {
		if ch.Secret, err = newTOTPSecret(a.brandOf(tenant).Name, user.Email); err != nil {
			return true, err
		}
	}
	err = a.store.Update(func(tx *store.Tx) error {
		ch.ExpiresAt = tx.Now().Add(loginChallengeLifetime)
		return tx.CreateLoginChallenge(ch)
	})
	if err != nil {
		return true, err
	}
	a.setCookie(c, challengeCookie, token, loginChallengeLifetime)
	if ch.Enrol {
		return true, c.Redirect("/login/enrol", fiber.StatusSeeOther)
	}
	return true, c.Redirect("/login/code", fiber.StatusSeeOther)
}

// pendingSignIn loads the pending sign-in named by the cookie and its
// user; nil when there is none (expired, used, another reseller's, or a
// user who may no longer sign in).
func (a *App) pendingSignIn(c *fiber.Ctx) (*store.LoginChallenge, *store.User, error) {
	token := c.Cookies(challengeCookie)
	if !validToken(token) {
		return nil, nil, nil
	}
	tenant := tenantOf(c)
	var ch *store.LoginChallenge
	var user *store.User
	err := a.store.View(func(tx *store.Tx) (err error) {
		if ch, err = tx.LoginChallenge(tenant.ID, auth.HashToken(token)); err != nil { // tenant scope: this reseller's sign-ins only
			return err
		}
		user, err = tx.User(tenant.ID, ch.UserID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if user.Status != store.UserActive {
		return nil, nil, nil
	}
	if blocked, err := a.clientBlocked(user); err != nil || blocked {
		return nil, nil, err
	}
	return ch, user, nil
}

// restartSignIn sends a browser whose pending sign-in is gone back to the
// password step.
func (a *App) restartSignIn(c *fiber.Ctx) error {
	a.clearCookie(c, challengeCookie)
	a.setFlash(c, "info", "Your sign-in took too long or was already completed. Sign in again.")
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// loginCodeData is the Data of views/auth/code.html.
type loginCodeData struct {
	Form  *Form
	Email string
}

// showLoginCode asks for the code of a pending sign-in.
func (a *App) showLoginCode(c *fiber.Ctx) error {
	ch, user, err := a.pendingSignIn(c)
	if err != nil {
		return err
	}
	if ch == nil {
		return a.restartSignIn(c)
	}
	if ch.Enrol {
		return c.Redirect("/login/enrol", fiber.StatusSeeOther)
	}
	return a.render(c, fiber.StatusOK, "auth/code", "Two-factor sign-in", loginCodeData{Form: newForm(), Email: user.Email})
}

// loginWithCode checks the code, limited per IP and per account like the
// password (one budget of guesses for both), and on success starts the
// session. A TOTP code is not accepted twice; a recovery code is spent.
func (a *App) loginWithCode(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	if blocked, wait := a.limits.perIP.blocked(clientIP(c).String()); blocked { // failures count, successes do not
		return &errRateLimited{wait: wait}
	}
	ch, user, err := a.pendingSignIn(c)
	if err != nil {
		return err
	}
	if ch == nil || ch.Enrol {
		return a.restartSignIn(c)
	}
	accountKey := signInAccount(tenant.ID, user.Email) // codes: one budget per account (only a password holder gets here)
	if blocked, wait := a.limits.perAccount.blocked(accountKey); blocked {
		return &errRateLimited{wait: wait}
	}
	data := loginCodeData{Form: newForm(), Email: user.Email}
	var token string
	var recovery bool
	var left int
	err = a.store.Update(func(tx *store.Tx) error {
		u, err := tx.User(tenant.ID, user.ID)
		if err != nil {
			return err
		}
		if !u.TwoFactorOn() { // turned off since the password step: the password alone was enough
			left = -1
		} else if recovery, left, err = a.spendCode(tx, u, c.FormValue("code")); err != nil {
			return err
		}
		if err := tx.DeleteLoginChallenge(ch.Hash); err != nil {
			return err
		}
		how := "with an authenticator code"
		if recovery {
			how = "with a recovery code, " + plural(left, "code") + " left"
		}
		token, err = a.openSession(tx, c, u, how)
		return err
	})
	if errors.Is(err, errWrongCode) || errors.Is(err, errReplayedCode) {
		a.limits.perIP.allow(clientIP(c).String())
		a.limits.perAccount.allow(accountKey)
		a.audit(c, user.ClientID, user.Email, "login.code_failed", "")
		data.Form.Errors["code"] = err.Error()
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/code", "Two-factor sign-in", data)
	}
	if err != nil {
		return err
	}
	if recovery {
		msg := "You signed in with a recovery code; it cannot be used again. " + plural(left, "recovery code") + " left."
		if left <= 3 {
			msg += " Turn two-factor sign-in off and on again in your security settings to get new ones."
		}
		a.setFlash(c, "info", msg)
	}
	return a.finishSignIn(c, token, user, ch.Next)
}

// loginEnrolData is the Data of views/auth/enrol.html and of the recovery
// codes shown after it.
type loginEnrolData struct {
	Form   *Form
	Email  string
	QR     template.URL
	Secret string
	// Codes are the fresh recovery codes, shown once after enrolment, and
	// Next where the person goes on from there.
	Codes []string
	Next  string
}

// showLoginEnrol shows the QR code and secret of a pending sign-in that
// must set up TOTP first (the reseller requires it).
func (a *App) showLoginEnrol(c *fiber.Ctx) error {
	ch, user, err := a.pendingSignIn(c)
	if err != nil {
		return err
	}
	if ch == nil || !ch.Enrol {
		return a.restartSignIn(c)
	}
	data, err := a.loginEnrolData(c, ch, user)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "auth/enrol", "Set up two-factor sign-in", data)
}

func (a *App) loginEnrolData(c *fiber.Ctx, ch *store.LoginChallenge, user *store.User) (loginEnrolData, error) {
	key, err := totpKey(a.brandOf(tenantOf(c)).Name, user.Email, ch.Secret)
	if err != nil {
		return loginEnrolData{}, err
	}
	qr, err := totpQR(key)
	return loginEnrolData{Form: newForm(), Email: user.Email, QR: qr, Secret: groupSecret(ch.Secret)}, err
}

// loginEnrol confirms the enrolment with a code from the app, turns TOTP
// on, starts the session and shows the recovery codes once.
func (a *App) loginEnrol(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	if blocked, wait := a.limits.perIP.blocked(clientIP(c).String()); blocked { // failures count, successes do not
		return &errRateLimited{wait: wait}
	}
	ch, user, err := a.pendingSignIn(c)
	if err != nil {
		return err
	}
	if ch == nil || !ch.Enrol {
		return a.restartSignIn(c)
	}
	accountKey := strconv.FormatUint(tenant.ID, 10) + "/" + store.NormalizeEmail(user.Email)
	if blocked, wait := a.limits.perAccount.blocked(accountKey); blocked {
		return &errRateLimited{wait: wait}
	}
	data, err := a.loginEnrolData(c, ch, user)
	if err != nil {
		return err
	}
	kind, code := parseCode(c.FormValue("code"))
	step, ok := matchTOTP(ch.Secret, code, a.now())
	if kind != codeTOTP || !ok {
		a.limits.perIP.allow(clientIP(c).String())
		a.limits.perAccount.allow(accountKey)
		data.Form.Errors["code"] = "The code is incorrect. Type the 6-digit code your app shows for this account now."
		return a.render(c, fiber.StatusUnprocessableEntity, "auth/enrol", "Set up two-factor sign-in", data)
	}
	codes, hashes := newRecoveryCodes()
	var token string
	err = a.store.Update(func(tx *store.Tx) error {
		u, err := tx.EnableTOTP(tenant.ID, user.ID, ch.Secret, step, hashes)
		if err != nil {
			return err
		}
		if err := tx.DeleteLoginChallenge(ch.Hash); err != nil {
			return err
		}
		if err := tx.AddAudit(&store.AuditEvent{ResellerID: tenant.ID, ClientID: u.ClientID, Actor: u.Email, Action: "2fa.enable",
			Target: "at sign-in, required by the provider", IP: c.IP()}); err != nil {
			return err
		}
		token, err = a.openSession(tx, c, u, "after setting up two-factor sign-in")
		return err
	})
	if errors.Is(err, store.ErrConflict) { // enrolled meanwhile in another browser
		return a.restartSignIn(c)
	}
	if err != nil {
		return err
	}
	a.setCookie(c, sessionCookie, token, a.cfg.Session.MaxAge.Duration)
	a.clearCookie(c, anonCookie)
	a.clearCookie(c, challengeCookie)
	next, err := a.landingFor(user, ch.Next)
	if err != nil {
		return err
	}
	// The codes are rendered into this reply only: never a cookie or a URL.
	return a.render(c, fiber.StatusOK, "auth/recovery-codes", "Your recovery codes", loginEnrolData{Email: user.Email, Codes: codes, Next: next})
}

// openSession creates a session for u in tx, notes the sign-in and audits
// it, and returns the cookie's token (set by finishSignIn once tx commits).
func (a *App) openSession(tx *store.Tx, c *fiber.Ctx, u *store.User, how string) (string, error) {
	token, hash := auth.NewToken()
	if err := tx.CreateSession(&store.Session{
		Hash: hash, ResellerID: u.ResellerID, UserID: u.ID,
		ExpiresAt:   tx.Now().Add(a.cfg.Session.MaxAge.Duration),
		IdleTimeout: a.cfg.Session.IdleTimeout.Duration,
		IP:          c.IP(), UserAgent: truncate(c.Get(fiber.HeaderUserAgent), 200),
	}); err != nil {
		return "", err
	}
	if err := tx.RecordLogin(u.ResellerID, u.ID); err != nil {
		return "", err
	}
	return token, tx.AddAudit(&store.AuditEvent{ResellerID: u.ResellerID, ClientID: u.ClientID, Actor: u.Email, Action: "login", Target: how, IP: c.IP()})
}

// finishSignIn sets the session cookie, drops the pending sign-in's and
// sends the user on.
func (a *App) finishSignIn(c *fiber.Ctx, token string, u *store.User, next string) error {
	a.setCookie(c, sessionCookie, token, a.cfg.Session.MaxAge.Duration)
	a.clearCookie(c, anonCookie)
	a.clearCookie(c, challengeCookie)
	next, err := a.landingFor(u, next)
	if err != nil {
		return err
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}
