package app

// Uploaded images, shared by the branding editor (logos, favicons) and
// the Profile tab (avatars): every upload is sniffed, size-capped, decoded
// by its actual format and re-encoded as a fresh PNG, so the store only
// ever holds, and visitors only ever get, pixels this code wrote.

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"portico/app/gate"
)

// Limits of uploaded images.
const (
	// maxImageBytes caps one uploaded file.
	maxImageBytes = 2 << 20
	maxImageSize  = "2 MiB"
	// maxImagePixels caps the decoded size (width × height), read from
	// the header before decoding, so a small file that unpacks into a
	// huge bitmap is refused without allocating it. Every image is stored
	// small (an avatar 256 px square, a favicon 64 px, a logo at most
	// 480 × 96), so 4 megapixels is plenty; decoded, that is 16 MiB at 8
	// bits a channel, 32 MiB at 16.
	maxImagePixels = 2048 * 2048
	maxImageMP     = "4 megapixels (e.g. 2048 × 2048)"
	// decodeSlots bound how many uploads are decoded at once (App.decodes);
	// a further upload waits up to decodeWait for a slot, then gets 503.
	decodeSlots = 2
	decodeWait  = 5 * time.Second
)

// errSVG is what a person is told when they upload an SVG. SVG is refused
// outright: it is a document that can carry script, not just pixels.
var errSVG = imageError("SVG is not accepted: upload PNG, JPEG, GIF or WebP")

// imageError is a refusal written for the person who uploaded the file.
type imageError string

func (e imageError) Error() string { return string(e) }

// imageCodec decodes one format with the format's own package, never
// through image.Decode's registry, so only the four accepted formats are
// ever parsed.
type imageCodec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// sniffImage names the format by the file's first bytes; the name and the
// declared content type of an upload are never trusted.
func sniffImage(data []byte) (string, imageCodec) {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png", imageCodec{png.DecodeConfig, png.Decode}
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return "jpeg", imageCodec{jpeg.DecodeConfig, jpeg.Decode}
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "gif", imageCodec{gif.DecodeConfig, gif.Decode} // the first frame only
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp", imageCodec{webp.DecodeConfig, webp.Decode}
	}
	return "", imageCodec{}
}

// looksLikeSVG tells an SVG apart from other unknown files, only to give
// the clearer message; either way the file is refused.
func looksLikeSVG(filename string, data []byte) bool {
	ext := strings.ToLower(filename)
	if strings.HasSuffix(ext, ".svg") || strings.HasSuffix(ext, ".svgz") {
		return true
	}
	return bytes.Contains(bytes.ToLower(data[:min(len(data), 4096)]), []byte("<svg"))
}

// inspectUpload checks an uploaded file's size, format and dimensions
// from its header alone, allocating nothing in proportion to the picture.
// What the person got wrong is an imageError.
func inspectUpload(filename string, data []byte) (string, imageCodec, image.Config, error) {
	if len(data) > maxImageBytes {
		return "", imageCodec{}, image.Config{}, imageError("The file is larger than " + maxImageSize + ".")
	}
	format, codec := sniffImage(data)
	if format == "" {
		if looksLikeSVG(filename, data) {
			return "", imageCodec{}, image.Config{}, errSVG
		}
		return "", imageCodec{}, image.Config{}, imageError("This file is not a PNG, JPEG, GIF or WebP image.")
	}
	cfg, err := codec.config(bytes.NewReader(data))
	if err != nil {
		return "", imageCodec{}, image.Config{}, imageError("This " + strings.ToUpper(format) + " image could not be read; it may be damaged.")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxImagePixels/cfg.Height {
		return "", imageCodec{}, image.Config{}, imageError(fmt.Sprintf("The image is %d × %d pixels; at most %s are accepted.",
			cfg.Width, cfg.Height, maxImageMP))
	}
	return format, codec, cfg, nil
}

// decodedBytes estimates what decoding and scaling an image of cfg
// allocate: the bitmap at its colour model's bytes per pixel, and a few
// MiB for the scaler (scaleInto).
func decodedBytes(cfg image.Config) int64 {
	perPixel := int64(4)
	switch cfg.ColorModel {
	case color.GrayModel, color.AlphaModel:
		perPixel = 1
	case color.Gray16Model, color.Alpha16Model:
		perPixel = 2
	case color.RGBA64Model, color.NRGBA64Model:
		perPixel = 8
	}
	return int64(cfg.Width)*int64(cfg.Height)*perPixel + 4<<20
}

// scaleInto draws the part sr of src into the part dr of dst with the
// Catmull-Rom kernel. A source many times larger than its destination is
// first averaged down by a whole factor (a box filter) to about twice the
// destination's size: the same picture at a fraction of the time, and of
// the scaler's memory, which holds four float64s per destination column
// for every source row (16 MiB for a 2048-pixel-high source into 256).
func scaleInto(dst *image.RGBA, dr image.Rectangle, src image.Image, sr image.Rectangle) {
	if k := min(sr.Dx()/(2*dr.Dx()), sr.Dy()/(2*dr.Dy())); k >= 2 {
		src, sr = boxShrink(src, sr, k)
	}
	draw.CatmullRom.Scale(dst, dr, src, sr, draw.Src, nil)
}

// boxShrink averages each k × k block of src's part sr into one pixel
// (premultiplied, so transparent pixels lend no colour); the last k-1 rows
// and columns at most are left out.
func boxShrink(src image.Image, sr image.Rectangle, k int) (*image.RGBA, image.Rectangle) {
	out := image.NewRGBA(image.Rect(0, 0, sr.Dx()/k, sr.Dy()/k))
	fast, _ := src.(image.RGBA64Image) // every decoder's image type: no allocation per pixel
	n := uint64(k * k)
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			var r, g, b, a uint64
			for sy := sr.Min.Y + y*k; sy < sr.Min.Y+(y+1)*k; sy++ {
				for sx := sr.Min.X + x*k; sx < sr.Min.X+(x+1)*k; sx++ {
					var c color.RGBA64
					if fast != nil {
						c = fast.RGBA64At(sx, sy)
					} else {
						cr, cg, cb, ca := src.At(sx, sy).RGBA()
						c = color.RGBA64{R: uint16(cr), G: uint16(cg), B: uint16(cb), A: uint16(ca)}
					}
					r, g, b, a = r+uint64(c.R), g+uint64(c.G), b+uint64(c.B), a+uint64(c.A)
				}
			}
			i := out.PixOffset(x, y)
			out.Pix[i+0], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = to8(r/n), to8(g/n), to8(b/n), to8(a/n)
		}
	}
	return out, out.Rect
}

