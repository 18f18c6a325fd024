package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"

	"portico/app/access"
	"portico/app/dates"
	"portico/store"
	"portico/store/money"
)

// views holds one template engine (github.com/gofiber/template/html/v2)
// per page, each loaded with the shared layouts and partials plus the
// page's own file, from the embedded files through the engine's
// filesystem constructor. The layout is composed inside the templates:
// each page's "page" calls a layout, which calls the page's "content". So
// every page needs a namespace of its own (each page defines "content"),
// and rendering never uses the engine's layout argument, which would take
// the engine's lock for the whole render and swap a shared function per
// call. Render with no layout takes the page's engine lock only for a
// moment (a reload check and a look-up) and executes a copy of "page".
type views struct {
	pages        map[string]*html.Engine
	assetVersion string
}

// parseViews loads every page at start-up; any error stops the start: a
// file that does not parse, a page without "page" and "content", or a
// page html/template cannot escape.
func parseViews(viewFS, staticFS fs.FS) (*views, error) {
	v := &views{pages: map[string]*html.Engine{}}
	sum := sha256.New()
	err := fs.WalkDir(staticFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(staticFS, p)
		if err != nil {
			return err
		}
		sum.Write([]byte(p))
		sum.Write(data)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("app: static files: %w", err)
	}
	v.assetVersion = hex.EncodeToString(sum.Sum(nil))[:12]
	funcs := TemplateFuncs(v.assetVersion)
	err = fs.WalkDir(viewFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") || sharedView(p) {
			return err
		}
		e, err := loadPage(viewFS, p, funcs)
		if err != nil {
			return fmt.Errorf("app: template %s: %w", p, err)
		}
		v.pages[strings.TrimSuffix(p, ".html")] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// sharedView reports whether a view file belongs to every page's set.
func sharedView(p string) bool {
	dir := path.Dir(p)
	return dir == "layouts" || dir == "partials"
}

// loadPage makes the engine of one page and checks it.
func loadPage(viewFS fs.FS, page string, funcs template.FuncMap) (*html.Engine, error) {
	e := html.NewFileSystem(http.FS(pageFiles{FS: viewFS, page: page}), ".html")
	e.AddFuncMap(funcs)
	if err := e.Load(); err != nil {
		return nil, err
	}
	if e.Templates.Lookup("page") == nil || e.Templates.Lookup("content") == nil {
		return nil, errors.New(`must define "page" and "content"`)
	}
	// html/template escapes a template on its first execution. Do it now,
	// with no data (execution stops at the first field; only an escaping
	// error counts): an unsafe template stops the start instead of failing
	// its first visitor, and the engine's Render, which copies the template
	// before executing it, never runs while the escaper is writing to it.
	var escErr *template.Error
	if err := e.Render(io.Discard, "page", nil); errors.As(err, &escErr) {
		return nil, err
	}
	return e, nil
}

// pageFiles is a view tree narrowed to the shared layouts and partials
// and one page's file.
type pageFiles struct {
	fs.FS
	page string
}

func (p pageFiles) Open(name string) (fs.File, error) {
	f, err := p.FS.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		if d, ok := f.(fs.ReadDirFile); ok {
			return pageDir{ReadDirFile: d, files: p, dir: name}, nil
		}
		return f, nil
	}
	if name != p.page && !sharedView(name) {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f, nil
}

// pageDir lists only the files of its pageFiles.
type pageDir struct {
	fs.ReadDirFile
	files pageFiles
	dir   string
}

func (d pageDir) ReadDir(n int) ([]fs.DirEntry, error) {
	for {
		all, err := d.ReadDirFile.ReadDir(n)
		var kept []fs.DirEntry
		for _, e := range all {
			name := path.Join(d.dir, e.Name())
			if e.IsDir() || name == d.files.page || sharedView(name) {
				kept = append(kept, e)
			}
		}
		// n > 0 asks for at least one entry unless there are no more
		if len(kept) > 0 || err != nil || n <= 0 {
			return kept, err
		}
	}
}

// TemplateFuncs are the functions every view may call; assetVersion goes
// into static URLs so that they change with the files. Exported for the
// benchmark's ceiling, which must render the same templates.
func TemplateFuncs(assetVersion string) template.FuncMap {
	return template.FuncMap{
		"asset":   func(name string) string { return "/static/" + name + "?v=" + assetVersion },
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		// dates and amounts read the same on every page (app/dates,
		// store/money): "4 Mar 2027", "4 Mar 2027, 14:05 UTC", "1,234.50"
		"datetime":   dates.DayTime,
		"date":       dates.Day,
		"month":      dates.Month,
		"clock":      dates.Clock,
		"money":      func(v int64, code string) string { return money.Display{}.Text(v, code) },
		"moneyExact": func(v int64, code string) string { return money.Display{Exact: true}.Text(v, code) },
		"plural":     plural,
		"list":       func(items ...string) []string { return items },
		"dict":       dict,
		// avatarURL and initials show a user's picture, or their initials
		// when they have none (settings_profile.go).
		"avatarURL": avatarURL,
		"initials":  initials,
	}
}

// Brand is the reseller's identity as every page shows it.
type Brand struct {
	Name         string
	Initial      string
	CSSURL       string
	SupportEmail string
	SupportURL   string
	Footer       string
	// LogoURL and FaviconURL are the reseller's uploaded images ("" when
	// none); their URLs change with the images (see app/branding.go).
	LogoURL    string
	FaviconURL string
}

// NavItem is one entry of the console navigation.
type NavItem struct {
	Label, URL string
	Current    bool
}

// Flash is a one-time message carried across a redirect.
type Flash struct {
	Kind    string // success, info, error
	Message string
}

// Page is the one envelope every page renders through.
type Page struct {
	Brand     Brand
	User      *store.User
	CSRF      string
	Flash     *Flash
	Title     string
	Nav       []NavItem
	Home      string
	RequestID string
	Data      any
}

func (a *App) brandOf(r *store.Reseller) Brand {
	if r == nil {
		return Brand{} // neutral: names no reseller
	}
	name := letterhead{a.cfg}.BrandName(r)
	initial, _ := utf8.DecodeRuneInString(name)
	logo, favicon := a.brandAssetURLs(r.ID)
	return Brand{
		Name:         name,
		Initial:      string(unicode.ToUpper(initial)),
		CSSURL:       "/brand.css?v=" + a.brandVersion(r),
		SupportEmail: r.Brand.SupportEmail,
		SupportURL:   r.Brand.SupportURL,
		Footer:       r.Brand.FooterText,
		LogoURL:      logo,
		FaviconURL:   favicon,
	}
}

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes a page with the envelope filled from the request: brand,
// user, CSRF token, flash, navigation and request id.
func (a *App) render(c *fiber.Ctx, status int, name string, title string, data any) error {
	e, ok := a.views.pages[name]
	if !ok {
		return fmt.Errorf("app: no template %q", name)
	}
	tenant := tenantOf(c)
	user := userOf(c)
	p := &Page{
		Brand:     a.brandOf(tenant),
		User:      user,
		Title:     title,
		Data:      data,
		RequestID: requestIDOf(c),
		Flash:     a.takeFlash(c),
	}
	if tenant != nil {
		p.CSRF = a.csrfToken(c)
	}
	if user != nil {
		p.Home, p.Nav = navigation(user, a.accessOf(c), navPath(c))
	}
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufferPool.Put(buf)
	// The engine's Render with no layout: the page composes its own.
	if err := e.Render(buf, "page", p); err != nil {
		return fmt.Errorf("app: render %s: %w", name, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Type("html", "utf-8")
	c.Status(status)
	// SetBody copies: the pooled buffer is reused as soon as we return,
	// while fasthttp writes the response later (c.Send would keep the
	// slice and could serve one reseller's bytes to another's visitor).
	c.Response().SetBody(buf.Bytes())
	return nil
}

// navigation is the console menu for the user's side and role; a client
// user's menu shows the modules their access allows (see access.go).
func navigation(u *store.User, m access.Map, current string) (home string, items []NavItem) {
	if u.Staff() {
		home = "/reseller"
		items = []NavItem{{Label: "Overview", URL: "/reseller"}}
		if access.StaffMay(u, access.AreaClients) {
			items = append(items, NavItem{Label: "Clients", URL: "/reseller/clients"})
		}
		if access.StaffMay(u, access.AreaRates) {
			items = append(items, NavItem{Label: "Rates", URL: "/reseller/rates"})
		}
		if access.StaffMay(u, access.AreaBilling) {
			items = append(items, NavItem{Label: "Billing", URL: billingHome})
		}
		if access.StaffMay(u, access.AreaBranding) {
			items = append(items, NavItem{Label: "Branding", URL: "/reseller/branding"})
		}
		if access.StaffMay(u, access.AreaDomains) {
			items = append(items, NavItem{Label: "Domains", URL: "/reseller/domains"})
		}
		if access.StaffMay(u, access.AreaStaff) {
			items = append(items, NavItem{Label: "Staff", URL: "/reseller/staff"})
		}
		if access.StaffMay(u, access.AreaAPIKeys) {
			items = append(items, NavItem{Label: "API keys", URL: resellerAPIKeysURL})
		}
		if access.StaffMay(u, access.AreaActivity) {
			items = append(items, NavItem{Label: "Activity", URL: "/reseller/activity"})
		}
		items = append(items, NavItem{Label: "Security", URL: resellerSecurityURL}) // every staff member's own two-factor sign-in
	} else {
		home, items = clientMenu(m)
	}
	for i := range items {
		// the section is current on its own pages too (/reseller/clients/7)
		items[i].Current = items[i].URL == current || items[i].URL != home && strings.HasPrefix(current, items[i].URL+"/")
	}
	return home, items
}

// Form carries submitted values and per-field messages back to a form.
type Form struct {
	Values map[string]string
	Errors map[string]string
	Error  string // about the whole form
	// focused: a field at fault has taken the autofocus (Focus).
	focused bool
}

func newForm() *Form { return &Form{Values: map[string]string{}, Errors: map[string]string{}} }

// Field describes one input for the "field" partial.
type Field struct {
	Name, Label, Type, Autocomplete, Value, Error, Hint string
	Required, Autofocus                                 bool
}

// Field builds the view of one input; password values are never echoed.
func (f *Form) Field(name, label, typ, autocomplete string, autofocus bool) Field {
	v := f.Values[name]
	if typ == "password" {
		v = ""
	}
	if len(f.Errors) > 0 {
		autofocus = f.Focus(name) // with errors, the first faulty field has the focus
	}
	return Field{Name: name, Label: label, Type: typ, Autocomplete: autocomplete, Value: v,
		Error: f.Errors[name], Required: true, Autofocus: autofocus}
}

// Optional marks the input as not required.
func (f Field) Optional() Field { f.Required = false; return f }

// WithHint adds a hint under the input.
func (f Field) WithHint(hint string) Field { f.Hint = hint; return f }

// invalid reports whether any message was set.
func (f *Form) invalid() bool { return f.Error != "" || len(f.Errors) > 0 }
