package app

import (
	"bytes"
	"image/png"
	"net/http"
	"strings"
	"testing"
)

// TestFavicon: /favicon.ico answers on every reseller's host, with a
// default in the brand's colour until the reseller uploads a favicon,
// then with that; pages link it when there is no upload; an unknown host
// gets the neutral 404.
func TestFavicon(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	visitor := ts.browser()

	r := visitor.get(acmeHost, "/favicon.ico")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/png" || r.header.Get("ETag") == "" {
		t.Fatalf("acme's default favicon: %d %v", r.status, r.header)
	}
	img, err := png.Decode(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if red, g, b, a := img.At(16, 16).RGBA(); red>>8 != 0xaa || g != 0 || b != 0 || a>>8 != 0xff { // acme's primary colour #aa0000
		t.Errorf("default favicon's centre = %x %x %x %x, want acme's #aa0000", red>>8, g>>8, b>>8, a>>8)
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Error("default favicon's corner is not transparent")
	}
	if globex := visitor.get(globexHost, "/favicon.ico"); globex.status != http.StatusOK || globex.body == r.body {
		t.Errorf("globex's default favicon: %d, same as acme's: %v", globex.status, globex.body == r.body)
	}
	again := visitor.do(http.MethodGet, acmeHost, "/favicon.ico", nil, map[string]string{"If-None-Match": r.header.Get("ETag")})
	if again.status != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", again.status)
	}
	if login := visitor.get(acmeHost, "/login"); !strings.Contains(login.body, `<link rel="icon" type="image/png" href="/favicon.ico">`) {
		t.Error("the sign-in page does not link the default favicon")
	}
	if unknown := visitor.get("nobody.example", "/favicon.ico"); unknown.status != http.StatusNotFound {
		t.Errorf("unknown host: %d", unknown.status)
	}

	owner := ts.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	saved := owner.postMultipart(acmeHost, "/reseller/branding", "/reseller/branding", brandFields("Acme Voice", "#aa0000"),
		map[string]upload{"favicon": {"icon.png", encodePNG(t, testImage(32, 32))}})
	if saved.status != http.StatusSeeOther {
		t.Fatalf("upload a favicon: %d", saved.status)
	}
	link := faviconURLPattern.FindStringSubmatch(visitor.get(acmeHost, "/login").body)
	if link == nil {
		t.Fatal("the sign-in page does not link the uploaded favicon")
	}
	uploaded := visitor.get(acmeHost, link[1])
	if r := visitor.get(acmeHost, "/favicon.ico"); r.status != http.StatusOK || !bytes.Equal([]byte(r.body), []byte(uploaded.body)) {
		t.Errorf("after the upload /favicon.ico is not the uploaded favicon: %d", r.status)
	}
}
