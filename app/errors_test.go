package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/fault"
	"portico/store"
)

// TestErrorTable drives every kind of error through the one error handler
// (handleError), behind the real tenant and session middleware on a
// loopback server, once as a page and once under /api/: the status, the
// Content-Type, Retry-After, WWW-Authenticate, the detail and the list of
// fields at fault. Handlers only return these errors; nothing else sets
// an error's status.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cases := []struct {
		name   string
		err    error
		status int
		retry  string        // Retry-After, "" when absent
		detail string        // in the page and in problem+json
		page   string        // what the page says instead of detail, when it differs
		fields []fault.Field // problem+json's errors
	}{
		{name: "bad request", err: fault.New(fault.BadRequest, "The form is missing its one-time key."), status: 400,
			detail: "The form is missing its one-time key."},
		{name: "bad request with fields", status: 400, detail: "A field has the wrong JSON type; see errors.",
			err: &fault.Error{Kind: fault.BadRequest, Message: "A field has the wrong JSON type; see errors.",
				Fields: fault.Fields{{Field: "amount", Message: "Must be a JSON string."}}},
			fields: []fault.Field{{Field: "amount", Message: "Must be a JSON string."}}},
		{name: "unauthorized", err: fault.New(fault.Unauthorized, "The API key is not valid for this site."), status: 401,
			detail: "The API key is not valid for this site."},
		{name: "forbidden", err: fault.New(fault.Forbidden, "The owner cannot be removed."), status: 403,
			detail: "The owner cannot be removed."},
		{name: "store not found", err: fmt.Errorf("clients: %w", store.ErrNotFound), status: 404,
			detail: "There is nothing at this address."},
		{name: "not found with words", err: fault.Wrap(fault.NotFound, "There is no such client.", store.ErrNotFound), status: 404,
			detail: "There is no such client."},
		{name: "store conflict", err: store.ErrConflict, status: 409,
			detail: "This cannot be done in the current state of things."},
		{name: "too large", err: fault.New(fault.TooLarge, ""), status: 413,
			detail: "What you sent is larger than this site accepts"},
		{name: "unsupported media", err: fault.New(fault.UnsupportedMedia, "Send the body as application/json."), status: 415,
			detail: "Send the body as application/json."},
		{name: "invalid fields", status: 422, detail: "Some fields are invalid; see errors.",
			page:   "Note: Use at most 200 characters. Status: Use active or disabled. Nothing was changed.",
			err:    fmt.Errorf("clients: %w", fault.Fields{{Field: "note", Message: "Use at most 200 characters."}, {Field: "status", Message: "Use active or disabled."}}),
			fields: []fault.Field{{Field: "note", Message: "Use at most 200 characters."}, {Field: "status", Message: "Use active or disabled."}}},
		{name: "invalid with a message", status: 422, detail: "Send at most 1000 records per request.",
			err:    &fault.Error{Kind: fault.Invalid, Message: "Send at most 1000 records per request.", Fields: fault.Fields{{Field: "records", Message: "Send at most 1000 records per request."}}},
			fields: []fault.Field{{Field: "records", Message: "Send at most 1000 records per request."}}},
		{name: "rate limited", err: fault.Limited(90*time.Second, ""), status: 429, retry: "90",
			detail: "There have been too many attempts", page: "Try again in 2 minutes."},
		{name: "busy", err: fault.Busy(5*time.Second, ""), status: 503, retry: "5", detail: "The server is busy just now"},
		{name: "internal", err: errors.New("disk on fire at /var/lib/portico"), status: 500,
			detail: "We could not complete your request. The error has been logged."},
		{name: "fiber's own", err: fiber.ErrMethodNotAllowed, status: 405,
			detail: "This address does not accept that kind of request."},
	}

	// A second server on loopback with the application's own error
	// handler and tenant and session middleware, whose routes return the
	// errors of the table.
	f := fiber.New(fiber.Config{ErrorHandler: ts.app.handleError, DisableStartupMessage: true})
	f.Use(ts.app.observe, ts.app.resolveTenant)
	raise := func(c *fiber.Ctx) error {
		var i int
		if _, err := fmt.Sscan(c.Params("case"), &i); err != nil || i < 0 || i >= len(cases) {
			return fiber.ErrNotFound
		}
		return cases[i].err
	}
	f.Get("/api/v1/raise/:case", raise)
	f.Use(ts.app.loadSession)
	f.Get("/raise/:case", raise)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go f.Listener(ln)
	t.Cleanup(func() { _ = f.Shutdown() })
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path, accept string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = acmeHost + ":" + ts.port() // the tenant by its host, as the browser sends it
		req.Header.Set("Accept", accept)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(body)
	}

	for i, tc := range cases {
		t.Run(tc.name+"/page", func(t *testing.T) {
			resp, body := get(fmt.Sprintf("/raise/%d", i), "text/html")
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d %q, want %d text/html\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, body)
			}
			if got := resp.Header.Get("Retry-After"); got != tc.retry {
				t.Errorf("Retry-After %q, want %q", got, tc.retry)
			}
			text := html.UnescapeString(body)
			want := tc.detail
			if tc.page != "" {
				want = tc.page
			}
			if !strings.Contains(text, want) {
				t.Errorf("the page does not say %q\n%s", want, text)
			}
			if !strings.Contains(text, "Acme Voice") {
				t.Error("the page is not in the reseller's brand")
			}
			if strings.Contains(text, "disk on fire") {
				t.Error("an internal error's cause reached the page")
			}
			if (tc.status >= 500) != strings.Contains(text, "Reference:") {
				t.Errorf("request reference shown: %v, want it for server errors only", strings.Contains(text, "Reference:"))
			}
		})
		t.Run(tc.name+"/api", func(t *testing.T) {
			resp, body := get(fmt.Sprintf("/api/v1/raise/%d", i), "*/*")
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d %q, want %d application/problem+json\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, body)
			}
			if got := resp.Header.Get("Retry-After"); got != tc.retry {
				t.Errorf("Retry-After %q, want %q", got, tc.retry)
			}
			if got, want := resp.Header.Get("WWW-Authenticate"), map[bool]string{true: `Bearer realm="api"`}[tc.status == 401]; got != want {
				t.Errorf("WWW-Authenticate %q, want %q", got, want)
			}
			var p struct {
				Type, Title, Detail string
				Status              int
				Errors              []fault.Field
				RequestID           string `json:"request_id"`
			}
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatalf("not problem+json: %v\n%s", err, body)
			}
			if p.Type != "about:blank" || p.Status != tc.status || p.Title != http.StatusText(tc.status) {
				t.Errorf("type %q status %d title %q", p.Type, p.Status, p.Title)
			}
			if !strings.HasPrefix(p.Detail, tc.detail) {
				t.Errorf("detail %q, want %q", p.Detail, tc.detail)
			}
			if fmt.Sprint(p.Errors) != fmt.Sprint(tc.fields) {
				t.Errorf("errors %v, want %v", p.Errors, tc.fields)
			}
			if strings.Contains(body, `"errors"`) != (len(tc.fields) > 0) {
				t.Errorf("errors member present without fields (or absent with them): %s", body)
			}
			if (tc.status >= 500) != (p.RequestID != "") {
				t.Errorf("request_id %q for status %d", p.RequestID, tc.status)
			}
			if strings.Contains(body, "disk on fire") {
				t.Error("an internal error's cause reached the caller")
			}
		})
	}
	if !strings.Contains(ts.logs.String(), "disk on fire") {
		t.Error("the internal error was not logged")
	}
}

// TestEveryKindHasAStatus: a kind added to app/fault without a line in
// kindStatus would answer nothing sensible.
func TestEveryKindHasAStatus(t *testing.T) {
	t.Parallel()
	for k := fault.Kind(0); !strings.HasPrefix(k.String(), "kind("); k++ {
		if int(k) >= len(kindStatus) || kindStatus[k] == 0 {
			t.Errorf("kind %v has no status", k)
		}
	}
}
