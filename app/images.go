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
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"golang.org/x/image/webp"
)

// Limits of uploaded images.
const (
	// maxImageBytes caps one uploaded file.
	maxImageBytes = 2 << 20
	maxImageSize  = "2 MiB"
	// maxImagePixels caps the decoded size (width × height), read from
	// the header before decoding, so a small file that unpacks into a
	// huge bitmap is refused without allocating it.
	maxImagePixels = 4096 * 4096
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

// decodeUpload checks an uploaded file's size, format and dimensions and
// decodes it. What the person got wrong is an imageError.
func decodeUpload(filename string, data []byte) (image.Image, error) {
	if len(data) > maxImageBytes {
		return nil, imageError("The file is larger than " + maxImageSize + ".")
	}
	format, codec := sniffImage(data)
	if format == "" {
		if looksLikeSVG(filename, data) {
			return nil, errSVG
		}
		return nil, imageError("This file is not a PNG, JPEG, GIF or WebP image.")
	}
	cfg, err := codec.config(bytes.NewReader(data))
	if err != nil {
		return nil, imageError("This " + strings.ToUpper(format) + " image could not be read; it may be damaged.")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxImagePixels/cfg.Height {
		return nil, imageError(fmt.Sprintf("The image is %d × %d pixels; at most %d megapixels (e.g. 4096 × 4096) are accepted.",
			cfg.Width, cfg.Height, maxImagePixels/1_000_000))
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

// uploadedImage reads the file sent as field and hands it to process; nil
// when none was chosen (browsers send an empty part without a name).
func uploadedImage(c *fiber.Ctx, field string, process func(filename string, data []byte) ([]byte, error)) ([]byte, error) {
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
	return process(fh.Filename, data)
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
	etag := `"` + sha256hex + `"`
	c.Set(fiber.HeaderCacheControl, scope+", max-age=31536000, immutable")
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
