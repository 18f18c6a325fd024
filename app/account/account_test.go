package account

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"portico/app/auth"
	"portico/app/fault"
	"portico/app/mail"
	"portico/app/testkit"
	"portico/store"
)

const (
	password    = "Sup3r-Secret!x"
	newPassword = "N3w-Passw0rd!z"
	clientEmail = "cleo@acme.example"
)

// letters signs mails with the reseller's name and links to its slug.
type letters struct{}

func (letters) BrandName(r *store.Reseller) string  { return r.Name }
func (letters) SenderName(r *store.Reseller) string { return r.Name + " Support" }
func (letters) Link(_ *store.Tx, r *store.Reseller, pathAndQuery string) (string, error) {
	return "https://" + r.Slug + ".example" + pathAndQuery, nil
}

// harness is the service over a real bbolt file with one reseller (acme)
// and one client whose owner signs in with password, and the real mail
// queue (no SMTP: mail stays in the outbox).
type harness struct {
	t     *testing.T
	svc   *Service
	store *store.Store
	r     *store.Reseller
	user  *store.User
	clock *testkit.Clock
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	s, err := store.Open(filepath.Join(t.TempDir(), "p.db"), store.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.ReconcileResellers([]store.ResellerSpec{{Slug: "acme", Name: "Acme Voice", Currency: "USD", OwnerEmail: "owner@acme.example"}}); err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, store: s, clock: clock}
	err = s.Update(func(tx *store.Tx) (err error) {
		if h.r, err = tx.ResellerBySlug("acme"); err != nil {
			return err
		}
		cl := &store.Client{ResellerID: h.r.ID, Username: "cleo", FirstName: "Cleo", LastName: "Client", Email: clientEmail, Country: "US", Company: "Cleo Calls"}
		return tx.CreateClient(cl, &store.User{Email: clientEmail, Name: "Cleo Client", PasswordHash: hash}, "seed")
	})
	if err != nil {
		t.Fatal(err)
	}
	queue := mail.NewQueue(s, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.svc = New(s, queue, letters{}, Sessions{MaxAge: 24 * time.Hour, IdleTimeout: time.Hour})
	h.user = h.reload()
	return h
}

// reload reads the client user as stored now.
func (h *harness) reload() *store.User {
	h.t.Helper()
	var u *store.User
	if err := h.store.View(func(tx *store.Tx) (err error) { u, err = tx.UserByEmail(h.r.ID, clientEmail); return err }); err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) actor() Actor { return Actor{User: h.reload(), IP: "192.0.2.7"} }

// signIn signs the client user in with the password and returns the hash
// of the new session.
func (h *harness) signIn(ua string) []byte {
	h.t.Helper()
	e, err := h.svc.SignIn(h.r, SignIn{Email: clientEmail, Password: password, IP: "192.0.2.7", UserAgent: ua})
	if err != nil || e.Session == "" {
		h.t.Fatalf("sign in: %+v %v", e, err)
	}
	return auth.HashToken(e.Session)
}

func (h *harness) sessions() []*store.Session {
	h.t.Helper()
	var out []*store.Session
	if err := h.store.View(func(tx *store.Tx) (err error) { out, err = tx.UserSessions(h.r.ID, h.user.ID); return err }); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func (h *harness) outbox() []*store.MailMessage {
	h.t.Helper()
	var out []*store.MailMessage
	if err := h.store.View(func(tx *store.Tx) (err error) { out, err = tx.Outbox(); return err }); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// audits lists the events of action, oldest first.
func (h *harness) audits(action string) []*store.AuditEvent {
	h.t.Helper()
	var out []*store.AuditEvent
	err := h.store.View(func(tx *store.Tx) error {
		events, _, err := tx.AuditEvents(h.r.ID, 0, 1000)
		for i := len(events) - 1; i >= 0; i-- {
			if events[i].Action == action {
				out = append(out, events[i])
			}
		}
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// snapshot is the whole store file as it is now.
func (h *harness) snapshot() []byte {
	h.t.Helper()
	var b bytes.Buffer
	if _, err := h.store.WriteTo(&b); err != nil {
		h.t.Fatal(err)
	}
	return b.Bytes()
}

// enableTOTP turns two-factor sign-in on for the client user and returns
// its secret.
func (h *harness) enableTOTP() string {
	h.t.Helper()
	secret, err := NewTOTPSecret("Acme Voice", clientEmail)
	if err != nil {
		h.t.Fatal(err)
	}
	err = h.store.Update(func(tx *store.Tx) error {
		_, hashes := newRecoveryCodes()
		_, err := tx.EnableTOTP(h.r.ID, h.user.ID, secret, 0, hashes)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return secret
}

// pending signs the client user in with the password and returns the
// pending sign-in that waits for its second step.
func (h *harness) pending() *Pending {
	h.t.Helper()
	e, err := h.svc.SignIn(h.r, SignIn{Email: clientEmail, Password: password, IP: "192.0.2.7"})
	if err != nil || e.Challenge == "" {
		h.t.Fatalf("password step: %+v %v", e, err)
	}
	p, err := h.svc.PendingSignIn(h.r, e.Challenge)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// code is the TOTP code of secret now.
func (h *harness) code(secret string) string {
	h.t.Helper()
	code, err := totp.GenerateCode(secret, h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return code
}

var tokenPattern = regexp.MustCompile(`token=([A-Za-z0-9_-]{43})`)

// mailedToken is the token of the last link mailed to addr about subject.
func (h *harness) mailedToken(addr, subject string) string {
	h.t.Helper()
	token := ""
	for _, m := range h.outbox() {
		if m.To == addr && strings.Contains(m.Subject, subject) {
			if t := tokenPattern.FindStringSubmatch(m.Text); t != nil {
				token = t[1]
			}
		}
	}
	if token == "" {
		h.t.Fatalf("no link mailed to %s about %q", addr, subject)
	}
	return token
}

// TestChangePasswordCommitsEverythingTogether: the new hash, the other
// sessions signed out (this one kept), the mail to the owner and the
// audit event are all there after one call, written at one instant.
func TestChangePasswordCommitsEverythingTogether(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	here := h.signIn("here")
	h.signIn("elsewhere")
	h.signIn("phone")
	h.clock.Advance(time.Minute)
	revoked, err := h.svc.ChangePassword(h.r, h.actor(), here, PasswordChange{Current: password, Password: newPassword, Confirm: newPassword})
	if err != nil || revoked != 2 {
		t.Fatalf("change: %d %v", revoked, err)
	}
	if auth.CheckPassword(h.reload().PasswordHash, newPassword) != nil {
		t.Error("the new password does not sign in")
	}
	if s := h.sessions(); len(s) != 1 || !bytes.Equal(s[0].Hash, here) {
		t.Errorf("sessions left: %d", len(s))
	}
	events := h.audits("password.change")
	if len(events) != 1 || events[0].Target != "2 other sessions signed out" || events[0].Actor != clientEmail ||
		events[0].IP != "192.0.2.7" || !events[0].At.Equal(h.clock.Now()) {
		t.Errorf("audit: %+v", events)
	}
	if out := h.outbox(); len(out) != 1 || out[0].To != clientEmail || !strings.Contains(out[0].Subject, "password was changed") ||
		out[0].FromName != "Acme Voice Support" || !strings.Contains(out[0].Text, "192.0.2.7") {
		t.Errorf("mail: %+v", out)
	}
}

// TestChangePasswordRefusals: a wrong current password is audited and
// marked as a guess, and changes nothing; a check made against a password
// that changed meanwhile is stale; a session revoked meanwhile cannot
// change anything.
func TestChangePasswordRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	here := h.signIn("here")
	h.signIn("elsewhere")
	before := h.reload().PasswordHash

	_, err := h.svc.ChangePassword(h.r, h.actor(), here, PasswordChange{Current: "Wr0ng-Passw0rd!", Password: newPassword, Confirm: newPassword})
	if fields, ok := fault.FieldsOf(err); !ok || !errors.Is(err, ErrWrongPassword) || fields.Map()["current"] != "The current password is incorrect." {
		t.Fatalf("wrong current password: %v", err)
	}
	if got := h.audits("password.change_failed"); len(got) != 1 {
		t.Errorf("failures audited: %d", len(got))
	}

	_, err = h.svc.ChangePassword(h.r, h.actor(), here, PasswordChange{Current: password, Password: "short", Confirm: "short"})
	if fields, ok := fault.FieldsOf(err); !ok || errors.Is(err, ErrWrongPassword) || !fields.Has("password") {
		t.Fatalf("weak password: %v", err)
	}
	_, err = h.svc.ChangePassword(h.r, h.actor(), here, PasswordChange{Current: password, Password: password, Confirm: password})
	if fields, _ := fault.FieldsOf(err); !strings.Contains(fields.Map()["password"], "different from the current one") {
		t.Fatalf("same password: %v", err)
	}

	stale := h.actor() // authenticated before the password changed elsewhere
	other, err := auth.HashPassword("An0ther-Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	setHash := func(hash string) {
		t.Helper()
		err := h.store.Update(func(tx *store.Tx) error {
			u, err := tx.User(h.r.ID, h.user.ID)
			if err != nil {
				return err
			}
			u.PasswordHash = hash // as a change in another request would, sessions kept
			return tx.UpdateUser(u)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setHash(other)
	_, err = h.svc.ChangePassword(h.r, stale, here, PasswordChange{Current: password, Password: newPassword, Confirm: newPassword})
	if fields, ok := fault.FieldsOf(err); !ok || fields.Map()["current"] != "The current password is incorrect." {
		t.Fatalf("stale check: %v", err)
	}
	if h.reload().PasswordHash != other {
		t.Error("a stale check changed the password")
	}

	setHash(before)
	if err := h.store.Update(func(tx *store.Tx) error { return tx.DeleteSession(here) }); err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.ChangePassword(h.r, h.actor(), here, PasswordChange{Current: password, Password: newPassword, Confirm: newPassword})
	if !fault.Is(err, fault.Unauthorized) {
		t.Fatalf("revoked session: %v", err)
	}
	if h.reload().PasswordHash != before || len(h.sessions()) != 1 || len(h.audits("password.change")) != 0 {
		t.Error("something changed on a refusal")
	}
}

var errAuditBroken = errors.New("audit log unavailable")

// TestFailedAuditRollsBackTheChange: when the audit event of a change
// cannot be written, the change does not happen either: the store file is
// byte for byte what it was, so no hash, session, token, mail or setting
// was written without its event.
func TestFailedAuditRollsBackTheChange(t *testing.T) {
	t.Parallel()
	png := []byte("\x89PNG not really, but bytes are bytes")
	for _, tc := range []struct {
		name string
		// prepare runs with a working audit log and returns what act needs
		prepare func(h *harness) any
		act     func(h *harness, arg any) error
	}{
		{"change password", func(h *harness) any { h.signIn("elsewhere"); return h.signIn("here") }, func(h *harness, here any) error {
			_, err := h.svc.ChangePassword(h.r, h.actor(), here.([]byte), PasswordChange{Current: password, Password: newPassword, Confirm: newPassword})
			return err
		}},
		{"set own password", func(h *harness) any { return h.signIn("here") }, func(h *harness, here any) error {
			return h.svc.SetOwnPassword(h.r, h.actor(), here.([]byte), newPassword, newPassword)
		}},
		{"request a reset", nil, func(h *harness, _ any) error {
			return h.svc.RequestReset(h.r, clientEmail, "192.0.2.7", func() error { return nil })
		}},
		{"reset the password", func(h *harness) any {
			if err := h.svc.RequestReset(h.r, clientEmail, "192.0.2.7", func() error { return nil }); err != nil {
				h.t.Fatal(err)
			}
			h.signIn("here")
			return h.mailedToken(clientEmail, "Reset your")
		}, func(h *harness, token any) error {
			return h.svc.ResetPassword(h.r, token.(string), newPassword, newPassword, "192.0.2.7")
		}},
		{"sign in", nil, func(h *harness, _ any) error {
			_, err := h.svc.SignIn(h.r, SignIn{Email: clientEmail, Password: password, IP: "192.0.2.7"})
			return err
		}},
		{"sign out", func(h *harness) any { return h.signIn("here") }, func(h *harness, here any) error {
			return h.svc.SignOut(h.r, h.actor(), here.([]byte))
		}},
		{"revoke a session", func(h *harness) any { return SessionID(h.signIn("elsewhere")) }, func(h *harness, id any) error {
			_, err := h.svc.RevokeSession(h.r, h.actor(), id.(string))
			return err
		}},
		{"revoke the other sessions", func(h *harness) any { h.signIn("elsewhere"); return h.signIn("here") }, func(h *harness, here any) error {
			_, err := h.svc.RevokeOtherSessions(h.r, h.actor(), here.([]byte))
			return err
		}},
		{"start two-factor sign-in", nil, func(h *harness, _ any) error { return h.svc.StartTOTP(h.r, h.actor()) }},
		{"confirm two-factor sign-in", func(h *harness) any {
			if err := h.svc.StartTOTP(h.r, h.actor()); err != nil {
				h.t.Fatal(err)
			}
			return nil
		}, func(h *harness, _ any) error {
			by := h.actor()
			_, _, err := h.svc.ConfirmTOTP(h.r, by, h.code(by.User.TwoFactor.PendingSecret))
			return err
		}},
		{"turn two-factor sign-in off", func(h *harness) any { h.clock.Advance(time.Minute); return h.enableTOTP() }, func(h *harness, secret any) error {
			return h.svc.DisableTOTP(h.r, h.actor(), password, h.code(secret.(string)))
		}},
		{"require two-factor sign-in", func(h *harness) any { h.enableTOTP(); return nil }, func(h *harness, _ any) error {
			_, _, err := h.svc.RequireTOTP(h.r, h.actor(), true)
			return err
		}},
		{"sign in with a code", func(h *harness) any {
			secret := h.enableTOTP()
			h.clock.Advance(time.Minute)
			return [2]any{h.pending(), secret}
		}, func(h *harness, arg any) error {
			p, secret := arg.([2]any)[0].(*Pending), arg.([2]any)[1].(string)
			_, err := h.svc.SignInWithCode(h.r, p, h.code(secret), "192.0.2.7", "ua")
			return err
		}},
		{"set up two-factor sign-in at sign-in", func(h *harness) any {
			err := h.store.Update(func(tx *store.Tx) (err error) {
				if h.r, err = tx.Reseller(h.r.ID); err != nil {
					return err
				}
				h.r.Require2FA = true
				return tx.UpdateReseller(h.r)
			})
			if err != nil {
				h.t.Fatal(err)
			}
			return h.pending()
		}, func(h *harness, p any) error {
			_, err := h.svc.EnrolAtSignIn(h.r, p.(*Pending), h.code(p.(*Pending).Challenge.Secret), "192.0.2.7", "ua")
			return err
		}},
		{"accept an invitation", func(h *harness) any {
			token, hash := auth.NewToken()
			err := h.store.Update(func(tx *store.Tx) error {
				u := &store.User{ResellerID: h.r.ID, ClientID: h.user.ClientID, Email: "ivy@acme.example", Role: store.RoleUser, Status: store.UserInvited}
				if err := tx.CreateUser(u); err != nil {
					return err
				}
				return tx.CreateInvitation(&store.Invitation{Hash: hash, ResellerID: h.r.ID, ClientID: u.ClientID, UserID: u.ID,
					InvitedBy: clientEmail, ExpiresAt: tx.Now().Add(time.Hour)})
			})
			if err != nil {
				h.t.Fatal(err)
			}
			return [2]any{token, h.signIn("someone else here")}
		}, func(h *harness, arg any) error {
			token, here := arg.([2]any)[0].(string), arg.([2]any)[1].([]byte)
			_, err := h.svc.AcceptInvitation(h.r, token, newPassword, newPassword, "192.0.2.7", here)
			return err
		}},
		{"save the profile", nil, func(h *harness, _ any) error {
			_, err := h.svc.SaveProfile(h.r, h.actor(), Profile{FirstName: "Cleo", LastName: "Caller", Phone: "(415) 555-0100"})
			return err
		}},
		{"set the avatar", nil, func(h *harness, _ any) error { return h.svc.SetAvatar(h.r, h.actor(), png) }},
		{"remove the avatar", func(h *harness) any {
			if err := h.svc.SetAvatar(h.r, h.actor(), png); err != nil {
				h.t.Fatal(err)
			}
			return nil
		}, func(h *harness, _ any) error { _, err := h.svc.RemoveAvatar(h.r, h.actor()); return err }},
		{"ask to change the email", nil, func(h *harness, _ any) error {
			_, err := h.svc.RequestEmailChange(h.r, h.actor(), "new@acme.example", password)
			return err
		}},
		{"confirm the new email", func(h *harness) any {
			if _, err := h.svc.RequestEmailChange(h.r, h.actor(), "new@acme.example", password); err != nil {
				h.t.Fatal(err)
			}
			return h.mailedToken("new@acme.example", "Confirm your new")
		}, func(h *harness, token any) error {
			_, err := h.svc.ConfirmEmailChange(h.r, token.(string), "192.0.2.7")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			var arg any
			if tc.prepare != nil {
				arg = tc.prepare(h)
			}
			before := h.snapshot()
			h.svc.addAudit = func(*store.Tx, *store.AuditEvent) error { return errAuditBroken }
			if err := tc.act(h, arg); !errors.Is(err, errAuditBroken) {
				t.Fatalf("with the audit log failing: %v", err)
			}
			if !bytes.Equal(before, h.snapshot()) {
				t.Fatal("the change was written without its audit event")
			}
		})
	}
}

// TestSignInFailures: a wrong password and an unknown email are each
// counted once and audited the same way, and start no session; the
// failure that pauses the account mails its owner the unlock link with
// the pause's audit event, and an unknown account gets no mail.
func TestSignInFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	counted := 0
	pause := ""
	in := func(email, pw string) SignIn {
		return SignIn{Email: email, Password: pw, IP: "192.0.2.7", Failed: func() (string, time.Time) {
			counted++
			return pause, h.clock.Now().Add(time.Hour)
		}}
	}
	for _, email := range []string{clientEmail, "ghost@acme.example", "not an address"} {
		_, err := h.svc.SignIn(h.r, in(email, "Wr0ng-Passw0rd!"))
		if !errors.Is(err, ErrWrongPassword) || fault.From(err).Message != badCredentials {
			t.Fatalf("%s: %v", email, err)
		}
	}
	if counted != 3 || len(h.sessions()) != 0 {
		t.Fatalf("%d failures counted, %d sessions", counted, len(h.sessions()))
	}
	var got []string
	for _, e := range h.audits("login.failed") {
		got = append(got, e.Actor+"|"+e.Target)
	}
	if strings.Join(got, ",") != clientEmail+"|,ghost@acme.example|no such account,(not an email address)|no such account" {
		t.Errorf("audited: %q", got)
	}

	pause = "unlock-token"
	h.svc.SignIn(h.r, in("ghost@acme.example", "x"))
	if len(h.outbox()) != 0 || len(h.audits("login.paused")) != 0 {
		t.Error("a pause of an unknown account mailed someone")
	}
	h.svc.SignIn(h.r, in(clientEmail, "x"))
	if out := h.outbox(); len(out) != 1 || !strings.Contains(out[0].Text, "https://acme.example"+UnlockPath+"?token=unlock-token") {
		t.Errorf("unlock mail: %+v", out)
	}
	if len(h.audits("login.paused")) != 1 {
		t.Error("pause not audited")
	}
}

// TestSignInWithCode: the second step refuses a wrong code as a guess
// (audited, the pending sign-in kept) and then opens the session with the
// right one, spending the pending sign-in.
func TestSignInWithCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	secret := h.enableTOTP()
	e, err := h.svc.SignIn(h.r, SignIn{Email: clientEmail, Password: password, Next: "/calls", IP: "192.0.2.7"})
	if err != nil || e.Session != "" || e.Challenge == "" || e.Enrol {
		t.Fatalf("password step: %+v %v", e, err)
	}
	challenge := e.Challenge
	p, err := h.svc.PendingSignIn(h.r, challenge)
	if err != nil || p.Challenge.Next != "/calls" {
		t.Fatalf("pending: %+v %v", p, err)
	}
	if _, err := h.svc.SignInWithCode(h.r, p, "000000", "192.0.2.7", "ua"); !errors.Is(err, ErrWrongCode) || !fault.Is(err, fault.Invalid) {
		t.Fatalf("wrong code: %v", err)
	}
	if len(h.audits("login.code_failed")) != 1 || len(h.sessions()) != 0 {
		t.Fatal("wrong code: not audited, or signed in")
	}
	e, err = h.svc.SignInWithCode(h.r, p, h.code(secret), "192.0.2.7", "ua")
	if err != nil || e.Session == "" || len(h.sessions()) != 1 {
		t.Fatalf("right code: %+v %v", e, err)
	}
	if _, err := h.svc.PendingSignIn(h.r, challenge); !errors.Is(err, ErrSignInGone) {
		t.Errorf("pending sign-in after use: %v", err)
	}
	if got := h.audits("login"); len(got) != 1 || got[0].Target != "with an authenticator code" {
		t.Errorf("audit: %+v", got)
	}
}
