package app

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"portico/store"
)

// WebP samples (40 × 20, a red-to-blue gradient with a transparent
// corner) written by Chromium's canvas.toDataURL: the standard library
// has no WebP encoder.
const (
	webpLossy    = "UklGRpgCAABXRUJQVlA4WAoAAAAwAAAAJwAAEwAASUNDUMgBAAAAAAHIAAAAAAQwAABtbnRyUkdCIFhZWiAH4AABAAEAAAAAAABhY3NwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAA9tYAAQAAAADTLQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAlkZXNjAAAA8AAAACRyWFlaAAABFAAAABRnWFlaAAABKAAAABRiWFlaAAABPAAAABR3dHB0AAABUAAAABRyVFJDAAABZAAAAChnVFJDAAABZAAAAChiVFJDAAABZAAAAChjcHJ0AAABjAAAADxtbHVjAAAAAAAAAAEAAAAMZW5VUwAAAAgAAAAcAHMAUgBHAEJYWVogAAAAAAAAb6IAADj1AAADkFhZWiAAAAAAAABimQAAt4UAABjaWFlaIAAAAAAAACSgAAAPhAAAts9YWVogAAAAAAAA9tYAAQAAAADTLXBhcmEAAAAAAAQAAAACZmYAAPKnAAANWQAAE9AAAApbAAAAAAAAAABtbHVjAAAAAAAAAAEAAAAMZW5VUwAAACAAAAAcAEcAbwBvAGcAbABlACAASQBuAGMALgAgADIAMAAxADZBTFBIGQAAAAEPMP8REUJN2wYMf5ZlkrcLQET/J0AAnqsAVlA4IIgAAAAQBgCdASooABQAPm0wlEavIqIhJWzJ4A2JZgB4hfFvx0/IDkUDIPoCa8oozAXzsgBPNOh00A5FCAAA/vI7wpGov/fi3kTJneGOLH//7MW/9VcfT/4Vrw0xTdiuRtXPffiUusoR2k9CuQ2f/gvUEeK7eY4Xvm/VXxRsAIt+Hdn/LDgCMD9GieAA"
	webpLossless = "UklGRoICAABXRUJQVlA4WAoAAAAwAAAAJwAAEwAASUNDUMgBAAAAAAHIAAAAAAQwAABtbnRyUkdCIFhZWiAH4AABAAEAAAAAAABhY3NwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAA9tYAAQAAAADTLQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAlkZXNjAAAA8AAAACRyWFlaAAABFAAAABRnWFlaAAABKAAAABRiWFlaAAABPAAAABR3dHB0AAABUAAAABRyVFJDAAABZAAAAChnVFJDAAABZAAAAChiVFJDAAABZAAAAChjcHJ0AAABjAAAADxtbHVjAAAAAAAAAAEAAAAMZW5VUwAAAAgAAAAcAHMAUgBHAEJYWVogAAAAAAAAb6IAADj1AAADkFhZWiAAAAAAAABimQAAt4UAABjaWFlaIAAAAAAAACSgAAAPhAAAts9YWVogAAAAAAAA9tYAAQAAAADTLXBhcmEAAAAAAAQAAAACZmYAAPKnAAANWQAAE9AAAApbAAAAAAAAAABtbHVjAAAAAAAAAAEAAAAMZW5VUwAAACAAAAAcAEcAbwBvAGcAbABlACAASQBuAGMALgAgADIAMAAxADZWUDhMkwAAAC8nwAQQLwIQhP91AwrSNmDR/tS0bcAk/BF3HPNfB36EBsrCAuQBsrBAaSCsVoGAI0myTevZto1v2zz7X9QfGaOI/hNM0lTbMQAAsFktZ9PxqN/rtBt1WaRJFHqubemaIgs8y5AEht6yXswn4+Gg1201qzLPkjjwHds0NFUSOZamCBx53buejvvdXe5yPh62/5RDAAA="
)