// to8 rounds a 16-bit channel to 8 bits.
func to8(v uint64) uint8 { return uint8(min((v+0x80)>>8, 0xff)) }

// decodeUpload checks an uploaded file (inspectUpload) and decodes it.
// Callers run it in a slot of App.decodes.
func decodeUpload(filename string, data []byte) (image.Image, error) {
	format, codec, _, err := inspectUpload(filename, data)
	if err != nil {
		return nil, err
	}
	src, err := codec.decode(bytes.NewReader(data))
	if err != nil {
		return nil, imageError("This " + strings.ToUpper(format) + " image could not be read; it may be damaged.")
	}
	return src, nil
}

// encodeImagePNG writes img as a compact PNG; what names the image in the
// error.
func encodeImagePNG(what string, img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("app: encode %s: %w", what, err)
	}
	return buf.Bytes(), nil
}

// uploadedImage reads the file sent as field and hands it to process in
// a slot of decodes once its header passed inspectUpload; nil when none was
// chosen (browsers send an empty part without a name). With every slot
// taken for decodeWait it returns gate.ErrBusy (503).
func uploadedImage(c *fiber.Ctx, decodes *gate.Gate, field string, process func(filename string, data []byte) ([]byte, error)) ([]byte, error) {
	fh, err := c.FormFile(field)
	if errors.Is(err, fasthttp.ErrMissingFile) || errors.Is(err, fasthttp.ErrNoMultipartForm) || err == nil && fh == nil {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("app: read upload %s: %w", field, err)
	}
	if fh.Filename == "" && fh.Size == 0 {
		return nil, nil
	}
	if fh.Size > maxImageBytes {
		return nil, imageError("The file is larger than " + maxImageSize + ".")
	}
	data, err := readFormFile(fh)
	if err != nil {
		return nil, fmt.Errorf("app: read upload %s: %w", field, err)
	}
	_, _, cfg, err := inspectUpload(fh.Filename, data)
	if err != nil {
		return nil, err // refused from the header: no slot, no bitmap
	}
	var out []byte
	var processErr error
	if err := decodes.Do(decodedBytes(cfg), func() { out, processErr = process(fh.Filename, data) }); err != nil {
		return nil, err
	}
	return out, processErr
}

// readFormFile reads at most one byte more than the cap, whatever the
// part's header claims.
func readFormFile(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxImageBytes+1))
}

// sendImmutablePNG serves a stored PNG whose URL carries its digest: an
// ETag and a year of caching, since the URL changes when the image does.
// scope is "public" for images anyone may see, "private" for those only
// signed-in users get (shared caches must not keep them).
func sendImmutablePNG(c *fiber.Ctx, sha256hex string, data []byte, scope string) error {
	return sendPNG(c, `"`+sha256hex+`"`, scope+", max-age=31536000, immutable", data)
}

// sendPNG answers with a PNG we encoded ourselves, under etag and
// cacheControl, or 304 when the browser already has it.
func sendPNG(c *fiber.Ctx, etag, cacheControl string, data []byte) error {
	c.Set(fiber.HeaderCacheControl, cacheControl)
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff") // security: served as the PNG we encoded, never sniffed
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, "image/png")
	return c.Send(data)
}

// etagMatches reads If-None-Match: a list of tags, weak or strong, or *.
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}
