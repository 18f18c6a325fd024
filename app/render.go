package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/dates"
	"portico/app/money"
	"portico/store"
)

// views holds one parsed template set per page, each made of the shared
// layouts and partials plus the page's own file. The layout is composed
// inside the templates (each page's "page" calls a layout), so rendering
// takes no engine-wide lock.
type views struct {
	pages        map[string]*template.Template
	assetVersion string
}

// parseViews parses every page at start-up; any error stops the start.
func parseViews(viewFS, staticFS fs.FS) (*views, error) {
	v := &views{pages: map[string]*template.Template{}}
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
	shared, err := fs.Glob(viewFS, "layouts/*.html")
	if err != nil {
		return nil, err
	}
	partials, err := fs.Glob(viewFS, "partials/*.html")
	if err != nil {
		return nil, err
	}
	base, err := template.New("").Funcs(funcs).ParseFS(viewFS, append(shared, partials...)...)
	if err != nil {
		return nil, fmt.Errorf("app: templates: %w", err)
	}
	err = fs.WalkDir(viewFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		dir := path.Dir(p)
		if dir == "layouts" || dir == "partials" {
			return nil
		}
		t, err := template.Must(base.Clone()).ParseFS(viewFS, p)
		if err != nil {
			return fmt.Errorf("app: template %s: %w", p, err)
		}
		if t.Lookup("page") == nil || t.Lookup("content") == nil {
			return fmt.Errorf("app: template %s must define \"page\" and \"content\"", p)
		}
		v.pages[strings.TrimSuffix(p, ".html")] = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// TemplateFuncs are the functions every view may call; assetVersion goes
// into static URLs so that they change with the files. Exported for the
// benchmark's ceiling, which must render the same templates.
func TemplateFuncs(assetVersion string) template.FuncMap {
	return template.FuncMap{
		"asset":   func(name string) string { return "/static/" + name + "?v=" + assetVersion },
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		// dates and amounts read the same on every page (app/dates,
		// app/money): "4 Mar 2027", "4 Mar 2027, 14:05 UTC", "1,234.50"
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
	name := r.Brand.ProductName
	if name == "" {
		name = r.Name
	}
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
	t, ok := a.views.pages[name]
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
		p.Home, p.Nav = navigation(user, a.accessOf(c), c.Path())
	}
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufferPool.Put(buf)
	if err := t.ExecuteTemplate(buf, "page", p); err != nil {
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
		if staffMay(u, "clients") {
			items = append(items, NavItem{Label: "Clients", URL: "/reseller/clients"})
		}
		if staffMay(u, "rates") {
			items = append(items, NavItem{Label: "Rates", URL: "/reseller/rates"})
		}
		if staffMay(u, "branding") {
			items = append(items, NavItem{Label: "Branding", URL: "/reseller/branding"})
		}
		if staffMay(u, "domains") {
			items = append(items, NavItem{Label: "Domains", URL: "/reseller/domains"})
		}
		if staffMay(u, "staff") {
			items = append(items, NavItem{Label: "Staff", URL: "/reseller/staff"})
		}
		if staffMay(u, "api-keys") {
			items = append(items, NavItem{Label: "API keys", URL: resellerAPIKeysURL})
		}
		if staffMay(u, "activity") {
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
