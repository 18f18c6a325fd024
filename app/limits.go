package app

// Request size and connection limits. Request bodies are streamed
// (fasthttp's StreamRequestBody): the server reads a request's headers and
// at most its first few KiB before any handler runs, and readBody reads
// the rest here, held to the route's limit while reading. So the 1 MiB
// default holds before a body is buffered, on every host, known or not;
// the few routes that take more (image uploads, rate decks) read their
// body only once the sender is signed in (or holds an API key) and may use
// the route. docs/limits.md states every figure.

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"portico/app/access"
)

// Connection and read limits of the server (fiber.Config in New).
const (
	// MaxConnections caps open client connections; one more is answered
	// 503 and closed by the server. With readTimeout it bounds what
	// unauthenticated senders can hold: each connection at most BodyLimit
	// of body plus its buffers.
	MaxConnections = 512
	// readTimeout is the time a request's headers and a body of up to
	// BodyLimit have to arrive in, counted from its first byte.
	readTimeout = 20 * time.Second
	// uploadReadTimeout replaces readTimeout, from when readBigBody starts
	// reading, for a sender who may send a large body.
	uploadReadTimeout = 2 * time.Minute
	// headerLimit is the read buffer per connection, and so the largest
	// request line plus headers accepted (431 beyond).
	headerLimit = 16 << 10
)

// bigBody is a route that accepts a body over BodyLimit, up to limit, from
// a sender that may use it; everyone else is held to BodyLimit there too.
type bigBody struct {
	method, path string
	limit        int
	may          func(a *App, c *fiber.Ctx) bool
}

// bigBodies are the only routes whose bodies may exceed BodyLimit.
var bigBodies = []bigBody{
	{fiber.MethodPost, "/reseller/branding", UploadLimit, staffMayUse(access.AreaBranding)},
	{fiber.MethodPost, "/reseller/rates", RateUploadLimit, staffMayUse(access.AreaRatesEdit)},
	{fiber.MethodPost, "/reseller/billing/numbers/import", NumberUploadLimit, staffMayUse(access.AreaBilling)},
	{fiber.MethodPost, "/settings/avatar", UploadLimit, func(_ *App, c *fiber.Ctx) bool {
		u := userOf(c)
		return u != nil && !u.Staff() // the signed-in client user's own picture
	}},
	{fiber.MethodPut, "/api/v1/rates", RatesLimit, func(_ *App, c *fiber.Ctx) bool {
		caller, ok := c.Locals(apiCallerKey{}).(*apiCaller)
		return ok && caller.client == nil // a reseller key
	}},
}

func staffMayUse(area access.Area) func(*App, *fiber.Ctx) bool {
	return func(_ *App, c *fiber.Ctx) bool {
		u := userOf(c)
		return u != nil && u.Staff() && access.StaffMay(u, area)
	}
}

// bigBodyOf is the route of method and path that accepts large bodies, or
// nil. Paths match as Fiber routes them: case-insensitively, with or
// without a trailing slash.
func bigBodyOf(method, path []byte) *bigBody {
	if len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	for i := range bigBodies {
		if b := &bigBodies[i]; string(method) == b.method && strings.EqualFold(string(path), b.path) {
			return b
		}
	}
	return nil
}

// requestConfig is fasthttp's HeaderReceived hook: it runs once a
// request's headers are in, before any of its body is read. fasthttp then
// reads the first 8 KiB of a body (at most) before handing over; a
// declared length over anything the route could accept makes it read no
// more than two bytes, so readBody refuses it at once rather than after
// 8 KiB have trickled in.
func (a *App) requestConfig(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	var conf fasthttp.RequestConfig
	limit := BodyLimit
	if m := h.Method(); string(m) == fiber.MethodPost || string(m) == fiber.MethodPut {
		if b := bigBodyOf(m, requestPath(h)); b != nil {
			limit = b.limit
			conf.MaxRequestBodySize = b.limit
		}
	}
	if h.ContentLength() > limit {
		conf.MaxRequestBodySize = 1
	}
	return conf
}

