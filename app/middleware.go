package app

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/auth"
	"portico/app/fault"
	"portico/store"
)

// Locals keys: only the tenant, the user, the session and the request id
// live in fiber.Ctx.Locals.
type localKey int

const (
	keyTenant localKey = iota
	keyUser
	keySession
	keyRequestID
)

func tenantOf(c *fiber.Ctx) *store.Reseller {
	r, _ := c.Locals(keyTenant).(*store.Reseller)
	return r
}

func userOf(c *fiber.Ctx) *store.User {
	u, _ := c.Locals(keyUser).(*store.User)
	return u
}

func sessionOf(c *fiber.Ctx) *store.Session {
	s, _ := c.Locals(keySession).(*store.Session)
	return s
}

func requestIDOf(c *fiber.Ctx) string {
	id, _ := c.Locals(keyRequestID).(string)
	return id
}

// observe gives each request an id, logs it and counts it in the metrics.
func (a *App) observe(c *fiber.Ctx) error {
	a.settleClientIP(c) // security: before anything reads c.IP()
	start := time.Now()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	c.Locals(keyRequestID, id)
	c.Set("X-Request-Id", id)
	err := c.Next()
	if err != nil {
		if herr := a.fiber.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	closeUnreadBody(c)
	status := c.Response().StatusCode()
	route := strings.Clone(c.Route().Path) // Fiber reuses its buffers; metrics keep the label

	if status == fiber.StatusNotFound && route == "/" && c.Path() != "/" {
		route = "unmatched" // keep label cardinality bounded
	}
	elapsed := time.Since(start)
	if a.metrics != nil {
		a.metrics.ObserveRequest(route, strings.Clone(c.Method()), status, elapsed)
	}
	if !a.log.Enabled(c.Context(), slog.LevelDebug) {
		return nil // building the attributes costs more than the rest of this function
	}
	attrs := []any{"request_id", id, "method", c.Method(), "path", c.Path(), "status", status,
		"duration_ms", float64(elapsed.Microseconds()) / 1000, "ip", c.IP()}
	if t := tenantOf(c); t != nil {
		attrs = append(attrs, "reseller", t.Slug)
	}
	if u := userOf(c); u != nil {
		attrs = append(attrs, "user", u.ID)
	}
	a.log.Debug("request", attrs...)
	return nil
}

// securityHeaders sets the headers every response carries. The CSP allows
// no inline script and no framing.
func (a *App) securityHeaders(c *fiber.Ctx) error {
	c.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
	if c.Protocol() == "https" {
		c.Set("Strict-Transport-Security", "max-age=31536000")
	}
	return c.Next()
}

// hostOf is the request's host name without port, lower-cased.
func hostOf(c *fiber.Ctx) string {
	host := c.Hostname()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// resolveTenant maps the Host to an active reseller. Tenant scope starts
// here: the tenant is never taken from the URL or the form. An unknown or
// disabled host gets a neutral 404 that names no reseller.
func (a *App) resolveTenant(c *fiber.Ctx) error {
	r := a.tenants.Reseller(hostOf(c))
	if r == nil {
		return fiber.ErrNotFound
	}
	c.Locals(keyTenant, r)
	return c.Next()
}

// Session cookie and timing.
const (
	sessionCookie = "portico_session"
	anonCookie    = "portico_anon"
	flashCookie   = "portico_flash"
	// touchEvery is how stale last-seen may get before it is rewritten.
	touchEvery = time.Minute
)

// loadSession finds the signed-in user, if any. A cookie that names a
// session of another reseller (replayed on another host), an expired
// session or a user who may no longer sign in is signed out.
func (a *App) loadSession(c *fiber.Ctx) error {
	token := c.Cookies(sessionCookie)
	if token == "" {
		return c.Next()
	}
	tenant := tenantOf(c)
	hash := auth.HashToken(token)
	var sess *store.Session
	var user *store.User
	err := a.store.View(func(tx *store.Tx) error {
		var err error
		if sess, err = tx.Session(hash); err != nil {
			return err
		}
		if sess.ResellerID != tenant.ID { // tenant scope: a session is valid on its own reseller only
			return store.ErrNotFound
		}
		if user, err = tx.User(sess.ResellerID, sess.UserID); err != nil || user.Staff() {
			return err
		}
		// a disabled client's users are signed out (their sessions were
		// revoked when it was disabled; this also covers a race with it)
		cl, err := tx.Client(user.ResellerID, user.ClientID)
		if err == nil && (cl.Status == store.ClientDisabled || cl.Status == store.ClientClosed) {
			return store.ErrNotFound
		}
		return err
	})
	if fault.Is(err, fault.NotFound) { // signed out, or the session is another reseller's
		a.clearCookie(c, sessionCookie)
		return c.Next()
	}
	if err != nil {
		return err
	}
	now := a.now()
	if last, ok := a.touches.get(string(hash)); ok && last.After(sess.LastSeenAt) {
		sess.LastSeenAt = last
	}
	if !now.Before(sess.Deadline()) || user.Status != store.UserActive {
		a.clearCookie(c, sessionCookie)
		return c.Next()
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		a.touches.record(string(hash), now) // written in the background, never by the request
	}
	c.Locals(keySession, sess)
	c.Locals(keyUser, user)
	return c.Next()
}

// checkCSRF refuses unsafe requests whose token does not match.
func (a *App) checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	token := csrfFromBody(c)
	if token == "" {
		token = c.Get("X-CSRF-Token")
	}
	if !a.validCSRF(c, token) { // security: every form post carries the token
		return fiber.NewError(fiber.StatusForbidden, "The form has expired or did not come from this site. Reload the page and try again.")
	}
	return c.Next()
}

// csrfFromBody is the _csrf field of a urlencoded or multipart form body.
// Never the query string (c.FormValue reads that first): a token in a URL
// leaks through logs, history and Referer, and must not pass.
func csrfFromBody(c *fiber.Ctx) string {
	switch ct := string(c.Request().Header.ContentType()); {
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		return string(c.Request().PostArgs().Peek("_csrf"))
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		if form, err := c.MultipartForm(); err == nil && len(form.Value["_csrf"]) > 0 {
			return form.Value["_csrf"][0]
		}
	}
	return ""
}

// requireUser sends visitors who are not signed in to the sign-in page.
func (a *App) requireUser(c *fiber.Ctx) error {
	if userOf(c) == nil {
		if c.Method() != fiber.MethodGet {
			return fiber.ErrUnauthorized
		}
		return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
	}
	return c.Next()
}

// requireStaff admits reseller staff only (role checks are per route).
func (a *App) requireStaff(c *fiber.Ctx) error {
	if !userOf(c).Staff() {
		return fiber.ErrForbidden
	}
	return c.Next()
}

// requireClient admits client users only.
func (a *App) requireClient(c *fiber.Ctx) error {
	if userOf(c).Staff() {
		return fiber.ErrForbidden
	}
	return c.Next()
}

// requireStaffArea admits staff whose role may use the area.
// (access.StaffMay holds the table).
func (a *App) requireStaffArea(area access.Area) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !access.StaffMay(userOf(c), area) {
			return fiber.ErrForbidden
		}
		return c.Next()
	}
}