// testImage is a w × h gradient with a transparent top-left corner.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(255 * x / w), G: 80, B: uint8(255 * y / h), A: 255})
		}
	}
	for y := range min(h, 4) {
		for x := range min(w, 4) {
			img.Set(x, y, color.NRGBA{})
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decodeBase64(t testing.TB, s string) []byte {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// pngClaiming is a valid 1 × 1 PNG whose header claims w × h: a
// decompression bomb as far as the header goes.
func pngClaiming(t testing.TB, w, h uint32) []byte {
	t.Helper()
	data := encodePNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	// signature (8), IHDR length (4), "IHDR" (4), width, height, …, CRC
	binary.BigEndian.PutUint32(data[16:], w)
	binary.BigEndian.PutUint32(data[20:], h)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}

// TestProcessBrandImage: every accepted format comes out as a PNG of the
// asset's size; nothing of the original file survives.
func TestProcessBrandImage(t *testing.T) {
	t.Parallel()
	wide := testImage(400, 200)
	small := testImage(40, 20)
	polyglot := append(encodePNG(t, wide), []byte("<html><script>alert(document.cookie)</script></html>")...)
	cases := []struct {
		name, asset string
		data        []byte
		w, h        int
	}{
		{"png logo scaled to 96 high", store.AssetLogo, encodePNG(t, wide), 192, 96},
		{"jpeg logo scaled", store.AssetLogo, encodeJPEG(t, wide), 192, 96},
		{"gif logo scaled", store.AssetLogo, encodeGIF(t, wide), 192, 96},
		{"small png logo kept", store.AssetLogo, encodePNG(t, small), 40, 20},
		{"very wide logo bounded by width", store.AssetLogo, encodePNG(t, testImage(2000, 100)), 480, 24},
		{"lossy webp logo", store.AssetLogo, decodeBase64(t, webpLossy), 40, 20},
		{"lossless webp logo", store.AssetLogo, decodeBase64(t, webpLossless), 40, 20},
		{"png favicon squared", store.AssetFavicon, encodePNG(t, wide), 64, 64},
		{"small gif favicon enlarged", store.AssetFavicon, encodeGIF(t, small), 64, 64},
		{"webp favicon", store.AssetFavicon, decodeBase64(t, webpLossy), 64, 64},
		{"png with an html payload appended", store.AssetLogo, polyglot, 192, 96},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := processBrandImage(tc.asset, "upload.bin", tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, []byte("\x89PNG\r\n\x1a\n")) {
				t.Fatalf("output is not a PNG: % x", out[:8])
			}
			img, err := png.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("size %d × %d, want %d × %d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
			if bytes.Contains(out, []byte("<script")) || bytes.Contains(out, []byte("<html")) {
				t.Errorf("payload survived re-encoding")
			}
			if tc.asset == store.AssetFavicon {
				// letterboxed on transparency: the corners of a wide image stay clear
				if _, _, _, a := img.At(0, 63).RGBA(); a != 0 && tc.w == tc.h && tc.name == "png favicon squared" {
					t.Errorf("favicon's padding is not transparent")
				}
			}
		})
	}
}

// TestProcessBrandImageRefusals: SVG, files that are not images whatever
// their name, damaged images, oversized files and pixel bombs are refused
// with a message for people.
func TestProcessBrandImageRefusals(t *testing.T) {
	t.Parallel()
	svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	html := []byte("<!doctype html><html><body><script>alert(document.cookie)</script></body></html>")
	pngData := encodePNG(t, testImage(50, 50))
	cases := []struct {
		name, filename string
		data           []byte
		want           string
	}{
		{"svg", "logo.svg", svg, "SVG is not accepted: upload PNG, JPEG, GIF or WebP"},
		{"svg renamed png", "logo.png", svg, "SVG is not accepted"},
		{"svg by name only", "logo.svg", []byte("garbage"), "SVG is not accepted"},
		{"html renamed png", "logo.png", html, "not a PNG, JPEG, GIF or WebP image"},
		{"empty file", "logo.png", nil, "not a PNG, JPEG, GIF or WebP image"},
		{"png magic then html", "logo.png", append([]byte("\x89PNG\r\n\x1a\n"), html...), "could not be read"},
		{"truncated png", "logo.png", pngData[:len(pngData)/2], "could not be read"},
		{"pixel bomb", "logo.png", pngClaiming(t, 20000, 20000), "20000 × 20000 pixels"},
		{"oversized", "logo.png", append(encodePNG(t, testImage(8, 8)), make([]byte, maxBrandImageBytes)...), "larger than 2 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := processBrandImage(store.AssetLogo, tc.filename, tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, ok := err.(imageError); !ok || out != nil {
				t.Errorf("want an imageError and no output, got %T, %d bytes", err, len(out))
			}
		})
	}
}

