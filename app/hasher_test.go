package app

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/app/auth"
)

// TestPasswordHashingBounded: every path that hashes or checks a password
// goes through the one bounded hasher. With its slots all taken and no
// wait, client create (API), team add and sign-in are refused with 503
// and Retry-After, nothing is saved, and a refused sign-in counts as no
// failure; then 32 parallel client creates all succeed with never more
// than the hasher's slots hashing at once (issue 10: 32 parallel creates
// took the process past 600 MiB). Not parallel: the hasher is
// process-wide.
func TestPasswordHashingBounded(t *testing.T) {
	f := newAPIFixture(t)
	ts := f.ts
	owner := ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")
	teamToken := owner.csrf(acmeHost, teamTabURL)
	loginToken := ts.browser()
	signInToken := loginToken.csrf(acmeHost, "/login")

	var held []func()
	for range auth.Hasher.Slots() {
		release, err := auth.Hasher.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}
	releaseAll := func() {
		for _, release := range held {
			release()
		}
		held = nil
	}
	defer releaseAll()
	wait := auth.Hasher.Wait()
	auth.Hasher.SetWait(0)
	defer auth.Hasher.SetWait(wait)

	r := f.at.do(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: f.acmeKey, body: newClientBody("busy.one")})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" ||
		r.header.Get("Content-Type") != "application/problem+json" || !strings.Contains(r.body, `"status":503`) {
		t.Fatalf("API create with the hasher full: %d %v\n%s", r.status, r.header, r.body)
	}
	f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/busy.one", key: f.acmeKey}, http.StatusNotFound)

	form := memberValues("Ann", "Agent", "ann@cleo.example", "user", "password")
	form.Set("_csrf", teamToken)
	if r := owner.do(http.MethodPost, acmeHost, "/settings/team", form, nil); r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("team add with the hasher full: %d", r.status)
	}
	if ts.hasAudit("user.create", "ann@cleo.example") {
		t.Fatal("a refused team add was saved")
	}

	// sign-in: the same 503 for a known and an unknown email, and none of
	// them counts towards the account's lockout
	for i := range 12 {
		email := "owner@acme.example"
		if i%2 == 1 {
			email = "nobody@acme.example"
		}
		r := loginToken.do(http.MethodPost, acmeHost, "/login", url.Values{"_csrf": {signInToken}, "email": {email}, "password": {testPassword}}, nil)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Fatalf("sign-in %d (%s) with the hasher full: %d", i, email, r.status)
		}
	}

	releaseAll()
	auth.Hasher.SetWait(time.Minute)                                // however busy the machine: this checks the bound, not the wait
	ts.browser().login(acmeHost, "owner@acme.example", "/reseller") // not locked out

	auth.Hasher.ResetPeak()
	var wg sync.WaitGroup
	statuses := make([]int, 32)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := f.at.send(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: f.acmeKey, body: newClientBody("load." + string(rune('a'+i%26)) + string(rune('a'+i/26)))})
			if err == nil {
				statuses[i] = resp.status
			}
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusCreated {
			t.Errorf("create %d: %d", i, s)
		}
	}
	if p := auth.Hasher.Peak(); p > auth.Hasher.Slots() {
		t.Fatalf("%d hashes at once, over the %d slots", p, auth.Hasher.Slots())
	}
}
