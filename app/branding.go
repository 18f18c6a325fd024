package app

// The branding editor (/reseller/branding, owner and admin) and the public
// brand images. Uploads are decoded, resized and re-encoded as PNG here,
// so the store only ever holds, and visitors only ever get, pixels this
// code wrote: nothing a browser could run. The branding service
// (app/branding) checks and saves a submission.

import (
	"errors"
	"fmt"
	"image"
	"math"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/image/draw"

	"portico/app/branding"
	"portico/app/config"
	"portico/app/fault"
	"portico/app/gate"
	"portico/store"
)

// brandingRoutes lists the branding editor's routes (under
// /reseller/branding, owner/admin) and the public brand asset routes on f.
func (a *App) brandingRoutes(f *fiber.App, console fiber.Router) {
	// Public: the sign-in page shows the logo before anyone signs in. The
	// tenant comes from the host, like every page's.
	f.Get("/brand/:file", a.showBrandAsset)
	console.Get("/", a.showBranding)
	console.Post("/", a.saveBranding)
}

// Limits of brand images.
const (
	// maxBrandImageBytes caps one uploaded file (images.go's limits).
	maxBrandImageBytes = maxImageBytes
	maxBrandImageSize  = maxImageSize
	// logoMaxHeight and logoMaxWidth bound the stored logo (twice what the
	// header shows, for sharp high-density screens); smaller logos are
	// never enlarged.
	logoMaxHeight = 96
	logoMaxWidth  = 480
	// faviconSize is the stored favicon's side; uploads are fitted into
	// the square on a transparent background, keeping their proportions.
	faviconSize = 64
	// brandAssetDigest is how many hex digits of an image's SHA-256 its
	// URL carries.
	brandAssetDigest = 16
)

// Brand images: decoding and re-encoding.

// processBrandImage turns an upload into the stored asset: decoded by its
// actual format, fitted to the asset's place and encoded as a fresh PNG.
// Whatever else the file held (metadata, a trailing HTML or script
// payload, further GIF frames) is dropped with the original bytes.
func processBrandImage(asset, filename string, data []byte) ([]byte, error) {
	src, err := decodeUpload(filename, data)
	if err != nil {
		return nil, err
	}
	var out *image.RGBA
	if asset == store.AssetFavicon {
		out = fitSquare(src, faviconSize)
	} else {
		out = fitWithin(src, logoMaxWidth, logoMaxHeight)
	}
	return encodeImagePNG(asset, out)
}

// fitWithin scales src down, keeping its proportions, until it fits in
// maxW × maxH; a smaller image keeps its size.
func fitWithin(src image.Image, maxW, maxH int) *image.RGBA {
	b := src.Bounds()
	scale := min(1, float64(maxW)/float64(b.Dx()), float64(maxH)/float64(b.Dy()))
	w := max(1, int(math.Round(float64(b.Dx())*scale)))
	h := max(1, int(math.Round(float64(b.Dy())*scale)))
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if w == b.Dx() && h == b.Dy() {
		draw.Copy(dst, image.Point{}, src, b, draw.Src, nil)
	} else {
		scaleInto(dst, dst.Bounds(), src, b)
	}
	return dst
}

// fitSquare scales src, up or down, to fit a side × side square, centred
// on a transparent background.
func fitSquare(src image.Image, side int) *image.RGBA {
	b := src.Bounds()
	scale := float64(side) / float64(max(b.Dx(), b.Dy()))
	w := min(side, max(1, int(math.Round(float64(b.Dx())*scale))))
	h := min(side, max(1, int(math.Round(float64(b.Dy())*scale))))
	dst := image.NewRGBA(image.Rect(0, 0, side, side))
	at := image.Pt((side-w)/2, (side-h)/2)
	scaleInto(dst, image.Rectangle{Min: at, Max: at.Add(image.Pt(w, h))}, src, b)
	return dst
}

// Brand images: serving.

// brandAssetURL is where an image is served; the digest in it changes
// with the image, so the URL may be cached for good.
func brandAssetURL(asset *store.BrandAsset) string {
	return "/brand/" + asset.Name + "-" + asset.SHA256[:brandAssetDigest] + ".png"
}

// brandAssetURLs are the current addresses of a reseller's logo and
// favicon ("" when none). Every page asks; the store answers from the
// images' headers without reading the images. A failed read leaves the
// page without images rather than failing it.
func (a *App) brandAssetURLs(rid uint64) (logo, favicon string) {
	_ = a.store.View(func(tx *store.Tx) error {
		assets, err := tx.BrandAssetHeaders(rid) // tenant scope: this reseller's images only
		for _, asset := range assets {
			switch asset.Name {
			case store.AssetLogo:
				logo = brandAssetURL(asset)
			case store.AssetFavicon:
				favicon = brandAssetURL(asset)
			}
		}
		return err
	})
	return logo, favicon
}

// assetFilePattern is <name>-<digest>.png, as brandAssetURL writes it.
var assetFilePattern = regexp.MustCompile(`^(logo|favicon)-([0-9a-f]{16})\.png$`)

