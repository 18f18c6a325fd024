package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"portico/store"
)

// showHealth answers 200 while the store can be read.
func (a *App) showHealth(c *fiber.Ctx) error {
	if err := a.store.View(func(*store.Tx) error { return nil }); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable"})
	}
	return c.JSON(fiber.Map{"status": "ok", "version": a.version})
}

// showMetrics serves Prometheus metrics to the addresses in
// server.metrics_from only (loopback by default).
func (a *App) showMetrics(c *fiber.Ctx) error {
	ip, err := netip.ParseAddr(c.IP())
	allowed := false
	for _, p := range a.metricsFrom {
		if err == nil && p.Contains(ip.Unmap()) {
			allowed = true
		}
	}
	if !allowed || a.metrics == nil { // security: metrics are for the operator only
		return fiber.ErrNotFound
	}
	return adaptor.HTTPHandler(a.metrics.Handler())(c)
}

// brandVersion changes whenever the brand's stylesheet would. Every page
// asks for it, so it is memoised by the colours it depends on.
func (a *App) brandVersion(r *store.Reseller) string {
	key := r.Brand.PrimaryColor + r.Brand.AccentColor
	if v, ok := a.brandVersions.Load(key); ok {
		return v.(string)
	}
	sum := sha256.Sum256([]byte(brandCSS(r)))
	v := hex.EncodeToString(sum[:6])
	a.brandVersions.Store(key, v)
	return v
}

// brandCSS is the reseller's colours as CSS custom properties; the colours
// were validated as #rrggbb when the reseller was configured. Charts draw
// their second series in --brand-series-2 (seriesColor).
func brandCSS(r *store.Reseller) string {
	primary, accent := strings.ToLower(r.Brand.PrimaryColor), strings.ToLower(r.Brand.AccentColor)
	return fmt.Sprintf(":root{--brand-primary:%s;--brand-accent:%s;--brand-on-primary:%s;--brand-series-2:%s}\n",
		r.Brand.PrimaryColor, r.Brand.AccentColor, readableOn(r.Brand.PrimaryColor), seriesColor(primary, accent))
}

// showBrandCSS serves the tenant's stylesheet; its URL carries a version,
// so it may be cached for long.
func (a *App) showBrandCSS(c *fiber.Ctx) error {
	r := tenantOf(c)
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderETag, `"`+a.brandVersion(r)+`"`)
	if c.Get(fiber.HeaderIfNoneMatch) == `"`+a.brandVersion(r)+`"` {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Type("css", "utf-8")
	return c.SendString(brandCSS(r))
}

// readableOn picks black or white text for a background colour by WCAG
// relative luminance.
func readableOn(hexColor string) string {
	lum := relativeLuminance(hexColor)
	if contrastRatio(lum, 1) >= contrastRatio(lum, 0) {
		return "#ffffff"
	}
	return "#000000"
}

func channel(v int) float64 {
	c := float64(v) / 255
	if c <= 0.03928 {
		return c / 12.92
	}
	return math.Pow((c+0.055)/1.055, 2.4)
}