// requestPath is the path of the request line, as Fiber's routing sees it
// (the original, not unescaped).
func requestPath(h *fasthttp.RequestHeader) []byte {
	raw := h.RequestURI()
	if len(raw) > 0 && raw[0] == '/' {
		if i := bytes.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		return raw
	}
	uri := fasthttp.AcquireURI() // absolute form: http://host/path
	defer fasthttp.ReleaseURI(uri)
	if err := uri.Parse(h.Host(), raw); err != nil {
		return nil
	}
	return append([]byte(nil), uri.PathOriginal()...)
}

// readBody reads the request body, held to BodyLimit, before anything
// else looks at it; on the routes in bigBodies it leaves the body for
// readBigBody, which runs once the sender is known. A declared length over
// the route's limit is refused without reading. Compressed bodies are
// refused too: Fiber's c.Body() would inflate them without a limit.
func (a *App) readBody(c *fiber.Ctx) error {
	if ce := c.Request().Header.Peek(fiber.HeaderContentEncoding); len(ce) > 0 && !strings.EqualFold(string(ce), "identity") {
		return refuseBody(c, fiber.ErrUnsupportedMediaType)
	}
	limit := BodyLimit
	big := bigBodyOf([]byte(c.Method()), []byte(c.Path()))
	if big != nil {
		limit = big.limit
	}
	if c.Request().Header.ContentLength() > limit {
		return refuseBody(c, fiber.ErrRequestEntityTooLarge)
	}
	if big != nil {
		return c.Next() // read by readBigBody, after authentication
	}
	if err := bufferBody(c, BodyLimit); err != nil {
		return err
	}
	return c.Next()
}

// readBigBody reads the body of a route in bigBodies: up to the route's
// limit when the sender may use the route, else up to BodyLimit. The page
// routes run it after the session is loaded, the API after its key is.
func (a *App) readBigBody(c *fiber.Ctx) error {
	if !c.Request().IsBodyStream() {
		return c.Next() // read already (readBody)
	}
	limit := BodyLimit
	if b := bigBodyOf([]byte(c.Method()), []byte(c.Path())); b != nil && b.may(a, c) {
		limit = b.limit
		if conn := c.Context().Conn(); conn != nil { // more time for more bytes, once the sender is known
			_ = conn.SetReadDeadline(time.Now().Add(uploadReadTimeout))
		}
	}
	if err := bufferBody(c, limit); err != nil {
		return err
	}
	return c.Next()
}

// bodyBuffers are reused between requests; bufferBody keeps only those of
// at most BodyLimit.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// bufferBody reads the streamed body into the request, at most limit
// bytes: 413 beyond, whatever the declared length said (chunked bodies
// declare none).
func bufferBody(c *fiber.Ctx, limit int) error {
	req := c.Request()
	stream := req.BodyStream()
	if stream == nil {
		return nil
	}
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= BodyLimit+bytes.MinRead {
			bodyBuffers.Put(buf)
		}
	}()
	if n := req.Header.ContentLength(); n > 0 {
		buf.Grow(min(n, 64<<10)) // memory follows what arrives, not what is declared
	}
	_, err := buf.ReadFrom(io.LimitReader(stream, int64(limit)+1))
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return refuseBody(c, fiber.ErrRequestTimeout)
	case err != nil: // the sender hung up, or sent a broken chunk
		return refuseBody(c, fiber.NewError(fiber.StatusBadRequest, "The request body could not be read."))
	}
	if buf.Len() > limit {
		return refuseBody(c, fiber.ErrRequestEntityTooLarge)
	}
	req.SetBody(buf.Bytes()) // copies, and ends the stream
	return nil
}

// refuseBody answers err and closes the connection afterwards: the rest of
// the body is never read, so the connection cannot carry another request.
func refuseBody(c *fiber.Ctx, err error) error {
	c.Set(fiber.HeaderConnection, "close")
	return err
}

// closeUnreadBody makes a connection close after a request whose body no
// handler read (an upload refused before readBigBody ran, say for a wrong
// host or a missing key): what is left of the body is not a request.
func closeUnreadBody(c *fiber.Ctx) {
	if c.Request().IsBodyStream() {
		c.Response().Header.SetConnectionClose()
	}
}