// TestContrastWarnings: the primary colour warns when links in it fail
// on the white page; no colour fails with the better of black and white
// text (its floor is about 4.58:1), which is why that rule never fires.
func TestContrastWarnings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		primary, accent string
		warned          []string
	}{
		{"#2457d6", "#f59e0b", nil},
		{"#ffdd00", "#f59e0b", []string{"primary_color"}},
		{"#777777", "#ffdd00", []string{"primary_color"}},
		{"#767676", "#ffffff", nil}, // 4.54:1 on white passes
		{"red", "#00ff00", nil},     // invalid colours get errors, not warnings
	}
	for _, tc := range cases {
		got := contrastWarnings(tc.primary, tc.accent)
		if len(got) != len(tc.warned) {
			t.Errorf("%s/%s: warnings %v, want %v", tc.primary, tc.accent, got, tc.warned)
		}
		for _, f := range tc.warned {
			if !strings.Contains(got[f], "WCAG AA asks for 4.5:1") {
				t.Errorf("%s/%s: %s warning = %q", tc.primary, tc.accent, f, got[f])
			}
		}
	}
	if got := contrastWarnings("#ffdd00", "#000000")["primary_color"]; !strings.Contains(got, "reach only 1.3:1") {
		t.Errorf("yellow on white = %q", got)
	}
	floor := 21.0
	for r := 0; r < 256; r += 15 {
		for g := 0; g < 256; g += 3 {
			for b := 0; b < 256; b += 15 {
				c := "#" + hex2(r) + hex2(g) + hex2(b)
				floor = min(floor, bestTextContrast(c))
			}
		}
	}
	if floor < wcagAA {
		t.Errorf("best text contrast floor %.2f is below 4.5", floor)
	}
}

func hex2(v int) string { return string("0123456789abcdef"[v>>4]) + string("0123456789abcdef"[v&15]) }

// upload is one file of a multipart form.
type upload struct {
	filename string
	data     []byte
}

// postMultipart sends a multipart form as the branding editor does, with
// the page's CSRF token unless the fields carry their own.
func (b *browser) postMultipart(host, formPath, action string, fields map[string]string, files map[string]upload) response {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if _, ok := fields["_csrf"]; !ok {
		fields["_csrf"] = b.csrf(host, formPath)
	}
	for k, v := range fields {
		if v != "\x00omit" {
			_ = w.WriteField(k, v)
		}
	}
	for k, f := range files {
		part, err := w.CreateFormFile(k, f.filename)
		if err != nil {
			b.t.Fatal(err)
		}
		_, _ = part.Write(f.data)
	}
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, b.ts.url(host, action), &body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.send(req)
}

// brandFields are valid editor fields; tests change what they need.
func brandFields(name, primary string) map[string]string {
	return map[string]string{"product_name": name, "primary_color": primary, "accent_color": "#00aa00",
		"support_email": "", "support_url": "", "footer_text": "", "mail_sender": ""}
}

var (
	logoURLPattern    = regexp.MustCompile(`<img class="brand-logo" src="(/brand/logo-[0-9a-f]{16}\.png)"`)
	faviconURLPattern = regexp.MustCompile(`<link rel="icon" type="image/png" href="(/brand/favicon-[0-9a-f]{16}\.png)">`)
	brandCSSPattern   = regexp.MustCompile(`href="(/brand\.css\?v=[0-9a-f]+)"`)
)

// brandCSSOf is the stylesheet the page at path links to on host.
func (b *browser) brandCSSOf(host, path string) string {
	b.t.Helper()
	m := brandCSSPattern.FindStringSubmatch(b.get(host, path).body)
	if m == nil {
		b.t.Fatalf("no brand stylesheet on %s%s", host, path)
	}
	return b.get(host, m[1]).body
}

