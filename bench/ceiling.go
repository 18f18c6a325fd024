package main

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app"
	"portico/store"
)

// ceilingCommand is the hidden first argument that turns this binary into
// the ceiling server: `bench __ceiling ADDR VIEWS_DIR`.
const ceilingCommand = "__ceiling"

// ceilingPath is where the ceiling serves its page.
const ceilingPath = "/reseller/activity"

// startCeiling re-executes this harness as the ceiling server, in its own
// process like the real server, so neither shares a Go runtime with the
// harness.
func startCeiling(root string) (*process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, ceilingCommand, addr, filepath.Join(root, "views"))
	return start(cmd, addr, ceilingPath)
}

// serveCeiling is the ceiling: a minimal Fiber app (defaults, no
// middleware, no store) that renders the activity page from one template
// set parsed once at start, from the same view files the real server
// embeds (base layout, partials, console/activity.html), with the same
// envelope type and 50 in-memory audit events like the real page's; and
// the client's Billing tab the same way (settings/billing.html, with the
// seeded client's figures: ceilingBillingPage). What
// the real page costs beyond this is the price of everything else:
// middleware, session and tenant look-ups, store reads, CSRF signing.
func serveCeiling(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: bench %s ADDR VIEWS_DIR", ceilingCommand)
	}
	addr, views := args[0], args[1]
	announceRuntime()
	// The harness holds our stdin: its end (the harness exiting, however)
	// is ours.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()

	f, err := newCeiling(views)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return f.Listener(ln)
}

// parseCeiling parses one page (console/activity.html,
// settings/billing.html) with the layouts and partials into one template
// set, with the functions the real views use.
func parseCeiling(views, page string) (*template.Template, error) {
	funcs := app.TemplateFuncs("0123456789ab")
	vfs := os.DirFS(views)
	files := []string{page}
	for _, pattern := range []string{"layouts/*.html", "partials/*.html"} {
		m, err := fs.Glob(vfs, pattern)
		if err != nil {
			return nil, err
		}
		files = append(m, files...)
	}
	return template.New("").Funcs(funcs).ParseFS(vfs, files...)
}

// ceilingPages are the pages the ceiling serves: each route renders its
// view file with its in-memory envelope. The billing route is /settings
// (the query, tab=billing, is the real app's to read; the ceiling has
// only the one tab).
var ceilingPages = []struct {
	route, view string
	page        func() *app.Page
}{
	{ceilingPath, "console/activity.html", ceilingPage},
	{"/settings", "settings/billing.html", ceilingBillingPage},
}

// newCeiling parses the templates once and returns the minimal Fiber app
// that serves the pages of ceilingPages.
func newCeiling(views string) (*fiber.App, error) {
	pool := &sync.Pool{New: func() any { return new(bytes.Buffer) }}
	f := fiber.New(fiber.Config{DisableStartupMessage: true})
	for _, p := range ceilingPages {
		t, err := parseCeiling(views, p.view)
		if err != nil {
			return nil, err
		}
		page := p.page()
		f.Get(p.route, func(c *fiber.Ctx) error {
			buf := pool.Get().(*bytes.Buffer)
			buf.Reset()
			defer pool.Put(buf)
			if err := t.ExecuteTemplate(buf, "page", page); err != nil {
				return err
			}
			c.Set(fiber.HeaderCacheControl, "no-store")
			c.Type("html", "utf-8")
			c.Response().SetBody(buf.Bytes()) // copies, as the real app must: the buffer is reused
			return nil
		})
	}
	return f, nil
}

// ceilingPage is the envelope the real activity page renders for the
// default reseller's owner, with 50 sign-in/sign-out events.
func ceilingPage() *app.Page {
	const email = "owner@example.com"
	type activity struct { // the fields views/console/activity.html reads
		Events                  []*store.AuditEvent
		OlderURL                string
		Actor, Action, From, To string
		Filtered                bool
	}
	var data activity
	now := time.Now().UTC()
	for i := range 50 {
		action := "login"
		if i%2 == 0 {
			action = "logout"
		}
		id := uint64(51 - i)
		data.Events = append(data.Events, &store.AuditEvent{ID: id, ResellerID: 1, Actor: email, Action: action,
			IP: "127.0.0.1", At: now.Add(-time.Duration(i) * time.Second)})
	}
	data.OlderURL = fmt.Sprintf("/reseller/activity?action=&actor=&before=%d&from=&to=", data.Events[len(data.Events)-1].ID)
	return &app.Page{
		Brand: app.Brand{Name: "Demo Telecom", Initial: "D", CSSURL: "/brand.css?v=0123456789ab"},
		User:  &store.User{ID: 1, ResellerID: 1, Email: email, Role: store.RoleOwner, Status: store.UserActive},
		CSRF:  "c2lnbmVkLWNzcmYtdG9rZW4tb2YtNDMtY2hhcmFjdGVycw",
		Title: "Activity",
		Nav: []app.NavItem{{Label: "Overview", URL: "/reseller"},
			{Label: "Clients", URL: "/reseller/clients"}, {Label: "Activity", URL: "/reseller/activity", Current: true}},
		Home:      "/reseller",
		RequestID: "0123456789abcdef",
		Data:      data,
	}
}
