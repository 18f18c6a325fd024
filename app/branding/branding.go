// Package branding owns a reseller's brand as its staff edit it: the
// product name, colours, support contacts, footer and mail sender, and the
// logo and favicon. Save checks a submission and writes it, with its audit
// event, in one transaction. Images arrive decoded and re-encoded as PNG
// by the caller (app/branding.go), so the store only ever holds pixels
// Portico wrote. It never imports Fiber.
package branding

import (
	"errors"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"portico/app/actor"
	"portico/app/config"
	"portico/app/fault"
	"portico/app/textfield"
	"portico/store"
)

// Assets are the brand's images, in the order of the editor.
var Assets = []string{store.AssetLogo, store.AssetFavicon}

// Input is one submission of the branding editor.
type Input struct {
	// Brand holds the text fields as typed; Clean trims them.
	Brand store.Brand
	// Images are new images by asset name (Assets), as PNG.
	Images map[string][]byte
	// Remove names the saved images to delete; a new image of the same
	// name replaces the old one instead.
	Remove map[string]bool
	// Refused are the problems the caller found reading the submission
	// (an upload that is not an image): with any, nothing is saved.
	Refused fault.Fields
}

// Clean is in with its text trimmed and its colours in lower case, as
// Save checks and stores them (and as a form shown again shows them).
func (in Input) Clean() Input {
	b := &in.Brand
	for _, f := range []*string{&b.ProductName, &b.PrimaryColor, &b.AccentColor, &b.SupportEmail, &b.SupportURL, &b.FooterText, &b.MailSender} {
		*f = strings.TrimSpace(*f)
	}
	b.PrimaryColor, b.AccentColor = strings.ToLower(b.PrimaryColor), strings.ToLower(b.AccentColor)
	return in
}

// Service saves brands.
type Service struct{ store *store.Store }

// New returns the service.
func New(s *store.Store) *Service { return &Service{store: s} }

// Save checks in and writes it to reseller r, with an audit event naming
// what changed, in one transaction. Problems with the submission come
// back as fault.Fields (by the form's field names) and nothing is saved.
// The caller drops cached tenants afterwards: every page and email of r
// changes at once.
func (s *Service) Save(r *store.Reseller, in Input, by actor.Actor) error {
	in = in.Clean()
	brand, problems := check(in.Brand)
	problems = append(problems, in.Refused...)
	if len(problems) > 0 {
		return problems
	}
	return s.store.Update(func(tx *store.Tx) error {
		r, err := tx.Reseller(r.ID) // tenant scope: the caller's reseller, read afresh
		if err != nil {
			return err
		}
		changed := apply(tx, r, brand, in)
		if err := tx.UpdateReseller(r); err != nil {
			return err
		}
		for _, name := range Assets {
			if data := in.Images[name]; data != nil {
				if err := tx.PutBrandAsset(r.ID, &store.BrandAsset{Name: name, ContentType: "image/png", Data: data}); err != nil {
					return err
				}
			} else if in.Remove[name] {
				if err := tx.DeleteBrandAsset(r.ID, name); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: "branding.update",
			Target: strings.Join(changed, ", "), IP: by.IP})
	})
}

// apply copies the editor's fields onto r and names what changed, for
// the audit log.
func apply(tx *store.Tx, r *store.Reseller, b store.Brand, in Input) []string {
	var changed []string
	for _, f := range []struct {
		label    string
		dst      *string
		newValue string
	}{
		{"product name", &r.Brand.ProductName, b.ProductName},
		{"primary colour", &r.Brand.PrimaryColor, b.PrimaryColor},
		{"accent colour", &r.Brand.AccentColor, b.AccentColor},
		{"support email", &r.Brand.SupportEmail, b.SupportEmail},
		{"support URL", &r.Brand.SupportURL, b.SupportURL},
		{"footer", &r.Brand.FooterText, b.FooterText},
		{"mail sender", &r.Brand.MailSender, b.MailSender},
	} {
		if *f.dst != f.newValue {
			*f.dst = f.newValue
			changed = append(changed, f.label)
		}
	}
	for _, name := range Assets {
		switch _, err := tx.BrandAsset(r.ID, name); {
		case in.Images[name] != nil:
			changed = append(changed, name)
		case in.Remove[name] && err == nil:
			changed = append(changed, name+" removed")
		}
	}
	if len(changed) == 0 {
		changed = []string{"nothing changed"}
	}
	return changed
}

// check validates the editor's text fields (cleaned already) and returns
// the brand to save, with the support URL in its canonical form.
func check(b store.Brand) (store.Brand, fault.Fields) {
	var problems fault.Fields
	switch n := utf8.RuneCountInString(b.ProductName); {
	case n == 0:
		problems.Add("product_name", "Enter the name your clients know your service by.")
	case n > 60:
		problems.Add("product_name", "Use at most 60 characters.")
	}
	for _, c := range []struct{ field, value string }{{"primary_color", b.PrimaryColor}, {"accent_color", b.AccentColor}} {
		if !config.ValidColor(c.value) {
			problems.Add(c.field, "Enter a colour as # and six hex digits, such as #2457d6.")
		}
	}
	if b.SupportEmail != "" {
		addr, err := mail.ParseAddress(b.SupportEmail)
		if err != nil || addr.Address != b.SupportEmail || len(b.SupportEmail) > 254 {
			problems.Add("support_email", "Enter an email address such as help@example.com, or leave it empty.")
		}
	}
	if b.SupportURL != "" {
		u, err := url.Parse(b.SupportURL)
		// security: only web links; a javascript: or data: URL would run in the visitor's page
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(b.SupportURL) > 500 ||
			strings.ContainsFunc(b.SupportURL, unicode.IsSpace) {
			problems.Add("support_url", "Enter a web address starting with https:// or http://, or leave it empty.")
		} else {
			b.SupportURL = u.String()
		}
	}
	if utf8.RuneCountInString(b.FooterText) > 200 {
		problems.Add("footer_text", "Use at most 200 characters.")
	}
	switch {
	case utf8.RuneCountInString(b.MailSender) > 60:
		problems.Add("mail_sender", "Use at most 60 characters.")
	case strings.ContainsAny(b.MailSender, "<>\"\\") || textfield.SingleLine(b.MailSender) != "":
		// security: the name goes into the From header of emails
		problems.Add("mail_sender", "Use letters, digits, spaces and simple punctuation, without < > \" or \\.")
	}
	for _, f := range []struct{ field, value string }{{"product_name", b.ProductName}, {"footer_text", b.FooterText}} { // both are one-line inputs
		if !problems.Has(f.field) && textfield.SingleLine(f.value) != "" {
			problems.Add(f.field, textfield.SingleLineMessage)
		}
	}
	return b, problems
}