// TestBrandingSaveAppliesToOneReseller: acme's owner saves a new brand
// with a logo and a favicon; acme's pages, error pages, stylesheet and
// mail change at once, globex's do not.
func TestBrandingSaveAppliesToOneReseller(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.acmeOwner()
	visitor := ts.browser()
	visitor.get(globexHost, "/login") // warm globex's tenant cache: the save must not leak into it

	page := owner.get(acmeHost, "/reseller/branding")
	if page.status != http.StatusOK || !strings.Contains(page.body, `value="Acme Voice"`) || !strings.Contains(page.body, `value="#aa0000"`) ||
		!strings.Contains(page.body, `enctype="multipart/form-data"`) || !strings.Contains(page.body, "js/branding.js") {
		t.Fatalf("editor: %d\n%s", page.status, page.body)
	}

	fields := brandFields("Acme Cloud", "#123456")
	fields["support_email"] = "help@acme.example"
	fields["support_url"] = "https://help.acme.example/start"
	fields["footer_text"] = "Acme Cloud Ltd"
	fields["mail_sender"] = "Acme Help Desk"
	r := owner.postMultipart(acmeHost, "/reseller/branding", "/reseller/branding", fields, map[string]upload{
		"logo":    {"logo.png", encodePNG(t, testImage(400, 200))},
		"favicon": {"icon.gif", encodeGIF(t, testImage(32, 32))},
	})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/reseller/branding" {
		t.Fatalf("save: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if page := owner.get(acmeHost, "/reseller/branding"); !strings.Contains(page.body, "Branding saved") || !strings.Contains(page.body, `value="Acme Help Desk"`) {
		t.Errorf("after save the editor lacks the flash or the values:\n%s", page.body)
	}

	login := visitor.get(acmeHost, "/login")
	for _, want := range []string{"Acme Cloud", "Acme Cloud Ltd", "help@acme.example"} {
		if !strings.Contains(login.body, want) {
			t.Errorf("acme sign-in page lacks %q", want)
		}
	}
	logo := logoURLPattern.FindStringSubmatch(login.body)
	favicon := faviconURLPattern.FindStringSubmatch(login.body)
	if logo == nil || favicon == nil || strings.Contains(login.body, `class="brand-mark"`) {
		t.Fatalf("acme sign-in page: logo %v favicon %v\n%s", logo, favicon, login.body)
	}
	if css := visitor.brandCSSOf(acmeHost, "/login"); !strings.Contains(css, "--brand-primary:#123456") {
		t.Errorf("acme stylesheet = %q", css)
	}
	if notFound := visitor.get(acmeHost, "/no-such-page"); notFound.status != http.StatusNotFound || !strings.Contains(notFound.body, "Acme Cloud") {
		t.Errorf("acme error page: %d, brand missing", notFound.status)
	}
	if console := owner.get(acmeHost, "/reseller"); !strings.Contains(console.body, logo[1]) || !strings.Contains(console.body, "Acme Cloud") {
		t.Errorf("console header lacks the new brand")
	}

	other := visitor.get(globexHost, "/login")
	if !strings.Contains(other.body, "Globex Lines") || strings.Contains(other.body, "Acme") || strings.Contains(other.body, "/brand/") {
		t.Errorf("globex sign-in page shows acme's brand:\n%s", other.body)
	}
	if css := visitor.brandCSSOf(globexHost, "/login"); !strings.Contains(css, "--brand-primary:#0000aa") {
		t.Errorf("globex stylesheet = %q", css)
	}

	// mail: acme's comes from the new sender name, globex's as before
	visitor.post(acmeHost, "/password/forgot", "/password/forgot", url.Values{"email": {"owner@acme.example"}})
	visitor.post(globexHost, "/password/forgot", "/password/forgot", url.Values{"email": {"owner@globex.example"}})
	var outbox []*store.MailMessage
	ts.store.View(func(tx *store.Tx) (err error) { outbox, err = tx.Outbox(); return err })
	if len(outbox) != 2 || outbox[0].FromName != "Acme Help Desk" || !strings.Contains(outbox[0].Subject, "Acme Cloud") ||
		outbox[1].FromName != "Globex Lines" {
		t.Errorf("outbox senders: %+v", outbox)
	}

	var events []*store.AuditEvent
	ts.store.View(func(tx *store.Tx) (err error) { events, _, err = tx.AuditEvents(ts.ids["acme"], 0, 10); return err })
	found := false
	for _, e := range events {
		if e.Action == "branding.update" {
			found = e.Actor == "owner@acme.example" && strings.Contains(e.Target, "product name") && strings.Contains(e.Target, "logo")
		}
	}
	if !found {
		t.Errorf("no branding.update audit event: %+v", events)
	}
}

