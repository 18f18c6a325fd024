package app

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"portico/store"
)

const profileTab = "/settings?tab=profile"

// halves is a w × h image: red on the left half, blue on the right, with
// a green square in the centre.
func halves(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 255, A: 255}
			if x >= w/2 {
				c = color.NRGBA{B: 255, A: 255}
			}
			if abs(x-w/2) < min(w, h)/8 && abs(y-h/2) < min(w, h)/8 {
				c = color.NRGBA{G: 255, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func abs(v int) int { return max(v, -v) }

// TestProcessAvatar: every accepted format becomes a 256 × 256 PNG cut
// from the centre; anything else is refused with a message.
func TestProcessAvatar(t *testing.T) {
	t.Parallel()
	square := testImage(64, 64)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"png", encodePNG(t, square)},
		{"jpeg", encodeJPEG(t, square)},
		{"gif", encodeGIF(t, square)},
		{"webp lossy", decodeBase64(t, webpLossy)},
		{"webp lossless", decodeBase64(t, webpLossless)},
		{"wide", encodePNG(t, halves(600, 200))},
		{"tall", encodePNG(t, halves(100, 900))},
		{"one pixel", encodePNG(t, testImage(1, 1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := processAvatar("me.bin", tc.data)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("output is not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != avatarSize || b.Dy() != avatarSize {
				t.Fatalf("output %v, want %d × %d", b, avatarSize, avatarSize)
			}
		})
	}
	t.Run("non-square input is cropped at the centre", func(t *testing.T) {
		out, err := processAvatar("wide.png", encodePNG(t, halves(600, 200)))
		if err != nil {
			t.Fatal(err)
		}
		img, _ := png.Decode(bytes.NewReader(out))
		// the centre 200 × 200 of the 600 × 200 image: red left of the
		// middle, blue right of it, the green square in the centre, and
		// none of the image's far edges
		for _, p := range []struct {
			x, y int
			want string
		}{{10, 128, "red"}, {245, 128, "blue"}, {128, 128, "green"}} {
			r, g, b, _ := img.At(p.x, p.y).RGBA()
			got := map[bool]string{true: "red"}[r > 0xc000 && g < 0x4000 && b < 0x4000]
			if g > 0xc000 && r < 0x4000 {
				got = "green"
			}
			if b > 0xc000 && r < 0x4000 {
				got = "blue"
			}
			if got != p.want {
				t.Errorf("pixel %d,%d is %v/%v/%v, want %s", p.x, p.y, r>>8, g>>8, b>>8, p.want)
			}
		}
	})
	for _, tc := range []struct {
		name, filename string
		data           []byte
		want           string
	}{
		{"garbage", "me.png", []byte("this is not an image at all"), "not a PNG, JPEG, GIF or WebP"},
		{"svg", "me.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "SVG is not accepted"},
		{"truncated png", "me.png", encodePNG(t, square)[:60], "could not be read"},
		{"oversize file", "me.png", append(encodePNG(t, square), make([]byte, maxImageBytes)...), "larger than 2 MiB"},
		{"decompression bomb", "me.png", pngClaiming(t, 50000, 50000), "megapixels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := processAvatar(tc.filename, tc.data)
			if _, ok := err.(imageError); !ok || out != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an imageError with %q, got %v and %d bytes", tc.want, err, len(out))
			}
		})
	}
}

var avatarURLPattern = regexp.MustCompile(`<img class="avatar" src="(/avatars/\d+-[0-9a-f]{16}\.png)"`)

