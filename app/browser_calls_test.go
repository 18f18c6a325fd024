package app

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portico/app/actor"
	"portico/store"
)

// TestBrowserDashboardAndBlockCaller: a client owner signs in to a
// dashboard whose charts are drawn (SVG bars, in the brand's colour),
// opens the call log, blocks an inbound caller from its row, and the next
// inbound authorisation from that number is refused.
// The authorisation goes through the JSON API with the client's key, as
// the PBX asks.
func TestBrowserDashboardAndBlockCaller(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cleo := ts.cleo()
	ts.importDeck("acme", pagesDeck)
	now := ts.clock.Now()
	ts.ingest("acme", cleo,
		call("out-1", store.Outbound, "+14155550100", "+14155550111", now.AddDate(0, 0, -3), 180, store.Answered),
		call("out-2", store.Outbound, "+14155550100", "+442071234567", now.Add(-2*time.Hour), 65, store.Answered),
		call("in-1", store.Inbound, "+14155550199", "+14155550100", now.Add(-time.Hour), 95, store.Answered))
	ctx := newChrome(t)

	chromeSignIn(t, ctx, ts, acmeHost, "client@acme.example", "/dashboard")
	bars := chromeRun(t, ctx, "count the chart bars", chromedp.Evaluate[int](`document.querySelectorAll("figure.chart svg.chart-svg rect.chart-bar").length`))
	if bars != 6 { // days: 30 Oct, today ×2; months: October, November ×2
		t.Errorf("chart bars = %d, want 6", bars)
	}
	height := chromeRun(t, ctx, "bar size", chromedp.Evaluate[float64](`document.querySelector("rect.chart-bar").getBoundingClientRect().height`))
	if height <= 0 {
		t.Errorf("the first bar is not drawn: height %v", height)
	}
	colour := chromeRun(t, ctx, "bar colour", chromedp.Evaluate[string](`getComputedStyle(document.querySelector("rect.chart-bar.chart-s0")).fill`))
	if colour != "rgb(170, 0, 0)" { // acme's primary colour, from its brand stylesheet
		t.Errorf("outbound bar colour = %q, want the brand's rgb(170, 0, 0)", colour)
	}
	if got := chromeText(t, ctx, `[data-stat="today-calls"]`); got != "2" {
		t.Errorf("calls today = %q", got)
	}

	chromeRun(t, ctx, "open the call log", chromedp.NavigateResponse(ts.url(acmeHost, "/calls")))
	chromeDo(t, ctx, "open the Block caller dialog", chromedp.Click(chromedp.CSS(`tr[data-call="in-1"] button[popovertarget]`)))
	if got := chromeText(t, ctx, `tr[data-call="in-1"] dialog`); !strings.Contains(got, "Calls from +14155550199 are refused from now on") {
		t.Errorf("block confirmation = %q", got)
	}
	u, status := chromeSubmit(t, ctx, "confirm the block", `tr[data-call="in-1"] dialog button[type=submit]`)
	if u.Path != "/calls" || status != http.StatusOK {
		t.Fatalf("after blocking: %s %d", u, status)
	}
	if got := chromeText(t, ctx, ".flash"); !strings.Contains(got, "+14155550199 is blocked") {
		t.Errorf("flash = %q", got)
	}
	if got := chromeText(t, ctx, `tr[data-call="in-1"] .status`); got != "blocked" {
		t.Errorf("row status = %q", got)
	}

	key, err := ts.app.clients.CreateKey(ts.ids["acme"], cleo.ID, "pbx", actor.Actor{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	reply := ts.api(t).expect(apiRequest{method: http.MethodPost, host: acmeHost, path: "/api/v1/calls/authorize", key: key.Secret,
		body: `{"call_id":"in-2","direction":"inbound","from":"+14155550199","to":"+14155550100"}`}, http.StatusOK)
	if want := `{"allow":false,"call_id":"in-2","reason":"blocked_caller"}`; strings.TrimSpace(reply.body) != want {
		t.Errorf("next inbound from the blocked caller: %s, want %s", reply.body, want)
	}

	chromeRun(t, ctx, "open Blocked Callers", chromedp.NavigateResponse(ts.url(acmeHost, blockedTabURL)))
	if got := chromeText(t, ctx, `tr[data-number="+14155550199"]`); !strings.Contains(got, "From the call log") || !regexp.MustCompile(`\s1\s`).MatchString(got) { // one call stopped (cells in a row or stacked)
		t.Errorf("blocked list row = %q", got)
	}
}
