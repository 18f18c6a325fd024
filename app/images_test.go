package app

import (
	"bytes"
	"errors"
	"image"
	"io"
	multipartpkg "mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDecodeUploadPixelCap: a small file whose header declares 4096 × 4096
// (64 MiB decoded) is refused from the header, with what to send instead;
// 2048 × 2048 is the largest accepted. Before, 4096 × 4096 was accepted
// and decoded.
func TestDecodeUploadPixelCap(t *testing.T) {
	t.Parallel()
	for _, size := range [][2]uint32{{4096, 4096}, {2049, 2048}, {1, 2048*2048 + 1}, {50000, 50000}} {
		_, err := decodeUpload("big.png", pngClaiming(t, size[0], size[1]))
		var refusal imageError
		if !errors.As(err, &refusal) || !strings.Contains(err.Error(), "at most 4 megapixels") {
			t.Errorf("%d × %d: %v, want a refusal from the header", size[0], size[1], err)
		}
	}
	img, err := decodeUpload("edge.png", encodePNG(t, image.NewGray(image.Rect(0, 0, 2048, 2048))))
	if err != nil || img.Bounds().Dx() != 2048 {
		t.Fatalf("2048 × 2048: %v", err)
	}
}

// TestAvatarHugeImageRefusedBeforeDecoding: the probe of issue 10 over
// HTTP — a client user uploads a small PNG that declares 4096 × 4096 — is
// refused with a message, and no decoding slot was ever taken.
func TestAvatarHugeImageRefusedBeforeDecoding(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cleo := ts.browser()
	cleo.login(acmeHost, "client@acme.example", "/dashboard")
	r := cleo.postMultipart(acmeHost, profileTab, "/settings/avatar", map[string]string{}, map[string]upload{"avatar": {"big.png", pngClaiming(t, 4096, 4096)}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "at most 4 megapixels") {
		t.Fatalf("status %d, want 422 with the pixel cap", r.status)
	}
	if n := ts.app.decodes.Peak(); n != 0 {
		t.Fatalf("%d decoding slots taken for an image refused from its header", n)
	}
	if u := ts.userByEmail("acme", "client@acme.example"); u.AvatarSHA256 != "" {
		t.Fatal("avatar saved")
	}
}

// TestImageDecodesBounded: at most decodeSlots uploads are decoded at
// once; one more waits for a free slot, and with none free within the
// wait it is refused with 503 and Retry-After, nothing saved. Counted with
// the gate's gauges, not timed.
func TestImageDecodesBounded(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner, cleo := ts.browser(), ts.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	cleo.login(acmeHost, "client@acme.example", "/dashboard")
	avatar := map[string]upload{"avatar": {"me.png", encodePNG(t, testImage(300, 300))}}
	decodes := ts.app.decodes
	if decodes.Slots() != decodeSlots {
		t.Fatalf("%d slots", decodes.Slots())
	}
	var held []func()
	for range decodeSlots {
		release, err := decodes.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}

	// every slot taken and no wait: 503 with Retry-After, for an avatar
	// and for a logo alike
	decodes.SetWait(0)
	r := cleo.postMultipart(acmeHost, profileTab, "/settings/avatar", map[string]string{}, avatar)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "busy") {
		t.Fatalf("avatar with every slot taken: %d %v", r.status, r.header)
	}
	r = owner.postMultipart(acmeHost, "/reseller/branding", "/reseller/branding", brandFields("Acme Voice", "#123456"),
		map[string]upload{"logo": {"logo.png", encodePNG(t, testImage(400, 200))}})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("logo with every slot taken: %d", r.status)
	}
	if u := ts.userByEmail("acme", "client@acme.example"); u.AvatarSHA256 != "" {
		t.Fatal("a refused upload was saved")
	}

	// with a wait, the next upload waits for a slot and is decoded once one
	// is free
	decodes.SetWait(time.Minute)
	var wg sync.WaitGroup
	var status int
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := cleo.uploadForm(acmeHost, profileTab, "/settings/avatar", avatar)
		if err == nil {
			status = resp.status
		}
	}()
	waitFor(t, func() bool { return decodes.Waiting() == 1 })
	if decodes.InFlight() != decodeSlots {
		t.Fatalf("%d in flight", decodes.InFlight())
	}
	held[0]()
	wg.Wait()
	held[1]()
	if status != http.StatusSeeOther || decodes.Peak() > decodeSlots {
		t.Fatalf("after a slot was freed: status %d, peak %d", status, decodes.Peak())
	}
}

// uploadForm is postMultipart for goroutines: it reports errors instead of
// failing the test.
func (b *browser) uploadForm(host, formPath, action string, files map[string]upload) (response, error) {
	page, err := b.client.Get(b.ts.url(host, formPath))
	if err != nil {
		return response{}, err
	}
	defer page.Body.Close()
	var buf strings.Builder
	_, _ = io.Copy(&buf, page.Body)
	m := csrfPattern.FindStringSubmatch(buf.String())
	if m == nil {
		return response{}, errors.New("no form token")
	}
	return b.multipart(host, action, map[string]string{"_csrf": m[1]}, files)
}

// waitFor polls cond until it holds (a goroutine reaching a gate); the
// deadline only keeps a broken build from hanging.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}

// multipart posts fields and files as a multipart form, reporting errors
// instead of failing the test.
func (b *browser) multipart(host, action string, fields map[string]string, files map[string]upload) (response, error) {
	var body bytes.Buffer
	w := multipartpkg.NewWriter(&body)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	for k, f := range files {
		part, err := w.CreateFormFile(k, f.filename)
		if err != nil {
			return response{}, err
		}
		_, _ = part.Write(f.data)
	}
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, b.ts.url(host, action), &body)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := b.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(data)}, err
}