// TestProfileDetails: the owner saves names and contact details; a bad
// phone keeps every value and saves nothing.
func TestProfileDetails(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "client@acme.example", "/dashboard")
	r := b.get(acmeHost, "/settings")
	if r.status != http.StatusOK || !strings.Contains(r.body, `action="/settings/profile"`) || !strings.Contains(r.body, `value="Cleo"`) {
		t.Fatalf("profile is not the first tab, or not filled from the old name: %d", r.status)
	}
	if !strings.Contains(r.body, `<span class="avatar avatar-initials" aria-hidden="true">CC</span>`) {
		t.Errorf("the header lacks the initials")
	}
	bad := b.post(acmeHost, profileTab, "/settings/profile", url.Values{"first_name": {"Cleo"}, "last_name": {"Client"},
		"phone": {"12"}, "company": {"Cleo Calls Ltd"}, "job_title": {"CEO"}})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "Enter a valid phone number") ||
		!strings.Contains(bad.body, `value="Cleo Calls Ltd"`) || !strings.Contains(bad.body, "Nothing was saved") {
		t.Fatalf("bad phone: %d", bad.status)
	}
	if u := ts.userByEmail("acme", "client@acme.example"); u.Company != "" {
		t.Fatalf("half-saved: %+v", u)
	}
	ok := b.post(acmeHost, profileTab, "/settings/profile", url.Values{"first_name": {" Cleopatra "}, "last_name": {"Client"},
		"phone": {"(415) 555-0100"}, "company": {"Cleo Calls Ltd"}, "job_title": {"CEO"}, "address": {"1 Main St, Springfield"}})
	if ok.status != http.StatusSeeOther || ok.header.Get("Location") != profileTab {
		t.Fatalf("save: %d %s", ok.status, ok.header.Get("Location"))
	}
	u := ts.userByEmail("acme", "client@acme.example")
	if u.FirstName != "Cleopatra" || u.Phone != "+14155550100" || u.Company != "Cleo Calls Ltd" || u.JobTitle != "CEO" ||
		u.Address != "1 Main St, Springfield" || u.DisplayName() != "Cleopatra Client" {
		t.Fatalf("saved %+v", u)
	}
	if got := ts.auditActions("profile.update"); len(got) != 1 || !strings.Contains(got[0], "first name, last name, phone, company, job title, address") {
		t.Errorf("audit: %v", got)
	}
	// every client role has the tab
	ts.addClientUser("pub@cleo.example", store.RolePublisher)
	pub := ts.browser()
	pub.login(acmeHost, "pub@cleo.example", "/settings") // a publisher has no dashboard
	if r := pub.get(acmeHost, profileTab); r.status != http.StatusOK {
		t.Errorf("publisher's profile: %d", r.status)
	}
}

// TestAvatar: an upload shows in the header at a content-addressed URL
// that only signed-in users of the same business (and the reseller's
// staff) can load; another reseller's host answers 404.
func TestAvatar(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cleo := ts.browser()
	cleo.login(acmeHost, "client@acme.example", "/dashboard")
	up := cleo.postMultipart(acmeHost, profileTab, "/settings/avatar", map[string]string{}, map[string]upload{"avatar": {"me.jpg", encodeJPEG(t, halves(300, 200))}})
	if up.status != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", up.status, up.body)
	}
	page := cleo.get(acmeHost, "/dashboard")
	m := avatarURLPattern.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no avatar in the header")
	}
	avatar := m[1]
	img := cleo.get(acmeHost, avatar)
	if img.status != http.StatusOK || img.header.Get("Content-Type") != "image/png" || img.header.Get("X-Content-Type-Options") != "nosniff" ||
		img.header.Get("Cache-Control") != "private, max-age=31536000, immutable" {
		t.Fatalf("avatar: %d %v", img.status, img.header)
	}
	if decoded, err := png.Decode(strings.NewReader(img.body)); err != nil || decoded.Bounds().Dx() != avatarSize || decoded.Bounds().Dy() != avatarSize {
		t.Fatalf("served avatar: %v", err)
	}
	if r := cleo.do(http.MethodGet, acmeHost, avatar, nil, map[string]string{"If-None-Match": img.header.Get("ETag")}); r.status != http.StatusNotModified {
		t.Errorf("revalidation: %d", r.status)
	}
	// a teammate and the reseller's staff see it; a stale digest does not
	ts.addClientUser("mia@cleo.example", store.RoleManager)
	mia, staff := ts.browser(), ts.browser()
	mia.login(acmeHost, "mia@cleo.example", "/dashboard")
	staff.login(acmeHost, "support@acme.example", "/reseller")
	for who, b := range map[string]*browser{"teammate": mia, "staff": staff} {
		if r := b.get(acmeHost, avatar); r.status != http.StatusOK {
			t.Errorf("%s: %d", who, r.status)
		}
	}
	if r := cleo.get(acmeHost, strings.Replace(avatar, avatar[len(avatar)-8:len(avatar)-4], "0000", 1)); r.status != http.StatusNotFound {
		t.Errorf("wrong digest: %d", r.status)
	}
	// a user of another client of acme does not
	other := &store.Client{ResellerID: ts.ids["acme"], Username: "otto", FirstName: "Otto", LastName: "Other", Email: "otto@acme.example", Country: "US"}
	hash := ts.userByEmail("acme", "client@acme.example").PasswordHash
	if err := ts.store.Update(func(tx *store.Tx) error {
		return tx.CreateClient(other, &store.User{Email: "otto@acme.example", Name: "Otto", PasswordHash: hash}, "seed")
	}); err != nil {
		t.Fatal(err)
	}
	otto := ts.browser()
	otto.login(acmeHost, "otto@acme.example", "/dashboard")
	if r := otto.get(acmeHost, avatar); r.status != http.StatusNotFound {
		t.Errorf("another client's user: %d", r.status)
	}
	// another reseller: its owner, on its own host, gets 404 for the same path
	globex := ts.browser()
	globex.login(globexHost, "owner@globex.example", "/reseller")
	if r := globex.get(globexHost, avatar); r.status != http.StatusNotFound {
		t.Errorf("other tenant: %d", r.status)
	}
	if r := ts.browser().get(acmeHost, avatar); r.status != http.StatusSeeOther {
		t.Errorf("signed out: %d", r.status)
	}
	// refusals keep the old picture
	bad := cleo.postMultipart(acmeHost, profileTab, "/settings/avatar", map[string]string{}, map[string]upload{"avatar": {"x.svg", []byte("<svg/>")}})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "SVG is not accepted") || !strings.Contains(bad.body, avatar) {
		t.Fatalf("svg: %d", bad.status)
	}
	none := cleo.postMultipart(acmeHost, profileTab, "/settings/avatar", map[string]string{}, nil)
	if none.status != http.StatusUnprocessableEntity || !strings.Contains(none.body, "Choose an image file first") {
		t.Fatalf("no file: %d", none.status)
	}
	// remove: initials again, the old URL is gone
	if r := cleo.post(acmeHost, profileTab, "/settings/avatar/remove", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.status)
	}
	if page := cleo.get(acmeHost, "/dashboard"); avatarURLPattern.MatchString(page.body) || !strings.Contains(page.body, "avatar-initials") {
		t.Errorf("after removal the header still shows a picture")
	}
	if r := cleo.get(acmeHost, avatar); r.status != http.StatusNotFound {
		t.Errorf("removed avatar: %d", r.status)
	}
	if got := ts.auditActions("profile.avatar"); len(got) != 1 {
		t.Errorf("audit: %v", got)
	}
	if problems, err := ts.store.Verify(); err != nil || len(problems) > 0 {
		t.Errorf("verify: %v %v", problems, err)
	}
}

