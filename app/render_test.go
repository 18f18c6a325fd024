package app

import (
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"
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
