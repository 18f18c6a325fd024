package app

import (
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// TestServerErrorShowsRequestID: a failing store gives a branded 500 with
// a reference that is in the log, and no internal detail.
func TestServerErrorShowsRequestID(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "owner@acme.example", "/reseller")
	ts.store.Close() // every transaction now fails
	r := b.get(acmeHost, "/reseller")
	if r.status != http.StatusInternalServerError {
		t.Fatalf("status %d", r.status)
	}
	id := regexp.MustCompile(`Reference: <code>([0-9a-f]{16})</code>`).FindStringSubmatch(r.body)
	if id == nil || !strings.Contains(r.body, "Acme Voice") {
		t.Fatalf("500 page lacks brand or reference:\n%s", r.body)
	}
	if strings.Contains(r.body, "database") || strings.Contains(r.body, "bolt") {
		t.Errorf("500 page leaks internals")
	}
	if !strings.Contains(ts.logs.String(), "request_id="+id[1]) || !strings.Contains(ts.logs.String(), "request failed") {
		t.Errorf("request id %s not in the log:\n%s", id[1], ts.logs.String())
	}
	r = b.do(http.MethodGet, acmeHost, "/reseller", nil, map[string]string{"Accept": "application/json"})
	if !strings.Contains(r.body, `"request_id":"`) {
		t.Errorf("problem+json lacks request_id: %s", r.body)
	}
	if r := b.get(acmeHost, "/healthz"); r.status != http.StatusServiceUnavailable {
		t.Errorf("healthz with a closed store: %d", r.status)
	}
}

// TestBrokenTemplateStopsStart: templates are parsed at start-up.
func TestBrokenTemplateStopsStart(t *testing.T) {
	t.Parallel()
	views := fstest.MapFS{}
	real := os.DirFS("../views")
	for _, name := range []string{"layouts/base.html", "partials/form.html"} {
		data, err := fs.ReadFile(real, name)
		if err != nil {
			t.Fatal(err)
		}
		views[name] = &fstest.MapFile{Data: data}
	}
	views["auth/login.html"] = &fstest.MapFile{Data: []byte(`{{define "page"}}{{template "layout-auth" .}}{{end}}{{define "content"}}{{.Nope}`)}
	if _, err := parseViews(views, fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), "auth/login.html") {
		t.Fatalf("want an error naming the broken file, got %v", err)
	}
	views["auth/login.html"] = &fstest.MapFile{Data: []byte(`<p>no page template</p>`)}
	if _, err := parseViews(views, fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), `must define "page"`) {
		t.Fatalf("want a missing-page error, got %v", err)
	}
}

// TestUnsafeTemplateStopsStart: a page html/template cannot escape (an
// attribute left open) stops the start like one that does not parse.
func TestUnsafeTemplateStopsStart(t *testing.T) {
	t.Parallel()
	views := fstest.MapFS{}
	real := os.DirFS("../views")
	for _, name := range []string{"layouts/base.html", "partials/form.html"} {
		data, err := fs.ReadFile(real, name)
		if err != nil {
			t.Fatal(err)
		}
		views[name] = &fstest.MapFile{Data: data}
	}
	views["auth/login.html"] = &fstest.MapFile{Data: []byte(`{{define "page"}}{{template "layout-auth" .}}{{end}}{{define "content"}}<a href="{{.Title}}{{end}}`)}
	_, err := parseViews(views, fstest.MapFS{})
	if err == nil || !strings.Contains(err.Error(), "auth/login.html") || !strings.Contains(err.Error(), "html/template") {
		t.Fatalf("want an escaping error naming the file, got %v", err)
	}
}

// TestEachPageItsOwnContent: every page has its own engine, so the 33
// "content" templates do not replace one another, and each is escaped at
// start-up: the engine's Render executes a copy of the template, and
// html/template's escaping on first use writes to the original, so a
// first render racing another would read it half-written (and escape the
// tree twice). html/template refuses to Clone a set once it has been
// escaped, which tells that it was.
func TestEachPageItsOwnContent(t *testing.T) {
	t.Parallel()
	v, err := parseViews(os.DirFS("../views"), os.DirFS("../static"))
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range v.pages {
		if _, err := e.Templates.Clone(); err == nil {
			t.Errorf("%s: not escaped at start-up", name)
		}
	}
	files, err := fs.Glob(os.DirFS("../views"), "*/*.html")
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for _, f := range files {
		if !sharedView(f) {
			pages++
		}
	}
	if len(v.pages) != pages || pages < 30 {
		t.Fatalf("%d pages loaded, %d page files", len(v.pages), pages)
	}
	page := &Page{Brand: Brand{Name: "Acme Voice"}, Title: "Sign in", Data: map[string]any{"Form": newForm()}}
	var wg sync.WaitGroup
	outs := make([]string, 8)
	errs := make([]error, 8)
	start := make(chan struct{})
	for i := range outs {
		wg.Go(func() {
			<-start
			var b strings.Builder
			errs[i] = v.pages["auth/login"].Render(&b, "page", page)
			outs[i] = b.String()
		})
	}
	close(start)
	wg.Wait()
	for i := range outs {
		if errs[i] != nil || !strings.Contains(outs[i], "<h1>Sign in</h1>") || !strings.Contains(outs[i], "Acme Voice") {
			t.Fatalf("render %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	var b strings.Builder
	if err := v.pages["auth/forgot"].Render(&b, "page", page); err != nil || strings.Contains(b.String(), "<h1>Sign in</h1>") {
		t.Fatalf("auth/forgot rendered the sign-in content (%v)", err)
	}
}

// TestPlural: counts agree with their number, in pages and messages.
func TestPlural(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		got, want string
	}{
		{plural(1, "client"), "1 client"},
		{plural(0, "client"), "0 clients"},
		{plural(14, "client"), "14 clients"},
		{plural(1, "person", "people"), "1 person"},
		{plural(5, "person", "people"), "5 people"},
		{humanDuration(time.Second), "1 second"},
		{humanDuration(30 * time.Second), "30 seconds"},
		{humanDuration(90 * time.Second), "2 minutes"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}