// TestBrandAssetServing: the logo is served as a PNG with an ETag and a
// year of immutable caching, 304 on revalidation; another reseller's host,
// a wrong digest or a replaced image are not found.
func TestBrandAssetServing(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.acmeOwner()
	save := func(files map[string]upload, extra map[string]string) string {
		t.Helper()
		fields := brandFields("Acme Voice", "#aa0000")
		for k, v := range extra {
			fields[k] = v
		}
		if r := owner.postMultipart(acmeHost, "/reseller/branding", "/reseller/branding", fields, files); r.status != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", r.status, r.body)
		}
		if m := logoURLPattern.FindStringSubmatch(owner.get(acmeHost, "/reseller").body); m != nil {
			return m[1]
		}
		return ""
	}
	logoURL := save(map[string]upload{"logo": {"logo.jpg", encodeJPEG(t, testImage(300, 300))}}, nil)
	if logoURL == "" {
		t.Fatal("no logo in the header after upload")
	}

	anyone := ts.browser()
	r := anyone.get(acmeHost, logoURL)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d", logoURL, r.status)
	}
	for header, want := range map[string]string{
		"Content-Type":           "image/png",
		"Cache-Control":          "public, max-age=31536000, immutable",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := r.header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	etag := r.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`+strings.TrimSuffix(strings.TrimPrefix(logoURL, "/brand/logo-"), ".png")) {
		t.Errorf("ETag %q does not match the URL %s", etag, logoURL)
	}
	img, err := png.Decode(strings.NewReader(r.body))
	if err != nil || img.Bounds().Dy() != logoMaxHeight || img.Bounds().Dx() != logoMaxHeight {
		t.Errorf("served logo: %v %v", err, img)
	}
	if r := anyone.do(http.MethodGet, acmeHost, logoURL, nil, map[string]string{"If-None-Match": etag}); r.status != http.StatusNotModified || r.body != "" {
		t.Errorf("revalidation: %d, %d bytes", r.status, len(r.body))
	}
	if r := anyone.get(acmeDomain, logoURL); r.status != http.StatusOK {
		t.Errorf("acme's custom domain: %d", r.status)
	}
	if r := anyone.get(globexHost, logoURL); r.status != http.StatusNotFound {
		t.Errorf("acme's logo on globex's host: %d, want 404", r.status)
	}
	for _, path := range []string{"/brand/logo-0000000000000000.png", "/brand/favicon-" + logoURL[len("/brand/logo-"):], "/brand/logo.png", "/brand/../brand.css"} {
		if r := anyone.get(acmeHost, path); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.status)
		}
	}

	// replacing the image changes its URL; the old one is gone
	newURL := save(map[string]upload{"logo": {"logo.png", encodePNG(t, testImage(100, 50))}}, nil)
	if newURL == "" || newURL == logoURL {
		t.Fatalf("logo URL after replacing: %q (was %q)", newURL, logoURL)
	}
	if r := anyone.get(acmeHost, logoURL); r.status != http.StatusNotFound {
		t.Errorf("replaced logo: %d, want 404", r.status)
	}
	// removing it brings back the initial
	if got := save(nil, map[string]string{"remove_logo": "on"}); got != "" {
		t.Errorf("logo still shown after removal: %s", got)
	}
	if r := anyone.get(acmeHost, newURL); r.status != http.StatusNotFound {
		t.Errorf("removed logo: %d, want 404", r.status)
	}
	if !strings.Contains(anyone.get(acmeHost, "/login").body, `<span class="brand-mark" aria-hidden="true">A</span>`) {
		t.Errorf("the initial is not back after removing the logo")
	}
}

// TestBrandingRefusesBadInput: each mistake gives 422 with its message and
// the typed values kept, and nothing is saved.
func TestBrandingRefusesBadInput(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.acmeOwner()
	pngLogo := encodePNG(t, testImage(100, 100))
	cases := []struct {
		name   string
		fields map[string]string
		files  map[string]upload
		want   []string
	}{
		{"svg logo", nil, map[string]upload{"logo": {"logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)}},
			[]string{"SVG is not accepted: upload PNG, JPEG, GIF or WebP"}},
		{"svg favicon", nil, map[string]upload{"favicon": {"icon.svg", []byte(`<svg/>`)}, "logo": {"logo.png", pngLogo}},
			[]string{"SVG is not accepted", "Choose your image files again"}},
		{"html named png", nil, map[string]upload{"logo": {"logo.png", []byte("<html><script>alert(1)</script></html>")}},
			[]string{"not a PNG, JPEG, GIF or WebP image"}},
		{"pixel bomb", nil, map[string]upload{"logo": {"logo.png", pngClaiming(t, 30000, 30000)}}, []string{"30000 × 30000 pixels"}},
		{"bad colour", map[string]string{"primary_color": "red"}, nil, []string{"Enter a colour as # and six hex digits", `value="red"`}},
		{"colour injection", map[string]string{"accent_color": "#fff;}body{x"}, nil, []string{"Enter a colour"}},
		{"empty name", map[string]string{"product_name": " "}, nil, []string{"Enter the name your clients know"}},
		{"javascript url", map[string]string{"support_url": "javascript:alert(1)"}, nil, []string{"starting with https://", `value="javascript:alert(1)"`}},
		{"bad email", map[string]string{"support_email": "Help <help@acme.example>"}, nil, []string{"Enter an email address such as"}},
		{"header injection", map[string]string{"mail_sender": "Acme\r\nBcc: all@example.com"}, nil, []string{"without &lt; &gt;"}},
	}
	for _, tc := range cases {
		fields := brandFields("Acme Renamed", "#123456")
		for k, v := range tc.fields {
			fields[k] = v
		}
		r := owner.postMultipart(acmeHost, "/reseller/branding", "/reseller/branding", fields, tc.files)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", tc.name, r.status)
			continue
		}
		want := append(tc.want, "Nothing was saved")
		if tc.name != "empty name" {
			want = append(want, `value="Acme Renamed"`)
		}
		for _, want := range want {
			if !strings.Contains(r.body, want) {
				t.Errorf("%s: page lacks %q", tc.name, want)
			}
		}
	}

	// Oversized: the branding route accepts bodies up to UploadLimit, so a
	// file over 2 MiB reaches the handler and is refused with a message.
	big := append(encodePNG(t, testImage(8, 8)), make([]byte, maxBrandImageBytes)...)
	r := owner.postMultipartTolerant(acmeHost, brandFields("Acme Renamed", "#123456"), map[string]upload{"logo": {"big.png", big}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "larger than 2 MiB") {
		t.Errorf("oversized: %d, want 422 with a message", r.status)
	}

	if login := ts.browser().get(acmeHost, "/login"); !strings.Contains(login.body, "Acme Voice") || strings.Contains(login.body, "Renamed") {
		t.Errorf("a refused form changed the brand")
	}
	var n int
	ts.store.View(func(tx *store.Tx) error { a, _ := tx.BrandAssetHeaders(ts.ids["acme"]); n = len(a); return nil })
	if n != 0 {
		t.Errorf("%d images stored by refused forms", n)
	}
}

// postMultipartTolerant is postMultipart for requests the server may cut
// short (413 before the body is read): status 0 when the connection broke.
func (b *browser) postMultipartTolerant(host string, fields map[string]string, files map[string]upload) response {
	b.t.Helper()
	fields["_csrf"] = b.csrf(host, "/reseller/branding")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	for k, f := range files {
		part, _ := w.CreateFormFile(k, f.filename)
		_, _ = part.Write(f.data)
	}
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, b.ts.url(host, "/reseller/branding"), &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := b.client.Do(req)
	if err != nil {
		return response{}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// TestBrandingWarnsLowContrast: a colour that fails WCAG AA is saved, and
// the editor warns about it.
func TestBrandingWarnsLowContrast(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.acmeOwner()
	if page := owner.get(acmeHost, "/reseller/branding"); strings.Contains(page.body, "WCAG AA asks") {
		t.Errorf("warning shown for acme's readable #aa0000")
	}
	r := owner.postMultipart(acmeHost, "/reseller/branding", "/reseller/branding", brandFields("Acme Voice", "#ffdd00"), nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("a low-contrast colour was refused: %d\n%s", r.status, r.body)
	}
	page := owner.get(acmeHost, "/reseller/branding")
	if !strings.Contains(page.body, "Links in this colour on the white page reach only 1.3:1; WCAG AA asks for 4.5:1") {
		t.Errorf("no contrast warning after saving #ffdd00:\n%s", page.body)
	}
	if css := ts.browser().brandCSSOf(acmeHost, "/login"); !strings.Contains(css, "--brand-primary:#ffdd00;") || !strings.Contains(css, "--brand-on-primary:#000000") {
		t.Errorf("stylesheet = %q", css)
	}
	// the warning also accompanies a form that comes back for another reason
	fields := brandFields("", "#ffdd00")
	if r := owner.postMultipart(acmeHost, "/reseller/branding", "/reseller/branding", fields, nil); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "Links in this colour") {
		t.Errorf("422 page: %d, warning missing", r.status)
	}
}

// TestBrandingAccess: only owners and admins edit the brand; the form
// needs its CSRF token, which is read from the multipart body.
func TestBrandingAccess(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	support := ts.signedIn(acmeHost, "support@acme.example", "/reseller")
	if r := support.get(acmeHost, "/reseller/branding"); r.status != http.StatusForbidden {
		t.Errorf("support GET: %d, want 403", r.status)
	}
	if r := support.postMultipart(acmeHost, "/reseller", "/reseller/branding", brandFields("Hijacked", "#000000"), nil); r.status != http.StatusForbidden {
		t.Errorf("support POST: %d, want 403", r.status)
	}
	client := ts.acmeClient()
	if r := client.get(acmeHost, "/reseller/branding"); r.status != http.StatusForbidden {
		t.Errorf("client GET: %d, want 403", r.status)
	}
	if r := ts.browser().get(acmeHost, "/reseller/branding"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Errorf("anonymous GET: %d %s", r.status, r.header.Get("Location"))
	}
	if nav := support.get(acmeHost, "/reseller"); strings.Contains(nav.body, `href="/reseller/branding"`) {
		t.Errorf("support's menu offers Branding")
	}

	ts.addStaff("admin@acme.example", store.RoleAdmin)
	admin := ts.signedIn(acmeHost, "admin@acme.example", "/reseller")
	fields := brandFields("No Token", "#000000")
	fields["_csrf"] = "\x00omit"
	if r := admin.postMultipart(acmeHost, "/reseller/branding", "/reseller/branding", fields, nil); r.status != http.StatusForbidden {
		t.Errorf("multipart without a CSRF token: %d, want 403", r.status)
	}
	fields["_csrf"] = "forged"
	if r := admin.postMultipart(acmeHost, "/reseller/branding", "/reseller/branding", fields, nil); r.status != http.StatusForbidden {
		t.Errorf("multipart with a forged CSRF token: %d, want 403", r.status)
	}
	if r := admin.postMultipart(acmeHost, "/reseller/branding", "/reseller/branding", brandFields("Admin Made", "#000000"), nil); r.status != http.StatusSeeOther {
		t.Errorf("admin save: %d", r.status)
	}
	if !strings.Contains(ts.browser().get(acmeHost, "/login").body, "Admin Made") {
		t.Errorf("admin's save not applied")
	}
	// globex's owner edits globex only, whatever host acme's cookie is for
	gowner := ts.signedIn(globexHost, "owner@globex.example", "/reseller")
	if r := gowner.postMultipart(globexHost, "/reseller/branding", "/reseller/branding", brandFields("Globex Prime", "#0000aa"), nil); r.status != http.StatusSeeOther {
		t.Fatalf("globex save: %d", r.status)
	}
	if body := ts.browser().get(acmeHost, "/login").body; strings.Contains(body, "Globex") || !strings.Contains(body, "Admin Made") {
		t.Errorf("globex's save reached acme")
	}
}