var confirmLinkPattern = regexp.MustCompile(`http://[^/\s]+(/email/confirm\?token=[A-Za-z0-9_-]+)`)

// outbox lists the queued mail.
func (ts *testServer) outbox() []*store.MailMessage {
	ts.t.Helper()
	var out []*store.MailMessage
	if err := ts.store.View(func(tx *store.Tx) (err error) { out, err = tx.Outbox(); return err }); err != nil {
		ts.t.Fatal(err)
	}
	return out
}

// mailTo is the last queued message to addr whose subject contains subject.
func (ts *testServer) mailTo(addr, subject string) *store.MailMessage {
	ts.t.Helper()
	var found *store.MailMessage
	for _, m := range ts.outbox() {
		if m.To == addr && strings.Contains(m.Subject, subject) {
			found = m
		}
	}
	if found == nil {
		ts.t.Fatalf("no mail to %s about %q", addr, subject)
	}
	return found
}

// TestEmailChange: the new address gets a link that works once, the old
// one is told, and the next sign-in uses the new address.
func TestEmailChange(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "client@acme.example", "/dashboard")

	wrong := b.post(acmeHost, profileTab, "/settings/email", url.Values{"email": {"cleo@new.example"}, "current": {"Wrong-passw0rd!"}})
	if wrong.status != http.StatusUnprocessableEntity || !strings.Contains(wrong.body, "The current password is incorrect") ||
		!strings.Contains(wrong.body, `value="cleo@new.example"`) {
		t.Fatalf("wrong password: %d", wrong.status)
	}
	for _, tc := range []struct{ email, want string }{
		{"not an email", "Enter an email address"},
		{"CLIENT@acme.example", "This is your sign-in email already"},
		{"support@acme.example", "already signs in with this email"},
	} {
		r := b.post(acmeHost, profileTab, "/settings/email", url.Values{"email": {tc.email}, "current": {testPassword}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) {
			t.Errorf("%q: %d, want %q", tc.email, r.status, tc.want)
		}
	}
	if n := len(ts.outbox()); n != 0 {
		t.Fatalf("%d mails queued by refused requests", n)
	}
	ok := b.post(acmeHost, profileTab, "/settings/email", url.Values{"email": {"Cleo@New.example"}, "current": {testPassword}})
	if ok.status != http.StatusSeeOther {
		t.Fatalf("request: %d\n%s", ok.status, ok.body)
	}
	if page := b.get(acmeHost, profileTab); !strings.Contains(page.body, "We have sent a confirmation link to cleo@new.example") {
		t.Errorf("no flash about the link")
	}
	link := confirmLinkPattern.FindStringSubmatch(ts.mailTo("cleo@new.example", "Confirm your new Acme Voice sign-in email").Text)
	if link == nil {
		t.Fatal("no link in the mail")
	}
	if old := ts.mailTo("client@acme.example", "sign-in email is being changed"); !strings.Contains(old.Text, "cleo@new.example") {
		t.Errorf("old address told: %q", old.Text)
	}
	// nothing changed yet
	ts.browser().login(acmeHost, "client@acme.example", "/dashboard")

	// the link on another reseller's host is nothing
	if r := ts.browser().get(globexHost, link[1]); r.status != http.StatusNotFound {
		t.Errorf("link on globex: %d", r.status)
	}
	// GET only shows; a prefetcher that follows it changes nothing
	stranger := ts.browser()
	show := stranger.get(acmeHost, link[1])
	if show.status != http.StatusOK || !strings.Contains(show.body, "instead of <strong>client@acme.example</strong>") {
		t.Fatalf("confirm page: %d", show.status)
	}
	stranger.get(acmeHost, link[1])
	if u := ts.userByEmail("acme", "client@acme.example"); u == nil {
		t.Fatal("GET changed the email")
	}
	token := strings.TrimPrefix(link[1], "/email/confirm?token=")
	done := stranger.post(acmeHost, link[1], "/email/confirm", url.Values{"token": {token}})
	if done.status != http.StatusSeeOther || done.header.Get("Location") != "/login" {
		t.Fatalf("confirm: %d %s", done.status, done.header.Get("Location"))
	}
	if again := stranger.post(acmeHost, "/login", "/email/confirm", url.Values{"token": {token}}); again.status != http.StatusNotFound ||
		!strings.Contains(again.body, "expired, was used already") {
		t.Fatalf("second use: %d", again.status)
	}
	if done := ts.mailTo("client@acme.example", "sign-in email was changed"); !strings.Contains(done.Text, "cleo@new.example") {
		t.Errorf("old address told of the change: %q", done.Text)
	}
	// the next sign-in uses the new email; the old one is unknown
	ts.browser().login(acmeHost, "cleo@new.example", "/dashboard")
	old := ts.browser().post(acmeHost, "/login", "/login", url.Values{"email": {"client@acme.example"}, "password": {testPassword}})
	if old.status != http.StatusUnprocessableEntity {
		t.Errorf("old email still signs in: %d", old.status)
	}
	if got := ts.auditActions("email.changed"); len(got) != 1 || !strings.Contains(got[0], "client@acme.example → cleo@new.example") {
		t.Errorf("audit: %v", got)
	}
	if got := ts.auditActions("email.change_failed"); len(got) != 1 {
		t.Errorf("failed attempt audit: %v", got)
	}
}