// showBrandAsset serves one of the host's reseller's images, with an ETag
// and a year of caching: the URL changes when the image does. A digest of
// another reseller's image, or of a replaced one, is not found.
func (a *App) showBrandAsset(c *fiber.Ctx) error {
	m := assetFilePattern.FindStringSubmatch(c.Params("file"))
	if m == nil {
		return fiber.ErrNotFound
	}
	var asset *store.BrandAsset
	err := a.store.View(func(tx *store.Tx) (err error) {
		asset, err = tx.BrandAsset(tenantOf(c).ID, m[1]) // tenant scope: the reseller comes from the host
		return err
	})
	if err != nil {
		return err // ErrNotFound becomes a 404
	}
	if !strings.HasPrefix(asset.SHA256, m[2]) {
		return fiber.ErrNotFound
	}
	return sendImmutablePNG(c, asset.SHA256, asset.Data, "public")
}

// Colours and contrast.

// relativeLuminance is WCAG's relative luminance of a #rrggbb colour.
func relativeLuminance(hexColor string) float64 {
	var r, g, b int
	if _, err := fmt.Sscanf(hexColor, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return 0
	}
	return 0.2126*channel(r) + 0.7152*channel(g) + 0.0722*channel(b)
}

// contrastRatio is WCAG's contrast ratio of two luminances, 1 to 21.
func contrastRatio(l1, l2 float64) float64 {
	return (max(l1, l2) + 0.05) / (min(l1, l2) + 0.05)
}

// bestTextContrast is the contrast of black or white text on the colour,
// whichever reads better (readableOn picks the same one for pages).
func bestTextContrast(hexColor string) float64 {
	l := relativeLuminance(hexColor)
	return max(contrastRatio(l, 0), contrastRatio(l, 1))
}

// wcagAA is the contrast WCAG 2 level AA asks for normal text.
const wcagAA = 4.5

// seriesContrast is the least luminance contrast between the two series
// of a chart (outbound in the primary colour, inbound in the accent) for
// people to tell them apart, whatever colours they see: hue alone is lost
// on many eyes.
const seriesContrast = 1.5

// seriesColor is the colour of a chart's second series: the accent, or,
// when it is too close to the primary colour, the primary's tint or
// shade (mixed with white or black), whichever stands out more from it.
func seriesColor(primary, accent string) string {
	if !config.ValidColor(primary) {
		return accent
	}
	lp := relativeLuminance(primary)
	if config.ValidColor(accent) && contrastRatio(lp, relativeLuminance(accent)) >= seriesContrast {
		return accent
	}
	tint, shade := mixColor(primary, 255, 0.6), mixColor(primary, 0, 0.55)
	if contrastRatio(lp, relativeLuminance(tint)) >= contrastRatio(lp, relativeLuminance(shade)) {
		return tint
	}
	return shade
}

// mixColor moves a #rrggbb colour the share towards the grey level to
// (255 white, 0 black).
func mixColor(hexColor string, to int, share float64) string {
	var r, g, b int
	if _, err := fmt.Sscanf(hexColor, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return hexColor
	}
	mix := func(c int) int { return int(math.Round(float64(c) + (float64(to)-float64(c))*share)) }
	return fmt.Sprintf("#%02x%02x%02x", mix(r), mix(g), mix(b))
}

// contrastWarnings tells, per colour field, where text would fail WCAG
// AA: black or white text on the colour (buttons, the selected menu
// entry), and the primary colour as text on the white page (links). They
// are warnings: the reseller may still save.
func contrastWarnings(primary, accent string) map[string]string {
	out := map[string]string{}
	ratio := func(r float64) string { return fmt.Sprintf("%.1f:1", math.Floor(r*10)/10) }
	for field, c := range map[string]string{"primary_color": primary, "accent_color": accent} {
		if !config.ValidColor(c) {
			continue
		}
		if best := bestTextContrast(c); best < wcagAA {
			out[field] = "Text on this colour reaches only " + ratio(best) + " with black or white; WCAG AA asks for 4.5:1."
		}
	}
	if _, warned := out["primary_color"]; !warned && config.ValidColor(primary) {
		if r := contrastRatio(relativeLuminance(primary), 1); r < wcagAA {
			out["primary_color"] = "Links in this colour on the white page reach only " + ratio(r) +
				"; WCAG AA asks for 4.5:1. You can save it, but a darker shade would be easier to read."
		}
	}
	if _, warned := out["accent_color"]; !warned && config.ValidColor(primary) && config.ValidColor(accent) {
		if derived := seriesColor(primary, accent); derived != accent {
			out["accent_color"] = "This colour is too close to the primary colour to tell inbound from outbound calls in your clients' charts, " +
				"so the charts draw inbound calls in " + derived + " instead. Choose a lighter or darker accent to use it there too."
		}
	}
	return out
}

// The editor.

type brandingData struct {
	Form                *Form
	Warnings            map[string]string // field → contrast warning
	LogoURL, FaviconURL string            // the saved images
	Initial             string            // the preview's brand mark
	MaxSize             string
}

