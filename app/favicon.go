package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/gofiber/fiber/v2"

	"portico/app/fault"
	"portico/store"
)

// Browsers ask every site for /favicon.ico, whatever the page links. It
// answers with the reseller's favicon (uploaded on the branding page) or,
// when there is none, a default drawn in the brand's primary colour, so
// that no page view logs a 404 for it.

// faviconMaxAge is how long browsers may keep /favicon.ico: its URL stays
// the same when the reseller uploads another (pages link the upload by a
// URL of its own, which changes with it).
const faviconMaxAge = "public, max-age=86400"

// showFavicon serves the host's reseller's favicon, or the default one.
func (a *App) showFavicon(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var data []byte
	err := a.store.View(func(tx *store.Tx) error {
		asset, err := tx.BrandAsset(tenant.ID, store.AssetFavicon) // tenant scope: the reseller comes from the host
		if err == nil {
			data = bytes.Clone(asset.Data) // bbolt's bytes live only as long as the transaction
		}
		if fault.Is(err, fault.NotFound) { // no upload: the default below
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if data == nil {
		data = defaultFavicon(tenant.Brand.PrimaryColor)
	}
	sum := sha256.Sum256(data)
	return sendPNG(c, `"`+hex.EncodeToString(sum[:16])+`"`, faviconMaxAge, data)
}

// defaultFaviconSize is the default icon's side in pixels.
const defaultFaviconSize = 32

// defaultFavicon draws a disc in the colour (#rrggbb; the default blue
// when it is not one) on a transparent square, as a PNG: the brand mark
// without its letter, which is too small to read in a browser tab.
func defaultFavicon(hexColor string) []byte {
	fill := color.NRGBA{0x24, 0x57, 0xd6, 0xff}
	var r, g, b uint8
	if _, err := fmt.Sscanf(hexColor, "#%02x%02x%02x", &r, &g, &b); err == nil && len(hexColor) == 7 {
		fill = color.NRGBA{r, g, b, 0xff}
	}
	img := image.NewNRGBA(image.Rect(0, 0, defaultFaviconSize, defaultFaviconSize))
	const c = float64(defaultFaviconSize) / 2
	for y := range defaultFaviconSize {
		for x := range defaultFaviconSize {
			dx, dy := float64(x)+0.5-c, float64(y)+0.5-c
			// a soft edge: full inside the radius, fading over one pixel
			if d := c - 0.5 - math.Hypot(dx, dy); d > 0 {
				px := fill
				if d < 1 {
					px.A = uint8(float64(px.A) * d)
				}
				img.SetNRGBA(x, y, px)
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // encoding an in-memory image cannot fail
	return buf.Bytes()
}