// TestEmailChangeLinkExpiresAndConflicts: a link older than 24 hours does
// nothing; an address taken after the request is explained, not applied.
func TestEmailChangeLinkExpiresAndConflicts(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.browser()
	b.login(acmeHost, "client@acme.example", "/dashboard")
	request := func(to string) string {
		t.Helper()
		if r := b.post(acmeHost, profileTab, "/settings/email", url.Values{"email": {to}, "current": {testPassword}}); r.status != http.StatusSeeOther {
			t.Fatalf("request %s: %d", to, r.status)
		}
		return confirmLinkPattern.FindStringSubmatch(ts.mailTo(to, "Confirm").Text)[1]
	}
	taken := request("taken@new.example")
	ts.addClientUser("taken@new.example", store.RoleUser)
	token := strings.TrimPrefix(taken, "/email/confirm?token=")
	if r := b.post(acmeHost, taken, "/email/confirm", url.Values{"token": {token}}); r.status != http.StatusConflict ||
		!strings.Contains(r.body, "Your sign-in email stays client@acme.example") {
		t.Fatalf("conflict: %d\n%s", r.status, r.body)
	}
	late := request("late@new.example")
	ts.clock.Advance(24 * time.Hour)
	if r := b.get(acmeHost, late); r.status != http.StatusNotFound {
		t.Fatalf("expired link: %d", r.status)
	}
	if u := ts.userByEmail("acme", "client@acme.example"); u.Email != "client@acme.example" {
		t.Fatalf("email changed to %s", u.Email)
	}
}