func (a *App) brandingData(tenant *store.Reseller, form *Form) brandingData {
	logo, favicon := a.brandAssetURLs(tenant.ID)
	name := form.Values["product_name"]
	if name == "" {
		name = tenant.Name
	}
	initial, _ := utf8.DecodeRuneInString(name)
	return brandingData{Form: form, Warnings: contrastWarnings(form.Values["primary_color"], form.Values["accent_color"]),
		LogoURL: logo, FaviconURL: favicon, Initial: string(unicode.ToUpper(initial)), MaxSize: maxBrandImageSize}
}

// brandImageField is the view of one image upload.
type brandImageField struct {
	Name, Label, Hint, URL, Error, MaxSize string
	Remove, Focus                          bool
}

// Image builds the view of the logo or favicon upload.
func (d brandingData) Image(name, label, hint string) brandImageField {
	f := brandImageField{Name: name, Label: label, Hint: hint, Error: d.Form.Errors[name], MaxSize: d.MaxSize,
		Remove: d.Form.Values["remove_"+name] == "on", Focus: d.Form.Focus(name)}
	if name == store.AssetLogo {
		f.URL = d.LogoURL
	} else {
		f.URL = d.FaviconURL
	}
	return f
}

// brandColorField is the view of one colour input.
type brandColorField struct {
	Name, Label, Hint, Value, Error, Warning string
	Swatch                                   string // the picker's value: always a valid colour
	Focus                                    bool
}

// Color builds the view of a colour input with its contrast warning.
func (d brandingData) Color(name, label, hint string) brandColorField {
	f := brandColorField{Name: name, Label: label, Hint: hint, Value: d.Form.Values[name], Error: d.Form.Errors[name],
		Warning: d.Warnings[name], Swatch: d.Form.Values[name], Focus: d.Form.Focus(name)}
	if !config.ValidColor(f.Swatch) {
		f.Swatch = "#000000"
	}
	return f
}

// showBranding renders the editor filled with the saved brand.
func (a *App) showBranding(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	in := branding.Input{Brand: tenant.Brand}
	if in.Brand.ProductName == "" {
		in.Brand.ProductName = tenant.Name
	}
	form := brandingForm(in.Clean())
	return a.render(c, fiber.StatusOK, "branding/edit", "Branding", a.brandingData(tenant, form))
}

// saveBranding saves the form and its images in one transaction, or shows
// the form again with 422 and nothing saved. The tenant cache is dropped
// afterwards, so the next page, error page and email of this reseller
// carry the new brand.
func (a *App) saveBranding(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	in, err := readBranding(c, a.decodes)
	if err != nil {
		return err
	}
	by := a.actor(c)
	err = a.branding.Save(tenant, in, by)
	if problems, invalid := fault.FieldsOf(err); invalid {
		form := brandingForm(in.Clean())
		form.Errors = problems.Map()
		form.Error = "Nothing was saved. Please correct the fields marked below."
		if len(in.Images) > 0 {
			form.Error += " Choose your image files again: browsers do not keep them."
		}
		return a.render(c, fiber.StatusUnprocessableEntity, "branding/edit", "Branding", a.brandingData(tenant, form))
	}
	if err != nil {
		return err
	}
	a.InvalidateTenants() // every page of this reseller changes at once
	a.setFlash(c, "success", "Branding saved. Your portal's pages and emails use it from now on.")
	return c.Redirect("/reseller/branding", fiber.StatusSeeOther)
}

// brandingForm is the editor's form filled with in's values.
func brandingForm(in branding.Input) *Form {
	b := in.Brand
	form := newForm()
	for field, v := range map[string]string{"product_name": b.ProductName, "primary_color": b.PrimaryColor, "accent_color": b.AccentColor,
		"support_email": b.SupportEmail, "support_url": b.SupportURL, "footer_text": b.FooterText, "mail_sender": b.MailSender} {
		form.Values[field] = v
	}
	for name := range in.Remove {
		form.Values["remove_"+name] = "on" // kept ticked if the form comes back
	}
	return form
}

// readBranding reads every field and image of the form; images are
// decoded and re-encoded here, and an upload that is not a usable image
// is one of in.Refused. Only an unexpected failure is an error.
func readBranding(c *fiber.Ctx, decodes *gate.Gate) (branding.Input, error) {
	field := func(name string) string { return strings.Clone(c.FormValue(name)) } // Fiber reuses the request's memory
	in := branding.Input{Brand: store.Brand{ProductName: field("product_name"), PrimaryColor: field("primary_color"),
		AccentColor: field("accent_color"), SupportEmail: field("support_email"), SupportURL: field("support_url"),
		FooterText: field("footer_text"), MailSender: field("mail_sender")},
		Images: map[string][]byte{}, Remove: map[string]bool{}}
	for _, name := range branding.Assets {
		if c.FormValue("remove_"+name) == "on" {
			in.Remove[name] = true
		}
		data, err := uploadedImage(c, decodes, name, func(filename string, data []byte) ([]byte, error) {
			return processBrandImage(name, filename, data)
		})
		var refusal imageError
		switch {
		case errors.As(err, &refusal):
			in.Refused.Add(name, refusal.Error())
		case err != nil:
			return in, err
		case data != nil:
			in.Images[name] = data
		}
	}
	return in, nil
}
